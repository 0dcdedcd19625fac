"""Processes from ``<root>/proc/<pid>/{stat,comm}`` (a live /proc or a captured copy).

``/proc/<pid>/stat`` is ``pid (comm) state ppid …``; the comm may itself hold spaces and
parentheses, so the state is the first field after the *last* ``)`` (proc(5)).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from kmend.doctor.model import ProcState

#: The Xen store daemons: C xenstored and the OCaml oxenstored.
XENSTORE_DAEMONS = ("xenstored", "oxenstored")

#: What the state letters of proc(5) mean, in the words the verdict uses.
STATE_WORDS = {
    "R": "running",
    "S": "sleeping",
    "D": "stuck in the kernel (uninterruptible sleep, D)",
    "Z": "a zombie (dead, not reaped)",
    "X": "dead",
    "T": "stopped (T)",
    "t": "stopped by a tracer (t)",
    "I": "idle",
    "W": "paging",
}

_READ_LIMIT = 4096


def parse_stat(text: str) -> tuple[int, str, str] | None:
    """(pid, comm, state) of one ``/proc/<pid>/stat`` text, or None if it is malformed."""
    open_at, close_at = text.find("("), text.rfind(")")
    if open_at <= 0 or close_at < open_at:
        return None
    pid_text = text[:open_at].strip()
    rest = text[close_at + 1 :].split()
    if not pid_text.isdigit() or not rest or len(rest[0]) != 1:
        return None
    return int(pid_text), text[open_at + 1 : close_at], rest[0]


def _read(path: Path) -> str | None:
    try:
        with path.open("rb") as fh:
            return fh.read(_READ_LIMIT).decode("utf-8", "replace")
    except OSError:
        return None


def read_process(pid_dir: Path) -> ProcState | None:
    """The process of one ``proc/<pid>`` directory; None when it vanished or is unreadable."""
    stat = _read(pid_dir / "stat")
    comm = _read(pid_dir / "comm")
    parsed = parse_stat(stat) if stat is not None else None
    if parsed is None:
        return None
    pid, stat_comm, state = parsed
    name = comm.strip() if comm is not None and comm.strip() else stat_comm
    return ProcState(pid=pid, comm=name, state=state)


def find_processes(root: Path, names: Iterable[str]) -> tuple[ProcState, ...]:
    """Processes under ``root/proc`` whose comm is one of *names*, by pid."""
    wanted = set(names)
    found: list[ProcState] = []
    proc_dir = root / "proc"
    try:
        entries = [e for e in proc_dir.iterdir() if e.name.isdigit()]
    except OSError:
        return ()
    for entry in entries:
        comm = _read(entry / "comm")
        if comm is None or comm.strip() not in wanted:
            continue
        state = read_process(entry)
        if state is not None:
            found.append(state)
    return tuple(sorted(found, key=lambda p: p.pid))
