"""Logs saved as UTF-16 are read as text.

Windows tools write text so: PowerShell 5's ``>`` and ``Out-File`` (a WSL kernel's
``wsl dmesg > dmesg.txt``), Notepad's "Unicode".  The UTF-16 copies here are made by
glibc's ``iconv`` (a byte order mark, then little-endian) or with an explicit byte order;
the expected facts are the example's own line ``kernel BUG at drivers/xen/evtchn.c:264!``
of host w-xen09.
"""

from __future__ import annotations

import gzip
import subprocess
from pathlib import Path

import pytest

from conftest import REPO
from kmend.errors import InputError
from kmend.logs import read_paths
from kmend.logs.open import utf16_of
from kmend.oops import parse_reports

EXAMPLE = REPO / "examples" / "w-xen09-messages.log"


def _facts(path: Path, warnings: list[InputError] | None = None) -> list[tuple[str, int, str]]:
    lines = read_paths([str(path)], prefilter=True,
                       on_warning=warnings.append if warnings is not None else None)
    return [(r.location.file, r.location.line, r.host or "") for r in parse_reports(lines)
            if r.location is not None]


WANT = [("drivers/xen/evtchn.c", 264, "w-xen09")]


def test_iconv_utf16_is_read(tmp_path: Path) -> None:
    out = tmp_path / "dmesg.txt"
    with out.open("wb") as fh:
        subprocess.run(["iconv", "-f", "UTF-8", "-t", "UTF-16", str(EXAMPLE)], stdout=fh,
                       check=True, timeout=60)
    assert out.read_bytes()[:2] in (b"\xff\xfe", b"\xfe\xff")  # iconv wrote a BOM
    assert _facts(out) == WANT


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("bom", [True, False])
def test_either_byte_order_with_or_without_a_mark(tmp_path: Path, codec: str, bom: bool) -> None:
    text = EXAMPLE.read_text()
    out = tmp_path / "messages"
    out.write_bytes(("\ufeff" + text if bom else text).encode(codec))
    assert _facts(out) == WANT


def test_compressed_utf16_and_its_damage(tmp_path: Path) -> None:
    data = gzip.compress(EXAMPLE.read_text().encode("utf-16"))
    whole = tmp_path / "messages.1.gz"
    whole.write_bytes(data)
    assert _facts(whole) == WANT
    cut = tmp_path / "messages.2.gz"
    cut.write_bytes(data[:-20])
    warnings: list[InputError] = []
    assert _facts(cut, warnings) == WANT  # the crash is well before the cut
    assert len(warnings) == 1 and "truncated gzip data" in warnings[0].message


def test_other_text_and_binary_are_left_alone() -> None:
    assert utf16_of(EXAMPLE.read_bytes()[:64]) is None
    assert utf16_of(b"\xff\xfe\0\0" + "x".encode("utf-32-le")) is None  # UTF-32: not read
    assert utf16_of(b"\x7fELF\x02\x01\x01\0" + b"\0" * 56) is None
    assert utf16_of(bytes(64)) is None  # NULs only
    assert utf16_of("kernel: BUG".encode("utf-16-le")) == "utf-16-le"
