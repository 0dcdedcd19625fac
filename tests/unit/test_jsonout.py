"""JSON output: dataclasses to JSON values; the flat layout of large documents."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from kmend.jsonout import dumps, encode_at, to_jsonable


class Color(enum.Enum):
    RED = "red"


@dataclass(frozen=True)
class Inner:
    name: str
    tags: tuple[str, ...]
    raw: bytes


@dataclass(frozen=True)
class Outer:
    title: str
    items: tuple[Inner, ...]
    extra: dict[str, object]
    path: PurePosixPath
    color: Color
    ratio: float | None = None


DOC = {
    "reports": [
        Outer("a \u00e9", (Inner("x", ("1", "2"), b"\x01\xff"),), {"k": [1, {"z": None}]},
              PurePosixPath("/var/log/messages"), Color.RED, 0.5),
        Outer("b", (), {}, PurePosixPath("rel"), Color.RED),
    ],
    "groups": [],
}  # fmt: skip


def test_to_jsonable() -> None:
    value = to_jsonable(DOC)
    assert value["reports"][0] == {
        "title": "a \u00e9",
        "items": [{"name": "x", "tags": ["1", "2"], "raw": "01ff"}],
        "extra": {"k": [1, {"z": None}]},
        "path": "/var/log/messages",
        "color": "red",
        "ratio": 0.5,
    }
    assert value["reports"][1]["items"] == [] and value["reports"][1]["ratio"] is None


def test_flat_layout_is_the_same_document_one_line_per_field() -> None:
    flat = dumps(DOC, flat_below=3)
    assert json.loads(flat) == json.loads(dumps(DOC))
    lines = flat.splitlines()
    assert lines[:4] == ["{", '  "reports": [', "    {", '      "title": "a \u00e9",']
    items = next(line for line in lines if '"items"' in line)
    assert json.loads("{" + items.strip().rstrip(",") + "}")["items"][0]["raw"] == "01ff"
    assert '  "groups": []' in lines
    assert all(len(line) - len(line.lstrip()) <= 6 for line in lines)


def test_parts_encoded_ahead_give_the_same_text() -> None:
    ahead = {
        "reports": [encode_at(r, 2, 3) for r in DOC["reports"]],
        "groups": DOC["groups"],
    }
    assert dumps(ahead, flat_below=3) == dumps(DOC, flat_below=3)


def test_record_writer_is_encode_at_also_for_values_shared_between_records() -> None:
    from dataclasses import replace

    from kmend.jsonout import RecordWriter
    from kmend.logs import read_paths
    from kmend.oops import parse_reports

    example = Path(__file__).resolve().parents[2] / "examples" / "w-xen09-messages.log"
    (rep,) = parse_reports(read_paths([str(example)]))
    twin = replace(rep, host="other", uptime=1.5)  # frames, registers… are the same objects
    write = RecordWriter(2, size=2)  # small: the memory is emptied on the way
    for record in (rep, twin, rep, *DOC["reports"]):
        assert write(record) == encode_at(record, 2, 3)
    assert '"host": "other"' in write(twin)
