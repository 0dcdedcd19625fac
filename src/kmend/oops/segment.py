"""Split a stream of log lines into crash reports, in bounded memory.

Lines arrive in file order (possibly from many files and hosts).  Each (host, printk caller)
pair is a stream of its own: a report is open in a stream from its header line until the next
header in that stream that starts a second crash, until the report's tail after
``---[ end trace`` is over (4.x+ repeats RIP/Code/registers there and a panic may follow), or
until ``MAX_REPORT_LINES`` lines have passed.  Only the lines that an open report may still
need are kept in memory.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace

from kmend.logs.model import LogLine
from kmend.logs.needles import END_TRACE, OUT_OF_TREE, REPORT_SPAN_LINES, TAIL_LINES, continues_tail
from kmend.oops.extract import PANIC_LINE, PREFIX_LINES_TASK, collect_region
from kmend.oops.headers import (
    REPLAYING,
    HeaderHit,
    find_header,
    starts_second_crash,
    user_space_report,
)
from kmend.oops.model import CrashReport

MAX_REPORT_LINES = 1500
#: A report whose stream printed nothing for this many log lines is over (other hosts kept
#: writing, or the prefilter skipped ahead): this bounds memory and work per report.
MAX_SPAN_LINES = REPORT_SPAN_LINES
TRIM_AT = 8192
NESTED_SECONDS = 5.0

#: The separator line printed just before a report's header ("cut here", "=====").
_SEPARATOR_RE = re.compile(r"\s{0,8}(?:-{4,}\[ cut here \]|={20,}|8<-{3,} cut here)")


@dataclass
class _Open:
    start: int
    hit: HeaderHit
    key: tuple[str | None, str | None]
    lines_seen: int = 0
    tail: int = -1  # >= 0 once END_TRACE was seen: lines of tail so far
    #: the host's lines of this boot before the header naming an out-of-tree module
    oot: tuple[str, ...] = ()


#: `` func file:LINE [inline]``: the first match ends the header's head (a search, not a
#: lazy ``^(.*?)`` prefix, which retries the rest at every character: quadratic).
_INLINE_TAIL_RE = re.compile(r"(?<!\s)\s+\S+ \S+:\d+ \[inline\]")


def _inline_expansion(previous: str, text: str) -> bool:
    """A symbolizer prints an inlined function's header line once per inlined frame, each
    ending in ``file:LINE [inline]``; the repeats are one crash (``BUG: KASAN: ... in
    __read_once_size include/linux/compiler.h:254 [inline]`` then ``... in atomic_read``)."""
    if "[inline]" not in previous:
        return False
    m = _INLINE_TAIL_RE.search(previous)
    return m is not None and text.startswith(previous[: m.start()])


def _with_debris_notes(report: CrashReport, lines: list[LogLine]) -> CrashReport:
    """*report* with a note naming the paste debris removed from its lines, in the order the
    rules first fired (each report says what was done to its own lines)."""
    rules: dict[str, None] = {}
    for line in lines:
        for rule in line.debris:
            rules.setdefault(rule)
    if not rules:
        return report
    note = "pasted text normalised: " + ", ".join(rules)
    return replace(report, notes=(*report.notes, note))


def is_bare(line: LogLine) -> bool:
    """A line with no container at all (no printk stamp, level, caller id or syslog prefix;
    a host may still come from a per-host directory's name): text pasted on its own, where a
    header must start a kernel line to count."""
    return (
        line.uptime is None
        and line.timestamp is None
        and line.level is None
        and line.context is None
    )


#: printk times within one boot only grow (records of several CPUs may be out of order by
#: microseconds); a stamp this much below an earlier one of the same host is a later boot.
REBOOT_SECONDS = 0.1
#: The first line a kernel prints at boot (``Linux version 6.1.0-47-amd64 (debian-kernel@…``).
_BANNER_RE = re.compile(r"Linux version \d+\.\d+\S* \(")
#: Bounds of the per-host state: hosts remembered, out-of-tree lines per host and boot.
MAX_HOSTS = 4096
MAX_OOT_LINES = 64


def _rebooted(uptime: float | None, boot: str | None, line: LogLine) -> bool:
    """Whether *line* was printed by a later boot than a line of the same host with printk
    time *uptime* and journal boot id *boot*: its boot id differs, its printk time went
    back, or it is the boot banner."""
    if boot is not None and line.boot is not None and boot != line.boot:
        return True
    if uptime is not None and line.uptime is not None and line.uptime < uptime - REBOOT_SECONDS:
        return True
    return line.text.startswith("Linux version ") and _BANNER_RE.match(line.text) is not None


def _key(line: LogLine) -> tuple[str | None, str | None]:
    ctx = line.context if line.context else None
    return (line.host, ctx)


class _Segmenter:
    def __init__(self) -> None:
        self.window: list[LogLine] = []
        self.open: dict[tuple[str | None, str | None], _Open] = {}
        #: hosts that printed a line with a printk caller id (per host: another host's lines
        #: say nothing about this one's, and the reader may skip them)
        self.ids_hosts: set[str | None] = set()
        self.source: str | None = None
        #: per host, this boot's lines naming an out-of-tree module being loaded (line
        #: number, text), and the host's last printk time and boot (to see it reboot)
        self.oot: dict[str | None, list[tuple[int, str]]] = {}
        self.last_up: dict[str | None, tuple[float | None, str | None]] = {}
        self._decode: Callable[..., CrashReport | None] | None = None
        #: sources seen so far, and the header order key of the report closed last
        self.sources = 0
        self.closed_key = (0, 0)

    def oldest_open(self) -> tuple[int, int] | None:
        """The header order key of the oldest report still open, if any."""
        if not self.open:
            return None
        return (self.sources, self.window[self._oldest()].lineno)

    # -- closing -----------------------------------------------------------------
    def _close(self, rep: _Open, end: int, *, interrupted: bool = False) -> Iterator[CrashReport]:
        # imported at the first report, not at start-up: decoding pulls in capstone and the
        # naming rules, which then load while the log reader's worker is still searching
        if self._decode is None:
            from kmend.oops.decode import Decoder

            self._decode = Decoder()
        del self.open[rep.key]
        host = self.window[rep.start].host
        region = collect_region(
            self.window,
            rep.start,
            rep.hit,
            has_ids=host in self.ids_hosts,
            end=end,
            interrupted=interrupted,
        )
        if is_bare(self.window[rep.start]) and user_space_report(
            rep.hit.header.name, [self.window[j].text for j in region.indexes]
        ):
            return
        panicked = any(
            PANIC_LINE in self.window[j].text and self.window[j].host == host
            for j in range(rep.start, min(end, len(self.window)))
        )
        report = self._decode(self.window, region, panicked=panicked, oot_lines=rep.oot)
        if report is not None:
            lines = [self.window[j] for j in region.indexes]
            if region.prefix and _SEPARATOR_RE.match(self.window[region.prefix[-1]].text):
                lines.append(self.window[region.prefix[-1]])  # the report's "cut here" line
            # the report's place in header order: (source, header line)
            self.closed_key = (self.sources, self.window[rep.start].lineno)
            yield _with_debris_notes(report, lines)

    def _oldest(self) -> int:
        return min(r.start for r in self.open.values())

    def _close_stale(self, lineno: int, index: int) -> Iterator[CrashReport]:
        for rep in sorted(self.open.values(), key=lambda r: r.start):
            if lineno - self.window[rep.start].lineno > MAX_SPAN_LINES:
                yield from self._close(rep, index)

    def flush(self) -> Iterator[CrashReport]:
        for rep in sorted(self.open.values(), key=lambda r: r.start):
            yield from self._close(rep, len(self.window))
        self.window = []
        self.oot = {}
        self.last_up = {}
        self.ids_hosts = set()

    def _trim(self) -> None:
        keep_from = min((r.start for r in self.open.values()), default=len(self.window))
        keep_from = max(0, keep_from - PREFIX_LINES_TASK)
        if keep_from <= 0:
            return
        self.window = self.window[keep_from:]
        for rep in self.open.values():
            rep.start -= keep_from

    def _nested(self, rep: _Open, line: LogLine) -> bool:
        """With printk caller ids, a crash header from the same caller within moments of the
        first is printed while reporting it (a WARNING inside an RCU-stall dump, say): it is
        part of the same report, as syzkaller treats it."""
        if not line.context or rep.tail >= 0:
            return False
        first = self.window[rep.start].uptime
        return (
            first is not None and line.uptime is not None and line.uptime - first < NESTED_SECONDS
        )

    # -- feeding -----------------------------------------------------------------
    def _watch_host(self, line: LogLine) -> None:
        """Keep the host's out-of-tree lines of this boot (forgotten when it reboots)."""
        host = line.host
        last = self.last_up.get(host)
        if last is not None and _rebooted(last[0], last[1], line):
            self.oot.pop(host, None)
        if line.uptime is not None or line.boot is not None:
            if len(self.last_up) >= MAX_HOSTS:
                self.last_up.clear()
            self.last_up[host] = (line.uptime, line.boot)
        if OUT_OF_TREE in line.text:
            if len(self.oot) >= MAX_HOSTS:
                self.oot.clear()
            seen = self.oot.setdefault(host, [])
            if len(seen) < MAX_OOT_LINES and all(text != line.text for _, text in seen):
                seen.append((line.lineno, line.text))

    def feed(self, line: LogLine) -> Iterator[CrashReport]:
        if line.source != self.source:
            yield from self.flush()
            self.source = line.source
            self.sources += 1
        index = len(self.window)
        self.window.append(line)
        self._watch_host(line)
        if line.context:
            self.ids_hosts.add(line.host)
        if self.open and line.lineno - self.window[self._oldest()].lineno > MAX_SPAN_LINES:
            yield from self._close_stale(line.lineno, index)
        key = _key(line)
        bare = is_bare(line)
        hit = find_header(line.text, bare=bare)
        rep = self.open.get(key)
        if rep is not None and _rebooted(
            self.window[rep.start].uptime, self.window[rep.start].boot, line
        ):
            yield from self._close(rep, index)
            rep = None
        if rep is not None:
            rep.lines_seen += 1
            if (
                hit is not None
                and starts_second_crash(line.text, bare=bare)
                and not self._nested(rep, line)
                and not _inline_expansion(self.window[index - 1].text, line.text)
            ):
                yield from self._close(rep, index, interrupted=True)
                rep = None
            elif rep.tail >= 0:
                rep.tail += 1
                continuing = hit is not None or continues_tail(line.text)
                if not continuing or rep.tail > TAIL_LINES:
                    yield from self._close(rep, index)
                    rep = None
                    hit = None  # a tail line is never a new report
            elif END_TRACE in line.text:
                rep.tail = 0
            elif rep.lines_seen > MAX_REPORT_LINES:
                yield from self._close(rep, index)
                rep = None
        if rep is None and hit is not None and key not in self.open and REPLAYING not in line.text:
            oot = tuple(text for n, text in self.oot.get(line.host, ()) if n < line.lineno)
            self.open[key] = _Open(index, hit, key, oot=oot)
        if REPLAYING in line.text and index > 0:
            # "** replaying previous printk message **": the header before it was a replay.
            prev = self.open.get(_key(self.window[index - 1]))
            if prev is not None and prev.start == index - 1:
                del self.open[prev.key]
        if len(self.window) > TRIM_AT:
            self._trim()


def parse_reports(lines: Iterable[LogLine]) -> Iterator[CrashReport]:
    """Every crash report in *lines*, in the order their headers appear (a report closed
    while one with an earlier header is still open waits for it: reports of interleaved
    hosts and streams close in any order)."""
    seg = _Segmenter()
    ready: list[tuple[tuple[int, int], int, CrashReport]] = []
    count = 0
    for line in lines:
        for report in seg.feed(line):
            heapq.heappush(ready, (seg.closed_key, count, report))
            count += 1
        if ready:
            oldest = seg.oldest_open()
            while ready and (oldest is None or ready[0][0] < oldest):
                yield heapq.heappop(ready)[2]
    for report in seg.flush():
        heapq.heappush(ready, (seg.closed_key, count, report))
        count += 1
    while ready:
        yield heapq.heappop(ready)[2]
