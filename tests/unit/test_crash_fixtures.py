"""The committed crash fixtures (tests/data/crashes) agree with crashmod.c and each other.

These check the generator's output, not any decoder: every console names the trigger,
the comm and the release; BUG/WARN print the file:line the source marker says; every
wrapped variant holds the same kernel text as the console.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from tests.conftest import REPO
from tests.labkit.containers import Record, flattened, journal_json, kmsg, rfc3164
from tests.labkit.containers import default_base as base
from tests.labkit.crashcap import KIND_BY_NAME

DATA = REPO / "tests" / "data" / "crashes"
SOURCE = (REPO / "tests" / "data" / "crashmod" / "crashmod.c").read_text().splitlines()


def _captures() -> list[dict[str, object]]:
    return list(json.loads((DATA / "manifest.json").read_text())["captures"])


def _marker_line(kind: str) -> int:
    hits = [i + 1 for i, line in enumerate(SOURCE) if line.endswith(f"KMEND-TRIGGER: {kind} */")]
    assert len(hits) == 1
    return hits[0]


def test_manifest_covers_two_kernels_and_the_required_families() -> None:
    captures = _captures()
    releases = {c["release"] for c in captures}
    assert {"6.1.0-47-amd64", "6.12.117+deb12-amd64"} <= releases
    for release in releases:
        kinds = {c["kind"] for c in captures if c["release"] == release}
        assert {"bug", "warn", "null", "gpf", "divide"} <= kinds, release


@pytest.mark.parametrize("entry", _captures(), ids=lambda e: f"{e['release']}/{e['kind']}")
def test_capture_facts(entry: dict[str, object]) -> None:
    kind = KIND_BY_NAME[str(entry["kind"])].trigger_name
    assert entry["line"] == _marker_line(kind)
    files = entry["files"]
    assert isinstance(files, dict)
    console = (DATA / str(files["console"])).read_text()
    assert f"crashmod: triggering {kind}" in console
    assert f"Comm: {entry['comm']}" in console or f"task {entry['comm']}:" in console
    assert str(entry["release"]) in console
    location = f"{entry['file']}:{entry['line']}"
    if kind == "bug":
        assert f"kernel BUG at {location}!" in console
    if kind == "warn":
        assert re.search(
            rf"WARNING: CPU: \d+ PID: {entry['pid']} at {re.escape(location)} ", console
        )
    if entry["panics"]:
        assert "Kernel panic - not syncing: " in console
    # every wrapped variant carries the crash's first kernel line
    trigger = f"crashmod: triggering {kind}"
    for name, rel in files.items():
        text = (DATA / str(rel)).read_text()
        assert trigger in text, name
        if name == "flat":
            assert "#012" in text and "\n" not in text.split(trigger)[1].rstrip("\n")


def test_containers_render_known_shapes() -> None:
    records = [Record(6, 1.5, "one"), Record(4, 12.000001, "two\tx")]
    assert rfc3164(records, "h", base()) == [
        "Nov 26 03:04:06 h kernel: [    1.500000] one",
        "Nov 26 03:04:17 h kernel: [   12.000001] two\tx",
    ]
    assert kmsg(records, 7) == ["6,7,1500000,-;one", "4,8,12000001,-;two\\x09x"]
    second = json.loads(journal_json(records, "h", base(), "b" * 32)[1])
    assert second["MESSAGE"] == list(b"two\tx") and second["PRIORITY"] == "4"
    flat = flattened(records, "h", base(), 0)
    assert flat == ["Nov 26 03:04:06 h kernel: [    1.500000] one#012[   12.000001] two\tx"]


def test_no_fixture_is_huge() -> None:
    for path in Path(DATA).rglob("*"):
        if path.is_file():
            assert path.stat().st_size < 200_000, path
