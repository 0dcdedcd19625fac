#!/usr/bin/env python3
"""Derive doctored .ko variants from a built module, for kmend's load-check oracle tests.

Every edit keeps the file size and layout (same-length byte edits), so the module stays
a valid ELF the kernel parses normally and only the one thing under test changes:

  vm-release   vermagic release word edited (6.1.0-57-amd64 -> 6.1.0-99-amd64)
  vm-flags     a vermagic flag word edited (preempt -> PREEMPT)
  noversions   the __versions section renamed to __Versions (the kernel looks it up by
               name, so the module has no modversions; objcopy --remove-section refuses)
  badcrc       the CRC recorded for SYMBOL in __versions inverted
  nocrc        the __versions entry for SYMBOL renamed, so SYMBOL has no CRC at all
  <label>      with --modinfo LABEL:KEY:OLD:NEW, the .modinfo entry KEY=OLD rewritten to
               KEY=NEW (NEW no longer than OLD, NUL-padded) — e.g. the license, import_ns

Usage: make_ko_variants.py IN.ko OUTDIR [--symbol _printk] [--modinfo LABEL:KEY:OLD:NEW]
Writes OUTDIR/<stem>-<variant>.ko for each variant that applies.
"""

from __future__ import annotations

import argparse
import re
import struct
import sys
from pathlib import Path

from elftools.elf.elffile import ELFFile


def _section(data: bytes, name: str) -> tuple[int, int, int]:
    """(offset, size, sh_name position in the file) of the section called *name*."""
    import io

    elf = ELFFile(io.BytesIO(data))
    shstr = elf.get_section(elf["e_shstrndx"])
    for sec in elf.iter_sections():
        if sec.name == name:
            return sec["sh_offset"], sec["sh_size"], shstr["sh_offset"] + sec["sh_name"]
    raise ValueError(f"no section {name}")


def _replace_once(data: bytes, old: bytes, new: bytes) -> bytes:
    assert len(old) == len(new), "edits must keep the length"
    if data.count(old) != 1:
        raise ValueError(f"expected exactly one {old!r}, found {data.count(old)}")
    return data.replace(old, new)


def vermagic_of(data: bytes) -> str:
    m = re.search(rb"vermagic=([^\0]*)\0", data)
    if m is None:
        raise ValueError("no vermagic= in the module")
    return m.group(1).decode()


def edit_release(data: bytes) -> bytes:
    magic = vermagic_of(data)
    release = magic.split(" ", 1)[0]
    flavor = re.search(r"-[a-z][a-z0-9]*$", release)
    head = release[: flavor.start()] if flavor else release
    tail = release[len(head):]
    runs = list(re.finditer(r"\d+", head))
    if not runs:
        raise ValueError(f"no number in release {release}")
    last = runs[-1]
    fill = "9" if set(last.group()) != {"9"} else "8"
    new_release = head[: last.start()] + fill * len(last.group()) + head[last.end():] + tail
    return _replace_once(data, f"vermagic={release} ".encode(), f"vermagic={new_release} ".encode())


def edit_flags(data: bytes) -> bytes:
    magic = vermagic_of(data)
    for word in ("preempt", "mod_unload", "SMP"):
        if f" {word} " in magic:
            new = magic.replace(f" {word} ", f" {word.swapcase()} ", 1)
            return _replace_once(data, f"vermagic={magic}\0".encode(), f"vermagic={new}\0".encode())
    raise ValueError(f"no flag word to edit in {magic!r}")


def hide_versions(data: bytes) -> bytes:
    _off, _size, name_pos = _section(data, "__versions")
    out = bytearray(data)
    assert out[name_pos : name_pos + 10] == b"__versions"
    out[name_pos : name_pos + 10] = b"__Versions"
    return bytes(out)


def _version_record(data: bytes, symbol: str) -> int:
    off, size, _ = _section(data, "__versions")
    for rec in range(off, off + size, 64):
        name = data[rec + 8 : rec + 64].split(b"\0", 1)[0].decode()
        if name == symbol:
            return rec
    raise ValueError(f"{symbol} not in __versions")


def bad_crc(data: bytes, symbol: str) -> bytes:
    rec = _version_record(data, symbol)
    (crc,) = struct.unpack_from("<Q", data, rec)
    out = bytearray(data)
    struct.pack_into("<Q", out, rec, crc ^ 0xFFFFFFFF)
    return bytes(out)


def no_crc(data: bytes, symbol: str) -> bytes:
    rec = _version_record(data, symbol)
    out = bytearray(data)
    out[rec + 8] = ord("X") if out[rec + 8] != ord("X") else ord("Y")
    return bytes(out)


def edit_modinfo(data: bytes, key: str, old: str, new: str) -> bytes:
    if len(new) > len(old):
        raise ValueError(f"the new {key} must not be longer than the old one")
    padded = new.encode() + b"\0" * (len(old) - len(new))
    return _replace_once(data, f"{key}={old}\0".encode(), f"{key}=".encode() + padded + b"\0")


def make_variants(ko: Path, outdir: Path, symbol: str = "_printk",
                  modinfo_edit: tuple[str, str, str, str] | None = None) -> dict[str, Path]:
    data = ko.read_bytes()
    stem = ko.name.split(".ko")[0]
    edits = {
        "vm-release": edit_release,
        "vm-flags": edit_flags,
        "noversions": hide_versions,
        "badcrc": lambda d: bad_crc(d, symbol),
        "nocrc": lambda d: no_crc(d, symbol),
    }
    if modinfo_edit is not None:
        label, key, old, new = modinfo_edit
        edits = {label: lambda d: edit_modinfo(d, key, old, new)}
    outdir.mkdir(parents=True, exist_ok=True)
    made = {}
    for label, fn in edits.items():
        try:
            new = fn(data)
        except ValueError as exc:
            print(f"{ko}: {label}: skipped ({exc})", file=sys.stderr)
            continue
        out = outdir / f"{stem}-{label}.ko"
        tmp = out.with_suffix(".tmp")
        tmp.write_bytes(new)
        tmp.rename(out)
        made[label] = out
    return made


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("ko", type=Path)
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--symbol", default="_printk")
    ap.add_argument("--modinfo", help="LABEL:KEY:OLD:NEW")
    args = ap.parse_args(argv)
    edit = tuple(args.modinfo.split(":", 3)) if args.modinfo else None
    if edit is not None and len(edit) != 4:
        ap.error("--modinfo wants LABEL:KEY:OLD:NEW")
    for label, path in make_variants(args.ko, args.outdir, args.symbol, edit).items():  # type: ignore[arg-type]
        print(f"{label}\t{path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
