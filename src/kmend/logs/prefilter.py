"""Skip the parts of a huge log that cannot hold a crash.

Each block of whole lines is searched at C speed for the byte needles of
``kmend.logs.needles``; only the lines near a hit (windows merged) are passed on for full
parsing.  Line numbers stay exact: skipped newlines are counted (``bytes.count``, or
numpy's vectorised compare on inputs of more than one block, five times faster: it was
half of the search's time).  Pieces of over-long lines (blocks that do not end at a
newline) are always kept, so a flattened report of any size is seen.

**Hosts.** A syslog file from many hosts interleaves them, and a report only ever takes
lines of its own host (``kmend.oops.extract``).  So a hit on a kernel syslog line of host H
keeps H's kernel lines from ``LINES_BEFORE`` before it to the end of H's report: the line
that closes its tail after ``---[ end trace`` when :func:`report_close` finds it (it reads
H's lines there as the segmenter does, and the closing line is kept so that the report
closes on it), else ``REPORT_SPAN_LINES`` after it, as long as the segmenter may keep a
report open.  The reports are thus exactly those of a full parse, and on a log where
crashes are dense the windows still cover little of it.  The lines of other hosts in such
a window are skipped, unless their own reports' ranges reach into it: each host's lines
are found with ``bytes.find`` of `` HOST kernel`` inside its ranges only (and newlines
counted there only), so skipped lines cost no Python work.  A hit that cannot be
attributed to a host (console, dmesg or journal text, an
unusual tag) keeps every line from ``LINES_BEFORE`` before to ``LINES_AFTER`` after it,
and every line near it in other windows.  A hit on a syslog line of another program
(``smartd: WARNING: …``) keeps nothing: it is no kernel message.  A hit on a line with
only context needles (``kmend.logs.needles.CONTEXT_NEEDLES``: a line a later report reads,
not the start of one) keeps that line, with no window after it.  The last
``LINES_BEFORE`` lines of a block inside a window are kept whole: the next block's first
hits may need them, and their hosts are not known yet.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from kmend.logs.grammar import HOST, PRI, TIME, b, plain
from kmend.logs.lines import MAX_LINE, Block, Piece
from kmend.logs.needles import (
    CONTEXT_NEEDLES,
    END_TRACE,
    LINES_AFTER,
    LINES_BEFORE,
    PREFILTER_NEEDLES,
    REPORT_SPAN_LINES,
    TAIL_LINES,
    continues_tail,
)
from kmend.logs.parser import LineParser

if TYPE_CHECKING:
    from typing import TypeAlias

#: Lines whose text is not visible as bytes: a journal JSON MESSAGE given as an array of
#: byte values (journalctl's form for a message with control or non-UTF-8 bytes).
CONTAINER_NEEDLES: tuple[bytes, ...] = (b'"MESSAGE":[', b'"MESSAGE" : [', b'"MESSAGE": [')

#: Needles per automaton.  The SIMD prefilter of the aho-corasick crate (Teddy) is fast for
#: a handful of patterns and several times slower for all of them at once (measured on
#: bench/scan.py's log: 0.32 s/GiB for one automaton, 0.05 + 0.07 s/GiB for 8 + 17).
ENGINE_GROUPS: tuple[slice, ...] = (slice(0, 8), slice(8, None))

#: The keys of the hosts of a hit: a host name, or None for "every line" (no host known).
HostKeys: TypeAlias = "tuple[bytes | None, ...]"  # quoted: Python 3.9 hosts
ALL: HostKeys = (None,)

#: A syslog prefix of a kernel message (``kmend.logs.grammar``), anywhere in a line (a
#: flattened one holds many): the host is group 1.
_KERNEL_PREFIX_B = re.compile(
    b(r"(?:^|(?<=\s))" + plain(PRI) + TIME + " (" + plain(HOST) + ")"
      + r" kernel(?:\[\d{1,10}\])?:(?: |$)")
)
#: The start of a syslog line of any program (the host is then knowable).
_SYSLOG_START_B = re.compile(b(plain(PRI) + TIME))


def kernel_syslog_hosts(line: bytes) -> tuple[bytes, ...] | None:
    """The hosts of the kernel syslog prefixes in *line* (none: another program's syslog
    line, or an unusual one); None when the line does not start as a syslog line."""
    if not _SYSLOG_START_B.match(line):
        return None
    return tuple({m[1] for m in _KERNEL_PREFIX_B.finditer(line)})


def hit_hosts(line: bytes) -> HostKeys:
    """Whose kernel lines a needle hit on *line* makes worth parsing.

    The hosts of the kernel syslog prefixes in the line; none for another program's syslog
    line without any ``kernel``; ``ALL`` when the line's host is unknown (console, dmesg,
    journal text) or its shape unusual.
    """
    hosts = kernel_syslog_hosts(line)
    if hosts is None:
        return ALL
    if hosts:
        return hosts
    return ALL if b"kernel" in line else ()


class NeedleFinder:
    """All start offsets of any needle in ``data[start:end]``, sorted."""

    def __init__(
        self, needles: Sequence[bytes] = PREFILTER_NEEDLES + CONTAINER_NEEDLES + CONTEXT_NEEDLES
    ) -> None:
        self.needles = tuple(needles)
        self._engines = _fast_engines(self.needles)

    def hits(self, data: bytes, start: int = 0, end: int | None = None) -> list[int]:
        stop = len(data) if end is None else end
        if self._engines:
            if len(self._engines) == 1:
                return self._engines[0](data, start, stop)
            found = [h for engine in self._engines for h in engine(data, start, stop)]
            found.sort()
            return found
        found = []
        for needle in self.needles:
            pos = data.find(needle, start, stop)
            while pos >= 0:
                found.append(pos)
                pos = data.find(needle, pos + 1, stop)
        found.sort()
        return found


def _fast_engines(needles: tuple[bytes, ...]) -> list[Callable[[bytes, int, int], list[int]]]:
    """SIMD multi-needle searchers (ahocorasick-rs), or none to use ``bytes.find``.

    Leftmost-first, non-overlapping matching reports every needle occurrence except ones
    starting inside another match of the same automaton, which is all the windowing needs
    (a hit per line).
    """
    try:
        import ahocorasick_rs
    except ImportError:  # pragma: no cover - a declared dependency; bytes.find still works
        return []
    groups = [needles[s] for s in ENGINE_GROUPS] if len(needles) > 8 else [needles]
    kind = ahocorasick_rs.MatchKind.LeftmostFirst
    return [
        _engine(ahocorasick_rs.BytesAhoCorasick(list(group), matchkind=kind))
        for group in groups
        if group
    ]


def _engine(automaton: Any) -> Callable[[bytes, int, int], list[int]]:
    """The start offsets of *automaton*'s matches in ``data[start:end]``."""
    find = automaton.find_matches_as_indexes

    def hits(data: bytes, start: int, end: int) -> list[int]:
        view = memoryview(data)[start:end]
        return [start + s for _, s, _ in find(view)]

    return hits


