"""``read_module(path) -> ModuleFile``: open a .ko (optionally compressed) and parse it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from kmend.errors import InputError
from kmend.ko.compressed import MAX_MODULE_BYTES, decompress
from kmend.ko.elfread import parse_elf
from kmend.ko.model import ModuleFile
from kmend.ko.signature import split_signature


def _first(values: tuple[str, ...] | None) -> str | None:
    return values[0] if values else None


def read_bytes(path: Path) -> bytes:
    """Read *path* (bounded) or raise InputError with one clear line.

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
    with os.fdopen(fd, "rb") as fh:
        if st.st_size > MAX_MODULE_BYTES:
            raise InputError(f"{path}: {st.st_size} bytes is too large for a kernel module",
                             "give the path of a .ko file")  # fmt: skip
        try:
            return fh.read(MAX_MODULE_BYTES + 1)
        except OSError as exc:
            raise InputError(f"{path}: cannot read ({exc.strerror})", "check the file") from exc


#: The image of the module read last, by (path, size, mtime): checking a module verifies
#: its signature right after reading it, and a .ko.xz is not decompressed twice.
_LAST: dict[tuple[Path, int, int], bytes] = {}


def module_image(path: Path) -> bytes:
    """The module's ELF image (decompressed), signature included."""
    try:
        st = path.stat()
        cached = _LAST.get((path, st.st_size, st.st_mtime_ns))
    except OSError:
        cached = None
    if cached is not None:
        return cached
    return decompress(read_bytes(path), str(path))[0]


def parse_module(data: bytes, path: Path) -> ModuleFile:
    """Parse module bytes (possibly compressed) that came from *path*."""
    what = str(path)
    elf_bytes, compression = decompress(data, what)
    return _parse(elf_bytes, compression, path)


def _parse(elf_bytes: bytes, compression: str, path: Path) -> ModuleFile:
    what = str(path)
    body, signature = split_signature(elf_bytes)
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
        size=len(elf_bytes),
    )


def read_module(path: str | os.PathLike[str]) -> ModuleFile:
    """Read a .ko, .ko.xz, .ko.zst or .ko.gz; raise InputError (one line) if it is not one."""
    p = Path(path)
    try:
        st = p.stat()
    except OSError:
        return parse_module(read_bytes(p), p)
    elf_bytes, compression = decompress(read_bytes(p), str(p))
    module = _parse(elf_bytes, compression, p)
    _LAST.clear()
    _LAST[(p, st.st_size, st.st_mtime_ns)] = elf_bytes
    return module
