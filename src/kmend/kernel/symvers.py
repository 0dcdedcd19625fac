"""Module.symvers in every column layout modpost has written.

| era | columns |
|---|---|
| early 2.6 | crc, symbol, module |
| 2.6 → v5.3 | crc, symbol, module, export |
| v5.4 (cb9b55d21fe0) | crc, symbol, namespace, module, export |
| v5.6+, 5.4.y | crc, symbol, module, export, namespace |

(cb9b55d21fe0 "modpost: add support for symbol namespaces"; then "modpost: move the
namespace field in Module.symvers last", Jessica Yu, 2020, Cc: stable.)

The two five-column layouts are told apart per line by where ``EXPORT_*`` sits.

A file whose every line has one of these layouts in printable ASCII (every real one) is
indexed by symbol with one regular-expression pass, and a line is parsed when its symbol
is first looked up (:class:`SymversTable`): checking one module needs a few hundred of a
kernel's 25,000 lines.  Any other file is parsed line by line, so that the first bad line
is named.
"""

from __future__ import annotations

import gzip
import io
import re
import stat
from collections.abc import Collection, Iterable, Iterator, Mapping
from pathlib import Path
from typing import NamedTuple, TypeVar, overload

from kmend._compat import zip_strict
from kmend.errors import InputError

_MAX_SYMVERS = 64 * 1024 * 1024
_T = TypeVar("_T")


class SymversEntry(NamedTuple):
    """One exported symbol (a tuple: a kernel's 25,000 lines are read in milliseconds)."""

    crc: int
    symbol: str
    module: str  # "vmlinux" or a path without .ko, e.g. drivers/xen/xen-evtchn
    export: str = "EXPORT_SYMBOL"
    namespace: str = ""

    @property
    def gpl_only(self) -> bool:
        return self.export in {"EXPORT_SYMBOL_GPL", "EXPORT_UNUSED_SYMBOL_GPL"}

    @property
    def module_name(self) -> str:
        """The owner as the kernel names modules (basename, '-' → '_')."""
        return kernel_module_name(self.module)


def kernel_module_name(module: str) -> str:
    """A Module.symvers module column as the kernel names modules (basename, '-' → '_')."""
    return module.rsplit("/", 1)[-1].replace("-", "_")


def parse_line(line: str) -> SymversEntry | None:
    """Parse one line; None for blank lines.  Raises ValueError on garbage."""
    fields = line.rstrip("\r\n").split("\t")
    if not fields or fields == [""]:
        return None
    if len(fields) < 3:
        raise ValueError(f"{len(fields)} tab-separated fields, expected 3 to 5")
    crc = int(fields[0], 16)
    symbol = fields[1]
    if len(fields) == 3:
        return SymversEntry(crc, symbol, fields[2])
    if len(fields) == 4:
        return SymversEntry(crc, symbol, fields[2], fields[3] or "EXPORT_SYMBOL")
    if fields[3].startswith("EXPORT_"):
        return SymversEntry(crc, symbol, fields[2], fields[3], fields[4])
    if fields[4].startswith("EXPORT_"):  # v5.4: namespace third
        return SymversEntry(crc, symbol, fields[3], fields[4], fields[2])
    raise ValueError("no EXPORT_* column where one of the known layouts puts it")


def parse_symvers(lines: Iterable[str], source: str) -> dict[str, SymversEntry]:
    """Parse Module.symvers text; the first line that is not one of the layouts is an error."""
    out: dict[str, SymversEntry] = {}
    for lineno, line in enumerate(lines, 1):
        try:
            entry = parse_line(line)
        except ValueError as exc:
            raise InputError(
                f"{source}:{lineno}: not a Module.symvers line ({exc})",
                "give the Module.symvers that the kernel build wrote",
            ) from exc
        if entry is not None:
            out.setdefault(entry.symbol, entry)
    return out


_FIELD = r"[!-~]*"
#: One line of the v5.6+ layout (the symbol captured), which every current kernel writes.
_LINE_V56 = re.compile(rf"^0x[0-9a-fA-F]+\t({_FIELD})\t{_FIELD}\tEXPORT_{_FIELD}\t{_FIELD}$",
                       re.M)
#: One line in any of the layouts above (the symbol captured); ``parse_line`` accepts it.
_LINE = re.compile(rf"^0x[0-9a-fA-F]+\t({_FIELD})\t{_FIELD}"
                   rf"(?:\t{_FIELD}|\tEXPORT_{_FIELD}\t{_FIELD}|\t{_FIELD}\tEXPORT_{_FIELD})?$",
                   re.M)
#: The module column of the v5.6+ layout (crc, symbol, module, export, namespace).
_MODULE_V56 = re.compile(r"^[^\t]*\t[^\t]*\t([^\t\n]*)\tEXPORT_[^\t\n]*\t[^\t\n]*$", re.M)
_NONZERO_CRC = re.compile(r"^0x0*[1-9a-fA-F]", re.M)


