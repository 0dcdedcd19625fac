"""Open log inputs: files, directories (recursively), stdin; decompress by magic bytes.

Compression is recognised from the first bytes of the data (not the file name), so a
rotated ``messages.2`` that is really gzip, or a gzip stream on stdin, reads the same.
Every failure to open or list an input raises :class:`kmend.errors.InputError`.
"""

from __future__ import annotations

import bz2
import lzma
import os
import re
import select
import stat
import zlib
from collections.abc import Callable, Iterator
from typing import IO, Any, Protocol

from kmend.errors import InputError

GZIP_MAGIC = b"\x1f\x8b"
XZ_MAGIC = b"\xfd7zXZ\x00"
BZ2_MAGIC = b"BZh"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"

_COMPRESSED_SUFFIX_RE = re.compile(r"\.(?:gz|xz|bz2|zst|zstd)$")
_ROTATED_RE = re.compile(r"^(?P<base>.*)\.(?P<n>\d{1,6})$")
#: Files a log directory holds that are binary databases, not text logs (journal files
#: are read, through journalctl: ``kmend.logs.journalfile``).
_SKIP_NAME_RE = re.compile(r"^(?:wtmp|btmp|lastlog|faillog|utmp)(?:[.-].*)?$")


class Readable(Protocol):
    """The one method the reader needs from a byte stream."""

    def read(self, size: int = -1, /) -> bytes: ...


class _Prepended:
    """A stream that first returns *head* and then the rest of *inner*."""

    def __init__(self, head: bytes, inner: Readable) -> None:
        self._head = head
        self._inner = inner

    def read(self, size: int = -1, /) -> bytes:
        if self._head:
            if 0 <= size < len(self._head):
                head, self._head = self._head[:size], self._head[size:]
                return head
            head, self._head = self._head, b""
            if size == len(head):
                return head
            try:
                return head + self._inner.read(size - len(head) if size > 0 else -1)
            except DamagedInput:
                return head  # the damage is raised again by the next read
        return self._inner.read(size)


def compression_of(head: bytes) -> str | None:
    """The compression format announced by the first bytes of a stream, or None."""
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(XZ_MAGIC):
        return "xz"
    if head.startswith(BZ2_MAGIC) and len(head) >= 4 and head[3:4] in b"123456789":
        return "bzip2"
    if head.startswith(ZSTD_MAGIC):
        return "zstd"
    return None


def _read_head(stream: Readable, size: int) -> bytes:
    """Up to *size* bytes (fewer at the end, or before damage, which the next read of the
    stream raises again)."""
    head = b""
    while len(head) < size:
        try:
            chunk = stream.read(size - len(head))
        except DamagedInput:
            if not head:
                raise
            break
        if not chunk:
            break
        head += chunk
    return head


class DamagedInput(InputError):
    """A compressed stream is corrupt or truncated: every complete line before the damage
    was read.  A warning, not a failure: the lines read are scanned as a good file's."""

    def __reduce__(self) -> tuple[type[DamagedInput], tuple[str, str]]:  # sent by the worker
        return (type(self), (self.message, self.hint))


#: Compressed bytes handed to a decompressor per step.  zstd has no output bound per call
#: and one 4-byte RLE block expands to 128 KiB, so its steps are small: 2 KiB in → at most
#: 64 MiB out.  The others are bounded by ``max_length``.
_STEP_IN = {"gzip": 64 << 10, "xz": 64 << 10, "bzip2": 64 << 10, "zstd": 2 << 10}
#: Output per step: the data decoded in the step that meets the damage is lost (the
#: decompressors raise instead of returning it), so this bounds what is lost before it.
_STEP_OUT = 16 << 10
#: The member/stream/frame magic that may follow a finished one (concatenated files).
_NEXT_MAGIC = {"gzip": GZIP_MAGIC, "xz": XZ_MAGIC, "bzip2": BZ2_MAGIC, "zstd": ZSTD_MAGIC}


def _decompressor(kind: str, source: str = "") -> Any:
    if kind == "gzip":
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if kind == "xz":
        return lzma.LZMADecompressor(lzma.FORMAT_XZ)
    if kind == "bzip2":
        return bz2.BZ2Decompressor()
    try:
        import zstandard  # only zstd data needs it (a fleet host may lack it)
    except ImportError:
        raise InputError(
            f"{source or 'input'}: zstd-compressed and the zstandard package is missing",
            "install python3-zstandard, or decompress it first (zstd -d)",
        ) from None
    return zstandard.ZstdDecompressor().decompressobj()


