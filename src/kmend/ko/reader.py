"""``read_module(path) -> ModuleFile``: open a .ko (optionally compressed) and parse it.

A plain .ko is not read whole: its headers, symbol table, a few sections and the
signature at its end are read where they lie (:class:`FileImage`, about a fifth of the
file).  A compressed one is decompressed whole.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from kmend.errors import InputError
from kmend.ko.compressed import MAX_MODULE_BYTES, compression_of, decompress
from kmend.ko.elfread import Image, parse_elf
from kmend.ko.model import ModuleFile
from kmend.ko.signature import read_signature


def _first(values: tuple[str, ...] | None) -> str | None:
    return values[0] if values else None


def _open(path: Path) -> tuple[int, os.stat_result]:
    """Open *path* for reading (a regular file, bounded) or raise InputError with one
    clear line.

    Opened with ``O_NONBLOCK`` and checked with ``fstat`` on the open descriptor, so a
    FIFO or a device is refused without ever blocking, and the size checked is the size
    of the file read.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such file", "check the path of the .ko") from exc
    except PermissionError as exc:
        raise InputError(f"{path}: permission denied", "make it readable") from exc
    except IsADirectoryError as exc:
        raise InputError(f"{path}: is a directory", "give the path of a .ko file") from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})", "check the file") from exc
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        if stat.S_ISDIR(st.st_mode):
            raise InputError(f"{path}: is a directory", "give the path of a .ko file")
        raise InputError(f"{path}: not a regular file", "give the path of a .ko file")
    if st.st_size > MAX_MODULE_BYTES:
        os.close(fd)
        raise InputError(f"{path}: {st.st_size} bytes is too large for a kernel module",
                         "give the path of a .ko file")  # fmt: skip
    return fd, st


def _read_all(fd: int, path: Path) -> bytes:
    with os.fdopen(fd, "rb", closefd=False) as fh:
        try:
            return fh.read(MAX_MODULE_BYTES + 1)
        except OSError as exc:
            raise InputError(f"{path}: cannot read ({exc.strerror})", "check the file") from exc


def read_bytes(path: Path) -> bytes:
    """Read *path* (bounded) or raise InputError with one clear line (see :func:`_open`)."""
    fd, _st = _open(path)
    try:
        return _read_all(fd, path)
    finally:
        os.close(fd)


#: Bytes read at once at each end of a plain module: the ELF header at the start; the
#: section header table, the section names and the signature at the end (where Kbuild's
#: linker and sign-file put them).
_HEAD, _TAIL = 64, 8192


class FileImage:
    """The first *size* bytes of a regular file as an :class:`~kmend.ko.elfread.Image`:
    a slice is read with ``pread``, its two ends once each.  (A file that shrinks
    meanwhile reads short, which the parser reports as a corrupt module.)  Without a
    descriptor the file is opened when a slice outside the ends is first asked for."""

    __slots__ = ("_ends", "_fd", "_file_size", "_opened", "_path", "_size")

    def __init__(self, fd: int | None, size: int, path: Path,
                 ends: dict[int, bytes] | None = None) -> None:
        self._fd = fd
        self._opened = False
        self._size = self._file_size = size
        self._path = path
        #: offset → bytes read there (the head and the tail)
        self._ends: dict[int, bytes] = {} if ends is None else ends

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, key: slice, /) -> bytes:
        start, stop, step = key.indices(self._size)
        if step != 1:
            raise ValueError("a module image is read in one piece")
        if stop <= start:
            return b""
        tail_at = max(0, self._file_size - _TAIL)  # (a small file is all tail)
        if start >= tail_at:
            return self._end(tail_at, self._file_size - tail_at)[start - tail_at:stop - tail_at]
        if stop <= _HEAD:
            return self._end(0, _HEAD)[start:stop]
        return self._pread(start, stop - start)

    def _end(self, at: int, size: int) -> bytes:
        found = self._ends.get(at)
        if found is None:
            found = self._ends[at] = self._pread(at, size)
        return found

    def _pread(self, at: int, size: int) -> bytes:
        if self._fd is None:
            self._fd, _st = _open(self._path)
            self._opened = True
        try:
            return os.pread(self._fd, size, at)
        except OSError as exc:
            raise InputError(f"{self._path}: cannot read ({exc.strerror})",
                             "check the file") from exc

    @property
    def ends(self) -> dict[int, bytes]:
        """What was read of the file's two ends (offset → bytes), to make another image
        of the same file from."""
        return self._ends

    def prefix(self, size: int) -> FileImage:
        """The first *size* bytes (sharing what was read)."""
        view = FileImage(self._fd, self._file_size, self._path, self._ends)
        view._size = min(size, self._size)
        return view

    def close(self) -> None:
        """Close the descriptor this image opened itself."""
        if self._opened and self._fd is not None:
            os.close(self._fd)
        self._fd = None
        self._opened = False


