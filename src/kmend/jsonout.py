"""Turn kmend's frozen dataclasses into JSON documents.

Keys are the dataclass field names (snake_case); every verb's --json and the install journal
use this one layer (a leaf module: any stage may import it).
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

_SCALARS = (str, int, float, bool, type(None))
_FIELDS: dict[type, tuple[str, ...]] = {}


def to_jsonable(obj: Any) -> Any:
    """Recursively convert dataclasses, tuples, paths, enums and bytes to JSON values."""
    kind = type(obj)
    if kind in _SCALARS:
        return obj
    names = _FIELDS.get(kind)
    if names is None and dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        names = _FIELDS[kind] = tuple(f.name for f in dataclasses.fields(obj))
    if names is not None:
        return {name: to_jsonable(getattr(obj, name)) for name in names}
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
