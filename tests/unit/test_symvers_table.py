"""Module.symvers read through the indexed table (lines parsed on lookup) gives what the
file's lines say: every symbol of Debian's real Module.symvers, the older layouts, and the
one-line error for a bad line; files that are not plainly one of the layouts are read
line by line."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from conftest import need
from kmend.errors import InputError
from kmend.kernel.symvers import (
    SymversTable,
    load_symvers,
    module_owners,
    modversions_in,
)

DEBIAN_SYMVERS = Path("/usr/src/linux-headers-6.1.0-47-amd64/Module.symvers")


def _owner(module: str) -> str:
    return module.rsplit("/", 1)[-1].replace("-", "_")


def test_debian_symvers_every_line(tmp_path: Path) -> None:
    """Each of the 25,000 lines, split by hand here, is what the table answers."""
    need(DEBIAN_SYMVERS.is_file(), "linux-headers-6.1.0-47-amd64 is not installed")
    table = load_symvers(DEBIAN_SYMVERS)
    assert isinstance(table, SymversTable)
    lines = DEBIAN_SYMVERS.read_text().splitlines()
    assert len(table) == len(lines) > 20000
    owners = set()
    for line in lines:
        crc, symbol, module, export, namespace = line.split("\t")
        entry = table[symbol]
        assert (entry.crc, entry.symbol, entry.module, entry.export, entry.namespace) == (
            int(crc, 16), symbol, module, export, namespace)
        if module != "vmlinux":
            owners.add(_owner(module))
    assert set(module_owners(table)) == owners and "xen_evtchn" not in owners
    assert modversions_in(table)
    assert table.get("no_such_symbol_here") is None and "no_such_symbol_here" not in table
    # the same file gzipped (as RHEL ships /boot/symvers-R.gz)
    gz = tmp_path / "symvers.gz"
    gz.write_bytes(gzip.compress(DEBIAN_SYMVERS.read_bytes()))
    assert load_symvers(gz)["module_layout"] == table["module_layout"]


OLD = ("0x00000001\tfoo\tvmlinux\n"                                    # early 2.6
       "0x00000002\tbar\tdrivers/x/bar-mod\tEXPORT_SYMBOL_GPL\n"        # 2.6 - v5.3
       "0x00000003\tbaz\tUSB_STORAGE\tdrivers/usb/usb-storage\tEXPORT_SYMBOL\n"  # v5.4
       "0x00000000\tqux\tdrivers/y/qux\tEXPORT_SYMBOL\tNS\n")          # v5.6+


def test_older_layouts_in_one_file(tmp_path: Path) -> None:
    path = tmp_path / "Module.symvers"
    path.write_text(OLD)
    table = load_symvers(path)
    assert isinstance(table, SymversTable)
    assert (table["foo"].module, table["foo"].export) == ("vmlinux", "EXPORT_SYMBOL")
    assert (table["bar"].crc, table["bar"].gpl_only) == (2, True)
    assert (table["baz"].module, table["baz"].namespace) == ("drivers/usb/usb-storage",
                                                             "USB_STORAGE")
    assert table["qux"].namespace == "NS" and table["qux"].crc == 0
    assert set(module_owners(table)) == {"bar_mod", "usb_storage", "qux"}
    assert list(table) == ["foo", "bar", "baz", "qux"]
    assert modversions_in(table)
    path.write_text(OLD.replace("0x00000001", "0x00000000")
                    .replace("0x00000002", "0x00000000").replace("0x00000003", "0x00000000"))
    assert not modversions_in(load_symvers(path))  # CONFIG_MODVERSIONS=n: every CRC 0


@pytest.mark.parametrize("text,symbol,module", [
    # a symbol twice: the first line counts
    ("0x00000001\tfoo\tvmlinux\tEXPORT_SYMBOL\t\n0x00000002\tfoo\tdrivers/a\tEXPORT_SYMBOL\t\n",
     "foo", "vmlinux"),
    # CRLF line ends, blank lines, a CRC without 0x, a space in a field
    ("0x00000001\tfoo\tvmlinux\tEXPORT_SYMBOL\t\r\n\n00000002\tbar\tdrivers/a b\tEXPORT_SYMBOL\t\n",
     "bar", "drivers/a b"),
])
def test_files_read_line_by_line(tmp_path: Path, text: str, symbol: str, module: str) -> None:
    path = tmp_path / "Module.symvers"
    path.write_text(text, newline="")
    entries = load_symvers(path)
    assert not isinstance(entries, SymversTable)
    assert entries[symbol].module == module


def test_bad_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "Module.symvers"
    path.write_text("0x00000001\tfoo\tvmlinux\tEXPORT_SYMBOL\t\n0x2\tbar\tdrivers/a\tX\tY\n")
    with pytest.raises(InputError, match=r"Module.symvers:2: not a Module.symvers line"):
        load_symvers(path)
