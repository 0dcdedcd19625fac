"""Decompress .ko.xz / .ko.zst / .ko.gz by their magic bytes, with a size cap."""

from __future__ import annotations

import gzip
import io
import lzma
import zlib
from typing import Any

from kmend.errors import InputError

#: No real module comes near this; a larger output is a decompression bomb.
MAX_MODULE_BYTES = 512 * 1024 * 1024

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


def _read_capped(stream: Any, what: str) -> bytes:
    out = bytearray()
    while True:
        chunk = stream.read(1 << 20)
        if not chunk:
            return bytes(out)
        out += chunk
        if len(out) > MAX_MODULE_BYTES:
            raise InputError(
                f"{what}: decompresses to more than {MAX_MODULE_BYTES >> 20} MiB",
                "this is not a kernel module",
            )


_CORRUPT: tuple[type[BaseException], ...] = (lzma.LZMAError, zlib.error, OSError, EOFError)


def _zstd_errors() -> tuple[type[BaseException], ...]:
    try:
        import zstandard
    except ImportError:
        return ()
    return (zstandard.ZstdError,)


def decompress(data: bytes, what: str) -> tuple[bytes, str]:
    """Return (ELF bytes, compression name) for the possibly compressed *data*."""
    kind = compression_of(data)
    if not kind:
        return data, ""
    try:
        if kind == "xz":
            return _read_capped(lzma.LZMAFile(io.BytesIO(data)), what), kind
        if kind == "gz":
            return _read_capped(gzip.GzipFile(fileobj=io.BytesIO(data)), what), kind
        try:
            import zstandard  # only .ko.zst needs it (a host may lack it)
        except ImportError as exc:
            raise InputError(f"{what}: zstd-compressed and the zstandard package is missing",
                             "install python3-zstandard or decompress it (zstd -d)") from exc
        reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data))
        return _read_capped(reader, what), kind
    except InputError:
        raise
    except _CORRUPT + _zstd_errors() as exc:
        raise InputError(
            f"{what}: corrupt or truncated {kind} data ({exc})",
            f"re-copy the file or decompress it by hand ({kind} -t)",
        ) from exc
