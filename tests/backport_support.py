"""Assertions shared by the backport integration tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kmend.backport.checkhook import check_built


def assert_backport_loads(doc: dict[str, Any], kdir: Path) -> None:
    """`kmend backport --json` says its one module loads, and the check library, called
    again on the built file, agrees."""
    [verdict] = doc["check"]
    assert verdict["will_load"] is True and verdict["first_error"] is None
    assert "loading out-of-tree module taints kernel" in " ".join(
        f["message"] for f in verdict["findings"])
    summary = check_built(Path(doc["modules"][0]), kdir)
    assert summary.will_load, summary.lines
