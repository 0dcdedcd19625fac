"""Source at the crash: the crashing line at the base, its function and its assertion.

Pure functions over the file's text.  C function boundaries are found the way a reader
finds them: a definition starts at column 0 (``static int foo(...)``, possibly over
several lines) and its body is the ``{`` … ``}`` at column 0 that follows.
"""

from __future__ import annotations

import re

from kmend.fixes.model import SourceAtCrash

#: Assertion macros whose first argument is the asserted (crashing) condition.
ASSERT_MACROS = (
    "BUG_ON", "WARN_ON_ONCE", "WARN_ON", "WARN_ONCE", "WARN", "VM_BUG_ON_PAGE", "VM_BUG_ON",
    "VM_WARN_ON_ONCE", "VM_WARN_ON", "BUILD_BUG_ON", "WARN_ON_SMP", "RCU_LOCKDEP_WARN",
    "BUG",
)
_MACRO_RE = re.compile(r"\b(" + "|".join(ASSERT_MACROS) + r")\s*\(")
_DEF_NAME_RE = re.compile(r"([A-Za-z_]\w*)\s*\(")
_KEYWORDS = frozenset({"if", "for", "while", "switch", "return", "sizeof", "do", "else"})


def _definition_name(lines: list[str], start: int) -> str | None:
    """Name of the function whose definition begins at lines[start] (0-based), if any."""
    text = lines[start]
    if not text or text[0] in " \t#/*}{" or text.rstrip().endswith(";"):
        return None
    m = _DEF_NAME_RE.search(text)
    if m is None or m[1] in _KEYWORDS:
        return None
    # The body's opening brace at column 0 within the next few lines (K&R style) or at
    # the end of the signature.
    for j in range(start, min(start + 8, len(lines))):
        line = lines[j]
        if line.startswith("{") or (j > start and line.rstrip().endswith(";")
                                    and not line.startswith((" ", "\t"))):
            return m[1] if line.startswith("{") else None
        if line.rstrip().endswith("{") and j == start and ")" in line:
            return m[1]
    return None


def _head_start(lines: list[str], start: int) -> int:
    """Include a return type written on its own line above the name (``static long``)."""
    if start > 0:
        prev = lines[start - 1]
        if prev and prev[0] not in " \t#/*}{" and "(" not in prev and ";" not in prev \
                and not prev.rstrip().endswith(("*/", ",")):
            return start - 1
    return start


def _body_end(lines: list[str], brace: int) -> int | None:
    for j in range(brace + 1, len(lines)):
        if lines[j].startswith("}"):
            return j
    return None


def enclosing_function(lines: list[str], line: int) -> tuple[str, int, int] | None:
    """(name, first line, last line), 1-based, of the function containing *line*."""
    idx = line - 1
    for start in range(min(idx, len(lines) - 1), -1, -1):
        name = _definition_name(lines, start)
        if name is None:
            if start < idx and lines[start].startswith("}"):
                return None  # we left a function body without finding its head
            continue
        brace = next((j for j in range(start, min(start + 8, len(lines)))
                      if lines[j].startswith("{") or lines[j].rstrip().endswith("{")), None)
        end = _body_end(lines, brace) if brace is not None else None
        if end is not None and start <= idx <= end:
            return (name, _head_start(lines, start) + 1, end + 1)
        return None
    return None


def find_function(lines: list[str], name: str) -> tuple[int, int] | None:
    """(first line, last line), 1-based, of the definition of *name*."""
    for start in range(len(lines)):
        if name not in lines[start]:
            continue
        for head in range(start, max(-1, start - 2), -1):
            if _definition_name(lines, head) == name:
                brace = next((j for j in range(head, min(head + 8, len(lines)))
                              if lines[j].startswith("{") or lines[j].rstrip().endswith("{")),
                             None)
                end = _body_end(lines, brace) if brace is not None else None
                if end is not None:
                    return (_head_start(lines, head) + 1, end + 1)
    return None


def _balanced(text: str, open_at: int) -> str | None:
    depth = 0
    for i in range(open_at, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return text[open_at + 1:i]
    return None


def _first_argument(args: str) -> str:
    depth = 0
    for i, ch in enumerate(args):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            return args[:i]
    return args


def assertion_at(lines: list[str], line: int) -> tuple[str, str | None] | None:
    """(macro, condition) of the assertion on *line*; for a bare ``BUG()`` the condition
    of the ``if`` guarding it."""
    text = lines[line - 1]
    m = _MACRO_RE.search(text)
    if m is None:
        return None
    macro = m[1]
    joined = " ".join(s.strip() for s in lines[line - 1:line + 5])
    jm = _MACRO_RE.search(joined)
    args = _balanced(joined, jm.end() - 1) if jm else None
    if macro == "BUG":
        guard = " ".join(s.strip() for s in lines[max(0, line - 3):line])
        gm = list(re.finditer(r"\bif\s*\(", guard))
        cond = _balanced(guard, gm[-1].end() - 1) if gm else None
        return (macro, " ".join(cond.split()) if cond else None)
    if args is None:
        return (macro, None)
    return (macro, " ".join(_first_argument(args).split()) or None)


def source_at_crash(text: str, file: str, revision: str, line: int | None,
                    function: str | None, *, context: int = 5,
                    whole_function: int = 60) -> SourceAtCrash:
    """The crash site in *text* (the file at *revision*).

    ``context`` holds the whole enclosing function when it is shorter than
    *whole_function* lines, else *context* lines either side of the crashing line.
    """
    lines = text.splitlines()
    fn_name, first, last = function, None, None
    if line is not None and 1 <= line <= len(lines):
        enclosing = enclosing_function(lines, line)
        if enclosing is not None:
            fn_name, first, last = enclosing
    elif function:
        span = find_function(lines, function)
        if span:
            first, last = span
    line_text = lines[line - 1] if line is not None and 1 <= line <= len(lines) else None
    assertion = assertion_at(lines, line) if line_text is not None and line else None
    ctx: tuple[tuple[int, str], ...] = ()
    if first and last and last - first < whole_function:
        ctx = tuple((n, lines[n - 1]) for n in range(first, last + 1))
    elif line_text is not None and line:
        lo, hi = max(1, line - context), min(len(lines), line + context)
        ctx = tuple((n, lines[n - 1]) for n in range(lo, hi + 1))
    return SourceAtCrash(
        file=file, revision=revision, line=line if line_text is not None else None,
        text=line_text, function=fn_name, function_start=first, function_end=last,
        assertion=assertion[0] if assertion else None,
        condition=assertion[1] if assertion else None, context=ctx,
    )


def definitions(lines: list[str]) -> list[tuple[str, int, int]]:
    """Every function definition of a C file: (name, first line, last line), 1-based,
    by the same column-0 rule as :func:`enclosing_function`."""
    out: list[tuple[str, int, int]] = []
    i = 0
    n = len(lines)
    while i < n:
        text = lines[i]
        if not text or text[0] in " \t#/*}{":
            i += 1
            continue
        name = _definition_name(lines, i)
        if name is None:
            i += 1
            continue
        brace = next((j for j in range(i, min(i + 8, n))
                      if lines[j].startswith("{") or lines[j].rstrip().endswith("{")), None)
        end = _body_end(lines, brace) if brace is not None else None
        if end is None:
            i += 1
            continue
        out.append((name, _head_start(lines, i) + 1, end + 1))
        i = end + 1
    return out