Counter = Callable[[bytes, int, int], int]
#: ``advance(data, pos, lines, end)``: the offset just after the *lines*-th newline at or
#: after *pos* (*end* if there are fewer).
Advance = Callable[[bytes, int, int, int], int]


def count_plain(data: bytes, start: int, end: int) -> int:
    """The newlines in ``data[start:end]``."""
    return data.count(b"\n", start, end)


def fast_line_ops() -> tuple[Counter, Advance]:
    """A newline counter and :func:`advance_plain` that use numpy for long spans
    (``bytes.count`` compares one byte at a time; numpy's compare is vectorised), or the
    plain ones without numpy."""
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - a declared dependency
        return count_plain, advance_plain
    frombuffer, count_nonzero, u8 = np.frombuffer, np.count_nonzero, np.uint8

    def count(data: bytes, start: int, end: int) -> int:
        if end - start < 1 << 11:  # numpy is faster from about 2 KiB
            return data.count(b"\n", start, end)
        return int(count_nonzero(frombuffer(data, u8, end - start, start) == 10))

    def advance(data: bytes, pos: int, lines: int, end: int) -> int:
        if lines < 64:
            return advance_plain(data, pos, lines, end)
        # count over a guessed span, correct the guess from the line length seen, then
        # step back over the few newlines too many
        span = min(end, pos + lines * 128)
        n = count(data, pos, span)
        while n < lines or n > lines + 256:
            if n < lines:
                if span >= end:
                    return end
                per = (span - pos) / max(n, 1)
                nxt = min(end, span + int((lines - n) * per * 1.05) + 1024)
                n += count(data, span, nxt)
            else:
                nxt = pos + int((span - pos) * (lines + 128) / n)
                n -= count(data, nxt, span)
            span = nxt
        at = span
        for _ in range(n - lines + 1):
            at = data.rfind(b"\n", pos, at)
        return at + 1

    return count, advance


