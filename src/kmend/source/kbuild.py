"""The module model, read from Kbuild Makefiles.

Given a module name (``xen-evtchn`` or ``xen_evtchn``; Kbuild treats ``-`` and ``_`` in
module names as the same) or one of its source files, find the Makefile/Kbuild that
declares it and list everything the module is made of::

    obj-$(CONFIG_XEN_DEV_EVTCHN) += xen-evtchn.o     # the module and its Kconfig symbol
    xen-evtchn-y := evtchn.o                         # its objects (also -objs, -$(CONFIG_X))
    ccflags-y += -I$(src)/include                    # flags the objects need
    obj-y += sub/                                    # subdirectories (searched by name)

then every source file behind those objects (``.c`` or ``.S``) and the local headers they
include with ``#include "…"`` (recursively, relative to the including file, the module
directory and ``-I$(src)/…`` directories).

What is deliberately simple: ``ifeq``/``ifdef`` blocks are not evaluated (every branch is
read, so a module gets the union of its conditional objects, each kept with its condition),
and only plain ``$(VAR)`` references to variables assigned earlier in the same file are
expanded.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from kmend.errors import InputError
from kmend.source.view import SourceView, clean_relpath

_ASSIGN_RE = re.compile(r"^\s*(?P<var>[A-Za-z0-9_.$()/-]+?)\s*(?P<op>:=|\+=|\?=|=)\s*(?P<val>.*)$")
_SELECTOR_RE = re.compile(r"^(?P<stem>.+)-(?P<sel>y|m|objs|\$\((?P<cfg>CONFIG_\w+)\))$")
_VAR_REF_RE = re.compile(r"\$\((\w+)\)")
_INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"(?P<path>[^"]+)"', re.MULTILINE)
_RESERVED_STEMS = {
    "obj", "lib", "ccflags", "asflags", "ldflags", "subdir-ccflags", "subdir-asflags",
    "always", "extra", "hostprogs", "targets", "clean-files", "userprogs", "header-test",
    "EXTRA_CFLAGS", "ccflags-remove", "asflags-remove",
}
_FLAG_STEMS = ("ccflags", "EXTRA_CFLAGS", "subdir-ccflags", "asflags")


@dataclass(frozen=True, slots=True)
class ObjectPart:
    """One object of a module, and the condition Kbuild puts on it (``y`` or a CONFIG_)."""

    object: str  # relative to the module directory, e.g. "evtchn.o" or "sub/x.o"
    condition: str  # "y", "m", "objs" or "CONFIG_FOO"


@dataclass(frozen=True, slots=True)
class KbuildModule:
    """A module as its Kbuild Makefile declares it."""

    name: str  # as written in the Makefile: "xen-evtchn"
    kernel_name: str  # as the kernel names it: "xen_evtchn"
    directory: str  # relative to the tree top: "drivers/xen"
    makefile: str  # "drivers/xen/Makefile"
    config: str | None  # "CONFIG_XEN_DEV_EVTCHN"
    parts: tuple[ObjectPart, ...]
    sources: tuple[str, ...]  # relative to directory
    headers: tuple[str, ...]  # local headers, relative to directory
    flag_lines: tuple[str, ...]  # ccflags lines, verbatim (joined continuations)
    missing: tuple[str, ...] = ()  # objects with no .c/.S behind them

    @property
    def files(self) -> tuple[str, ...]:
        """Every file to copy, relative to the module directory (sources then headers)."""
        return self.sources + self.headers

    def tree_paths(self) -> tuple[str, ...]:
        """The same files relative to the tree top, plus the Makefile."""
        return (self.makefile, *(posixpath.join(self.directory, f) for f in self.files))


def kernel_name(name: str) -> str:
    return name.replace("-", "_")


def _logical_lines(text: str) -> list[str]:
    """Makefile lines with comments dropped and backslash continuations joined."""
    out: list[str] = []
    buf = ""
    for raw in text.splitlines():
        line = raw.split("#", 1)[0] if "#" in raw and "\\#" not in raw else raw
        if line.rstrip().endswith("\\"):
            buf += line.rstrip()[:-1] + " "
            continue
        out.append(buf + line)
        buf = ""
    if buf:
        out.append(buf)
    return out


@dataclass(frozen=True, slots=True)
class _Assignment:
    var: str
    op: str
    words: tuple[str, ...]
    text: str


def parse_assignments(text: str) -> list[_Assignment]:
    """Every ``VAR op value`` assignment, with earlier plain variables expanded."""
    plain: dict[str, str] = {}
    result: list[_Assignment] = []
    for line in _logical_lines(text):
        if line.startswith("\t"):
            continue  # recipe line
        m = _ASSIGN_RE.match(line)
        if not m:
            continue
        var, op, val = m.group("var"), m.group("op"), m.group("val").strip()
        val = _VAR_REF_RE.sub(lambda r: plain.get(r.group(1), r.group(0)), val)
        if "$" not in var and "-" not in var:
            plain[var] = (plain.get(var, "") + " " + val).strip() if op == "+=" else val
        result.append(_Assignment(var, op, tuple(val.split()), line.strip()))
    return result


def _name_variants(name: str) -> tuple[str, ...]:
    base = name.removesuffix(".ko").removesuffix(".o")
    return tuple(dict.fromkeys([base, base.replace("_", "-"), base.replace("-", "_")]))


def _same_module(a: str, b: str) -> bool:
    return kernel_name(a) == kernel_name(b)


def _makefile_of(view: SourceView, directory: str) -> tuple[str, str] | None:
    for fname in ("Kbuild", "Makefile"):
        path = posixpath.join(directory, fname) if directory else fname
        text = view.read(path)
        if text is not None:
            return path, text
    return None


def _declared_modules(assignments: list[_Assignment]) -> dict[str, str | None]:
    """Modules a Makefile declares with ``obj-…``: name → CONFIG symbol (or None)."""
    mods: dict[str, str | None] = {}
    for a in assignments:
        m = _SELECTOR_RE.match(a.var)
        if not m or m.group("stem") != "obj" or a.op not in ("+=", ":=", "="):
            continue
        for word in a.words:
            if word.endswith(".o") and "/" not in word:
                mods[word[:-2]] = m.group("cfg")
    return mods


def _parts_of(assignments: list[_Assignment], name: str) -> list[ObjectPart]:
    parts: list[ObjectPart] = []
    for a in assignments:
        m = _SELECTOR_RE.match(a.var)
        if not m or m.group("stem") in _RESERVED_STEMS or not _same_module(m.group("stem"), name):
            continue
        if a.op in (":=", "="):
            parts = [p for p in parts if p.condition != (m.group("cfg") or m.group("sel"))]
        for word in a.words:
            if word.endswith(".o"):
                parts.append(ObjectPart(word, m.group("cfg") or m.group("sel")))
    return parts


def _expand_parts(assignments: list[_Assignment], name: str) -> list[ObjectPart]:
    """Objects of *name*, with composite parts (``foo-y += bar.o``, ``bar-y := …``) expanded."""
    parts = _parts_of(assignments, name)
    if not parts:
        return [ObjectPart(f"{name}.o", "y")]
    out: list[ObjectPart] = []
    for p in parts:
        stem = p.object[:-2]
        sub = _parts_of(assignments, stem) if not _same_module(stem, name) else []
        out.extend(sub or [p])
    return out


def _flag_lines(assignments: list[_Assignment], objects: set[str]) -> list[str]:
    lines = []
    for a in assignments:
        stem = a.var.split("-$(", 1)[0].removesuffix("-y")
        per_object = a.var.startswith("CFLAGS_") and a.var[len("CFLAGS_"):] in objects
        if stem in _FLAG_STEMS or a.var.startswith("ccflags-") or per_object:
            lines.append(a.text)
    return lines


def _include_dirs(flag_lines: list[str], directory: str) -> list[str]:
    dirs = []
    for line in flag_lines:
        for m in re.finditer(r"-I\s*(?:\$\(srctree\)/)?\$\(src\)/?(\S*)", line):
            dirs.append(posixpath.normpath(posixpath.join(directory, m.group(1))))
        for m in re.finditer(r"-I\s*\$\(srctree\)/(\S+)", line):
            dirs.append(posixpath.normpath(m.group(1)))
    return dirs


def local_headers(view: SourceView, directory: str, sources: list[str],
                  include_dirs: list[str]) -> list[str]:
    """Headers included with quotes that exist locally (recursively), relative to *directory*."""
    seen: set[str] = set()
    queue = [posixpath.join(directory, s) for s in sources]
    headers: list[str] = []
    while queue:
        path = queue.pop(0)
        text = view.read(path) or ""
        for m in _INCLUDE_RE.finditer(text):
            inc = m.group("path")
            for base in [posixpath.dirname(path), directory, *include_dirs]:
                cand = posixpath.normpath(posixpath.join(base, inc))
                if cand.startswith("../") or cand in seen:
                    if cand in seen:
                        break
                    continue
                if view.read(cand) is not None:
                    seen.add(cand)
                    rel = posixpath.relpath(cand, directory) if directory else cand
                    if rel.startswith("../"):
                        raise InputError(
                            f"{path} includes {inc}, which lies outside {directory}/",
                            "kmend copies only the module's own directory; "
                            "copy that header in by hand",
                        )
                    headers.append(rel)
                    queue.append(cand)
                    break
    return headers


def module_in_makefile(view: SourceView, makefile: str, name: str) -> KbuildModule | None:
    """The module *name* as declared by *makefile*, or None when it is not declared there."""
    text = view.read(makefile)
    if text is None:
        return None
    directory = posixpath.dirname(makefile)
    assignments = parse_assignments(text)
    declared = _declared_modules(assignments)
    match = next((m for m in declared if _same_module(m, name)), None)
    if match is None:
        return None
    parts = _expand_parts(assignments, match)
    sources: list[str] = []
    missing: list[str] = []
    for p in parts:
        stem = p.object[:-2]
        for ext in (".c", ".S"):
            if view.read(posixpath.join(directory, stem + ext)) is not None:
                sources.append(stem + ext)
                break
        else:
            missing.append(p.object)
    flags = _flag_lines(assignments, {p.object for p in parts})
    headers = local_headers(view, directory, sources, _include_dirs(flags, directory))
    return KbuildModule(
        name=match,
        kernel_name=kernel_name(match),
        directory=directory,
        makefile=makefile,
        config=declared[match],
        parts=tuple(parts),
        sources=tuple(sources),
        headers=tuple(headers),
        flag_lines=tuple(flags),
        missing=tuple(missing),
    )


def _module_owning(view: SourceView, source_path: str) -> KbuildModule:
    rel = clean_relpath(source_path)
    directory, fname = posixpath.split(rel)
    if view.read(rel) is None:
        raise InputError(f"{rel} not found in {view.label}",
                         "check the path (relative to the tree top)")
    found = _makefile_of(view, directory)
    if found is None:
        raise InputError(f"no Makefile or Kbuild in {directory or '.'}/ of {view.label}",
                         "give a kernel source tree with its Kbuild Makefiles")
    makefile, text = found
    obj = posixpath.splitext(fname)[0] + ".o"
    assignments = parse_assignments(text)
    for mod in _declared_modules(assignments):
        module = module_in_makefile(view, makefile, mod)
        if module and any(p.object == obj for p in module.parts):
            return module
    raise InputError(f"{makefile} does not build {obj} into a module",
                     "it may be built into the kernel only (obj-y), or give the module name")


def find_module(view: SourceView, spec: str) -> KbuildModule:
    """The module named *spec* (or owning the source file *spec*) in *view*.

    InputError when no Kbuild Makefile declares it or when the tree has no Makefiles.
    """
    if spec.endswith((".c", ".S")) or "/" in spec:
        return _module_owning(view, spec)
    variants = _name_variants(spec)
    hits = view.makefiles_mentioning([v + ".o" for v in variants])
    for makefile in hits:
        directory, fname = posixpath.split(makefile)
        if fname == "Makefile" and view.read(posixpath.join(directory, "Kbuild")) is not None:
            continue  # Kbuild reads the Kbuild file, not the Makefile, when both exist
        module = module_in_makefile(view, makefile, variants[0])
        if module is not None:
            return module
    if not view.makefiles_mentioning(["obj-"]):
        raise InputError(f"{view.label} contains no Kbuild Makefiles",
                         "give the top of a kernel source tree (or a git repository)")
    raise InputError(f"no Kbuild Makefile in {view.label} declares module {spec!r}",
                     "check the name (modinfo -F name) or give one of its source files")
