"""Compiler and modpost output → structured findings, and the kernel API each one needs.

Pure functions over text.  gcc prints quotes as ``'x'`` in the C locale and as ``‘x’``
otherwise; both are accepted.  The source line gcc echoes under a diagnostic
(``  546 |   struct ioctl_evtchn_bind bind;``) is kept, because some messages ("storage size
of 'bind' isn't known") only name the missing type there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_Q = r"[‘'\"`]"
_EQ = r"[’'\"`]"
_LOC_RE = re.compile(
    r"^(?P<file>[^:\s][^:]*):(?P<line>\d+):(?:(?P<col>\d+):)?\s*"
    r"(?P<sev>fatal error|error|warning|note):\s*(?P<msg>.*)$"
)
_SNIPPET_RE = re.compile(r"^\s*(?P<line>\d+)\s*\|\s?(?P<code>.*)$")
_MODPOST_RE = re.compile(
    r"^(?P<sev>ERROR|WARNING): modpost: (?:(?P<quoted>\"(?P<sym>[^\"]+)\" \[(?P<ko>[^\]]+)\] "
    r"undefined!)|(?P<msg>.*))$"
)

#: kind → regex over the message; group "name" is the missing API.
_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("missing-header", re.compile(r"^(?P<name>\S+): No such file or directory")),
    ("missing-function",
     re.compile(rf"implicit declaration of function {_Q}(?P<name>\w+){_EQ}")),
    ("missing-member",
     re.compile(rf"{_Q}(?:(?:const|volatile) )*(?P<type>(?:struct|union) \w+|\w+)"
                rf"(?: \{{aka [^}}]*\}})?{_EQ} "
                rf"has no member named {_Q}(?P<name>\w+){_EQ}")),
    ("too-many-arguments",
     re.compile(rf"too many arguments to function {_Q}(?P<name>\w+){_EQ}")),
    ("too-few-arguments",
     re.compile(rf"too few arguments to function {_Q}(?P<name>\w+){_EQ}")),
    ("macro-arguments",
     re.compile(r"macro \"(?P<name>\w+)\" (?:requires|passed) \d+ arguments")),
    ("undeclared", re.compile(rf"{_Q}(?P<name>\w+){_EQ} undeclared")),
    ("unknown-type", re.compile(rf"unknown type name {_Q}(?P<name>\w+){_EQ}")),
    ("incomplete-type",
     re.compile(rf"(?:storage size of {_Q}(?P<var>\w+){_EQ} isn.t known"
                rf"|invalid use of undefined type {_Q}(?P<name>(?:struct|union) \w+){_EQ}"
                rf"|has incomplete type"
                rf"|dereferencing pointer to incomplete type {_Q}(?P<name2>[^’'\"]+){_EQ})")),
    ("incompatible-type",
     re.compile(rf"(?:incompatible pointer type|incompatible type for argument \d+ of "
                rf"{_Q}(?P<name>\w+){_EQ}|initialization of .* from incompatible)")),
)


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One compiler or modpost finding."""

    kind: str  # see _KINDS, "undefined-symbol", "error" or "warning"
    severity: str  # "error" or "warning"
    file: str  # relative to the build directory when it was inside it
    line: int
    column: int
    message: str
    symbol: str = ""  # the API involved: function, member, constant, header, symbol
    source_line: str = ""

    @property
    def needs(self) -> str:
        """The kernel API the code needs and the target lacks, in words ("" if unknown)."""
        return describe_need(self)

    def one_line(self) -> str:
        where = f"{self.file}:{self.line}: " if self.file else ""
        return f"{where}{self.severity}: {self.message}"


def describe_need(d: Diagnostic) -> str:
    s = d.symbol
    return {
        "missing-header": f"header <{s}>",
        "missing-function": f"function {s}()",
        "missing-member": f"member {s}",
        "too-many-arguments": f"{s}() taking more arguments than the target's",
        "too-few-arguments": f"{s}() taking fewer arguments than the target's",
        "macro-arguments": f"macro {s}() with another argument count",
        "undeclared": f"identifier {s}",
        "unknown-type": f"type {s}",
        "incomplete-type": f"definition of {s}" if s else "",
        "incompatible-type": f"{s}() with other parameter types" if s else "",
        "undefined-symbol": f"exported symbol {s}",
    }.get(d.kind, "") if s or d.kind == "incomplete-type" else ""


def _classify(msg: str, snippet: str) -> tuple[str, str]:
    for kind, rx in _KINDS:
        m = rx.search(msg)
        if not m:
            continue
        groups = m.groupdict()
        name = groups.get("name") or groups.get("name2") or ""
        if kind == "missing-member":
            name = f"{groups['type']}.{name}"
        if kind == "incomplete-type" and not name:
            t = re.search(r"\b((?:struct|union)\s+\w+)", snippet)
            name = t.group(1) if t else ""
        return kind, name
    return "", ""


def _rel(path: str, build_dir: str | None) -> str:
    if build_dir and path.startswith(build_dir.rstrip("/") + "/"):
        return path[len(build_dir.rstrip("/")) + 1:]
    return path


def parse(output: str, build_dir: str | None = None) -> list[Diagnostic]:
    """Errors and warnings from a ``make M=`` run, in order (notes are dropped)."""
    out: list[Diagnostic] = []
    lines = output.splitlines()
    for i, raw in enumerate(lines):
        line = raw.rstrip()
        m = _LOC_RE.match(line)
        if m:
            sev = m.group("sev")
            if sev == "note":
                continue
            snippet = ""
            if i + 1 < len(lines):
                s = _SNIPPET_RE.match(lines[i + 1])
                if s and s.group("line") == m.group("line"):
                    snippet = s.group("code").strip()
            msg = m.group("msg").strip()
            kind, name = _classify(msg, snippet)
            severity = "warning" if sev == "warning" else "error"
            if severity == "warning" and kind not in ("missing-function", "incompatible-type"):
                kind = ""
            out.append(Diagnostic(
                kind=kind or severity, severity=severity, file=_rel(m.group("file"), build_dir),
                line=int(m.group("line")), column=int(m.group("col") or 0), message=msg,
                symbol=name, source_line=snippet))
            continue
        mp = _MODPOST_RE.match(line)
        if mp:
            severity = "error" if mp.group("sev") == "ERROR" else "warning"
            if mp.group("sym"):
                out.append(Diagnostic(
                    kind="undefined-symbol", severity=severity,
                    file=_rel(mp.group("ko"), build_dir), line=0, column=0,
                    message=f"modpost: \"{mp.group('sym')}\" undefined",
                    symbol=mp.group("sym")))
            else:
                out.append(Diagnostic(kind=severity, severity=severity, file="", line=0,
                                      column=0, message="modpost: " + (mp.group("msg") or "")))
    return out


def errors(diags: list[Diagnostic]) -> list[Diagnostic]:
    return [d for d in diags if d.severity == "error"]


def needed_apis(diags: list[Diagnostic]) -> list[str]:
    """The distinct APIs the failing code needs, in first-seen order."""
    seen: dict[str, None] = {}
    for d in diags:
        if d.severity == "error" and d.needs:
            seen.setdefault(d.needs, None)
    return list(seen)
