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
"""

from __future__ import annotations

import gzip
import io
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import NamedTuple

from kmend.errors import InputError

_MAX_SYMVERS = 64 * 1024 * 1024


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
        return self.module.rsplit("/", 1)[-1].replace("-", "_")


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


def load_symvers(path: Path) -> dict[str, SymversEntry]:
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
    entries = parse_symvers(text.splitlines(), str(path))
    if not entries:
        raise InputError(f"{path}: empty Module.symvers", "give the kernel's full Module.symvers")
    return entries


def modversions_in(entries: Mapping[str, SymversEntry]) -> bool:
    """With CONFIG_MODVERSIONS=n every CRC is 0x00000000 (Documentation/kbuild/modules.rst)."""
    return any(e.crc for e in entries.values())