def advance_plain(data: bytes, pos: int, lines: int, end: int) -> int:
    """Offset just after the *lines*-th newline at or after *pos* (*end* if fewer)."""
    if lines <= 0:
        return pos
    span = min(end, pos + lines * 256)
    while True:
        parts = data[pos:span].split(b"\n", lines)  # at C speed, however many lines
        if len(parts) > lines:
            return span - len(parts[-1])
        if span >= end:
            return end
        span = min(end, pos + (span - pos) * 4)


def _back(data: bytes, pos: int, lines: int, floor: int) -> int:
    """Offset of the start of the line *lines* lines before the line starting at *pos*."""
    for _ in range(lines):
        if pos <= floor:
            return floor
        nl = data.rfind(b"\n", floor, pos - 1)
        pos = nl + 1 if nl >= 0 else floor
    return max(pos, floor)


#: Byte ranges of a block where a host's lines are wanted: (start, end, the 0-based
#: number of the line starting at *start*).
Ranges = Sequence[tuple[int, int, int]]


def host_lines(
    data: bytes, hosts: Sequence[bytes] | Mapping[bytes, Ranges], count: Counter = count_plain
) -> tuple[list[int], bytes]:
    """The kernel syslog lines of *hosts* in *data* (whole lines): their indexes (0-based
    line numbers within *data*) and the lines joined (each ending with a newline).

    *hosts* maps each host to the ranges of *data* where its lines are wanted (a line is
    taken when its host's name starts inside one), or lists hosts wanted everywhere.
    Newlines are counted inside those ranges only.
    """
    spans: Mapping[bytes, Ranges] = (
        hosts if isinstance(hosts, Mapping) else {h: ((0, len(data), 0),) for h in hosts}
    )
    found: dict[int, int] = {}  # line start → its index
    for host, ranges in spans.items():
        needle = b" " + host + b" kernel"
        for lo, hi, lo_line in ranges:
            at, line = lo, lo_line
            pos = data.find(needle, lo, hi)
            while pos >= 0:
                ls = data.rfind(b"\n", 0, pos) + 1
                if ls >= at:
                    line += count(data, at, ls)
                    at = ls
                    found[ls] = line
                nl = data.find(b"\n", pos)
                if nl < 0:
                    break
                pos = data.find(needle, nl, hi)
    indexes: list[int] = []
    parts: list[bytes] = []
    for ls in sorted(found):
        nl = data.find(b"\n", ls)
        parts.append(data[ls : nl + 1] if nl >= 0 else data[ls:] + b"\n")
        indexes.append(found[ls])
    return indexes, b"".join(parts)


_END_TRACE_B = END_TRACE.encode()
_TEXT_NEEDLES = tuple(n.decode() for n in PREFILTER_NEEDLES)
#: How far after a hit :func:`report_close` looks for the report's end (a report of a few
#: hundred lines, interleaved with other hosts' lines).
CLOSE_SEARCH_BYTES = 256 << 10


def _one_line(parser: LineParser, data: bytes, start: int, end: int, host: str) -> str | None:
    """The text of the line ``data[start:end]`` when it is one plain kernel message of
    *host* (no printk caller id, not flattened); "" when it is no line of *host*'s kernel
    stream; None when it is something the prefilter does not reason about."""
    if end - start > MAX_LINE:
        return None
    parser.reset()
    got = parser.feed(Piece(0, data[start:end].decode("utf-8", "replace")))
    mine = [ll for ll in got if ll.host == host]
    if not mine:
        return "" if not got or all(ll.host is not None for ll in got) else None
    if len(got) != 1 or mine[0].context is not None:
        return None
    return mine[0].text