#: What was read of the module read last, by (path, size, mtime): checking a module
#: verifies its signature right after reading it, and a .ko.xz is not decompressed
#: twice (its image), nor the end of a .ko read twice (the ends of its FileImage).
_LAST: dict[tuple[Path, int, int], bytes | dict[int, bytes]] = {}


@contextlib.contextmanager
def open_image(path: Path) -> Iterator[Image]:
    """The module's ELF image (decompressed), signature included, while in the block."""
    try:
        st = path.stat()
        cached = _LAST.get((path, st.st_size, st.st_mtime_ns))
    except OSError:
        cached = None
    if isinstance(cached, bytes):
        yield cached
        return
    if cached is not None:
        image = FileImage(None, st.st_size, path, cached)
        try:
            yield image
        finally:
            image.close()
        return
    fd, st = _open(path)
    try:
        if compression_of(os.pread(fd, 8, 0)):
            yield decompress(_read_all(fd, path), str(path))[0]
        else:
            yield FileImage(fd, st.st_size, path)
    finally:
        os.close(fd)


def parse_module(data: bytes, path: Path) -> ModuleFile:
    """Parse module bytes (possibly compressed) that came from *path*."""
    what = str(path)
    elf_bytes, compression = decompress(data, what)
    return _parse(elf_bytes, compression, path)


def _parse(elf: Image, compression: str, path: Path) -> ModuleFile:
    what = str(path)
    length, signature = read_signature(elf)
    if isinstance(elf, FileImage):
        body: Image = elf.prefix(length)
    else:
        body = elf if length == len(elf) else elf[:length]
    facts = parse_elf(body, what)
    info = facts.modinfo
    modinfo_name = _first(info.get("name"))
    stem = path.name.split(".ko")[0].replace("-", "_")
    name = modinfo_name or facts.this_module_name or stem
    depends_raw = _first(info.get("depends")) or ""
    depends = tuple(d for d in depends_raw.split(",") if d)
    return ModuleFile(
        path=path,
        name=name,
        vermagic=_first(info.get("vermagic")),
        depends=depends,
        license=_first(info.get("license")),
        srcversion=_first(info.get("srcversion")),
        intree=bool(info.get("intree")),
        versions=dict(facts.versions),
        undefined=facts.undefined,
        exports=facts.exports,
        signature=signature,
        has_versions=facts.has_versions,
        versions_source=facts.versions_source,
        weak_undefined=facts.weak_undefined,
        import_ns=info.get("import_ns", ()),
        retpoline=bool(info.get("retpoline")),
        modinfo=dict(info),
        modinfo_name=modinfo_name,
        this_module_size=facts.this_module_size,
        this_module_count=facts.this_module_count,
        has_symtab=facts.has_symtab,
        modinfo_count=facts.modinfo_count,
        machine=facts.machine,
        compression=compression,
        size=len(elf),
    )


def read_module(path: str | os.PathLike[str]) -> ModuleFile:
    """Read a .ko, .ko.xz, .ko.zst or .ko.gz; raise InputError (one line) if it is not one."""
    p = path if isinstance(path, Path) else Path(path)
    _LAST.clear()
    fd, st = _open(p)
    key = (p, st.st_size, st.st_mtime_ns)
    try:
        image = FileImage(fd, st.st_size, p)
        if not compression_of(image[:8]):
            module = _parse(image, "", p)
            _LAST[key] = image.ends
            return module
        elf_bytes, compression = decompress(_read_all(fd, p), str(p))
    finally:
        os.close(fd)
    module = _parse(elf_bytes, compression, p)
    _LAST[key] = elf_bytes
    return module
