"""Cut a byte stream into numbered text lines, in bounded memory.

The stream is read in blocks (8 MiB by default) and cut at the last newline of each
block.  A line longer than :data:`MAX_LINE` is cut into pieces at a safe point (before a
syslog prefix, at a ``#012`` escape, else at a space), every piece keeping the physical
line's number and marked as a continuation, so a flattened report of any size still
parses and memory stays bounded.  Invalid UTF-8 is decoded with replacement characters.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from kmend.logs.open import Readable

BLOCK_SIZE = 8 << 20
MAX_LINE = 1 << 20

_MID_PREFIX_B = re.compile(
    rb"\s(?:<\d{1,3}>)?(?:(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]?\d "
    rb"\d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)"
)


@dataclass(frozen=True, slots=True)
class Piece:
    """A line (or a piece of an over-long line) and its 1-based physical line number."""

    lineno: int
    text: str
    cont: bool = False  # a continuation piece of an over-long physical line


def cut_point(buf: bytes, limit: int) -> int:
    """Where to cut the over-long line *buf* (no newline) at or before *limit* bytes."""
    lo = max(1, limit - (256 << 10))
    best = -1
    for m in _MID_PREFIX_B.finditer(buf, lo, limit):
        best = m.start() + 1
    if best <= 0:
        esc = buf.rfind(b"#012", lo, limit)
        if esc > 0:
            best = esc
    if best <= 0:
        sp = buf.rfind(b" ", lo, limit)
        if sp > 0:
            best = sp + 1
    if best <= 0:
        best = limit
        while 1 < best < len(buf) and 0x80 <= buf[best] < 0xC0:  # never inside a UTF-8 sequence
            best -= 1
    return best


def split_long(line: bytes) -> list[bytes]:
    """Cut one over-long line into pieces of at most MAX_LINE bytes."""
    pieces: list[bytes] = []
    while len(line) > MAX_LINE:
        cut = cut_point(line, MAX_LINE)
        pieces.append(line[:cut])
        line = line[cut:]
    pieces.append(line)
    return pieces


@dataclass(slots=True)
class Block:
    """A run of whole lines (bytes), numbered from *lineno*.

    ``cont_first``: the first line continues the last line of the previous block (an
    over-long line cut at a block boundary).  ``open_end``: the last line goes on in the
    next block.
    """

    data: bytes
    lineno: int
    cont_first: bool
    open_end: bool


def iter_blocks(stream: Readable, block_size: int | None = None) -> Iterator[Block]:
    """Read *stream* in blocks that end at a newline (or at a cut of an over-long line)."""
    if block_size is None:
        block_size = BLOCK_SIZE
    carry = b""
    lineno = 1
    cont = False
    while True:
        chunk = stream.read(block_size)
        if not chunk:
            if carry:
                yield Block(carry, lineno, cont, False)
            return
        buf = carry + chunk if carry else chunk
        end = buf.rfind(b"\n") + 1
        if end:
            carry = buf[end:]
            block = Block(buf[:end], lineno, cont, False)
            lineno += buf.count(b"\n", 0, end)
            cont = False
            yield block
        elif len(buf) >= block_size:
            cut = cut_point(buf, len(buf))
            carry = buf[cut:]
            yield Block(buf[:cut], lineno, cont, True)
            cont = True
        else:
            carry = buf


def block_pieces(block: Block) -> Iterator[Piece]:
    """The text lines of *block*, decoded, with over-long lines cut into pieces."""
    data = block.data
    lines = data.split(b"\n")
    if data.endswith(b"\n"):
        lines.pop()
    lineno = block.lineno
    long_lines = max(map(len, lines), default=0) > MAX_LINE
    last = len(lines) - 1
    for i, raw in enumerate(lines):
        cont = block.cont_first and i == 0
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        if long_lines and len(raw) > MAX_LINE:
            for j, part in enumerate(split_long(raw)):
                yield Piece(lineno, part.decode("utf-8", "replace"), cont or j > 0)
        else:
            yield Piece(lineno, raw.decode("utf-8", "replace"), cont)
        if i != last or not block.open_end:
            lineno += 1
