"""Which crash a verb works on, the same rule for ``show``, ``fixes`` and ``run``:
``--index N`` (0 = the first in the logs, negative from the end), else the newest."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from kmend.errors import UsageError
from kmend.logs.when import parse
from kmend.oops import CrashReport


def newest(reports: Sequence[CrashReport]) -> tuple[int, str]:
    """The index of the newest crash and why: by the instant of its time when every report
    has one (files given in any order, rotated logs, offsets compared as instants; a
    year-less syslog time has one once ``kmend.triage.scan.dated`` inferred its year),
    else the last in the logs (a console log has no time at all)."""
    n = len(reports)
    if n == 1:
        return 0, "the only one"
    times: list[datetime] = []
    for rep in reports:
        when = parse(rep.timestamp)
        if when is None:
            break
        times.append(when)
    else:
        best = max(range(n), key=lambda i: (times[i], i))
        return best, f"the newest ({reports[best].timestamp})"
    return n - 1, "the newest (last in the logs)"


def choose(reports: Sequence[CrashReport], index: int | None) -> tuple[int, str]:
    """The crash *index* picks (None: the newest), as a 0-based index, and why."""
    n = len(reports)
    if index is None:
        return newest(reports)
    if not -n <= index < n:
        raise UsageError(f"--index {index} is out of range: the logs hold {n} crash(es)",
                         f"give --index 0..{n - 1} or -1 for the last (see kmend scan)")
    return index % n, f"--index {index}"
