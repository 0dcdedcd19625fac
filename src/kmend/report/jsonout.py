"""Turn kmend's frozen dataclasses into JSON documents.

Keys are the dataclass field names (snake_case), as DESIGN.md's contract says.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any


def to_jsonable(obj: Any) -> Any:
    """Recursively convert dataclasses, tuples, paths, enums and bytes to JSON values."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, PurePath):
        return str(obj)
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, bytes):
        return obj.hex()
    return obj


def dumps(obj: Any) -> str:
    """One JSON document (indented, stable key order of the dataclasses)."""
    return json.dumps(to_jsonable(obj), indent=2, ensure_ascii=False)