def _decompress_errors() -> tuple[type[BaseException], ...]:
    errors: tuple[type[BaseException], ...] = (zlib.error, lzma.LZMAError, OSError, EOFError,
                                               ValueError, MemoryError)  # fmt: skip
    try:
        import zstandard
    except ImportError:  # pragma: no cover - a declared dependency
        return errors
    return (*errors, zstandard.ZstdError)


class Decompressing:
    """A streaming decompressor over *raw* with every failure mapped to the error model.

    Concatenated members (gzip), streams (xz, bzip2) and frames (zstd) are read in turn.
    Output per step is bounded, so a decompression bomb costs time, never memory.  When
    the data is corrupt, truncated, or followed by garbage, ``read`` first returns all the
    data decoded before the damage, and every later call raises :class:`DamagedInput`.
    """

    def __init__(self, raw: Readable, kind: str, source: str = "") -> None:
        self._raw = raw
        self.kind = kind
        self.source = source
        self._dec: Any = _decompressor(kind, source)
        self._zstd = kind == "zstd"
        self._pending = b""  # compressed input not yet given to the decompressor
        self._raw_eof = False
        self._done = False
        self._what = ""  # the damage, once found
        self._damage: DamagedInput | None = None
        self._buf = b""  # decoded bytes beyond what the last read asked for
        self._in = 0  # compressed bytes consumed
        self._out = 0  # bytes decoded
        self._errors = _decompress_errors()

    def _fail(self, what: str) -> None:
        self._done = True
        self._what = f"{what} at byte {self._in} of the compressed data"

    def _fill(self) -> None:
        if not self._pending and not self._raw_eof:
            self._pending = self._raw_read()

    def _raw_read(self) -> bytes:
        chunk = self._raw.read(_STEP_IN[self.kind])
        if chunk:
            self._in += len(chunk)
        else:
            self._raw_eof = True
        return chunk

    def _finished_member(self, rest: bytes) -> None:
        """The current member ended; *rest* (and the raw stream) follows it."""
        rest += self._pending
        self._pending = b""
        while True:
            if self.kind == "xz":
                rest = rest.lstrip(b"\0")  # stream padding
            if rest:
                break
            if self._raw_eof or not (rest := self._raw_read()):
                self._done = True
                return
        magic = _NEXT_MAGIC[self.kind]
        if rest.startswith(magic[: len(rest)]):
            self._dec = _decompressor(self.kind, self.source)
            self._pending = rest
            return
        while self.kind == "gzip" and not rest.strip(b"\0"):  # zero padding, as gzip -d allows
            if self._raw_eof or not (rest := self._raw_read()):
                self._done = True
                return
        self._fail(f"garbage after the {self.kind} data")

    def _step(self) -> bytes:
        """Decode some more output (possibly none); sets ``_done`` at the end."""
        dec = self._dec
        if self.kind == "gzip":
            data = dec.unconsumed_tail or self._take()
            out: bytes = dec.decompress(data, _STEP_OUT)
            if dec.eof:
                self._finished_member(dec.unused_data)
            elif not out and not data and self._raw_eof:
                self._fail(f"truncated {self.kind} data (it ends inside a member)")
            return out
        if self._zstd:
            data = self._take()
            out = dec.decompress(data) if data else b""
            if dec.eof:
                self._finished_member(dec.unused_data)
            elif not data and self._raw_eof:
                self._fail(f"truncated {self.kind} data (it ends inside a frame)")
            return out
        # lzma and bz2: the decompressor keeps unconsumed input itself
        data = self._take() if dec.needs_input else b""
        if not data and dec.needs_input and self._raw_eof:
            self._fail(f"truncated {self.kind} data (it ends inside a stream)")
            return b""
        out = dec.decompress(data, _STEP_OUT)
        if dec.eof:
            self._finished_member(dec.unused_data)
        return out

    def _take(self) -> bytes:
        self._fill()
        data, self._pending = self._pending, b""
        return data

    def read(self, size: int = -1, /) -> bytes:
        parts: list[bytes] = [self._buf] if self._buf else []
        got = len(self._buf)
        self._buf = b""
        while not self._done and (size < 0 or got < size):
            try:
                out = self._step()
            except self._errors as err:
                self._fail(f"corrupt {self.kind} data ({err})")
                break
            if out:
                parts.append(out)
                got += len(out)
                self._out += len(out)
        if not parts and self._what:
            if self._damage is None:
                self._damage = DamagedInput(
                    f"{self.source or 'input'}: {self._what}, after {self._out} decoded bytes",
                    "every complete line before the damage was read",
                )
            raise self._damage  # and again at every later read
        data = b"".join(parts)
        if 0 <= size < len(data):
            data, self._buf = data[:size], data[size:]
        return data


