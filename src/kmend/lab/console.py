"""Parse a guest's serial console into results (pure functions over text).

The markers are those :mod:`kmend.lab.initscript` prints.  A marker may follow kernel
text on the same console line (the kernel and /init share the serial port), so markers
are searched anywhere in a line, not only at its start.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kmend.lab.initscript import MARK
from kmend.logs.terminal import strip_terminal_codes

_TS = re.compile(r"^\[\s*\d+\.\d+\] ?")
_MARKER = re.compile(re.escape(MARK) + r"(.*)$")
_RESULT = re.compile(r"(insmod|modprobe|run) (\S+) rc=(-?\d+)\s*$")
_PREFIXED = re.compile(r"(out|msg) (\S+) \| ?(.*)$")
_BEGIN = re.compile(r"begin (\S+) (insmod|modprobe|run)\s*$")
_END = re.compile(r"end (\S+) taint=(\d+)\s*$")
_TAINT = re.compile(r"taint=(\d+)\s*$")
_UNAME = re.compile(r"uname=(\S+)\s*$")


@dataclass(frozen=True)
class LoadResult:
    """One insmod/modprobe step: exit status, the tool's output, the kernel's messages."""

    label: str
    path: str
    rc: int | None
    messages: tuple[str, ...]
    taint_after: int | None
    output: tuple[str, ...] = ()
    kind: str = "insmod"

    @property
    def loaded(self) -> bool:
        return self.rc == 0


@dataclass(frozen=True)
class CommandResult:
    """One Run step: exit status, its output, the kernel messages it caused."""

    label: str
    command: str
    rc: int | None
    output: tuple[str, ...]
    messages: tuple[str, ...]
    taint_after: int | None


@dataclass(frozen=True)
class BootResult:
    """A whole boot.  ``rc`` is None for a step the guest never finished (crash, timeout)."""

    console: str
    loads: tuple[LoadResult, ...]
    commands: tuple[CommandResult, ...]
    taint: int | None
    release: str | None
    done: bool
    timed_out: bool
    seconds: float
    qemu_rc: int | None = None
    qemu_stderr: str = ""
    accel: str = "tcg"
    kernel: str = ""

    def load(self, label: str) -> LoadResult:
        for item in self.loads:
            if item.label == label:
                return item
        raise KeyError(label)

    def command(self, label: str) -> CommandResult:
        for item in self.commands:
            if item.label == label:
                return item
        raise KeyError(label)


def clean_console(raw: str) -> str:
    """Normalise line ends and drop terminal escape sequences."""
    text = raw.replace("\r\n", "\n").replace("\r", "\n")
    return strip_terminal_codes(text)


def strip_timestamp(line: str) -> str:
    return _TS.sub("", line)


@dataclass
class _Acc:
    kind: str = "run"
    rc: int | None = None
    taint: int | None = None
    out: list[str] = field(default_factory=list)
    msg: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ParsedConsole:
    steps: dict[str, tuple[str, int | None, tuple[str, ...], tuple[str, ...], int | None]]
    taint: int | None
    release: str | None
    done: bool


def parse_markers(console: str) -> ParsedConsole:
    """Collect per-label results from the markers in *console*."""
    accs: dict[str, _Acc] = {}
    taint: int | None = None
    release: str | None = None
    done = False
    for line in clean_console(console).split("\n"):
        found = _MARKER.search(line)
        if not found:
            continue
        body = found.group(1)
        if m := _PREFIXED.match(body):
            acc = accs.setdefault(m.group(2), _Acc())
            target = acc.out if m.group(1) == "out" else acc.msg
            text = m.group(3).rstrip()
            target.append(strip_timestamp(text) if m.group(1) == "msg" else text)
        elif m := _BEGIN.match(body):
            accs.setdefault(m.group(1), _Acc()).kind = m.group(2)
        elif m := _RESULT.match(body):
            acc = accs.setdefault(m.group(2), _Acc())
            acc.kind, acc.rc = m.group(1), int(m.group(3))
        elif m := _END.match(body):
            accs.setdefault(m.group(1), _Acc()).taint = int(m.group(2))
        elif m := _TAINT.match(body):
            taint = int(m.group(1))
        elif m := _UNAME.match(body):
            release = m.group(1)
        elif body.strip() == "done":
            done = True
    steps = {
        label: (acc.kind, acc.rc, tuple(acc.out), tuple(acc.msg), acc.taint)
        for label, acc in accs.items()
    }
    return ParsedConsole(steps, taint, release, done)
