"""Pull the module-relevant parts out of a relocatable ELF64 (a kernel module).

Pure over an :class:`Image` (bytes, or a file read on demand): no file system access of
its own.  The ELF header and section headers are read with :mod:`struct` (the layout is
the System V ABI's ``Elf64_Ehdr`` / ``Elf64_Shdr``): a module needs only its section
table, ``.symtab`` and a few sections' bytes (about a fifth of the file), and reading
them directly is an order of magnitude faster than a general ELF library, which matters
when a whole kernel tree (thousands of modules) is checked in one call.  The symbol table
is read column by column (memoryview casts), and only the names of undefined symbols and
of the export bookkeeping are decoded.  Every malformation is turned into one
:class:`~kmend.errors.InputError` line by :func:`parse_elf`.
"""

from __future__ import annotations

import re
import struct
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import compress
from operator import itemgetter, not_
from typing import Protocol

from kmend._compat import zip_strict
from kmend.errors import InputError
from kmend.ko.model import ExportedSymbol

ELF_MAGIC = b"\x7fELF"
SUPPORTED_MACHINES = {"EM_X86_64": "x86_64"}
THIS_MODULE = ".gnu.linkonce.this_module"
#: struct module { enum module_state state; struct list_head list; char name[56]; ... }
#: on 64-bit: 4 bytes state + 4 padding + 16 list_head → name at 24.
_THIS_MODULE_NAME_OFFSET = 24
_MODULE_NAME_LEN = 56
_VERSION_RECORD = 64  # struct modversion_info on 64-bit: unsigned long crc + char name[56]
_VERSION = struct.Struct("<Q56s")
_VERSION_NAMES = re.compile(r"(?s).{8}(?=([^\x00]{0,56})).{56}")
_SHF_ALLOC = 0x2


class Image(Protocol):
    """The bytes of a module: ``bytes``, or a file whose ranges are read when sliced."""

    def __len__(self) -> int: ...

    def __getitem__(self, key: slice, /) -> bytes: ...


#: ``struct`` casts of the symbol table below assume the host's byte order is the ELF's.
_LITTLE = sys.byteorder == "little"


@dataclass(frozen=True)
class ElfFacts:
    """Everything :mod:`kmend.ko.reader` turns into a ModuleFile."""

    machine: str
    modinfo: Mapping[str, tuple[str, ...]]
    modinfo_count: int
    versions: Mapping[str, int]
    has_versions: bool
    versions_source: str
    undefined: tuple[str, ...]
    weak_undefined: tuple[str, ...]
    exports: tuple[ExportedSymbol, ...]
    has_symtab: bool
    this_module_size: int | None
    this_module_count: int
    this_module_name: str | None


_ELF_ERRORS = (struct.error, ValueError, IndexError, KeyError, UnicodeDecodeError,
               OverflowError)

#: Elf64_Ehdr after e_ident: type, machine, version, entry, phoff, shoff, flags, ehsize,
#: phentsize, phnum, shentsize, shnum, shstrndx.
_EHDR = struct.Struct("<HHIQQQIHHHHHH")
#: Elf64_Shdr: name, type, flags, addr, offset, size, link, info, addralign, entsize.
_SHDR = struct.Struct("<IIQQQQIIQQ")
_SHT_SYMTAB, _SHT_NOBITS = 2, 8
_ET_REL = 1
#: e_machine values worth naming in an error (the ELF ABI's EM_* numbers).
_MACHINES = {3: "EM_386", 8: "EM_MIPS", 20: "EM_PPC", 21: "EM_PPC64", 22: "EM_S390",
             40: "EM_ARM", 62: "EM_X86_64", 183: "EM_AARCH64", 243: "EM_RISCV",
             258: "EM_LOONGARCH"}
_TYPES = {0: "ET_NONE", 1: "ET_REL", 2: "ET_EXEC", 3: "ET_DYN", 4: "ET_CORE"}


class Section:
    """One section header, and its bytes on demand."""

    __slots__ = ("_data", "_image", "flags", "index", "link", "name", "name_at", "offset",
                 "size", "type")

    def __init__(self, image: Image, index: int, fields: tuple[int, ...]) -> None:
        self._image = image
        self._data: bytes | None = None
        self.index = index
        self.name = ""
        self.name_at = fields[0]
        self.type = fields[1]
        self.flags = fields[2]
        self.offset = fields[4]
        self.size = fields[5]
        self.link = fields[6]

    def data(self) -> bytes:
        if self._data is None:
            self._data = (b"" if self.type == _SHT_NOBITS
                          else self._image[self.offset: self.offset + self.size])
        return self._data


