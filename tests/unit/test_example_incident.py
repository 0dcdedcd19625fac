"""The bundled example incident decodes to every field the issue names, from both the
multi-line syslog file and the same report flattened onto one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kmend.cli import main
from kmend.logs import read_paths
from kmend.oops import CrashReport, parse_reports

FILES = ("w-xen09-messages.log", "w-xen09-flattened.log")


def _only_report(path: Path) -> CrashReport:
    reports = list(parse_reports(read_paths([str(path)])))
    assert len(reports) == 1
    return reports[0]


@pytest.mark.parametrize("name", FILES)
def test_example_fields(examples_dir: Path, name: str) -> None:
    rep = _only_report(examples_dir / name)
    assert rep.title == "kernel BUG in evtchn_bind_to_user"
    assert rep.type == "BUG"
    assert not rep.corrupted
    assert rep.location is not None
    assert (rep.location.file, rep.location.line) == ("drivers/xen/evtchn.c", 264)
    assert rep.function == "evtchn_bind_to_user"
    assert rep.module == "xen_evtchn"
    assert rep.kernel_release == "3.10.20-11.el6.centos.alt.x86_64"
    assert (rep.comm, rep.pid, rep.cpu) == ("xenstored", 7959, 11)
    assert rep.die_counter == 3
    assert rep.hardware == "HP ProLiant DL360p Gen8 HY, BIOS P71 08/02/2014"
    assert rep.host == "w-xen09"
    assert rep.timestamp == "--12-23T00:51:38"
    assert not rep.panicked
    # taint "G D" decoded into words
    assert rep.taint is not None and rep.taint.raw == "G D"
    letters = {f.letter: f.meaning for f in rep.taint.flags}
    assert set(letters) == {"G", "D"}
    assert "died" in letters["D"] and "GPL" in letters["G"]
    # the faulting PC, with offset/size/module and the Xen PV segment
    assert rep.pc is not None
    assert rep.pc.function == "evtchn_bind_to_user"
    assert (rep.pc.offset, rep.pc.size, rep.pc.module) == (0xB8, 0xC0, "xen_evtchn")
    assert rep.pc.address == 0xFFFFFFFFA03276F8
    assert rep.pc.segment == "e030"
    assert rep.pc.note is not None and "Xen PV" in rep.pc.note
    # call trace: 5 frames, one unreliable, module frame first
    names = [(f.function, f.reliable, f.module) for f in rep.frames]
    assert names == [
        ("evtchn_ioctl", True, "xen_evtchn"),
        ("do_vfs_ioctl", True, None),
        ("SyS_ioctl", True, None),
        ("__audit_syscall_exit", False, None),
        ("system_call_fastpath", True, None),
    ]
    assert all(f.context == "task" for f in rep.frames)
    # Code: disassembled, the faulting instruction is ud2 (BUG())
    assert rep.code is not None
    faulting = [i for i in rep.code.instructions if i.faulting]
    assert len(faulting) == 1 and faulting[0].mnemonic == "ud2"
    assert faulting[0].offset == rep.code.fault_index == 43
    # registers and modules
    assert rep.registers["RAX"] == "ffff880ff1490668"
    assert rep.registers["CR2"] == "00007ff95089a260"
    assert "xen_evtchn" in rep.modules_linked and rep.modules_linked[0] == "xt_physdev"
    assert len(rep.modules_linked) == 71  # wc -w of the list in the log
    assert rep.source is not None and rep.source.path.endswith(name)


def test_flattened_equals_multiline(examples_dir: Path) -> None:
    a, b = (_only_report(examples_dir / n) for n in FILES)
    for field in ("title", "signature", "frames", "registers", "code", "pc", "taint", "raw"):
        assert getattr(a, field) == getattr(b, field), field


def test_show_json_cli(examples_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["show", str(examples_dir / FILES[0]), "--json"])
    assert rc == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["title"] == "kernel BUG in evtchn_bind_to_user"
    assert doc["location"] == {"file": "drivers/xen/evtchn.c", "line": 264}
    assert doc["pc"]["segment"] == "e030"


def test_scan_json_groups_duplicates(examples_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["scan", str(examples_dir), "--json"])
    assert rc == 0
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["reports"]) == 2
    assert len(doc["groups"]) == 1
    group = doc["groups"][0]
    assert group["count"] == 2 and group["hosts"] == ["w-xen09"]
    assert group["module"] == "xen_evtchn"
    assert group["kernel_releases"] == ["3.10.20-11.el6.centos.alt.x86_64"]
    paths = sorted(r["source"]["path"] for r in doc["reports"])
    assert [Path(p).name for p in paths] == sorted(FILES)


def test_show_index_out_of_range(examples_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["show", str(examples_dir / FILES[0]), "--index", "5"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "out of range" in err and "Traceback" not in err
