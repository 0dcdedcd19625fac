"""Lint: no regular expression of the log reader or the crash decoder is super-linear.

Every compiled pattern found in the modules of ``kmend.logs`` and ``kmend.oops`` (module
attributes, and attributes of the classes and tables they define) is run with ``search``
and ``finditer`` over adversarial lines: long runs of each character class a pattern
meets in kernel text (spaces, digits, hex, punctuation, brackets) and repetitions of the
prefixes the patterns look for.  A backtracking pattern that is quadratic takes seconds
on such a line; a linear one takes well under a millisecond per KiB.  A pattern that is
slow on a loaded machine is timed again on a line a quarter as long: a linear pattern
then takes a quarter of the time, a quadratic one a sixteenth.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import time
from collections.abc import Iterator

import pytest

import kmend.logs
import kmend.oops

LENGTH = 8192
#: Per pattern and line: a linear pattern needs ~1 ms here, a quadratic one seconds.
BOUND_SECONDS = 0.25

_UNITS = [
    " ", "\t", "0", "1", "f", "a", "A", "_", ":", ".", "-", "+", "/", "[", "]", "<", ">",
    "(", ")", "#", "=", ",", ";", "\\", "*", "!", "?", "|", "\x00", "\ufffd", "é",
    "0 ", "a ", ": ", "[ ", "] ", "0x", "+0x", "[<", ">]", "0:", "00:", " 0", "a.", "a+",
    "[0", "[ 0.0", "<0>", "0,", "#0", "a:", "a=", "A ", "AB: ", "f/0x", "a+0x0/0x",
    "Dec 3 ", "Dec 23 00:51:38 ", "0000-00-00T00:00:00 ", "[  1.000000] ", "kernel: ",
    "CPU: ", "Call Trace:", "RIP: ", "Code: ", "BUG: ", "WARNING: ", " at ", "--", "---[ ",
    "\\012", "#012", "x login: ", "** ", "Tainted: ", "G ", "(OE) ", "in ", "? ",
]  # fmt: skip


#: Line starts that steer a pattern into its repeated part before the run begins.
_HEADS = ["Tainted: ", "CPU: 0 PID: 1 Comm: x ", "RIP: 0010:", "Call Trace:", "BUG: ",
          "Dec 23 00:51:38 h kernel: ", "[    1.000000] ", "WARNING: ", "Modules linked in:",
          "Code: ", "kernel BUG at "]  # fmt: skip
_TAILS = [" ", "G ", "0", "a", "+0x", "[<", ":", "a ", "f+0x1/0x2 ", "0 "]


def _lines(length: int = LENGTH) -> list[str]:
    out = []
    for unit in _UNITS:
        body = unit * (length // len(unit))
        out.append(body)
        out.append(body + "\x01")  # a tail that makes every match attempt fail late
    for head in _HEADS:
        for unit in _TAILS:
            out.append(head + unit * (length // len(unit)) + "\x01")
    return out


def _time(pattern: re.Pattern[str] | re.Pattern[bytes], line: str) -> float:
    subject: str | bytes = line
    if isinstance(pattern.pattern, bytes):
        subject = line.encode("utf-8")
    start = time.perf_counter()
    pattern.search(subject)  # type: ignore[arg-type]
    for _ in pattern.finditer(subject):  # type: ignore[arg-type]
        pass
    return time.perf_counter() - start


def _patterns() -> Iterator[tuple[str, re.Pattern[str] | re.Pattern[bytes]]]:
    seen: set[int] = set()
    for pkg in (kmend.logs, kmend.oops):
        for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
            mod = importlib.import_module(info.name)
            holders: list[tuple[str, object]] = [(info.name, mod)]
            holders += [
                (f"{info.name}.{k}", v) for k, v in vars(mod).items() if isinstance(v, type)
            ]
            for where, holder in holders:
                for name, value in list(vars(holder).items()):
                    values = value if isinstance(value, list | tuple) else (value,)
                    if isinstance(value, dict):
                        values = tuple(value.values())
                    for v in values:
                        if isinstance(v, re.Pattern) and id(v) not in seen:
                            seen.add(id(v))
                            yield f"{where}.{name}", v


PATTERNS = sorted(_patterns(), key=lambda p: p[0])
LINES = _lines()
SHORT_LINES = _lines(LENGTH // 4)


def test_the_lint_sees_the_patterns() -> None:
    names = {name for name, _ in PATTERNS}
    assert "kmend.logs.flatten.MID_PREFIX_RE" in names
    assert "kmend.logs.containers.RFC3164_RE" in names
    assert len(PATTERNS) > 50


@pytest.mark.parametrize("name,pattern", PATTERNS, ids=[n for n, _ in PATTERNS])
def test_pattern_is_linear(name: str, pattern: re.Pattern[str] | re.Pattern[bytes]) -> None:
    slow = []
    for i, line in enumerate(LINES):
        took = _time(pattern, line)
        if took <= BOUND_SECONDS:
            continue
        short = SHORT_LINES[i]
        full = min(_time(pattern, line) for _ in range(3))
        quarter = min(_time(pattern, short) for _ in range(3))
        if full > BOUND_SECONDS and full > 10 * max(quarter, 1e-4):  # linear 4x, quadratic 16x
            slow.append(f"{full:.2f}s on {line[:12]!r}× ({quarter:.3f}s on a quarter of it)")
    assert not slow, f"{name} is super-linear: " + ", ".join(slow)