def peek(stream: Readable, size: int) -> tuple[bytes, Readable]:
    """The first *size* bytes of *stream*, and a stream that still starts with them."""
    head = _read_head(stream, size)
    return head, _Prepended(head, stream)


def utf16_of(head: bytes) -> str | None:
    """The codec of text saved as UTF-16 (Windows tools write logs so: PowerShell 5's
    ``wsl dmesg > dmesg.txt``, Notepad's "Unicode"), from its first bytes: a byte order
    mark, or ASCII text with a NUL byte beside every character; None for anything else."""
    if head.startswith(b"\xff\xfe") and not head.startswith(b"\xff\xfe\0\0"):
        return "utf-16-le"
    if head.startswith(b"\xfe\xff"):
        return "utf-16-be"
    pairs = len(head) // 2
    if pairs < 8:
        return None
    even, odd = head[0 : 2 * pairs : 2], head[1 : 2 * pairs : 2]
    if not odd.strip(b"\0") and _ascii_text(even):
        return "utf-16-le"
    if not even.strip(b"\0") and _ascii_text(odd):
        return "utf-16-be"
    return None


def _ascii_text(data: bytes) -> bool:
    return all(32 <= c < 127 or c in (9, 10, 13) for c in data)


class Transcoding:
    """UTF-16 text read as UTF-8 bytes, in bounded steps (a byte order mark is dropped;
    undecodable units become U+FFFD).  Damage of the stream below is raised after the
    text decoded before it, as :class:`Decompressing` does."""

    _STEP = 64 << 10

    def __init__(self, raw: Readable, codec: str) -> None:
        import codecs

        self._raw = raw
        self._dec = codecs.getincrementaldecoder(codec)("replace")
        self._buf = b""
        self._eof = False
        self._damage: DamagedInput | None = None
        self._first = True

    def read(self, size: int = -1, /) -> bytes:
        parts = [self._buf] if self._buf else []
        got = len(self._buf)
        self._buf = b""
        while not self._eof and self._damage is None and (size < 0 or got < size):
            try:
                chunk = self._raw.read(self._STEP)
            except DamagedInput as err:
                self._damage = err
                chunk = b""
            final = not chunk
            text = self._dec.decode(chunk, final)
            if self._first and text:  # (no str.removeprefix: fleet hosts run Python 3.8)
                text, self._first = text[1:] if text[0] == "\ufeff" else text, False
            if text:
                out = text.encode("utf-8")
                parts.append(out)
                got += len(out)
            if final and self._damage is None:
                self._eof = True
        if not parts and self._damage is not None:
            raise self._damage
        data = b"".join(parts)
        if 0 <= size < len(data):
            data, self._buf = data[:size], data[size:]
        return data


def decompressed(stream: Readable, source: str = "") -> tuple[Readable, str | None]:
    """Wrap *stream* in a streaming decompressor when its magic bytes say so, and the
    result in a transcoder to UTF-8 when it is UTF-16 text (:func:`utf16_of`)."""
    head = _read_head(stream, 64)
    kind = compression_of(head)
    raw: Readable = _Prepended(head, stream)
    if kind is not None:  # the text's own first bytes come out of the decompressor
        decoded = Decompressing(raw, kind, source)
        head = _read_head(decoded, 64)
        raw = _Prepended(head, decoded)
    codec = utf16_of(head)
    if codec is not None:
        raw = Transcoding(raw, codec)
    return raw, kind


def path_error(path: str, err: OSError, doing: str) -> InputError:
    """The one-line InputError for *err* raised while *doing* ("open", "list", "read") *path*."""
    if isinstance(err, FileNotFoundError):
        return InputError(f"{path}: no such file or directory", "check the path")
    if isinstance(err, PermissionError):
        return InputError(f"{path}: permission denied", "run with read access to it")
    if isinstance(err, IsADirectoryError):
        return InputError(f"{path}: is a directory", "")
    return InputError(f"{path}: cannot {doing} ({err.strerror or err})", "")


