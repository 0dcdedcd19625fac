"""Re-capture real crashes from crashmod and check them against the committed manifest.

Expected values come from crashmod.c (found by plain text search here) and from the
guest itself (its PID echo), never from kmend's decoder.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from tests.conftest import REPO, need
from tests.labkit.crashcap import (
    COMM,
    COMPILED_PATH,
    KIND_BY_NAME,
    MACRO_PREFIX,
    capture_case,
    trigger_pid,
)
from tests.labkit.kbuild import build_module

from kmend.lab import BootResult, run_many

pytestmark = pytest.mark.vm

RELEASE = "6.12.117+deb12-amd64"
KINDS = ("bug", "warn", "timer")
SOURCE = REPO / "tests" / "data" / "crashmod"
MANIFEST = REPO / "tests" / "data" / "crashes" / "manifest.json"


def _line_of(statement: str) -> int:
    lines = (SOURCE / "crashmod.c").read_text().splitlines()
    hits = [i + 1 for i, line in enumerate(lines) if statement in line]
    assert len(hits) == 1, statement
    return hits[0]


@pytest.fixture(scope="session")
def captures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, BootResult]:
    need(shutil.which("qemu-system-x86_64"), "qemu-system-x86 not installed")
    kdir = Path("/lib/modules") / RELEASE / "build"
    image = Path("/boot") / f"vmlinuz-{RELEASE}"
    need(kdir.is_dir() and image.is_file(), f"linux-image/headers {RELEASE} not installed")
    out = tmp_path_factory.mktemp("crashmod")
    ko = build_module(SOURCE, kdir, out, macro_prefix=MACRO_PREFIX)[0]
    results = run_many(capture_case(image, ko, KIND_BY_NAME[k]) for k in KINDS)
    return dict(zip(KINDS, results, strict=True))


def _manifest(kind: str) -> dict[str, object]:
    data = json.loads(MANIFEST.read_text())
    for entry in data["captures"]:
        if entry["release"] == RELEASE and entry["kind"] == kind:
            return dict(entry)
    raise AssertionError(f"{RELEASE}/{kind} missing from {MANIFEST}")


def test_bug_capture(captures: dict[str, BootResult]) -> None:
    result = captures["bug"]
    line = _line_of("BUG(); /* KMEND-TRIGGER: bug */")
    pid = trigger_pid(result.console)
    assert result.release == RELEASE and pid is not None
    assert f"kernel BUG at {COMPILED_PATH}:{line}!" in result.console
    # 6.10+ prefixes the die() header with "Oops: " (x86/dumpstack uniform prefix)
    assert re.search(r"\] Oops: invalid opcode: 0000 \[#1\]", result.console)
    assert re.search(rf"CPU: 0 UID: 0 PID: {pid} Comm: {COMM} Tainted: ", result.console)
    assert "RIP: 0010:crashmod_bug+" in result.console
    assert result.command("trigger").rc not in (0, None)  # the process was killed
    entry = _manifest("bug")
    assert (entry["line"], entry["function"], entry["comm"]) == (line, "crashmod_bug", COMM)
    assert entry["file"] == COMPILED_PATH


def test_warn_capture(captures: dict[str, BootResult]) -> None:
    result = captures["warn"]
    line = _line_of("WARN_ON(1); /* KMEND-TRIGGER: warn */")
    pid = trigger_pid(result.console)
    assert re.search(
        rf"WARNING: CPU: 0 PID: {pid} at {re.escape(COMPILED_PATH)}:{line} crashmod_warn\+0x",
        result.console,
    )
    assert result.command("trigger").rc == 0  # a WARN does not kill the process
    assert result.taint is not None and result.taint & (1 << 9)  # W
    entry = _manifest("warn")
    assert (entry["line"], entry["function"], entry["family"]) == (line, "crashmod_warn", "WARNING")


def test_timer_capture_in_interrupt(captures: dict[str, BootResult]) -> None:
    result = captures["timer"]
    assert not result.done  # the kernel panicked; the guest never finished its script
    assert "Kernel panic - not syncing: Fatal exception in interrupt" in result.console
    irq = result.console.index("<IRQ>")
    assert result.console.index("crashmod_timer_fn") < irq < result.console.index("</IRQ>")
    entry = _manifest("timer")
    assert entry["context"] == "irq" and entry["panics"] is True
    assert entry["function"] == "crashmod_timer_fn"
