"""Skip the parts of a huge log that cannot hold a crash.

Each block of whole lines is searched at C speed for the byte needles of
``kmend.oops.needles``; only the lines from ``LINES_BEFORE`` before to ``LINES_AFTER``
after a hit (windows merged) are passed on for full parsing.  Line numbers stay exact:
skipped newlines are counted with ``bytes.count``.  Pieces of over-long lines (blocks
that do not end at a newline) are always kept, so a flattened report of any size is seen.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from kmend.logs.lines import Block
from kmend.oops.needles import LINES_AFTER, LINES_BEFORE, PREFILTER_NEEDLES

#: Lines whose text is not visible as bytes: a journal JSON MESSAGE given as an array of
#: byte values (journalctl's form for a message with control or non-UTF-8 bytes).
CONTAINER_NEEDLES: tuple[bytes, ...] = (b'"MESSAGE":[', b'"MESSAGE" : [', b'"MESSAGE": [')


class NeedleFinder:
    """All start offsets of any needle in ``data[start:end]``, sorted."""

    def __init__(self, needles: Sequence[bytes] = PREFILTER_NEEDLES + CONTAINER_NEEDLES) -> None:
        self.needles = tuple(needles)
        self._engine = _fast_engine(self.needles)

    def hits(self, data: bytes, start: int = 0, end: int | None = None) -> list[int]:
        stop = len(data) if end is None else end
        if self._engine is not None:
            return self._engine(data, start, stop)
        found: list[int] = []
        for needle in self.needles:
            pos = data.find(needle, start, stop)
            while pos >= 0:
                found.append(pos)
                pos = data.find(needle, pos + 1, stop)
        found.sort()
        return found


def _fast_engine(needles: tuple[bytes, ...]) -> Callable[[bytes, int, int], list[int]] | None:
    """A SIMD multi-needle searcher (ahocorasick-rs), or None to use ``bytes.find``.

    Leftmost-first, non-overlapping matching reports every needle occurrence except ones
    starting inside another match, which is all the windowing needs (a hit per line).
    """
    try:
        import ahocorasick_rs
    except ImportError:  # pragma: no cover - a declared dependency; bytes.find still works
        return None
    automaton = ahocorasick_rs.BytesAhoCorasick(
        list(needles), matchkind=ahocorasick_rs.MatchKind.LeftmostFirst
    )

    def hits(data: bytes, start: int, end: int) -> list[int]:
        view = memoryview(data)[start:end]
        return [start + s for _, s, _ in automaton.find_matches_as_indexes(view)]

    return hits


def _advance(data: bytes, pos: int, lines: int, end: int) -> int:
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


class WindowFilter:
    """Stateful filter over the consecutive blocks of one stream.

    :meth:`feed` returns the kept runs of lines as new (copied, numbered) blocks, with
    None before a run when lines were skipped since the previous one.
    """

    def __init__(
        self,
        finder: NeedleFinder | None = None,
        before: int = LINES_BEFORE,
        after: int = LINES_AFTER,
    ) -> None:
        self.finder = finder or NeedleFinder()
        self.before = before
        self.after = after
        self._keep_until = 0  # last line number that must be kept
        self._next_line = 1  # first line number not yet emitted
        self._tail = b""  # the previous block's last lines that were not emitted
        self._tail_line = 0
        self._line = 1  # number of the first line of the next block

    def _emit(self, data: bytes, lineno: int, out: list[Block | None]) -> None:
        if not data:
            return
        if lineno != self._next_line:
            out.append(None)
        n = data.count(b"\n")
        out.append(Block(data, 0, len(data), lineno, False, False, n))
        self._next_line = lineno + n

    def _emit_tail(self, from_line: int, out: list[Block | None]) -> None:
        """Emit the previous block's unemitted lines from *from_line* on."""
        tail = self._tail
        if tail:
            skip = from_line - self._tail_line
            start = _advance(tail, 0, skip, len(tail)) if skip > 0 else 0
            self._emit(tail[start:], self._tail_line + max(skip, 0), out)
        self._tail = b""

    def feed(self, block: Block) -> list[Block | None]:
        """The kept parts of *block*; None marks a gap (lines were skipped before)."""
        out: list[Block | None] = []
        data, bstart, bend = block.data, block.start, block.end
        first = self._line
        if block.cont_first or block.open_end:
            nlines = data.count(b"\n", bstart, bend)
            self._line = first + nlines
            self._emit_tail(first - self.before, out)
            if first != self._next_line:
                out.append(None)
            out.append(Block(data, bstart, bend, first, block.cont_first, block.open_end, nlines))
            self._next_line = first + nlines
            self._keep_until = max(self._keep_until, first + nlines + self.after)
            return out
        # the open window: (start offset, start line, end line, last hit's line start, line)
        cur: tuple[int, int, int, int, int] | None = None
        if self._keep_until >= first:
            self._tail = b""
            cur = (bstart, first, self._keep_until, bstart, first)
        floor = bstart  # nothing before this offset may be emitted again
        prev_h, prev_line = bstart, first
        last_hl = -1
        for h in self.finder.hits(data, bstart, bend):
            hl = prev_line + data.count(b"\n", prev_h, h)
            prev_h, prev_line = h, hl
            if hl == last_hl:
                continue
            last_hl = hl
            ls = data.rfind(b"\n", bstart, h) + 1 or bstart
            if cur is not None and hl - self.before <= cur[2] + 1:
                if hl + self.after > cur[2]:
                    cur = (cur[0], cur[1], hl + self.after, ls, hl)
                continue
            if cur is not None:
                floor = self._flush(data, bend, cur, out)
            start_line = hl - self.before
            if start_line < first:
                self._emit_tail(start_line, out)
            start = _back(data, ls, hl - max(start_line, first), floor)
            cur = (start, hl - data.count(b"\n", start, ls), hl + self.after, ls, hl)
        windowed = cur is not None
        if cur is not None:
            floor = self._flush(data, bend, cur, out)
        self._line = prev_line + data.count(b"\n", prev_h, bend)
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
        return out

    def _flush(
        self, data: bytes, bend: int, cur: tuple[int, int, int, int, int], out: list[Block | None]
    ) -> int:
        start, start_line, end_line, ls, hl = cur
        end = _advance(data, ls, end_line - hl + 1, bend)
        self._emit(data[start:end], start_line, out)
        self._keep_until = end_line
        return end