class SymversTable(Mapping[str, SymversEntry]):
    """Module.symvers as a mapping symbol → entry whose lines are parsed on first lookup.

    Built by :meth:`index` only from a text whose every line :func:`parse_line` accepts
    and whose symbols are distinct, so it answers exactly as :func:`parse_symvers`'s dict.
    """

    def __init__(self, text: str, lines: dict[str, str]) -> None:
        self._text = text
        self._lines = lines
        self._parsed: dict[str, SymversEntry] = {}

    @classmethod
    def index(cls, text: str) -> SymversTable | None:
        """The table of *text*, or None when a line is not plainly one of the layouts
        (then :func:`parse_symvers` reads it, or names the bad line)."""
        lines = text.splitlines()
        symbols = _LINE_V56.findall(text)
        if len(symbols) != len(lines):
            symbols = _LINE.findall(text)
        if not lines or len(symbols) != len(lines):
            return None
        by_symbol = dict(zip_strict(symbols, lines))
        if len(by_symbol) != len(lines):  # a symbol twice: the first line would win
            return None
        return cls(text, by_symbol)

    def __getitem__(self, symbol: str) -> SymversEntry:
        entry = self._parsed.get(symbol)
        if entry is None:
            entry = parse_line(self._lines[symbol])
            assert entry is not None  # every line was matched by _LINE
            self._parsed[symbol] = entry
        return entry

    @overload
    def get(self, symbol: str, /) -> SymversEntry | None: ...

    @overload
    def get(self, symbol: str, default: SymversEntry | _T, /) -> SymversEntry | _T: ...

    def get(self, symbol: str, default: object = None, /) -> object:
        # (faster than Mapping.get, which goes through a KeyError for unknown symbols)
        if symbol in self._lines:
            return self[symbol]
        return default

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._lines

    def __iter__(self) -> Iterator[str]:
        return iter(self._lines)

    def __len__(self) -> int:
        return len(self._lines)

    def any_crc(self) -> bool:
        """Whether some symbol has a CRC other than 0 (see :func:`modversions_in`)."""
        return _NONZERO_CRC.search(self._text) is not None

    def owners(self) -> frozenset[str]:
        """The modules (kernel spelling, not vmlinux) that export something."""
        modules = _MODULE_V56.findall(self._text)
        if len(modules) != len(self._lines):  # an older layout: read every line
            return frozenset(e.module_name for e in self.values() if e.module != "vmlinux")
        return frozenset(kernel_module_name(m) for m in set(modules) if m != "vmlinux")


class _LazyOwners(Collection[str]):
    """:meth:`SymversTable.owners`, computed when first asked (a module without
    dependencies never asks)."""

    def __init__(self, table: SymversTable) -> None:
        self._table = table
        self._owners: frozenset[str] | None = None

    def _get(self) -> frozenset[str]:
        if self._owners is None:
            self._owners = self._table.owners()
        return self._owners

    def __contains__(self, name: object) -> bool:
        return name in self._get()

    def __iter__(self) -> Iterator[str]:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())


def module_owners(entries: Mapping[str, SymversEntry]) -> Collection[str]:
    """Names of the modules (not vmlinux) that export something in *entries*."""
    if isinstance(entries, SymversTable):
        return _LazyOwners(entries)
    return frozenset(e.module_name for e in entries.values() if e.module != "vmlinux")


def load_symvers(path: Path) -> Mapping[str, SymversEntry]:
    """Read a Module.symvers (or /boot/symvers-R.gz) file."""
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode) or st.st_size > _MAX_SYMVERS:
            raise InputError(f"{path}: not a Module.symvers file (not a regular file, or "
                             f"over {_MAX_SYMVERS >> 20} MiB)", "give the kernel's Module.symvers")
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such file", "give the path of a Module.symvers") from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})", "check the file") from exc
    if raw.startswith(b"\x1f\x8b"):
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(raw)) as unpacked:
                raw = unpacked.read(_MAX_SYMVERS + 1)
        except (OSError, EOFError) as exc:
            raise InputError(f"{path}: corrupt gzip data", "re-copy the file") from exc
    text = raw.decode("utf-8", "replace")
    table = SymversTable.index(text)
    if table is not None:
        return table
    entries = parse_symvers(text.splitlines(), str(path))
    if not entries:
        raise InputError(f"{path}: empty Module.symvers", "give the kernel's full Module.symvers")
    return entries


def modversions_in(entries: Mapping[str, SymversEntry]) -> bool:
    """With CONFIG_MODVERSIONS=n every CRC is 0x00000000 (Documentation/kbuild/modules.rst)."""
    if isinstance(entries, SymversTable):
        return entries.any_crc()
    return any(e.crc for e in entries.values())
