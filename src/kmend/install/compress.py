"""Compress a module the way kbuild's ``modules_install`` does, with the real tools.

In replace mode the new module takes the in-tree file's exact name, so a compressed in-tree
module (Debian 6.12 ships ``.ko.xz``) is replaced by a file compressed the same way, never
by a plain ``.ko`` beside it (two files for one module name in one directory would make the
result depend on depmod's directory walk order).  The options are kbuild's
(scripts/Makefile.modinst): ``xz --check=crc32 --lzma2=dict=1MiB`` — the in-kernel xz
decoder used by CONFIG_MODULE_DECOMPRESS verifies only CRC32 — ``zstd -T0`` and
``gzip -n``.  Recompressing a Debian 6.12 module this way reproduces Debian's bytes.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from kmend import proc
from kmend.errors import StateError

_COMPRESS: dict[str, list[str]] = {
    "xz": ["xz", "--check=crc32", "--lzma2=dict=1MiB", "-c"],
    "zst": ["zstd", "-T0", "-q", "-c"],
    "gz": ["gzip", "-n", "-c"],
}
_DECOMPRESS: dict[str, list[str]] = {
    "xz": ["xz", "-d", "-c"],
    "zst": ["zstd", "-d", "-q", "-c"],
    "gz": ["gzip", "-d", "-c"],
}


def _pipe(argv: list[str], data: bytes) -> bytes:
    with tempfile.TemporaryDirectory(prefix="kmend-z-") as tmp:
        out = Path(tmp) / "out"
        proc.run(argv, input=data, stdout_path=out, timeout=300)
        return out.read_bytes()


def compress(data: bytes, kind: str) -> bytes:
    """Compress *data*; the result is checked by decompressing it again."""
    packed = _pipe(_COMPRESS[kind], data)
    if decompress(packed, kind) != data:
        raise StateError(f"{kind} round trip of the module did not give the same bytes")
    return packed


def decompress(data: bytes, kind: str) -> bytes:
    return _pipe(_DECOMPRESS[kind], data)