def parse_elf(data: Image, what: str) -> ElfFacts:
    """Parse a module image (signature trailer already removed)."""
    if not len(data):
        raise InputError(f"{what}: empty file", "give the path of a built .ko")
    if data[:4] != ELF_MAGIC:
        raise InputError(
            f"{what}: not an ELF file (it starts with the bytes {bytes(data[:4]).hex(' ')})",
            "give a kernel module (.ko, .ko.xz, .ko.zst or .ko.gz)",
        )
    if len(data) < 64:
        raise InputError(
            f"{what}: truncated ELF header ({len(data)} bytes)", "re-copy or rebuild it"
        )
    try:
        return _facts(data, what)
    except InputError:
        raise
    except _ELF_ERRORS as exc:
        raise InputError(
            f"{what}: corrupt ELF ({type(exc).__name__}: {exc})", "rebuild the module"
        ) from exc


class _Table:
    """The section table: headers unpacked at once, a :class:`Section` made (and named)
    when asked for.  A module has some forty sections; a check reads about eight."""

    def __init__(self, data: Image, headers: list[tuple[int, ...]], names: bytes) -> None:
        self._data = data
        self._headers = headers
        self._names = names
        self._name_at = [fields[0] for fields in headers]
        self._made: dict[int, Section] = {}

    def __len__(self) -> int:
        return len(self._headers)

    def __getitem__(self, index: int) -> Section:
        sec = self._made.get(index)
        if sec is None:
            sec = self._made[index] = Section(self._data, index, self._headers[index])
            sec.name = _cstr(self._names, sec.name_at)
        return sec

    def named(self, name: str) -> list[int]:
        """The indices of the sections called *name*, in table order."""
        raw, names = name.encode(), self._names
        starts: set[int] = set()  # where the name and its NUL (or the table's end) lie
        at = names.find(raw + b"\0")
        while at >= 0:
            starts.add(at)
            at = names.find(raw + b"\0", at + 1)
        if names.endswith(raw):
            starts.add(len(names) - len(raw))
        if not starts:
            return []
        return list(compress(range(len(self._headers)), map(starts.__contains__, self._name_at)))

    def first_named(self, name: str) -> Section | None:
        found = self.named(name)
        return self[found[0]] if found else None

    def first_of_type(self, sh_type: int) -> Section | None:
        types = list(map(itemgetter(1), self._headers))
        return self[types.index(sh_type)] if sh_type in types else None


def _sections(data: Image, what: str) -> tuple[str, _Table]:
    """Check the ELF header (ELF64, little-endian, x86_64, ET_REL) and the section header
    table (every section inside the file, every name inside the name table)."""
    head = data[:64]
    elfclass = {1: 32, 2: 64}.get(head[4], head[4])
    (e_type, e_machine, _ver, _entry, _phoff, shoff, _flags, _ehsize, _phentsize, _phnum,
     shentsize, shnum, shstrndx) = _EHDR.unpack_from(head, 16)
    machine = _MACHINES.get(e_machine, f"machine {e_machine}")
    if elfclass != 64 or head[5] != 1 or machine not in SUPPORTED_MACHINES:
        raise InputError(
            f"{what}: wrong architecture: ELF{elfclass} {machine}, kmend checks x86_64 modules",
            "build the module for the target's architecture",
        )
    if e_type != _ET_REL:
        raise InputError(
            f"{what}: not a kernel module (ELF type {_TYPES.get(e_type, e_type)}; a .ko is "
            "ET_REL)", "give the .ko that Kbuild produced",
        )
    if shnum == 0 or shentsize < _SHDR.size or shoff + shnum * shentsize > len(data):
        raise InputError(
            f"{what}: corrupt or truncated: the section header table ends past the end of "
            "the file", "re-copy or rebuild the module",
        )
    table = data[shoff: shoff + shnum * shentsize]
    if shentsize == _SHDR.size:
        headers = list(_SHDR.iter_unpack(table))
    else:
        headers = [_SHDR.unpack_from(table, i * shentsize) for i in range(shnum)]
    size = len(data)
    for index, fields in enumerate(headers):  # name, type, flags, addr, offset, size, ...
        if fields[1] != _SHT_NOBITS and fields[4] + fields[5] > size:
            raise InputError(
                f"{what}: truncated: section #{index} ends past the end of the file",
                "re-copy or rebuild the module",
            )
    if not 0 < shstrndx < shnum:
        raise InputError(f"{what}: corrupt ELF: no section name table", "rebuild the module")
    names = Section(data, shstrndx, headers[shstrndx]).data()
    top = max(map(itemgetter(0), headers))
    if top >= len(names) and top:
        raise InputError(f"{what}: corrupt ELF: a section name lies outside the name "
                         "table", "rebuild the module")
    return machine, _Table(data, headers, names)


