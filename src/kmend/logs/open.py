"""Open log inputs: files, directories (recursively), stdin; decompress by magic bytes.

Compression is recognised from the first bytes of the data (not the file name), so a
rotated ``messages.2`` that is really gzip, or a gzip stream on stdin, reads the same.
Every failure to open or list an input raises :class:`kmend.errors.InputError`.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import re
import stat
from collections.abc import Callable, Iterator
from typing import IO, Protocol, cast

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
            if size < 0 or size >= len(self._head):
                head, self._head = self._head, b""
                if size < 0:
                    return head + self._inner.read()
                return head + self._inner.read(size - len(head)) if size > len(head) else head
            head, self._head = self._head[:size], self._head[size:]
            return head
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
    head = b""
    while len(head) < size:
        chunk = stream.read(size - len(head))
        if not chunk:
            break
        head += chunk
    return head


class _Salvaging:
    """Read a decompressor in small steps so a corrupt tail loses little data.

    ``read(n)`` returns what was decoded before an error; the error is raised by the next
    call.
    """

    STEP = 256 << 10

    def __init__(self, inner: Readable) -> None:
        self._inner = inner
        self._error: BaseException | None = None

    def read(self, size: int = -1, /) -> bytes:
        if self._error is not None:
            err, self._error = self._error, None
            raise err
        parts: list[bytes] = []
        got = 0
        while size < 0 or got < size:
            want = self.STEP if size < 0 else min(self.STEP, size - got)
            try:
                part = self._inner.read(want)
            except Exception as err:
                if not parts:
                    raise
                self._error = err
                break
            if not part:
                break
            parts.append(part)
            got += len(part)
        return b"".join(parts)


def peek(stream: Readable, size: int) -> tuple[bytes, Readable]:
    """The first *size* bytes of *stream*, and a stream that still starts with them."""
    head = _read_head(stream, size)
    return head, _Prepended(head, stream)


def decompressed(stream: Readable) -> tuple[Readable, str | None]:
    """Wrap *stream* in a streaming decompressor when its magic bytes say so."""
    head = _read_head(stream, 6)
    kind = compression_of(head)
    raw = _Prepended(head, stream)
    fileobj = cast(IO[bytes], raw)  # _Prepended has the read() these modules call
    reader: Readable
    if kind == "gzip":
        reader = gzip.GzipFile(fileobj=fileobj, mode="rb")
    elif kind == "xz":
        reader = lzma.LZMAFile(fileobj, mode="rb")  # noqa: SIM115 - streamed, caller closes
    elif kind == "bzip2":
        reader = bz2.BZ2File(fileobj, mode="rb")
    elif kind == "zstd":
        import zstandard

        reader = zstandard.ZstdDecompressor().stream_reader(fileobj, read_across_frames=True)
    else:
        return raw, None
    return _Salvaging(reader), kind


def path_error(path: str, err: OSError, doing: str) -> InputError:
    """The one-line InputError for *err* raised while *doing* ("open", "list", "read") *path*."""
    if isinstance(err, FileNotFoundError):
        return InputError(f"{path}: no such file or directory", "check the path")
    if isinstance(err, PermissionError):
        return InputError(f"{path}: permission denied", "run with read access to it")
    if isinstance(err, IsADirectoryError):
        return InputError(f"{path}: is a directory", "")
    return InputError(f"{path}: cannot {doing} ({err.strerror or err})", "")


def open_file(path: str) -> IO[bytes]:
    """Open *path* for binary reading or raise InputError with one clear line."""
    try:
        return open(path, "rb")  # the caller closes it
    except OSError as err:
        raise path_error(path, err, "open") from None


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
