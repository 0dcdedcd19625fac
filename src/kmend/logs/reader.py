"""The public entry points: paths, streams and text to LogLine records."""

from __future__ import annotations

import io
import itertools
import os
import sys
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import BinaryIO

from kmend.errors import InputError
from kmend.logs import lines as lines_mod
from kmend.logs import worker
from kmend.logs.hostdir import host_from_path
from kmend.logs.journal import EXPORT_MAGIC, iter_export
from kmend.logs.journalfile import JOURNAL_MAGIC, JournalQuery, is_journal_file, iter_journal
from kmend.logs.lines import MAX_LINE, Block, Piece, block_pieces, iter_blocks, split_long
from kmend.logs.model import LogLine
from kmend.logs.open import (
    DamagedInput,
    Readable,
    check_readable,
    decompressed,
    expand_paths,
    open_file,
    peek,
)
from kmend.logs.parser import LineParser
from kmend.logs.prefilter import WindowFilter, fast_line_ops

Warn = Callable[[InputError], None]


def warn_stderr(warning: InputError) -> None:
    """The default for damaged input: one line on standard error."""
    print(f"kmend: warning: {warning}", file=sys.stderr)


def _lines_of(blocks: Iterator[Block | None], parser: LineParser) -> Iterator[LogLine]:
    for block in blocks:
        if block is None:
            yield from parser.flush()
            parser.reset()
            continue
        feed = parser.push
        for piece in block_pieces(block):
            out = feed(piece)
            if out:
                yield from out
    yield from parser.flush()


#: Let the prefilter run in a forked second process for inputs larger than one block.
PARALLEL = True


def _prefiltered(raw: Iterator[Block], wf: WindowFilter) -> Iterator[Block | None]:
    first = next(raw, None)
    if first is None:
        return
    yield from wf.feed(first)
    second = next(raw, None)  # fork, and import numpy, only when the stream goes on
    if second is None:
        return
    rest = itertools.chain((second,), raw)
    # a short first block: the stream ended (the second is its unterminated last line)
    big = first.end - first.start >= lines_mod.BLOCK_SIZE // 2
    if PARALLEL and big and worker.available():
        yield from worker.filter_in_child(rest, wf)
        return
    if big:  # numpy's ops pay from several blocks on (its import costs 40 ms)
        wf.count, wf.advance = fast_line_ops()
    for block in rest:
        yield from wf.feed(block)


def iter_stream(
    stream: BinaryIO | Readable,
    source: str,
    *,
    prefilter: bool = False,
    host: str | None = None,
    on_warning: Warn | None = None,
) -> Iterator[LogLine]:
    """The LogLines of a byte stream (decompressed when its magic bytes say so).

    With *prefilter*, only lines near a crash needle are parsed and yielded (their
    ``lineno`` is still their line number in the stream).  A corrupt or truncated
    compressed stream ends after its last complete line, and the damage goes to
    *on_warning* (default: one line on standard error); a read error raises InputError.
    *host* is the host of lines whose container names none.
    """
    warn = on_warning or warn_stderr
    parser: LineParser | None = None
    try:
        try:
            reader, _kind = decompressed(stream, source)
            head, reader = peek(reader, 32)
        except OSError as err:
            raise InputError(f"{source}: cannot read ({err.strerror or err})", "") from None
        if head.startswith(JOURNAL_MAGIC):
            raise InputError(
                f"{source}: a systemd journal file can only be read from its path", ""
            )
        parser = LineParser(source, host)
        try:
            if head.startswith(EXPORT_MAGIC):
                for lineno, entry in iter_export(reader):
                    yield from parser.feed_entry(lineno, entry)
                return
            blocks: Iterator[Block | None]
            if prefilter:
                blocks = _prefiltered(iter_blocks(reader, count=False), WindowFilter())
            else:
                blocks = iter_blocks(reader)
            yield from _lines_of(blocks, parser)
        except OSError as err:
            raise InputError(
                f"{source}: read error ({err.strerror or err})", "the lines before it were read"
            ) from None
    except DamagedInput as damage:
        if parser is not None:
            yield from parser.flush()  # the line held back for a possible continuation
        warn(damage)


