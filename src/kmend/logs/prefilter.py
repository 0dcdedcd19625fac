"""Skip the parts of a huge log that cannot hold a crash.

Each block of whole lines is searched at C speed for the byte needles of
``kmend.oops.needles``; only the lines from ``LINES_BEFORE`` before to ``LINES_AFTER``
after a hit (windows merged) are passed on for full parsing.  Line numbers stay exact:
skipped newlines are counted with ``bytes.count``.  Pieces of over-long lines (blocks
that do not end at a newline) are always kept, so a flattened report of any size is seen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from kmend.logs.lines import Block
from kmend.oops.needles import LINES_AFTER, LINES_BEFORE, PREFILTER_NEEDLES


class NeedleFinder:
    """All start offsets of any needle in a block, sorted."""

    def __init__(self, needles: Sequence[bytes] = PREFILTER_NEEDLES) -> None:
        self.needles = tuple(needles)
        self._engine = _fast_engine(self.needles)

    def hits(self, data: bytes) -> list[int]:
        if self._engine is not None:
            return self._engine(data)
        found: list[int] = []
        for needle in self.needles:
            pos = data.find(needle)
            while pos >= 0:
                found.append(pos)
                pos = data.find(needle, pos + 1)
        found.sort()
        return found


def _fast_engine(needles: tuple[bytes, ...]) -> Callable[[bytes], list[int]] | None:
    del needles
    return None


def _advance(data: bytes, pos: int, lines: int) -> int:
    """Offset just after the *lines*-th newline at or after *pos* (len(data) if fewer)."""
    for _ in range(lines):
        nl = data.find(b"\n", pos)
        if nl < 0:
            return len(data)
        pos = nl + 1
    return pos


def _back(data: bytes, pos: int, lines: int, floor: int) -> int:
    """Offset of the start of the line *lines* lines before the line starting at *pos*."""
    for _ in range(lines):
        if pos <= floor:
            return floor
        nl = data.rfind(b"\n", floor, pos - 1)
        pos = nl + 1 if nl >= 0 else floor
    return max(pos, floor)


class WindowFilter:
    """Stateful filter over consecutive blocks of one stream."""

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
        self._tail = b""  # unemitted last lines of the previous block
        self._tail_line = 0

    def _emit(self, data: bytes, lineno: int, out: list[Block | None]) -> None:
        if not data:
            return
        if lineno != self._next_line:
            out.append(None)
        out.append(Block(data, lineno, False, False))
        self._next_line = lineno + data.count(b"\n")

    def _emit_tail(self, from_line: int, out: list[Block | None]) -> None:
        """Emit the previous block's unemitted lines from *from_line* on."""
        tail = self._tail
        if tail:
            skip = from_line - self._tail_line
            start = _advance(tail, 0, skip) if skip > 0 else 0
            self._emit(tail[start:], self._tail_line + max(skip, 0), out)
        self._tail = b""

    def feed(self, block: Block) -> list[Block | None]:
        """The kept parts of *block*; None marks a gap (lines were skipped before)."""
        out: list[Block | None] = []
        data = block.data
        first = block.lineno
        nlines = data.count(b"\n")
        if block.cont_first or block.open_end:
            self._emit_tail(first - self.before, out)
            if first != self._next_line:
                out.append(None)
            out.append(block)
            self._next_line = first + nlines
            self._keep_until = max(self._keep_until, first + nlines + self.after)
            return out
        # the open interval: start offset, end line, and the last hit (line start, line)
        cur: tuple[int, int, int, int, int] | None = None
        if self._keep_until >= first:
            self._tail = b""
            cur = (0, first, self._keep_until, 0, first)
        floor = 0  # nothing before this offset may be emitted again
        prev_h, prev_line = 0, first
        last_hl = -1
        for h in self.finder.hits(data):
            hl = prev_line + data.count(b"\n", prev_h, h)
            prev_h, prev_line = h, hl
            if hl == last_hl:
                continue
            last_hl = hl
            ls = data.rfind(b"\n", 0, h) + 1
            if cur is not None and hl - self.before <= cur[2] + 1:
                if hl + self.after > cur[2]:
                    cur = (cur[0], cur[1], hl + self.after, ls, hl)
                continue
            if cur is not None:
                floor = self._flush(data, first, cur, out)
            start_line = hl - self.before
            if start_line < first:
                self._emit_tail(start_line, out)
            start = _back(data, ls, hl - max(start_line, first), floor)
            cur = (start, hl - data.count(b"\n", start, ls), hl + self.after, ls, hl)
        if cur is not None:
            floor = self._flush(data, first, cur, out)
        if floor < len(data):
            ts = _back(data, len(data), self.before, floor)
            self._tail = data[ts:]
            self._tail_line = first + nlines - self._tail.count(b"\n")
        else:
            self._tail = b""
        return out

    def _flush(
        self, data: bytes, first: int, cur: tuple[int, int, int, int, int], out: list[Block | None]
    ) -> int:
        start, start_line, end_line, ls, hl = cur
        end = _advance(data, ls, end_line - hl + 1)
        self._emit(data[start:end], start_line, out)
        self._keep_until = end_line
        return end


def filter_blocks(
    blocks: Iterator[Block], wf: WindowFilter | None = None
) -> Iterator[Block | None]:
    """Only the parts of *blocks* near a needle hit; None marks skipped lines before."""
    wf = wf or WindowFilter()
    for block in blocks:
        yield from wf.feed(block)