def report_close(data: bytes, ls: int, end: int, host: bytes) -> tuple[int, int] | None:
    """Where the report of *host* open at the hit line starting at offset *ls* is closed
    at the latest: (the offset of its ``---[ end trace`` line, the start offset of the
    line that closes it), or None when that is not known within ``data[ls:end]``.

    The segmenter (``kmend.oops.segment``) closes a host's report at the first line of its
    stream after ``---[ end trace`` that does not continue the tail, or after
    ``TAIL_LINES`` tail lines; it may close it earlier (a second crash header, staleness),
    never later, so the lines after this one are not needed by it.  Only plain syslog
    kernel lines without caller ids are reasoned about; anything else gives None.
    """
    name = host.decode("utf-8", "replace")
    needle = b" " + host + b" kernel"
    parser = LineParser("")
    nl = data.find(b"\n", ls, end)
    if nl < 0:
        return None
    first = _one_line(parser, data, ls, nl, name)
    if not first:
        return None  # the hit line itself is not plain: keep the whole span
    pos = nl + 1
    # the first END_TRACE line of the host after the hit line
    while True:
        at = data.find(_END_TRACE_B, pos, end)
        if at < 0:
            return None
        lstart = data.rfind(b"\n", pos, at) + 1 or pos
        lend = data.find(b"\n", at, end)
        if lend < 0:
            return None
        if data.find(needle, lstart, at) >= 0:
            text = _one_line(parser, data, lstart, lend, name)
            if text is None:
                return None
            if text:
                break
        pos = lend + 1
    trace = lstart
    tail = 0
    pos = lend + 1
    while True:
        at = data.find(needle, pos, end)
        if at < 0:
            return None
        lstart = data.rfind(b"\n", pos, at) + 1 or pos
        lend = data.find(b"\n", at, end)
        if lend < 0:
            return None
        text = _one_line(parser, data, lstart, lend, name)
        if text is None:
            return None
        if text:
            tail += 1
            # a crash header continues a tail too; every header holds a needle, so a line
            # with one is taken to continue it (the window may then end later, never earlier)
            continuing = continues_tail(text) or any(n in text for n in _TEXT_NEEDLES)
            if not continuing or tail > TAIL_LINES:
                return trace, lstart
        pos = lend + 1


