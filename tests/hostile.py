"""Hostile inputs for kmend, generated: logs that break parsers and modules that lie.

Shared by the fuzz tests (tests/unit/test_fuzz_*.py, tests/unit/test_hostile_*.py) and the
measuring script bench/hostile.py.  Every input is made from a real crash log or a real
Debian module, changed in one way a broken or hostile machine could produce.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import zstandard

REPO = Path(__file__).resolve().parent.parent
CRASHES = REPO / "tests" / "data" / "crashes"
EXAMPLE = REPO / "examples" / "w-xen09-messages.log"
DEBIAN_MODULES = Path("/lib/modules/6.1.0-47-amd64/kernel")

SHT_NOBITS = 8
SHF_COMPRESSED = 0x800
ELFCOMPRESS_ZLIB = 1
_SHDR = struct.Struct("<IIQQQQIIQQ")  # Elf64_Shdr
_CHDR = struct.Struct("<IIQQ")  # Elf64_Chdr


def crash_log() -> bytes:
    """A real crash report (the founding incident's syslog)."""
    return EXAMPLE.read_bytes()


def real_crash_logs() -> Iterator[Path]:
    """The real crashes captured from Debian's kernels (tests/data/crashes)."""
    yield from sorted(p for p in CRASHES.rglob("*") if p.is_file() and p.suffix in (".log",))


def compress(data: bytes, kind: str) -> bytes:
    """*data* compressed as the real tool would (gz, xz, bz2, zst)."""
    if kind == "gz":
        return gzip.compress(data)
    if kind == "xz":
        return lzma.compress(data)
    if kind == "bz2":
        return bz2.compress(data)
    if kind == "zst":
        return zstandard.ZstdCompressor().compress(data)
    raise ValueError(kind)


def corrupt_middle(blob: bytes) -> bytes:
    """*blob* with 64 bytes in its middle overwritten (a bad disk block)."""
    mid = len(blob) // 2
    return blob[:mid] + bytes(b ^ 0x5A for b in blob[mid : mid + 64]) + blob[mid + 64 :]


def big_number_logs() -> dict[str, bytes]:
    """Crash lines carrying numbers of thousands of digits."""
    base = crash_log().decode()
    digits = "7" * 5000
    return {
        "bug-digits": base.replace("evtchn.c:264!", f"evtchn.c:{digits}!").encode(),
        "oops-digits": base.replace("[#3]", f"[#{digits}]").encode(),
        "rip-hex": base.replace("evtchn_bind_to_user+0xb8", f"evtchn_bind_to_user+0x{'f' * 4000}")
        .replace("CPU: 11 PID: 7959", f"CPU: {digits} PID: {digits}")
        .encode(),
    }


def spaces_log(width: int = 20000, copies: int = 1) -> bytes:
    """A crash with lines of *width* spaces in it (*copies* times): after a printk stamp,
    after a syslog prefix and before a time of day."""
    pad = b" " * width
    lines = crash_log().split(b"\n")
    lines[3:3] = [
        b"[   12.345678] " + pad + b"x 00:00:00 ",
        b"Dec 23 00:51:38 w-xen09 kernel: [   12.345678]" + pad + b"00:51:38 x",
        pad,
    ]
    return b"\n".join(lines) * copies


# --- modules -----------------------------------------------------------------------------


def small_debian_module() -> Path:
    """A small real module of Debian's 6.1 kernel."""
    for rel in ("net/vmw_vsock/vsock_loopback.ko", "net/key/af_key.ko"):
        if (DEBIAN_MODULES / rel).is_file():
            return DEBIAN_MODULES / rel
    for path in sorted(DEBIAN_MODULES.rglob("*.ko")):
        return path
    raise FileNotFoundError(f"no module under {DEBIAN_MODULES}")


def _sections(elf: bytes) -> list[tuple[int, str, list[int]]]:
    """(header offset, name, header fields) of each section of a 64-bit little-endian ELF."""
    shoff, = struct.unpack_from("<Q", elf, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", elf, 0x3A)
    heads = [list(_SHDR.unpack_from(elf, shoff + i * shentsize)) for i in range(shnum)]
    strtab = heads[shstrndx]
    names = elf[strtab[4] : strtab[4] + strtab[5]]
    out = []
    for i, h in enumerate(heads):
        end = names.find(b"\0", h[0])
        out.append((shoff + i * shentsize, names[h[0] : end].decode(), h))
    return out


def set_section(elf: bytes, name: str, **changes: int) -> bytes:
    """*elf* with the named section header's fields changed (sh_type, sh_flags, sh_offset,
    sh_size)."""
    keys = ["sh_name", "sh_type", "sh_flags", "sh_addr", "sh_offset", "sh_size", "sh_link",
            "sh_info", "sh_addralign", "sh_entsize"]  # fmt: skip
    buf = bytearray(elf)
    for at, sname, fields in _sections(elf):
        if sname == name:
            for key, value in changes.items():
                fields[keys.index(key)] = value
            _SHDR.pack_into(buf, at, *fields)
            return bytes(buf)
    raise KeyError(name)


def section(elf: bytes, name: str) -> list[int]:
    for _at, sname, fields in _sections(elf):
        if sname == name:
            return fields
    raise KeyError(name)


def nobits_modinfo(elf: bytes, size: int = 1 << 40) -> bytes:
    """.modinfo marked SHT_NOBITS with an absurd size."""
    return set_section(elf, ".modinfo", sh_type=SHT_NOBITS, sh_size=size)


def compressed_section(elf: bytes, name: str, payload: bytes, claimed: int) -> bytes:
    """Section *name* turned SHF_COMPRESSED: a zlib header claiming *claimed* bytes and
    *payload* as the compressed data, appended to the file."""
    fields = section(elf, name)
    data = _CHDR.pack(ELFCOMPRESS_ZLIB, 0, claimed, 1) + payload
    offset = (len(elf) + 7) & ~7
    out = elf + b"\0" * (offset - len(elf)) + data
    return set_section(out, name, sh_flags=fields[2] | SHF_COMPRESSED, sh_offset=offset,
                       sh_size=len(data))


def bad_zlib_section(elf: bytes) -> bytes:
    return compressed_section(elf, ".modinfo", b"\x78\x9c" + b"\xff" * 64, 4096)


def zlib_bomb_section(elf: bytes, size: int = 400 << 20) -> bytes:
    comp = zlib.compressobj(9)
    chunk = b"\0" * (1 << 20)
    payload = b"".join(comp.compress(chunk) for _ in range(size >> 20)) + comp.flush()
    return compressed_section(elf, ".modinfo", payload, size)
