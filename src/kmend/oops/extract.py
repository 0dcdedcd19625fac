"""Find where a crash report starts and which lines belong to it.

A report starts at a header line (``kmend.oops.headers``).  When that line carries a printk
caller id (``[T123]``/``[C3]``, CONFIG_PRINTK_CALLER, 5.1+) only lines of the same caller go
into the report, which separates the output of CPUs and tasks that print at the same time;
once a ``Sending NMI from CPU`` line was seen, other CPUs' lines (``[Cn]``) join, because the
NMI backtraces they print belong to the report.  Without caller ids, a second crash header
ends the text used for naming.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from kmend._compat import dataclass
from kmend.logs.model import LogLine
from kmend.logs.needles import LINES_BEFORE
from kmend.oops.headers import (
    INFO_WITH_STACK,
    HeaderHit,
    starts_second_crash,
)

QUESTIONABLE_FRAME_RE = re.compile(
    r"^\s*(?:\[<?[0-9a-fA-F]+>?\]\s*)*\?\s+[A-Za-z0-9_.$]+\+0x|\(unreliable\)\s*$"
)
PANIC_LINE = "Kernel panic - not syncing"
CIRCULAR = "WARNING: possible circular locking dependency detected"
DROPPED = ("Disabling lock debugging due to kernel taint",)
PREFIX_LINES = 5
PREFIX_LINES_TASK = 50


def line_context(line: LogLine) -> str | None:
    """The caller id, ``console`` for a timestamped line without one, else None."""
    if line.context:
        return line.context
    if line.uptime is not None:
        return "console"
    return None


#: How many lines before a report are searched for "loading out-of-tree module taints kernel"
#: when the caller of the decoder does not give them (the segmenter gives the host's lines
#: of the boot, however far back).
OOT_LOOKBACK = 2000


@dataclass(frozen=True, slots=True)
class Region:
    """The lines of one report: indexes into the log's line list."""

    header: HeaderHit
    start: int  # index of the header line
    indexes: tuple[int, ...]  # header line first, then the report's lines in order
    prefix: tuple[int, ...]  # same-context lines just before the header (not for naming)
    cut: int | None  # position in ``indexes`` where a second crash begins (naming stops)


def collect_region(
    lines: Sequence[LogLine],
    start: int,
    header: HeaderHit,
    *,
    has_ids: bool,
    end: int | None = None,
) -> Region:
    """Gather the report that begins at *start* (see the module docstring)."""
    ctx = line_context(lines[start])
    host = lines[start].host
    stop = len(lines) if end is None else end
    indexes: list[int] = [start]
    nmi = False
    for j in range(start + 1, stop):
        line = lines[j]
        if line.host != host:
            continue
        lctx = line_context(line)
        other_cpu = nmi and lctx is not None and lctx.startswith("C")
        if ctx is not None and lctx != ctx and not other_cpu:
            continue
        if "Sending NMI from CPU" in line.text:
            nmi = True
        indexes.append(j)
    cut: int | None = None
    if not has_ids:
        for k, j in enumerate(indexes[1:], start=1):
            text = lines[j].text
            if starts_second_crash(text) or any(m in text for m in INFO_WITH_STACK):
                cut = k
                break
    limit = PREFIX_LINES_TASK if ctx is not None and ctx.startswith("T") else PREFIX_LINES
    prefix: list[int] = []
    near = lines[start].lineno - LINES_BEFORE  # the reader's prefilter keeps no more
    for j in range(start - 1, -1, -1):
        if len(prefix) >= limit or lines[j].lineno < near:
            break
        if lines[j].host == host and line_context(lines[j]) == ctx:
            prefix.append(j)
    prefix.reverse()
    return Region(header, start, tuple(indexes), tuple(prefix), cut)


def naming_lines(lines: Sequence[LogLine], region: Region) -> list[str]:
    """The report text used for naming: questionable frames and noise dropped, and a trailing
    panic or circular-locking report cut once the report is already long."""
    chosen = region.indexes if region.cut is None else region.indexes[: region.cut]
    out: list[str] = []
    kmsan = "KMSAN" in lines[region.start].text
    limit = 16 if kmsan else 22
    for j in chosen:
        text = lines[j].text
        if QUESTIONABLE_FRAME_RE.search(text):
            continue
        if any(d in text for d in DROPPED):
            continue
        if out and len(out) > limit and (PANIC_LINE in text or CIRCULAR in text):
            break
        out.append(text)
    return out