class WindowFilter:
    """Stateful filter over the consecutive blocks of one stream.

    :meth:`feed` returns the kept runs of lines as new (copied, numbered) blocks, with
    None before a run when lines were skipped since the previous one.  A run filtered down
    to some hosts' lines is a block with ``linenos``.
    """

    def __init__(
        self,
        finder: NeedleFinder | None = None,
        before: int = LINES_BEFORE,
        after: int = LINES_AFTER,
        span: int = REPORT_SPAN_LINES,
    ) -> None:
        self.finder = finder or NeedleFinder()
        self.before = before
        self.after = after
        self.span = span
        self._keep_until = 0  # last line number that must be kept
        self._next_line = 1  # first line number not yet emitted
        self._tail = b""  # the previous block's last lines that were not emitted
        self._tail_line = 0
        self._line = 1  # number of the first line of the next block
        #: host key → the last line its reports may take (of its hits so far)
        self._recent: dict[bytes | None, int] = {}
        #: this block's hits: line, hosts, the last line their reports may take
        self._block_hits: list[tuple[int, HostKeys, int]] = []
        #: host → (first hit offset, its end trace offset, close offset) in the current
        #: block: the close of the hits before that end trace
        self._closes: dict[bytes, tuple[int, int, int]] = {}
        #: count newlines and find the n-th (numpy's, ``fast_line_ops()``, on long streams)
        self.count: Counter = count_plain
        self.advance: Advance = advance_plain

    # -- which hosts' lines a run keeps -------------------------------------------------
    def _hosts_for(self, first: int, last: int) -> dict[bytes, list[tuple[int, int]]] | None:
        """For the lines *first*..*last*: the hosts of interest, each with the line ranges
        its reports may need (from LINES_BEFORE before a hit to the end of its report);
        None when every line is of interest (a hit whose host is not known)."""
        spans: dict[bytes, list[tuple[int, int]]] = {}
        for key, end in self._recent.items():
            if end >= first:
                if key is None:
                    return None
                spans.setdefault(key, []).append((first, end))
        upto = last + self.before
        for line, hosts, end in self._block_hits:
            if line > upto:
                break
            if end >= first:
                for key in hosts:
                    if key is None:
                        return None
                    spans.setdefault(key, []).append((line - self.before, end))
        return spans

    def _emit(self, data: bytes, lineno: int, out: list[Block | None], every: bool = False) -> None:
        """Emit the whole lines *data* numbered from *lineno*: those of the hosts of
        interest, or all of them (*every*, or no host known)."""
        if not data:
            return
        n = self.count(data, 0, len(data))
        spans = None if every else self._hosts_for(lineno, lineno + n - 1)
        if spans is not None:
            indexes, kept = host_lines(data, self._offsets(data, lineno, n, spans), self.count)
            if indexes:
                if lineno + indexes[0] != self._next_line:
                    out.append(None)
                linenos = [lineno + i for i in indexes]
                out.append(Block(kept, 0, len(kept), linenos[0], False, False, len(linenos),
                                 linenos))  # fmt: skip
                self._next_line = linenos[-1] + 1
            return
        if lineno != self._next_line:
            out.append(None)
        out.append(Block(data, 0, len(data), lineno, False, False, n))
        self._next_line = lineno + n

    def _offsets(
        self, data: bytes, lineno: int, n: int, spans: dict[bytes, list[tuple[int, int]]]
    ) -> dict[bytes, Ranges]:
        """*spans* (absolute line ranges, inclusive) as byte ranges of *data*, whose *n*
        lines are numbered from *lineno*: each range's ends found in one pass."""
        bounds: set[int] = set()
        rel: dict[bytes, list[tuple[int, int]]] = {}
        for host, ranges in spans.items():
            for lo, hi in sorted(ranges):
                a, b = max(lo - lineno, 0), min(hi - lineno + 1, n)  # lines a..b-1
                if a >= b:
                    continue
                merged = rel.setdefault(host, [])
                if merged and a <= merged[-1][1]:
                    merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
                else:
                    merged.append((a, b))
        for ranges in rel.values():
            for a, b in ranges:
                bounds.update((a, b))
        offset: dict[int, int] = {}
        pos = done = 0
        for line in sorted(bounds):
            pos = self.advance(data, pos, line - done, len(data))
            done = line
            offset[line] = pos
        return {h: [(offset[a], offset[b], a) for a, b in ranges] for h, ranges in rel.items()}

    def _emit_tail(self, from_line: int, out: list[Block | None]) -> None:
        """Emit the previous block's unemitted lines from *from_line* on."""
        tail = self._tail
        if tail:
            skip = from_line - self._tail_line
            start = self.advance(tail, 0, skip, len(tail)) if skip > 0 else 0
            self._emit(tail[start:], self._tail_line + max(skip, 0), out)
        self._tail = b""

    def _end_of(self, data: bytes, ls: int, bend: int, hl: int, keys: HostKeys) -> int:
        """The last line the reports of the hit line *hl* (at offset *ls*) may take: the
        line closing its host's report when that is known in this block
        (:func:`report_close`; it must be parsed, so that the report closes there),
        else as long as the segmenter keeps a report open."""
        end = hl + self.span
        if len(keys) == 1 and keys[0] is not None:
            host = keys[0]
            known = self._closes.get(host)
            if known is not None and known[0] <= ls < known[1]:
                # a hit before the same end trace has the same close, if its line is plain
                nl = data.find(b"\n", ls, bend)
                name = host.decode("utf-8", "replace")
                if nl < 0 or not _one_line(LineParser(""), data, ls, nl, name):
                    return end
                close = known[2]
            else:
                # a report's tail is looked for this far (further: the whole span is kept)
                found = report_close(data, ls, min(bend, ls + CLOSE_SEARCH_BYTES), host)
                if found is None:
                    return end
                close = found[1]
                self._closes[host] = (ls, found[0], close)
            end = min(end, hl + self.count(data, ls, close))
        return end

    def _context_only(self, data: bytes, ls: int, le: int) -> bool:
        """Whether the needles of the line ``data[ls:le]`` are all context needles (a line
        kept alone, not the start of a report)."""
        for h in self.finder.hits(data, ls, le):
            if not any(data.startswith(n, h) for n in CONTEXT_NEEDLES):
                return False
        return True

    def _scan(
        self, data: bytes, bstart: int, bend: int, first: int
    ) -> list[tuple[int, int, HostKeys, int, bool]]:
        """The hit lines of the block: (line number, line start offset, hosts, last line
        its reports may take, whether it is a context line kept alone), one per line; also
        records them in ``_block_hits`` and counts the block's lines."""
        found: list[tuple[int, int, HostKeys, int, bool]] = []
        block_hits: list[tuple[int, HostKeys, int]] = []
        prev_h, prev_line = bstart, first
        last_hl = -1
        count = self.count
        for h in self.finder.hits(data, bstart, bend):
            hl = prev_line + count(data, prev_h, h)
            prev_h, prev_line = h, hl
            if hl == last_hl:
                continue
            last_hl = hl
            ls = data.rfind(b"\n", bstart, h) + 1 or bstart
            le = data.find(b"\n", h, bend)
            keys = hit_hosts(data[ls : le if le >= 0 else bend])
            if self._context_only(data, ls, le if le >= 0 else bend):
                end = hl  # the line alone: it opens no report
                found.append((hl, ls, keys, end, True))
            else:
                end = self._end_of(data, ls, bend, hl, keys) if keys else hl
                found.append((hl, ls, keys, end, False))
            block_hits.append((hl, keys, end))
        self._line = prev_line + count(data, prev_h, bend)
        self._block_hits = block_hits
        return found

    def _remember_hits(self) -> None:
        recent = self._recent
        for _line, hosts, end in self._block_hits:
            for key in hosts:
                recent[key] = max(end, recent.get(key, end))
        self._block_hits = []
        if len(recent) > 1024:
            for key in [k for k, end in recent.items() if end < self._line]:
                del recent[key]

    def feed(self, block: Block) -> list[Block | None]:
        """The kept parts of *block*; None marks a gap (lines were skipped before)."""
        out: list[Block | None] = []
        data, bstart, bend = block.data, block.start, block.end
        self._closes.clear()  # offsets into the previous block
        first = self._line
        if block.cont_first or block.open_end:
            nlines = self.count(data, bstart, bend)
            self._line = first + nlines
            self._block_hits = [(first, ALL, first + nlines + self.span)]
            self._emit_tail(first - self.before, out)
            if first != self._next_line:
                out.append(None)
            out.append(Block(data, bstart, bend, first, block.cont_first, block.open_end, nlines))
            self._next_line = first + nlines
            self._keep_until = max(self._keep_until, first + nlines + self.after)
            self._remember_hits()
            return out
        hits = self._scan(data, bstart, bend, first)
        # the open window: (start offset, start line, end line, last hit's line start, line)
        cur: tuple[int, int, int, int, int] | None = None
        if self._keep_until >= first:
            self._emit_tail(first, out)
            cur = (bstart, first, self._keep_until, bstart, first)
        floor = bstart  # nothing before this offset may be emitted again
        hold = _back(data, bend, self.before, bstart) if hits or cur else bend
        for hl, ls, keys, end, context in hits:
            if not keys:
                continue  # another program's syslog line: no report starts there
            # a host's report may take its lines until the segmenter closes it (at the end
            # of its tail, or as stale); lines of unknown hosts are all parsed, for as
            # long as a report may be; a context line is kept alone
            end_line = hl + self.after if keys == ALL and not context else end
            if cur is not None and hl - self.before <= cur[2] + 1:
                if end_line > cur[2]:
                    cur = (cur[0], cur[1], end_line, ls, hl)
                continue
            if cur is not None:
                floor = self._flush(data, bend, hold, cur, out)
            start_line = hl - self.before
            if start_line < first:
                self._emit_tail(start_line, out)
            start = _back(data, ls, hl - max(start_line, first), floor)
            cur = (start, hl - data.count(b"\n", start, ls), end_line, ls, hl)
        windowed = cur is not None
        if cur is not None:
            floor = self._flush(data, bend, hold, cur, out)
        if floor < bend:
            ts = _back(data, bend, self.before, floor)
            tail = data[ts:bend]
            have = tail.count(b"\n")
            if not windowed and ts == bstart and self._tail and have < self.before:
                # a short block: keep the older lines too (a hit may follow soon)
                old = self._tail
                tail = old[_back(old, len(old), self.before - have, 0) :] + tail
            self._tail = tail
            self._tail_line = self._line - tail.count(b"\n")
        else:
            self._tail = b""
        self._remember_hits()
        return out

    def _flush(
        self,
        data: bytes,
        bend: int,
        hold: int,
        cur: tuple[int, int, int, int, int],
        out: list[Block | None],
    ) -> int:
        start, start_line, end_line, ls, hl = cur
        end = self.advance(data, ls, end_line - hl + 1, bend)
        cut = max(start, min(end, hold))
        self._emit(data[start:cut], start_line, out)
        if end > cut:
            # the last LINES_BEFORE lines of the block: a hit early in the next block may
            # want its host's lines from here, and its host is not known yet
            self._emit(data[cut:end], start_line + self.count(data, start, cut), out, True)
        self._keep_until = end_line
        return end