def parse_text(text: str, source: str = "<text>") -> Iterator[LogLine]:
    """The LogLines of an in-memory text (a paste, a test case, a corpus log)."""
    parser = LineParser(source)
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    for lineno, line in enumerate(lines, 1):
        if line.endswith("\r"):
            line = line[:-1]
        if len(line) > MAX_LINE:  # the same pieces as a file would give
            parts = split_long(line.encode("utf-8", "surrogatepass"))
            for i, part in enumerate(parts):
                text = part.decode("utf-8", "replace")
                yield from parser.push(Piece(lineno, text, i > 0))
            continue
        yield from parser.push(Piece(lineno, line))
    yield from parser.flush()


def read_paths(
    paths: Sequence[str],
    *,
    prefilter: bool = False,
    on_error: Callable[[InputError], None] | None = None,
    journal: JournalQuery | None = None,
    on_warning: Warn | None = None,
    on_read: Callable[[str], None] | None = None,
) -> Iterator[LogLine]:
    """The LogLines of files, directories (recursively, rotated files oldest first) and ``-``.

    Journal files (``kmend.logs.journalfile``) are read through journalctl, those of one
    directory together (their entries interleaved by time) after the directory's text
    files; *journal* restricts them to a boot or a time.  An unreadable input raises
    InputError; with *on_error* it is reported there instead and the remaining inputs are
    read.  Damaged compressed data is a warning (*on_warning*, see :func:`iter_stream`).
    *on_read* is told each file (or journal directory) read to its end without an error.
    """
    for given in paths:
        journals: dict[str, list[str]] = {}  # directory → its journal files
        try:
            for path in expand_paths((given,), on_error):
                if path != "-" and is_journal_file(path):
                    if path == given:
                        lines = read_journal([path], path, journal)
                    else:
                        journals.setdefault(os.path.dirname(path), []).append(path)
                        continue
                else:
                    lines = _read_one(path, prefilter, on_warning)
                if (yield from _guarded(lines, on_error)) and on_read is not None:
                    on_read(path)
            for directory, files in journals.items():
                ok = yield from _guarded(read_journal(files, directory, journal), on_error)
                if ok and on_read is not None:
                    on_read(directory)
        except InputError as err:
            if on_error is None:
                raise
            on_error(err)


def _guarded(
    lines: Iterator[LogLine], on_error: Callable[[InputError], None] | None
) -> Generator[LogLine, None, bool]:
    """The lines; an InputError goes to *on_error* (raised without one).  Returns whether
    the lines were read to their end."""
    try:
        yield from lines
    except InputError as err:
        if on_error is None:
            raise
        on_error(err)
        return False
    return True


def read_journal(
    files: Sequence[str], source: str, query: JournalQuery | None = None
) -> Iterator[LogLine]:
    """The kernel LogLines of journal *files* read together (none: the local journal),
    named *source*; see :func:`kmend.logs.journalfile.iter_journal`."""
    parser = LineParser(source)
    for n, entry in iter_journal(files, source, query):
        yield from parser.feed_entry(n, entry)


def _stdin() -> BinaryIO:
    """Standard input as a binary file of its own, over a duplicate of its descriptor.

    The prefilter's forked worker reads the stream, and multiprocessing closes
    ``sys.stdin`` in every child it starts: reading ``sys.stdin.buffer`` there fails
    ("read of closed file") after the first block.  A stdin without a descriptor (a
    test's stand-in) is read as it is.
    """
    try:
        fd = sys.stdin.fileno()
    except (AttributeError, OSError, ValueError):
        return sys.stdin.buffer if hasattr(sys.stdin, "buffer") else io.BytesIO()
    dup = os.dup(fd)
    try:
        check_readable(dup, "standard input", fifo_wait=0)
    except BaseException:
        os.close(dup)
        raise
    return open(dup, "rb")


def _read_one(path: str, prefilter: bool, on_warning: Warn | None) -> Iterator[LogLine]:
    if path == "-":
        stdin = _stdin()
        try:
            yield from iter_stream(stdin, "-", prefilter=prefilter, on_warning=on_warning)
        finally:
            if stdin is not getattr(sys.stdin, "buffer", None):
                stdin.close()
        return
    with open_file(path) as fh:
        try:
            yield from iter_stream(fh, path, prefilter=prefilter, host=host_from_path(path),
                                   on_warning=on_warning)  # fmt: skip
        except OSError as err:  # pragma: no cover - a disk read error mid-file
            raise InputError(f"{path}: read error ({err.strerror or err})", "") from None
