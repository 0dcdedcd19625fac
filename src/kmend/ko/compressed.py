"""Decompress .ko.xz / .ko.zst / .ko.gz by their magic bytes, with a size cap."""

from __future__ import annotations

import io
from typing import Any

from kmend.errors import InputError

#: No real module comes near this; a larger output is a decompression bomb.
MAX_MODULE_BYTES = 512 * 1024 * 1024
#: Modules compress 3-6x (xz, zstd, gzip); a module may decompress to this many times its
#: compressed size, but always to at least MIN_CAP (so memory stays bounded for a bomb).
MAX_RATIO = 32
MIN_CAP = 64 << 20

_XZ = b"\xfd7zXZ\x00"
_ZSTD = b"\x28\xb5\x2f\xfd"
_GZIP = b"\x1f\x8b"


def compression_of(data: bytes) -> str:
    """Return "xz", "zst", "gz" or "" from the first bytes of *data*."""
    if data.startswith(_XZ):
        return "xz"
    if data.startswith(_ZSTD):
        return "zst"
    if data.startswith(_GZIP):
        return "gz"
    return ""


def _read_capped(stream: Any, what: str, cap: int) -> bytes:
    out = bytearray()
    while True:
        chunk = stream.read(1 << 20)
        if not chunk:
            return bytes(out)
        out += chunk
        if len(out) > cap:
            raise InputError(
                f"{what}: decompresses to more than {cap >> 20} MiB",
                "this is not a kernel module",
            )


_STREAM_KIND = {"xz": "xz", "gz": "gzip", "zst": "zstd"}


def decompress(data: bytes, what: str) -> tuple[bytes, str]:
    """Return (ELF bytes, compression name) for the possibly compressed *data*.

    A truncated or corrupt stream (of any of the three) is an InputError: a module is
    loaded whole or not at all.
    """
    kind = compression_of(data)
    if not kind:
        return data, ""
    # imported here: importing kmend.logs costs more than checking a plain .ko
    from kmend.logs.open import DamagedInput, Decompressing

    stream = Decompressing(io.BytesIO(data), _STREAM_KIND[kind], what)
    try:
        cap = min(MAX_MODULE_BYTES, max(MIN_CAP, MAX_RATIO * len(data)))
        return _read_capped(stream, what, cap), kind
    except DamagedInput as exc:
        detail = exc.message.removeprefix(f"{what}: ")
        raise InputError(
            f"{what}: corrupt or truncated {_STREAM_KIND[kind]} data ({detail})",
            f"re-copy the file or test it by hand ({_STREAM_KIND[kind]} -t)",
        ) from None
