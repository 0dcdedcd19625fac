"""The public entry points: paths, streams and text to LogLine records."""

from __future__ import annotations

import io
import sys
import zlib
from collections.abc import Callable, Iterator, Sequence
from typing import BinaryIO

from kmend.errors import InputError
from kmend.logs.lines import Block, Piece, block_pieces, iter_blocks
from kmend.logs.model import LogLine
from kmend.logs.open import Readable, decompressed, expand_paths, open_file
from kmend.logs.parser import LineParser
from kmend.logs.prefilter import WindowFilter

_DECOMPRESS_ERRORS: tuple[type[BaseException], ...] = (EOFError, zlib.error, OSError, ValueError)


def _zstd_error() -> tuple[type[BaseException], ...]:
    try:
        import zstandard
    except ImportError:  # pragma: no cover - zstandard is a dependency
        return ()
    return (zstandard.ZstdError,)


def _lines_of(blocks: Iterator[Block | None], parser: LineParser) -> Iterator[LogLine]:
    for block in blocks:
        if block is None:
            parser.reset()
            continue
        for piece in block_pieces(block):
            yield from parser.feed(piece)


def iter_stream(
    stream: BinaryIO | Readable, source: str, *, prefilter: bool = False
) -> Iterator[LogLine]:
    """The LogLines of a byte stream (decompressed when its magic bytes say so).

    With *prefilter*, only lines near a crash needle are parsed and yielded (their
    ``lineno`` is still their line number in the stream).  A corrupt or truncated
    compressed stream raises InputError after the lines read so far.
    """
    errors = _DECOMPRESS_ERRORS + _zstd_error()
    try:
        reader, kind = decompressed(stream)
    except errors as err:
        raise InputError(f"{source}: cannot read ({err})", "") from None
    parser = LineParser(source)
    blocks: Iterator[Block | None] = iter_blocks(reader)
    if prefilter:
        wf = WindowFilter()
        blocks = (kept for block in iter_blocks(reader) for kept in wf.feed(block))
    try:
        yield from _lines_of(blocks, parser)
    except errors as err:
        what = f"corrupt or truncated {kind} data" if kind else "read error"
        raise InputError(f"{source}: {what} ({err})", "the lines before it were read") from None


def parse_text(text: str, source: str = "<text>") -> Iterator[LogLine]:
    """The LogLines of an in-memory text (a paste, a test case, a corpus log)."""
    parser = LineParser(source)
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    for lineno, line in enumerate(lines, 1):
        if line.endswith("\r"):
            line = line[:-1]
        yield from parser.feed(Piece(lineno, line))


def read_paths(
    paths: Sequence[str],
    *,
    prefilter: bool = False,
    on_error: Callable[[InputError], None] | None = None,
) -> Iterator[LogLine]:
    """The LogLines of files, directories (recursively, rotated files oldest first) and ``-``.

    An unreadable input raises InputError; with *on_error* it is reported there instead and
    the remaining inputs are read.
    """
    try:
        for path in expand_paths(tuple(paths)):
            try:
                yield from _read_one(path, prefilter)
            except InputError as err:
                if on_error is None:
                    raise
                on_error(err)
    except InputError as err:
        if on_error is None:
            raise
        on_error(err)


def _read_one(path: str, prefilter: bool) -> Iterator[LogLine]:
    if path == "-":
        stdin = sys.stdin.buffer if hasattr(sys.stdin, "buffer") else io.BytesIO()
        yield from iter_stream(stdin, "-", prefilter=prefilter)
        return
    with open_file(path) as fh:
        try:
            yield from iter_stream(fh, path, prefilter=prefilter)
        except OSError as err:  # pragma: no cover - a disk read error mid-file
            raise InputError(f"{path}: read error ({err.strerror or err})", "") from None