def _allocated(sec: Section) -> bool:
    return bool(sec.flags & _SHF_ALLOC)


def _modinfo(raw: bytes) -> tuple[dict[str, tuple[str, ...]], int]:
    out: dict[str, list[str]] = {}
    count = 0
    # (ASCII, as it always is, is decoded at once)
    items = (raw.decode("ascii").split("\0") if raw.isascii()
             else [i.decode("utf-8", "replace") for i in raw.split(b"\0")])
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            continue
        out.setdefault(key, []).append(value)
        count += 1
    return {k: tuple(v) for k, v in out.items()}, count


def _versions(sections: _Table) -> tuple[dict[str, int], bool, str]:
    crcs_sec = sections.first_named("__version_ext_crcs")
    names_sec = sections.first_named("__version_ext_names")
    if crcs_sec is not None and names_sec is not None and _allocated(crcs_sec):
        raw_crcs = crcs_sec.data()
        names = [n.decode("utf-8", "replace") for n in names_sec.data().split(b"\0") if n]
        count = min(len(raw_crcs) // 4, len(names))
        crcs = struct.unpack_from(f"<{count}I", raw_crcs)
        return dict(zip_strict(names[:count], crcs)), True, "__version_ext"
    sec = sections.first_named("__versions")
    if sec is None or not _allocated(sec):
        return {}, False, ""
    raw = sec.data()
    usable = len(raw) - len(raw) % _VERSION_RECORD
    if _LITTLE:
        # each record's name up to its NUL, found by one regular expression over the
        # section read as Latin-1 (one character per byte); the CRC is the low half of
        # the unsigned long
        names = _VERSION_NAMES.findall(raw[:usable].decode("latin-1"))
        if "".join(names).isascii():
            low = memoryview(raw)[:usable].cast("I")[0::_VERSION_RECORD // 4].tolist()
            fast = dict(zip_strict(names, low))
            if len(fast) == len(names):  # (a name twice: the first counts, see below)
                return fast, True, "__versions"
    out: dict[str, int] = {}
    for crc, raw_name in _VERSION.iter_unpack(raw[:usable]):
        name = raw_name.split(b"\0", 1)[0].decode("utf-8", "replace")
        out.setdefault(name, crc & 0xFFFFFFFF)
    return out, True, "__versions"



_SYM = struct.Struct("<IBBHQQ")  # Elf64_Sym: name, info, other, shndx, value, size
_SHN_UNDEF, _SHN_ABS = 0, 0xFFF1
_STB_WEAK = 2
_EXPORT_PREFIXES = (b"__ksymtab_", b"__crc_", b"__kstrtabns_")


def _cstr(raw: bytes, offset: int) -> str:
    end = raw.find(b"\0", offset)
    return raw[offset : end if end >= 0 else len(raw)].decode("utf-8", "replace")


def _symbols(
    sections: _Table,
) -> tuple[bool, tuple[str, ...], tuple[str, ...], tuple[ExportedSymbol, ...]]:
    """Walk .symtab (Elf64_Sym records): undefined symbols in table order, and exports.

    Symbol 0 (the null symbol) and symbols without a name are skipped.  Of the defined
    symbols only the export bookkeeping (``__ksymtab_*``, ``__crc_*``, ``__kstrtabns_*``)
    matters; the others' names are not even decoded."""
    symtab = sections.first_of_type(_SHT_SYMTAB)
    if symtab is None:
        return False, (), (), ()
    link = symtab.link
    if not 0 < link < len(sections):
        raise ValueError(f".symtab links to section {link}")
    strtab = sections[link].data()
    text = strtab.decode("ascii") if strtab.isascii() else None  # names decoded once
    raw = symtab.data()
    usable = len(raw) - len(raw) % _SYM.size
    if _LITTLE:
        view = memoryview(raw)[:usable]
        st_names = view.cast("I")[0::_SYM.size // 4].tolist()
        shndx = view.cast("H")[3::_SYM.size // 2].tolist()
    else:
        records = list(_SYM.iter_unpack(raw[:usable]))
        st_names = [r[0] for r in records]
        shndx = [r[3] for r in records]
    info = raw[4:usable:_SYM.size]

    def name_at(offset: int) -> str:
        if text is not None:
            end = text.find("\0", offset)
            return text[offset: end if end >= 0 else len(text)]
        return _cstr(strtab, offset)

    undefined: list[str] = []
    weak: list[str] = []
    for i in compress(range(len(shndx)), map(not_, shndx)):
        at = st_names[i]
        if not (i and at):
            continue
        if text is not None:
            end = text.find("\0", at)
            name = text[at: end] if end >= 0 else text[at:]
        else:
            name = _cstr(strtab, at)
        (weak if info[i] >> 4 == _STB_WEAK else undefined).append(name)
    # where a name starting with an export prefix could begin (any match, as a name may
    # begin inside another one's string)
    starts: set[int] = set()
    for prefix in _EXPORT_PREFIXES:
        at = strtab.find(prefix)
        while at >= 0:
            starts.add(at)
            at = strtab.find(prefix, at + 1)
    ksymtab: dict[str, str] = {}
    crc_syms: dict[str, tuple[int, int]] = {}
    ns_syms: dict[str, tuple[int, int]] = {}
    for i in compress(range(len(st_names)), map(starts.__contains__, st_names)) if starts else ():
        ndx = shndx[i]
        if not i or not st_names[i] or ndx == _SHN_UNDEF:
            continue
        name = name_at(st_names[i])
        value = _SYM.unpack_from(raw, i * _SYM.size)[4]
        if name.startswith("__ksymtab_") and ndx < len(sections):
            ksymtab[name[len("__ksymtab_"):]] = sections[ndx].name
        elif name.startswith("__crc_"):
            crc_syms[name[len("__crc_"):]] = (ndx, value)
        elif name.startswith("__kstrtabns_") and ndx < len(sections):
            ns_syms[name[len("__kstrtabns_"):]] = (ndx, value)
    exports = []
    for name, secname in ksymtab.items():
        export = "EXPORT_SYMBOL_GPL" if "_gpl" in secname else "EXPORT_SYMBOL"
        crc: int | None = None
        if name in crc_syms:
            ndx, value = crc_syms[name]
            if ndx == _SHN_ABS:
                crc = value & 0xFFFFFFFF
            elif ndx < len(sections):
                crc = struct.unpack_from("<I", sections[ndx].data(), value)[0]
        namespace = ""
        if name in ns_syms:
            ndx_ns, value_ns = ns_syms[name]
            namespace = _cstr(sections[ndx_ns].data(), value_ns)
        exports.append(ExportedSymbol(name, export, namespace, crc))
    return True, tuple(undefined), tuple(weak), tuple(exports)


def _facts(data: Image, what: str) -> ElfFacts:
    machine, sections = _sections(data, what)
    this_modules = sections.named(THIS_MODULE)
    this_module = sections[this_modules[-1]] if this_modules else None
    modinfo_sec = sections.first_named(".modinfo")
    modinfo, modinfo_count = _modinfo(modinfo_sec.data()) if modinfo_sec is not None else ({}, 0)
    versions, has_versions, source = _versions(sections)
    has_symtab, undefined, weak, exports = _symbols(sections)
    tm_name = None
    tm_size = None
    if this_module is not None:
        tm_size = this_module.size
        if this_module.type != _SHT_NOBITS:
            raw = this_module.data()[_THIS_MODULE_NAME_OFFSET:
                                     _THIS_MODULE_NAME_OFFSET + _MODULE_NAME_LEN]
            tm_name = raw.split(b"\0", 1)[0].decode("utf-8", "replace") or None
    return ElfFacts(
        machine=machine,
        modinfo=modinfo,
        modinfo_count=modinfo_count,
        versions=versions,
        has_versions=has_versions,
        versions_source=source,
        undefined=undefined,
        weak_undefined=weak,
        exports=exports,
        has_symtab=has_symtab,
        this_module_size=tm_size,
        this_module_count=len(this_modules),
        this_module_name=tm_name,
    )
