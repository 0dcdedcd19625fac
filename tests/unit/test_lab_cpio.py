"""The newc writer: round trip through our reader AND through GNU cpio (an independent reader)."""

from __future__ import annotations

import io
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from kmend.lab.cpio import CpioWriter, check_name, read_names


def _archive(build) -> bytes:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    writer = CpioWriter(buf)
    build(writer)
    writer.close()
    return buf.getvalue()


def test_round_trip_kinds_and_alignment(tmp_path: Path) -> None:
    host = tmp_path / "blob.bin"
    host.write_bytes(bytes(range(256)) * 5 + b"xyz")

    def build(w: CpioWriter) -> None:
        w.add_dir("bin")
        w.add_file("bin/a", b"abc", 0o755)
        w.add_file("/etc/odd-name-length-x", b"")
        w.add_host_file("data/blob.bin", host)
        w.add_symlink("usr/sbin/insmod", "../bin/kmod")
        w.add_char_device("dev/console", 5, 1)

    data = _archive(build)
    assert len(data) % 4 == 0
    entries = {name: (mode, body) for name, mode, body in read_names(data)}
    assert entries["bin/a"] == (stat.S_IFREG | 0o755, b"abc")
    assert entries["etc/odd-name-length-x"][1] == b""
    assert entries["data/blob.bin"][1] == host.read_bytes()
    assert stat.S_ISLNK(entries["usr/sbin/insmod"][0])
    assert entries["usr/sbin/insmod"][1] == b"../bin/kmod"
    assert stat.S_ISDIR(entries["bin"][0])
    assert stat.S_ISCHR(entries["dev/console"][0])
    assert data.endswith(b"\0") and b"TRAILER!!!" in data


def test_gnu_cpio_reads_it(tmp_path: Path) -> None:
    cpio = shutil.which("cpio")
    if cpio is None:
        pytest.skip("GNU cpio not installed")

    def build(w: CpioWriter) -> None:
        w.add_dir("d")
        for n in range(1, 9):  # every name/data length modulo 4
            w.add_file(f"d/{'f' * n}", b"x" * n, 0o640)
        w.add_symlink("d/link", "f")

    data = _archive(build)
    out = tmp_path / "x"
    out.mkdir()
    subprocess.run(
        [cpio, "-i", "-d", "--quiet", "--no-absolute-filenames"],
        input=data,
        cwd=out,
        check=True,
        timeout=30,
    )
    for n in range(1, 9):
        assert (out / "d" / ("f" * n)).read_bytes() == b"x" * n
    assert (out / "d" / "link").is_symlink()
    listing = subprocess.run(
        [cpio, "-t", "--quiet"], input=data, capture_output=True, check=True, timeout=30
    ).stdout.decode()
    assert listing.split() == ["d", *("d/" + "f" * n for n in range(1, 9)), "d/link"]


@pytest.mark.parametrize("bad", ["", "..", "a/../../b", "x\0y", "/"])
def test_names_must_stay_inside(bad: str) -> None:
    with pytest.raises(ValueError):
        check_name(bad)


def test_closed_archive_refuses_more() -> None:
    writer = CpioWriter(io.BytesIO())
    writer.close()
    with pytest.raises(ValueError):
        writer.add_file("a", b"")
