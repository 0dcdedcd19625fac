"""Turn kmend's frozen dataclasses into JSON documents.

Keys are the dataclass field names (snake_case); every verb's --json and the install journal
use this one layer (a leaf module: any stage may import it).  Kernel addresses (fields with
``{"json": "hex"}`` metadata) are written as ``"0x…"`` strings, and any integer beyond 64
bits (only a damaged input makes one) as a hex string too: JSON readers lose precision past
53 bits, and Python refuses to print more than 4300 digits.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

_SCALARS = (str, float, bool, type(None))
_FIELDS: dict[type, tuple[tuple[str, bool], ...]] = {}
_INT_MAX = (1 << 64) - 1


def _hex(value: Any) -> Any:
    return f"{value:#x}" if isinstance(value, int) and not isinstance(value, bool) else value


def to_jsonable(obj: Any) -> Any:
    """Recursively convert dataclasses, tuples, paths, enums and bytes to JSON values."""
    kind = type(obj)
    if kind in _SCALARS:
        return obj
    if kind is int:
        return obj if -_INT_MAX <= obj <= _INT_MAX else f"{obj:#x}"
    names = _FIELDS.get(kind)
    if names is None and dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        names = _FIELDS[kind] = tuple(
            (f.name, f.metadata.get("json") == "hex") for f in dataclasses.fields(obj)
        )
    if names is not None:
        return {
            name: _hex(getattr(obj, name)) if hexed else to_jsonable(getattr(obj, name))
            for name, hexed in names
        }
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, PurePath):
        return str(obj)
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, bytes):
        return obj.hex()
    return obj


class Encoded(str):
    """A value already encoded by :func:`encode_at` (written as it is by :func:`dumps`)."""

    __slots__ = ()


def encode_at(obj: Any, depth: int, flat_below: int) -> Encoded:
    """*obj* encoded as :func:`dumps` with *flat_below* writes it at nesting *depth* (so a
    large document's parts can be encoded while it is still being computed)."""
    out: list[str] = []
    _write(to_jsonable(obj), depth, flat_below, out)
    return Encoded("".join(out))


class RecordWriter:
    """:func:`encode_at` of dataclass records at *depth*, one line per field (``flat_below``
    is ``depth + 1``), for a stream of many: a field value shared by identity with an
    earlier record (the frames of a repeated crash, decoded once) is encoded once.  The
    values are kept alive while remembered (an id is unique only while its object lives),
    at most *size* of them."""

    def __init__(self, depth: int, size: int = 4096) -> None:
        self.depth = depth
        self.size = size
        self._seen: dict[int, tuple[Any, str]] = {}

    def __call__(self, obj: Any) -> Encoded:
        kind = type(obj)
        names = _FIELDS.get(kind)
        if names is None:
            if not dataclasses.is_dataclass(obj) or isinstance(obj, type):
                return encode_at(obj, self.depth, self.depth + 1)
            names = _FIELDS[kind] = tuple(
                (f.name, f.metadata.get("json") == "hex") for f in dataclasses.fields(obj)
            )
        if not names:
            return Encoded("{}")
        seen = self._seen
        pad = ",\n" + "  " * (self.depth + 1)
        out: list[str] = []
        for name, hexed in names:
            value = getattr(obj, name)
            if type(value) in _SCALARS or type(value) is int or hexed:
                text = _ONE_LINE(_hex(value) if hexed else to_jsonable(value))
            else:
                known = seen.get(id(value))
                if known is not None and known[0] is value:
                    text = known[1]
                else:
                    text = _ONE_LINE(to_jsonable(value))
                    if len(seen) >= self.size:
                        seen.clear()
                    seen[id(value)] = (value, text)
            out.append(_ONE_LINE(name) + ": " + text)
        return Encoded(
            "{" + pad[1:] + pad.join(out) + "\n" + "  " * self.depth + "}"
        )


def dumps(obj: Any, *, flat_below: int | None = None) -> str:
    """One JSON document (indented, stable key order of the dataclasses).

    With *flat_below*, objects and arrays nested deeper than that are written on one line
    each (the C encoder: a large ``scan --json`` document is written several times faster,
    and stays readable: one line per field of each report).
    """
    value = to_jsonable(obj)
    if flat_below is None:
        return json.dumps(value, indent=2, ensure_ascii=False)
    out: list[str] = []
    _write(value, 0, flat_below, out)
    return "".join(out)


_ONE_LINE = json.JSONEncoder(ensure_ascii=False).encode


def _write(value: Any, depth: int, flat_below: int, out: list[str]) -> None:
    if isinstance(value, Encoded):
        out.append(value)
        return
    if depth >= flat_below or not isinstance(value, (dict, list)) or not value:
        out.append(_ONE_LINE(value))
        return
    pad = "\n" + "  " * (depth + 1)
    if isinstance(value, dict):
        out.append("{")
        for i, (key, item) in enumerate(value.items()):
            out.append(("," if i else "") + pad + _ONE_LINE(key) + ": ")
            _write(item, depth + 1, flat_below, out)
        out.append("\n" + "  " * depth + "}")
    else:
        out.append("[")
        for i, item in enumerate(value):
            out.append(("," if i else "") + pad)
            _write(item, depth + 1, flat_below, out)
        out.append("\n" + "  " * depth + "]")
