"""Crashes printed by real Debian 6.1 and 6.12 kernels under QEMU (tests/data/crashes, made by
scripts/gen-crash-fixtures.py from tests/data/crashmod), in every log container: kmend must
decode each to the facts the generator recorded independently of any decoder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kmend.logs import read_paths
from kmend.oops import CrashReport, parse_reports

DATA = Path(__file__).resolve().parent.parent / "data" / "crashes"

#: How each crash kind must be named (syzkaller's conventions: the kind, then " in " and the function).
TITLES: dict[str, str] = {
    "bug": "kernel BUG in crashmod_bug",
    "warn": "WARNING in crashmod_warn",
    "null": "BUG: unable to handle kernel NULL pointer dereference in crashmod_null",
    "paging": "BUG: unable to handle kernel paging request in crashmod_paging",
    "gpf": "general protection fault in crashmod_gpf",
    "divide": "divide error in crashmod_divide",
    "panic": "kernel panic: ",
    "softlockup": "BUG: soft lockup in ",
    "hung": "INFO: task hung in crashmod_",  # crashmod_hung is inlined into crashmod_write
    "atomic_sleep": "BUG: scheduling while atomic in crashmod_atomic_sleep",
    "listcorrupt": "BUG: corrupted list in crashmod_listcorrupt",
    "timer": "BUG: unable to handle kernel NULL pointer dereference in crashmod_timer_fn",
    "bug_at_load": "kernel BUG in crashmod_bug",
    "kfence": "KFENCE: use-after-free read in crashmod_kfence",
    # syzkaller blames the frame above the dispatcher (vfs_write) for stack overflows; the
    # decoded function/module still point at the recursing crashmod code (checked below)
    "stackoverflow": "BUG: stack guard page was hit in ",
}
FAULTING = {"bug": "ud2", "warn": "ud2", "listcorrupt": "ud2", "divide": "div"}
#: The header line of each kind, to count the reports the kernel really printed (a task that
#: sleeps in atomic context trips the check again when it exits).
MARKERS = {
    "atomic_sleep": "BUG: scheduling while atomic",
    "hung": "blocked for more than",  # repeated every hung_task_timeout_secs
    "softlockup": "BUG: soft lockup",  # repeated while the CPU stays stuck
}
#: Kinds whose faulting PC is in the kernel, not in crashmod (lib/list_debug.c's check).
PC_IN_KERNEL = {"listcorrupt"}
NO_CODE = "Code: Unable to access opcode bytes"


def _manifest() -> list[dict[str, Any]]:
    with open(DATA / "manifest.json", encoding="utf-8") as fh:
        captures: list[dict[str, Any]] = json.load(fh)["captures"]
    return captures


CAPTURES = _manifest() if (DATA / "manifest.json").exists() else []


def _ids(c: dict[str, Any]) -> str:
    return f"{c['release']}-{c['kind']}"


def _kernel_code_line(path: Path) -> str:
    """The Code: line after the first kernel-mode RIP line of the capture, found with plain
    string matching (an oracle independent of the decoder)."""
    text = path.read_text(encoding="utf-8", errors="replace").replace("#012", "\n")
    seen_rip = False
    for line in text.splitlines():
        if "RIP: 0010:" in line:
            seen_rip = True
        elif seen_rip and "Code:" in line:
            return line
    return ""


def _decode(path: Path) -> list[CrashReport]:
    return list(parse_reports(read_paths([str(path)])))


def test_fixtures_present() -> None:
    assert len(CAPTURES) >= 20, "run scripts/gen-crash-fixtures.py"
    assert {c["kind"] for c in CAPTURES} >= set(TITLES)
    assert len({c["release"] for c in CAPTURES}) >= 2


@pytest.mark.parametrize("cap", CAPTURES, ids=_ids)
def test_real_crash_in_every_container(cap: dict[str, Any]) -> None:
    reference: CrashReport | None = None
    for container, name in sorted(cap["files"].items()):
        reports = _decode(DATA / name)
        printed = 1
        if cap["kind"] in MARKERS:
            text = (DATA / name).read_text(encoding="utf-8", errors="replace")
            printed = text.replace("#012", "\n").count(MARKERS[cap["kind"]])
        assert len(reports) == printed, (container, [r.title for r in reports])
        rep = reports[0]
        where = f"{cap['kind']} {cap['release']} {container}"
        assert rep.title.startswith(TITLES[cap["kind"]]), (where, rep.title)
        assert rep.kernel_release == cap["release"], where
        assert rep.comm == cap["comm"], (where, rep.comm)
        assert rep.pid == cap["pid"], where
        assert rep.panicked == cap["panics"], where
        functions = {rep.function, rep.pc.function if rep.pc else None}
        functions |= {f.function.split(".")[0] for f in rep.frames}
        if cap["oops"] or cap["kind"] == "warn":
            assert cap["function"] in functions, (where, functions)
            assert rep.module == cap["module"], (where, rep.module)
            if cap["kind"] not in PC_IN_KERNEL:
                assert rep.pc is not None and rep.pc.module == cap["module"], where
            if NO_CODE in _kernel_code_line(DATA / name):
                # The kernel itself could not read the bytes around the PC.
                assert rep.code is None and any("code bytes" in n for n in rep.notes), where
            else:
                assert rep.code is not None and rep.code.fault_index is not None, where
                marked = [i for i in rep.code.instructions if i.faulting]
                assert len(marked) == 1, where
                if cap["kind"] in FAULTING:
                    assert FAULTING[cap["kind"]] in marked[0].mnemonic, (where, marked)
        else:  # the trigger may be inlined: a crashmod frame must be on the stack
            assert any(f.module == cap["module"] for f in rep.frames), where
        if cap["location_in_module"]:
            assert rep.location is not None, where
            assert (rep.location.file, rep.location.line) == (cap["file"], cap["line"]), where
        if cap["oops"]:
            assert rep.die_counter == 1, where
            assert rep.taint is not None and {"O", "E"} <= {f.letter for f in rep.taint.flags}
        if cap["context"] == "irq":
            assert any(f.context == "irq" for f in rep.frames), where
        if container in ("syslog", "rsyslog", "journal", "flat"):
            assert rep.host == cap["host"], where
            assert rep.timestamp, where
        if reference is None:
            reference = rep
        else:  # every container tells the same story
            assert rep.title == reference.title, where
            assert rep.signature == reference.signature, where
            assert [f.function for f in rep.frames] == [f.function for f in reference.frames]


def test_same_bug_on_two_kernels_has_one_signature() -> None:
    by_kind: dict[str, set[str]] = {}
    for cap in CAPTURES:
        rep = _decode(DATA / cap["files"]["syslog"])[0]
        by_kind.setdefault(cap["kind"], set()).add(rep.signature)
    folded = [k for k, sigs in by_kind.items() if len(sigs) == 1]
    assert len(folded) >= len(by_kind) - 2, by_kind


@pytest.mark.parametrize("cap", CAPTURES, ids=_ids)
def test_real_crash_through_coloured_dmesg(cap: dict[str, Any], tmp_path: Path) -> None:
    """util-linux ``dmesg --color=always`` (what a terminal capture or ``script`` keeps)
    of the capture's records: the same reports as its plain output, each saying that
    terminal colour codes were removed."""
    import shutil
    import subprocess

    from conftest import need

    need(shutil.which("dmesg"), "util-linux dmesg not installed")
    levels = str(DATA / cap["files"]["levels"])
    outputs = {}
    for colour in ("always", "never"):
        res = subprocess.run(["dmesg", f"--color={colour}", "-F", levels], capture_output=True,
                             check=True, timeout=60)
        outputs[colour] = tmp_path / f"{colour}.log"
        outputs[colour].write_bytes(res.stdout)
    assert b"\x1b[" in outputs["always"].read_bytes()
    coloured, plain = _decode(outputs["always"]), _decode(outputs["never"])
    assert coloured and [r.title for r in coloured] == [r.title for r in plain]
    rep = coloured[0]
    assert rep.title.startswith(TITLES[cap["kind"]]) and rep.comm == cap["comm"]
    assert rep.signature == plain[0].signature
    assert "pasted text normalised: terminal colour codes" in rep.notes
    if cap["location_in_module"]:
        assert rep.location is not None
        assert (rep.location.file, rep.location.line) == (cap["file"], cap["line"])
