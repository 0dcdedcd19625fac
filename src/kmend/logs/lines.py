"""Cut a byte stream into numbered text lines, in bounded memory.

The stream is read in blocks (8 MiB by default) and cut at the last newline of each
block.  A line longer than :data:`MAX_LINE` is cut into pieces at a safe point (before a
syslog prefix, at a ``#012`` escape, else at a space), every piece keeping the physical
line's number and marked as a continuation, so a flattened report of any size still
parses and memory stays bounded.  Invalid UTF-8 is decoded with replacement characters.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Iterator
from itertools import compress, repeat
from typing import NamedTuple, cast

from kmend._compat import dataclass, zip_strict
from kmend.logs.grammar import PRI, TIME, b, plain
from kmend.logs.open import DamagedInput, Readable

BLOCK_SIZE = 8 << 20
MAX_LINE = 1 << 20

_MID_PREFIX_B = re.compile(b(r"\s" + plain(PRI) + TIME))


class Piece(NamedTuple):
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
        esc = buf.rfind(b"#012", lo, limit - 4)
        if esc > 0:
            best = esc + 4
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
        pieces.append(line[:cut].rstrip(b" "))  # the joining space is not content
        line = line[cut:]
    pieces.append(line)
    return pieces


@dataclass(slots=True)
class Block:
    """A run of whole lines: ``data[start:end]``, numbered from *lineno*.

    ``data`` may be longer than the run (a whole read chunk: no copy is made).
    ``cont_first``: the first line continues the last line of the previous block (an
    over-long line cut at a block boundary).  ``open_end``: the last line goes on in the
    next block.  ``lineno``/``nlines`` are -1 when the producer did not count.
    ``linenos``: the number of each line when they are not consecutive (some lines of a
    run were left out: the prefilter keeps only some hosts' lines).
    """

    data: bytes
    start: int
    end: int
    lineno: int
    cont_first: bool
    open_end: bool
    nlines: int = -1
    linenos: list[int] | None = None


def _read_full(stream: Readable, size: int) -> bytes:
    """Up to *size* bytes: short reads (a pipe, the head a peek put back, data before a
    damage) are joined, so that a block is a block and a small input is one block."""
    chunk = stream.read(size)
    if not chunk or len(chunk) >= size:
        return chunk
    parts = [chunk]
    got = len(chunk)
    while got < size:
        try:
            more = stream.read(size - got)
        except DamagedInput:
            break  # raised again by the next read, after this data is used
        if not more:
            break
        parts.append(more)
        got += len(more)
    return b"".join(parts)


def iter_blocks(
    stream: Readable, block_size: int | None = None, *, count: bool = True
) -> Iterator[Block]:
    """Read *stream* in blocks that end at a newline (or at a cut of an over-long line).

    Each read chunk is passed on without copying; only the line that straddles two chunks
    is joined.  With ``count=False`` the blocks are not numbered (the prefilter counts
    newlines itself, only as far as it needs to).
    """
    size = block_size or BLOCK_SIZE
    carry = b""
    lineno = 1
    cont = False

    def make(data: bytes, start: int, end: int, open_end: bool) -> Block:
        nonlocal lineno, cont
        if count:
            n = data.count(b"\n", start, end)
            block = Block(data, start, end, lineno, cont, open_end, n)
            lineno += n
        else:
            block = Block(data, start, end, -1, cont, open_end, -1)
        cont = open_end
        return block

    while True:
        chunk = _read_full(stream, size)
        if not chunk:
            if carry:
                yield make(carry, 0, len(carry), False)
            return
        first_nl = chunk.find(b"\n")
        if first_nl < 0:
            carry += chunk
            if len(carry) >= size:
                cut = cut_point(carry, len(carry))
                piece, carry = carry[:cut], carry[cut:]
                yield make(piece, 0, len(piece), True)
            continue
        start = 0
        if carry:
            head = carry + chunk[: first_nl + 1]
            carry = b""
            start = first_nl + 1
            yield make(head, 0, len(head), False)
        last = chunk.rfind(b"\n") + 1
        if last > start:
            yield make(chunk, start, last, False)
        carry = chunk[last:]


_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
#: The first 16 bytes of an RFC3164 line with its digits zeroed: ``Nov 00 00:00:00 ``.
_RFC3164_SHAPES = frozenset(
    f"{mon} {day} 00:00:00 ".encode()
    for mon in ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    for day in ("00", " 0")
)
_HEAD = slice(0, 16)


def is_foreign(raw: bytes) -> bool:
    """The per-line form of the filter in :func:`_kept_lines`."""
    return b"kernel" not in raw and raw[:16].translate(_DIGITS_TO_ZERO) in _RFC3164_SHAPES


def _kept_lines(
    lines: list[bytes], first: int, linenos: list[int] | None = None
) -> Iterator[tuple[int, bytes]]:
    """(number, line) of the lines worth parsing, filtered at C speed (no Python per line).

    Dropped: lines that start with an RFC3164 time and do not contain ``kernel`` at all —
    syslog lines of other programs.  Anything else is left to the full parser.
    """
    firsts = cast(Iterator[bytes], map(operator.getitem, lines, repeat(_HEAD)))
    heads = map(bytes.translate, firsts, repeat(_DIGITS_TO_ZERO))
    not_syslog = map(operator.not_, map(_RFC3164_SHAPES.__contains__, heads))
    kernel = map(bytes.__contains__, lines, repeat(b"kernel"))
    numbered = zip_strict(linenos, lines) if linenos is not None else enumerate(lines, first)
    return compress(numbered, map(operator.or_, kernel, not_syslog))


def block_pieces(block: Block) -> Iterator[Piece]:
    """The text lines of *block*, decoded, with over-long lines cut into pieces.

    Syslog lines of other programs than the kernel are skipped here, before decoding.
    """
    data = block.data[block.start : block.end]
    lines = data.split(b"\n")
    if data.endswith(b"\n"):
        lines.pop()
    if not lines:
        return
    first = block.lineno
    linenos = block.linenos
    if not (block.cont_first or block.open_end) and max(map(len, lines)) <= MAX_LINE:
        for lineno, raw in _kept_lines(lines, first, linenos):
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            yield Piece(lineno, raw.decode("utf-8", "replace"), False)
        return
    last = len(lines) - 1
    for i, raw in enumerate(lines):
        cont = block.cont_first and i == 0
        # an open-ended block's last line goes on in the next block: same number
        lineno = linenos[i] if linenos is not None else first + i
        if not cont and is_foreign(raw):
            continue
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        if i == last and block.open_end:
            raw = raw.rstrip(b" ")  # cut at a space before a prefix: not content
        if len(raw) > MAX_LINE:
            for j, part in enumerate(split_long(raw)):
                yield Piece(lineno, part.decode("utf-8", "replace"), cont or j > 0)
        else:
            yield Piece(lineno, raw.decode("utf-8", "replace"), cont)
