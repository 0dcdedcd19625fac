"""The culprit module: which module to fix, which may not be the one that faulted.

A WARNING raised inside an in-tree module (``videodev``, ``drm``) is often the kernel
catching an out-of-tree module that misuses it: the guilty module shows only in
``Modules linked in: v4l2loopback(OE+) videodev ...``, in the taint (``O``) and in
``v4l2loopback: loading out-of-tree module taints kernel.``.  Pure functions over text.

The module flags are the kernel's ``module_flags()`` letters: ``P`` proprietary, ``O``
out-of-tree, ``E`` unsigned, ``C`` staging, ``F`` force-loaded, ``X`` (SUSE) unsupported,
``+`` being loaded, ``-`` being unloaded.

Rules, first match wins (each says why in ``culprit_reason``):

1. the faulting module is itself out-of-tree (``O`` flag, or named by a "loading
   out-of-tree module" line) → it;
2. an out-of-tree module has a frame in the call trace → the innermost such frame's module
   (it called into the faulting code);
3. exactly one out-of-tree module is being loaded (``+``) → it (the crash happened while
   its init ran);
4. exactly one out-of-tree module is loaded at all (by flags, else by the taint line) and
   the faulting code is in-tree → it;
5. otherwise the faulting module (several out-of-tree modules: the reason names them).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

_MODULES_RE = re.compile(r"Modules linked in:(?P<list>.*)$")
_WORD_RE = re.compile(r"^(?P<name>[A-Za-z0-9_\-]+)(?:\((?P<flags>[A-Z+\-]*)\))?$")
_CONT_RE = re.compile(r"^\s*[a-z0-9_]+(?:\([A-Z+\-]+\))?(?:\s+[a-z0-9_]+(?:\([A-Z+\-]+\))?)+\s*$")
_OOT_LINE_RE = re.compile(r"(?:^|\s)(?P<name>[A-Za-z0-9_\-]+): loading out-of-tree module "
                          r"taints kernel")
#: ``func+0x6cd/0xfe0 [videodev]`` at the end of a WARNING/RIP header, with the 3.x ``()``.
_HEADER_MOD_RE = re.compile(r"\+0x[0-9a-f]+/0x[0-9a-f]+\s+\[(?P<mod>[A-Za-z0-9_\-]+)\]"
                            r"(?:\(\))?\s*$")
_HEADER_FN_RE = re.compile(r"\s(?P<fn>[A-Za-z_][\w.]*)\+0x[0-9a-f]+/0x[0-9a-f]+\s+\[[\w\-]+\]"
                           r"(?:\(\))?\s*$")


def _norm(name: str) -> str:
    return name.replace("-", "_")


def module_flags(lines: Sequence[str]) -> dict[str, str]:
    """``{module: flags}`` of the "Modules linked in" list, for modules that carry flags
    (``v4l2loopback(OE+)`` → ``{"v4l2loopback": "OE+"}``)."""
    for i, text in enumerate(lines):
        m = _MODULES_RE.search(text)
        if not m:
            continue
        words = m.group("list").split()
        for cont in lines[i + 1:i + 4]:
            if not _CONT_RE.match(cont):
                break
            words += cont.split()
        out: dict[str, str] = {}
        skip = False
        for w in words:
            if skip:
                skip = False
                continue
            if w.startswith("[last"):
                skip = True
                continue
            wm = _WORD_RE.match(w)
            if wm and wm.group("flags"):
                out[wm.group("name")] = wm.group("flags")
        return out
    return {}


def oot_loaded(lines: Sequence[str]) -> list[str]:
    """Modules named by ``NAME: loading out-of-tree module taints kernel.`` (the kernel
    prints it once per boot, for the first out-of-tree module loaded)."""
    return list(dict.fromkeys(m.group("name") for text in lines
                              if (m := _OOT_LINE_RE.search(text))))


def header_site(header: str) -> tuple[str | None, str | None]:
    """(function, module) from a header ending in ``func+0x1/0x2 [mod]`` (or ``[mod]()``)."""
    m = _HEADER_MOD_RE.search(header)
    if m is None:
        return None, None
    f = _HEADER_FN_RE.search(header)
    return (f.group("fn").split(".")[0] if f else None), m.group("mod")


@dataclass(frozen=True)  # no slots=: this module runs on a fleet host's Python 3.9 too
class Culprit:
    module: str | None
    reason: str


def choose(faulted: str | None, flags: Mapping[str, str], *, taint: str = "",
           frame_modules: Sequence[str] = (), oot_lines: Sequence[str] = ()) -> Culprit:
    """The culprit module by the rules of this module's docstring.

    *faulted* is where the crash happened (None: built-in code), *taint* the taint letters
    of the report, *frame_modules* the modules of the call trace, innermost first, and
    *oot_lines* the modules named by "loading out-of-tree module" lines before the report.
    """
    named = {_norm(n) for n in oot_lines}
    oot = [m for m, f in flags.items() if "O" in f or _norm(m) in named]
    for m in oot_lines:
        if _norm(m) not in {_norm(o) for o in oot}:
            oot.append(m)
    where = f"faulted in {faulted}" if faulted else "faulted in built-in kernel code"
    if faulted and _norm(faulted) in {_norm(o) for o in oot}:
        how = f"({flags[faulted]})" if faulted in flags else "(loading it tainted the kernel)"
        return Culprit(faulted, f"{where}, an out-of-tree module {how}")
    if faulted and not oot and "O" in taint:
        return Culprit(faulted, f"{where}; the kernel is tainted O (an out-of-tree module "
                       "is loaded) and no other module is named")
    in_trace = [m for m in frame_modules if _norm(m) in {_norm(o) for o in oot}]
    if in_trace:
        return Culprit(in_trace[0], f"{where}; {in_trace[0]} is out-of-tree"
                       f"{_flag_text(flags, in_trace[0])} and called it (a frame of the "
                       "call trace)")
    loading = [m for m in oot if "+" in flags.get(m, "")]
    if len(loading) == 1:
        return Culprit(loading[0], f"{where}; {loading[0]} is out-of-tree"
                       f"{_flag_text(flags, loading[0])} and was being loaded (+)")
    if len(oot) == 1:
        src = ("Modules linked in" if oot[0] in flags else
               "the \"loading out-of-tree module taints kernel\" line")
        return Culprit(oot[0], f"{where}; {oot[0]} is the only out-of-tree module loaded "
                       f"({src}{_flag_text(flags, oot[0])})")
    if oot:
        return Culprit(faulted, f"{where}; several out-of-tree modules are loaded "
                       f"({', '.join(oot)}), none of them in the trace: give --module")
    return Culprit(faulted, where)


def _flag_text(flags: Mapping[str, str], name: str) -> str:
    return f" ({flags[name]})" if name in flags else ""