#: How long a FIFO named as an input may stay without a writer before kmend gives up.
FIFO_WAIT = 10.0
_DEV_NULL = os.makedev(1, 3)


def check_readable(fd: int, what: str, fifo_wait: float | None = None) -> None:
    """Refuse an open descriptor that cannot hold a log, then make it blocking.

    Regular files, pipes, sockets, terminals and /dev/null are read; a FIFO must get a
    writer within *fifo_wait* seconds (0: no wait, for standard input); directories,
    block devices and other character devices (``/dev/zero``: endless) are refused.
    The descriptor must have been opened with ``O_NONBLOCK``, so opening never blocks.
    """
    if fifo_wait is None:
        fifo_wait = FIFO_WAIT
    st = os.fstat(fd)
    mode = st.st_mode
    if stat.S_ISDIR(mode):
        raise InputError(f"{what}: is a directory", "")
    if stat.S_ISFIFO(mode) and fifo_wait > 0:
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLHUP)
        if not poller.poll(int(fifo_wait * 1000)):
            raise InputError(
                f"{what}: a FIFO with no writer (nothing came in {fifo_wait:g} s)",
                "start the program that writes to it first, or give a file",
            )
    readable = stat.S_ISREG(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)
    if not readable and not os.isatty(fd) and not (stat.S_ISCHR(mode) and st.st_rdev == _DEV_NULL):
        kind = "character device" if stat.S_ISCHR(mode) else (
            "block device" if stat.S_ISBLK(mode) else "special file")
        raise InputError(
            f"{what}: a {kind}, not a log file",
            "give log files, directories, or - for a pipe on standard input",
        )
    os.set_blocking(fd, True)


def open_file(path: str, *, fifo_wait: float | None = None) -> IO[bytes]:
    """Open *path* for binary reading or raise InputError with one clear line.

    Opening never blocks (``O_NONBLOCK``, then :func:`check_readable`).
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    except OSError as err:
        raise path_error(path, err, "open") from None
    try:
        check_readable(fd, path, fifo_wait)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")  # the caller closes it


def _order_key(name: str) -> tuple[str, int, int, str]:
    """Sort key putting rotated logs oldest first: messages.2.gz, messages.1, messages."""
    plain = _COMPRESSED_SUFFIX_RE.sub("", name)
    m = _ROTATED_RE.match(plain)
    if m:
        return (m["base"], 0, -int(m["n"]), name)
    return (plain, 1, 0, name)


def _list(path: str) -> list[os.DirEntry[str]]:
    try:
        return sorted(os.scandir(path), key=lambda e: _order_key(e.name))
    except OSError as err:
        raise path_error(path, err, "list") from None


def iter_directory(
    path: str, on_error: Callable[[InputError], None] | None = None
) -> Iterator[str]:
    """Every regular file under *path*, recursively, rotated files oldest first.

    Symbolic links to directories are not followed (no loops, no escaping the tree);
    binary databases found in log directories (wtmp, lastlog) are skipped.
    An unreadable subdirectory raises InputError, or goes to *on_error* and is skipped.
    """
    entries = _list(path)
    for entry in entries:
        full = os.path.join(path, entry.name)
        try:
            if entry.is_dir(follow_symlinks=False):
                try:
                    _list(full)  # fail early and alone for an unreadable subdirectory
                except InputError as err:
                    if on_error is None:
                        raise
                    on_error(err)
                    continue
                yield from iter_directory(full, on_error)
                continue
            st = os.stat(full)
        except OSError:
            continue  # a dangling symlink or a file that vanished
        if stat.S_ISREG(st.st_mode) and not _SKIP_NAME_RE.search(entry.name):
            yield full


def expand_paths(
    paths: list[str] | tuple[str, ...], on_error: Callable[[InputError], None] | None = None
) -> Iterator[str]:
    """Each path as given, directories replaced by the files found under them."""
    for path in paths:
        if path == "-":
            yield path
            continue
        try:
            st = os.stat(path)
        except OSError as err:
            raise path_error(path, err, "read") from None
        if stat.S_ISDIR(st.st_mode):
            yield from iter_directory(path, on_error)
        else:
            yield path
