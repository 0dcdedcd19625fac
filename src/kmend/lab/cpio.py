"""A writer for the cpio ``newc`` format (the format the kernel unpacks as an initramfs).

Pure Python and streaming: entries are written as they are added, regular files can be
copied from a host path in chunks, so a large module tree never sits in memory.

Format (see the kernel's Documentation/driver-api/early-userspace/buffer-format.rst):
a 110-byte ASCII header — the magic ``070701`` and thirteen 8-digit hex fields (ino,
mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor,
namesize including the NUL, check) — then the NUL-terminated name padded to a multiple
of four bytes, then the data padded likewise.  The archive ends with ``TRAILER!!!``.
"""

from __future__ import annotations

import stat
from pathlib import Path, PurePosixPath
from typing import BinaryIO

MAGIC = b"070701"
TRAILER = "TRAILER!!!"
_CHUNK = 1 << 20


def _pad(length: int) -> bytes:
    return b"\0" * (-length % 4)


def check_name(name: str) -> str:
    """Return *name* normalised (no leading ``/``); reject ``..``, empty and NUL names."""
    if not name or "\0" in name:
        raise ValueError(f"invalid archive name {name!r}")
    path = PurePosixPath(name.lstrip("/"))
    if path.is_absolute() or ".." in path.parts or str(path) in {"", "."}:
        raise ValueError(f"archive name must stay inside the archive: {name!r}")
    return str(path)


class CpioWriter:
    """Write a newc archive to a binary stream.  Call :meth:`close` to add the trailer."""

    def __init__(self, stream: BinaryIO, *, mtime: int = 0) -> None:
        self._out = stream
        self._ino = 1
        self._mtime = mtime
        self._closed = False
        self.names: list[str] = []

    def _header(self, name: str, mode: int, size: int, rdev: tuple[int, int] = (0, 0)) -> None:
        if self._closed:
            raise ValueError("archive already closed")
        encoded = name.encode() + b"\0"
        fields = (
            self._ino,
            mode,
            0,  # uid
            0,  # gid
            2 if stat.S_ISDIR(mode) else 1,
            self._mtime,
            size,
            0,
            0,
            rdev[0],
            rdev[1],
            len(encoded),
            0,
        )
        self._ino += 1
        header = MAGIC + b"".join(f"{f:08x}".encode() for f in fields)
        self._out.write(header + encoded + _pad(len(header) + len(encoded)))
        if name != TRAILER:
            self.names.append(name)

    def add_dir(self, name: str, mode: int = 0o755) -> None:
        self._header(check_name(name), stat.S_IFDIR | (mode & 0o7777), 0)

    def add_file(self, name: str, data: bytes, mode: int = 0o644) -> None:
        self._header(check_name(name), stat.S_IFREG | (mode & 0o7777), len(data))
        self._out.write(data + _pad(len(data)))

    def add_host_file(self, name: str, source: Path, mode: int | None = None) -> None:
        """Copy the regular file *source* (symlinks followed) into the archive as *name*."""
        info = source.stat()
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"{source} is not a regular file")
        perm = stat.S_IMODE(info.st_mode) if mode is None else mode
        self._header(check_name(name), stat.S_IFREG | (perm & 0o7777), info.st_size)
        written = 0
        with source.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                written += len(chunk)
                if written > info.st_size:
                    raise ValueError(f"{source} grew while it was being archived")
                self._out.write(chunk)
        if written != info.st_size:
            raise ValueError(f"{source} changed size while it was being archived")
        self._out.write(_pad(written))

    def add_symlink(self, name: str, target: str) -> None:
        data = target.encode()
        self._header(check_name(name), stat.S_IFLNK | 0o777, len(data))
        self._out.write(data + _pad(len(data)))

    def add_char_device(self, name: str, major: int, minor: int, mode: int = 0o600) -> None:
        self._header(check_name(name), stat.S_IFCHR | (mode & 0o7777), 0, (major, minor))

    def close(self) -> None:
        if not self._closed:
            self._header(TRAILER, 0, 0)
            self._closed = True


def read_names(data: bytes) -> list[tuple[str, int, bytes]]:
    """Parse a newc archive into ``(name, mode, data)`` triples (for tests and checks)."""
    entries: list[tuple[str, int, bytes]] = []
    pos = 0
    while True:
        if data[pos : pos + 6] != MAGIC:
            raise ValueError(f"bad cpio magic at offset {pos}")
        fields = [int(data[pos + 6 + 8 * i : pos + 14 + 8 * i], 16) for i in range(13)]
        mode, size, namesize = fields[1], fields[6], fields[11]
        name_start = pos + 110
        name = data[name_start : name_start + namesize - 1].decode()
        body_start = name_start + namesize + (-(110 + namesize) % 4)
        if name == TRAILER:
            return entries
        entries.append((name, mode, data[body_start : body_start + size]))
        pos = body_start + size + (-size % 4)
