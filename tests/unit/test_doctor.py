"""kmend doctor: the pure decisions on real crash text, and trees laid out like a host.

Expected words come from the log text itself (plain regexes here) or from the crash
fixtures' manifest, never from kmend's decoder.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import shutil
import stat
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import REPO

from kmend.cli import main
from kmend.doctor import ProcState, XenFacts, XlProbe, decide, examine
from kmend.doctor.crashlogs import crashes_in, last_banner_line
from kmend.doctor.procfs import find_processes, parse_stat
from kmend.doctor.xlprobe import classify_captured, probe_captured, probe_live
from kmend.logs import read_paths

EXAMPLE = REPO / "examples" / "w-xen09-messages.log"
CRASHES = REPO / "tests" / "data" / "crashes"
R61 = "6.1.0-47-amd64"


def _example_facts() -> tuple[str, str, str, int]:
    """(file:line, module, comm, pid) read from the example log with plain regexes."""
    text = EXAMPLE.read_text()
    bug = re.search(r"kernel BUG at (\S+:\d+)!", text)
    rip = re.search(r"RIP: \S+ .*\+0x[0-9a-f]+/0x[0-9a-f]+ \[(\w+)\]", text)
    who = re.search(r"PID: (\d+) Comm: (\S+)", text)
    assert bug and rip and who
    return bug.group(1), rip.group(1), who.group(2), int(who.group(1))


def _manifest(kind: str) -> dict[str, Any]:
    data = json.loads((CRASHES / "manifest.json").read_text())
    return next(c for c in data["captures"] if c["release"] == R61 and c["kind"] == kind)


def _dom0(daemons: tuple[ProcState, ...], xl: XlProbe | None) -> XenFacts:
    return XenFacts(
        is_xen=True,
        is_dom0=True,
        proc_xen=True,
        capabilities="control_d",
        evtchn_device=True,
        modules=("xen_evtchn", "xen_gntdev", "xen_privcmd", "xenfs"),
        daemons=daemons,
        xl=xl,
    )


HUNG = XlProbe("captured", None, True, 10.0, 10.0)
ANSWERS = XlProbe("captured", 0, False, 0.2, 10.0, "Name ID Mem\nDomain-0 0 512")


def test_parse_stat_takes_the_state_after_the_last_paren() -> None:
    assert parse_stat("7959 (xenstored) D 1 7959 7959 0 -1") == (7959, "xenstored", "D")
    assert parse_stat("12 (a) b) (c) Z 1 2") == (12, "a) b) (c", "Z")
    assert parse_stat("garbage") is None
    assert parse_stat("12 (x) ") is None


def test_example_log_dead_xenstored_and_hung_xl() -> None:
    location, module, comm, pid = _example_facts()
    crashes = crashes_in(read_paths([str(EXAMPLE)]), str(EXAMPLE))
    assert [(c.comm, c.pid) for c in crashes] == [(comm, pid)]
    report = decide(_dom0((), HUNG), crashes)
    assert report.verdict == f"xl hangs because {comm} died in kernel BUG at {location} in {module}"
    assert not report.healthy
    assert report.next_command is not None
    assert report.next_command.startswith(f"kmend run {EXAMPLE} --index 0 --source ")
    assert report.next_command.endswith("--kernel 3.10.20-11.el6.centos.alt.x86_64")


def test_example_log_daemon_stuck_in_d_state_with_the_same_pid() -> None:
    location, module, comm, pid = _example_facts()
    crashes = crashes_in(read_paths([str(EXAMPLE)]), str(EXAMPLE))
    stuck = (ProcState(pid, comm, "D"),)
    report = decide(_dom0(stuck, HUNG), crashes)
    assert (
        report.verdict
        == f"xl hangs because {comm} is stuck in kernel BUG at {location} in {module}"
    )
    checks = {c.name: c for c in report.checks}
    assert not checks["xenstored"].ok and "(pid 7959)" in checks["xenstored"].detail


def test_example_log_daemon_restarted_xl_answers() -> None:
    _location, _module, comm, pid = _example_facts()
    crashes = crashes_in(read_paths([str(EXAMPLE)]), str(EXAMPLE))
    report = decide(_dom0((ProcState(pid + 100, comm, "S"),), ANSWERS), crashes)
    assert not report.healthy
    assert report.verdict.startswith("Xen dom0 answers, but 1 kernel crash(es) since boot")
    assert report.verdict.endswith(f"it hit {comm} pid {pid}")


def test_healthy_dom0_without_crashes() -> None:
    dom0 = _dom0((ProcState(150, "xenstored", "S"),), ANSWERS)
    report = decide(dom0, [], sources=("journalctl -k -b",))
    assert report.healthy and report.next_command is None
    assert report.verdict == "healthy: Xen dom0, xenstored running, xl list answers"
    assert report.logs_read == ("journalctl -k -b",)


def test_no_log_read_is_not_healthy(tmp_path: Path) -> None:
    """No evidence is not good news: nothing read, or a requested log unreadable."""
    dom0 = _dom0((ProcState(150, "xenstored", "S"),), ANSWERS)
    report = decide(dom0, [])
    assert not report.healthy and report.verdict.startswith("unknown: Xen dom0 answers, but no")
    report = decide(XenFacts(False, False, False, None, False, (), (), None), [],
                    sources=("/x/messages",), errors=("/x/messages: no such file",),
                    read=(), missed=("/x/messages",))
    assert not report.healthy and report.verdict == "unknown: could not read /x/messages"
    # the CLI: a root with no logs at all, and a --log that does not exist
    rc, doc = _cli("--root", str(tmp_path), "--json")
    assert rc == 1 and doc is not None and doc["healthy"] is False and doc["logs_read"] == []
    assert doc["verdict"].startswith("unknown: no kernel log read")
    rc, doc = _cli("--root", str(tmp_path), "--log", str(tmp_path / "nonexistent"), "--json")
    assert rc == 1 and doc is not None and doc["healthy"] is False
    assert "nonexistent" in doc["verdict"]
    rc, doc = _cli("--root", str(tmp_path), "--only-logs", "--json")
    assert rc == 1 and doc is not None and doc["healthy"] is False


def test_crashes_of_other_hosts_are_not_this_hosts(tmp_path: Path) -> None:
    """A central syslog: the example's crash is on w-xen09; this tree is another host."""
    host = EXAMPLE.read_text().splitlines()[0].split()[3]
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "hostname").write_text("w-xen10\n")
    rc, doc = _cli("--root", str(tmp_path), "--log", str(EXAMPLE), "--json")
    assert doc is not None and doc["crashes"] == []
    assert [c["host"] for c in doc["other_hosts"]] == [host]
    # every kernel line of the log is the other host's: it says nothing of this one
    assert rc == 1 and doc["healthy"] is False and doc["logs_read"] == []
    assert doc["verdict"] == (f"unknown: no kernel log read: {EXAMPLE}: no kernel line of this "
                              f"host (w-xen10); its kernel lines are other hosts' (the first: {host})")
    # the central log also holds this host's quiet kernel lines (by full name): healthy
    central = tmp_path / "messages"
    quiet = "Dec 23 00:59:59 w-xen10.lab.example kernel: e1000e: eth0 NIC Link is Up\n"
    central.write_text(EXAMPLE.read_text() + quiet)
    rc, doc = _cli("--root", str(tmp_path), "--log", str(central), "--json")
    assert doc is not None and doc["crashes"] == [] and doc["logs_read"] == [str(central)]
    assert [c["host"] for c in doc["other_hosts"]] == [host]
    assert rc == 0 and doc["healthy"] is True
    # another program's line naming this host is no kernel line of it
    central.write_text(EXAMPLE.read_text() + quiet.replace(" kernel:", " sshd[7]:"))
    rc, doc = _cli("--root", str(tmp_path), "--log", str(central), "--json")
    assert rc == 1 and doc is not None and doc["logs_read"] == []
    (tmp_path / "etc" / "hostname").write_text(host + "\n")
    rc, doc = _cli("--root", str(tmp_path), "--log", str(EXAMPLE), "--json")
    assert rc == 1 and doc is not None and [c["host"] for c in doc["crashes"]] == [host]


def test_fixture_crash_on_a_non_xen_host(tmp_path: Path) -> None:
    """A real 6.1 BUG (crashmod, syslog form) in var/log/messages of a tree without Xen."""
    entry = _manifest("bug")
    (tmp_path / "var" / "log").mkdir(parents=True)
    shutil.copy(CRASHES / entry["files"]["syslog"], tmp_path / "var" / "log" / "messages")
    report = examine(tmp_path)
    assert not report.healthy
    where = f"{entry['file']}:{entry['line']}"
    # the syslog capture holds no boot banner: read whole, its crashes are not "since boot"
    assert "Linux version" not in (CRASHES / entry["files"]["syslog"]).read_text()
    assert report.verdict == (
        f"not a Xen host; 1 kernel crash(es) in the logs read: kernel BUG at {where} in "
        f"{entry['module']}"
    )
    (crash,) = report.crashes
    assert (crash.comm, crash.pid, crash.module) == (entry["comm"], entry["pid"], entry["module"])
    assert [c.name for c in report.checks] == ["xen", "kernel-crashes"]


def test_same_crash_in_two_logs_is_reported_once_from_the_file(tmp_path: Path) -> None:
    entry = _manifest("warn")
    (tmp_path / "var" / "log").mkdir(parents=True)
    (tmp_path / "kmend-capture").mkdir()
    shutil.copy(CRASHES / entry["files"]["syslog"], tmp_path / "var" / "log" / "kern.log")
    shutil.copy(CRASHES / entry["files"]["kmsg"], tmp_path / "kmend-capture" / "dmesg.log")
    report = examine(tmp_path)
    assert len(report.crashes) == 1
    assert report.crashes[0].source == str(tmp_path / "var" / "log" / "kern.log")
    assert len(report.log_sources) == 2


def test_crashes_before_the_last_boot_banner_do_not_count(tmp_path: Path) -> None:
    """A crash, then a later boot's banner (both real console text): nothing since boot."""
    entry = _manifest("bug")
    console = (CRASHES / entry["files"]["console"]).read_text().splitlines()
    banner = next(line for line in console if "] Linux version " in line)
    log = tmp_path / "console.log"
    log.write_text("\n".join(console) + "\n")
    assert len(examine(tmp_path, [str(log)]).crashes) == 1  # its own boot's banner comes first
    log.write_text("\n".join([*console, banner]) + "\n")
    report = examine(tmp_path, [str(log)])
    assert report.crashes == () and report.healthy


def _host_tree(root: Path, *, xenstored: str | None, xl_rc: int, seconds: float) -> None:
    """A dom0 tree as the VM capture writes it (see kmend.doctor's docstring)."""
    (root / "proc" / "xen").mkdir(parents=True)
    (root / "proc" / "xen" / "capabilities").write_text("control_d\n")
    (root / "proc" / "modules").write_text(
        "".join(f"{m} 61440 0 - Live 0x0\n" for m in ("xen_gntdev", "xenfs", "xen_privcmd",
                                                       "xen_evtchn"))
    )  # fmt: skip
    (root / "dev" / "xen").mkdir(parents=True)
    (root / "dev" / "xen" / "evtchn").touch()
    if xenstored:
        (root / "proc" / "301").mkdir()
        (root / "proc" / "301" / "comm").write_text("xenstored\n")
        (root / "proc" / "301" / "stat").write_text(f"301 (xenstored) {xenstored} 1 301 301 0")
    cap = root / "kmend-capture"
    cap.mkdir()
    (cap / "xl-list.rc").write_text(f"{xl_rc}\n")
    (cap / "xl-list.seconds").write_text(f"{seconds}\n")
    (cap / "xl-list.timeout").write_text("10\n")
    (cap / "xl-list.out").write_text("")


def _cli(*args: str) -> tuple[int, dict[str, Any] | None]:
    out = io.StringIO()
    with redirect_stdout(out):
        rc = main(["doctor", *args])
    text = out.getvalue()
    return rc, json.loads(text) if text.strip() else None


def test_cli_example_log_in_a_tree_whose_xenstored_is_gone(tmp_path: Path) -> None:
    location, module, comm, _pid = _example_facts()
    _host_tree(tmp_path, xenstored=None, xl_rc=137, seconds=10.0)
    rc, report = _cli("--root", str(tmp_path), "--log", str(EXAMPLE), "--json")
    assert rc == 1 and report is not None
    assert (
        report["verdict"] == f"xl hangs because {comm} died in kernel BUG at {location} in {module}"
    )
    assert {c["name"]: c["ok"] for c in report["checks"]} == {
        "xen": True, "proc-xen": True, "evtchn-device": True, "xen-modules": True,
        "xenstored": False, "xl-list": False, "kernel-crashes": False,
    }  # fmt: skip
    assert report["crashes"][0]["comm"] == comm and report["crashes"][0]["module"] == module


def test_cli_healthy_tree_and_bad_root(tmp_path: Path) -> None:
    _host_tree(tmp_path, xenstored="S", xl_rc=0, seconds=0.3)
    (tmp_path / "var" / "log").mkdir(parents=True, exist_ok=True)
    (tmp_path / "var" / "log" / "kern.log").write_text(
        "Dec  7 03:00:00 h kernel: [    0.000000] Linux version 6.1.0-47-amd64\n"
    )
    rc, report = _cli("--root", str(tmp_path), "--json")
    assert rc == 0 and report is not None and report["healthy"] is True
    assert report["logs_read"] == [str(tmp_path / "var" / "log" / "kern.log")]
    rc, report = _cli("--root", str(tmp_path / "nowhere"))
    assert rc == 4 and report is None  # a missing directory is bad input, in every verb


def test_captured_xl_classification(tmp_path: Path) -> None:
    assert classify_captured(137, 10.0, 10.0) and classify_captured(124, 3.0, 10.0)
    assert classify_captured(1, 10.2, 10.0)  # ran into the limit whatever it returned
    assert not classify_captured(1, 0.1, 10.0) and not classify_captured(0, 0.1, 10.0)
    assert probe_captured(tmp_path) is None


def test_a_hung_xl_does_not_hang_doctor(tmp_path: Path) -> None:
    """Stand-in for a hung xl (a real one needs a dead xenstored): a script that sleeps."""
    fake = tmp_path / "xl"
    fake.write_text("#!/bin/sh\nsleep 60\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    probe = probe_live(timeout=0.5, xl=str(fake))
    assert probe is not None and probe.hung and probe.rc is None and not probe.answered
    fake.write_text("#!/bin/sh\necho 'xenstore: connection refused' >&2\nexit 3\n")
    probe = probe_live(timeout=5, xl=str(fake))
    assert probe is not None and not probe.hung and probe.rc == 3
    assert "connection refused" in probe.output


def test_find_processes_in_a_tree(tmp_path: Path) -> None:
    for pid, comm, state in ((10, "xenstored", "S"), (11, "bash", "R"), (12, "oxenstored", "D")):
        (tmp_path / "proc" / str(pid)).mkdir(parents=True)
        (tmp_path / "proc" / str(pid) / "comm").write_text(comm + "\n")
        (tmp_path / "proc" / str(pid) / "stat").write_text(f"{pid} ({comm}) {state} 1 0")
    found = find_processes(tmp_path, ("xenstored", "oxenstored"))
    assert found == (ProcState(10, "xenstored", "S"), ProcState(12, "oxenstored", "D"))


@pytest.mark.skipif(os.path.isdir("/proc/xen"), reason="this host is a Xen host")
def test_live_host_is_not_xen() -> None:
    rc, report = _cli("--json")
    assert report is not None and rc in (0, 1)
    assert report["checks"][0] == {"name": "xen", "ok": True, "detail": "not a Xen host"}
    assert report["healthy"] is (rc == 0)


def test_domu_gets_no_dom0_checks_and_dom0_without_xenfs_is_not_healthy() -> None:
    entry = _manifest("bug")
    crashes = crashes_in(read_paths([str(CRASHES / entry["files"]["dmesg"])]), "dmesg")
    domu = XenFacts(True, False, True, "", False, (), (), None)
    report = decide(domu, [], sources=("dmesg",))
    assert report.healthy and [c.name for c in report.checks] == ["xen", "kernel-crashes"]
    assert report.verdict == "healthy: Xen guest"
    report = decide(domu, crashes)
    assert not report.healthy and report.verdict.startswith("Xen guest (domU), but 1 kernel")
    assert report.next_command is not None
    assert report.next_command.startswith("dmesg > kernel.log && kmend run kernel.log --index 0")
    # /sys/hypervisor says xen, but xenfs is not mounted: dom0 checks run and fail
    unknown = XenFacts(True, False, False, None, True, ("xen_evtchn",), (), None)
    report = decide(unknown, [])
    checks = {c.name: c.ok for c in report.checks}
    assert not report.healthy and checks["proc-xen"] is False and checks["xenstored"] is False
    assert report.verdict.startswith("xenstored is not running")


def test_only_logs_replaces_the_tree_logs(tmp_path: Path) -> None:
    _location, module, comm, _pid = _example_facts()
    (tmp_path / "var" / "log").mkdir(parents=True)
    shutil.copy(CRASHES / _manifest("bug")["files"]["syslog"], tmp_path / "var/log/messages")
    rc, report = _cli("--root", str(tmp_path), "--log", str(EXAMPLE), "--json")
    assert rc == 1 and report is not None and len(report["crashes"]) == 2
    rc, report = _cli("--root", str(tmp_path), "--log", str(EXAMPLE), "--only-logs", "--json")
    assert rc == 1 and report is not None
    assert [(c["comm"], c["module"]) for c in report["crashes"]] == [(comm, module)]
    assert report["log_sources"] == [str(EXAMPLE)]
    # the example file holds no boot banner: its crash is not called "since boot"
    assert "Linux version" not in EXAMPLE.read_text()
    assert report["verdict"].startswith("not a Xen host; 1 kernel crash(es) in the logs read")


def test_banner_search_in_syslog_kmsg_and_gzip(tmp_path: Path) -> None:
    """The byte search finds the kernel's banner in each container, not a program's line."""
    console = (CRASHES / _manifest("bug")["files"]["console"]).read_text().splitlines()
    banner = next(line for line in console if "] Linux version " in line).split("] ", 1)[1]
    syslog = (CRASHES / _manifest("bug")["files"]["syslog"]).read_text()
    forms = {
        "syslog": f"Nov 26 04:10:00 web-lab01 kernel: [    0.000000] {banner}\n",
        "kmsg": f"5,0,0,-;{banner}\n",
        "plain": f"{banner}\n",
    }
    for name, line in forms.items():
        log = tmp_path / f"{name}.log"
        log.write_text(syslog + "Nov 26 04:09:59 web-lab01 app: Linux version 9 is out\n" + line)
        assert last_banner_line(str(log)) == syslog.count("\n") + 2, name
        assert examine(tmp_path, [str(log)], default_logs=False).crashes == ()
    gz = tmp_path / "messages.1.gz"
    gz.write_bytes(gzip.compress((forms["syslog"] + syslog).encode()))
    assert last_banner_line(str(gz)) == 1
    report = examine(tmp_path, [str(gz)], default_logs=False)
    assert [c.comm for c in report.crashes] == [_manifest("bug")["comm"]]
    other = tmp_path / "other.log"
    other.write_text(syslog + "Nov 26 04:09:59 web-lab01 app: Linux version 9 is out\n")
    assert last_banner_line(str(other)) == 0


def test_log_text_in_the_human_table_is_printed_never_read_as_markup(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A log is untrusted: a BUG line naming a path with brackets ("[/x]" is a closing
    # tag to Rich) is printed as it is, not parsed (a MarkupError ended doctor with a
    # traceback).  The detail quotes the crash: the file as the log wrote it.
    location, _module, _comm, _pid = _example_facts()
    hostile = location.replace("drivers/xen/", "drivers/[/x]/[bold]")
    log = tmp_path / "messages"
    log.write_text(EXAMPLE.read_text().replace(location, hostile))
    _host_tree(tmp_path, xenstored=None, xl_rc=137, seconds=10.0)
    rc = main(["doctor", "--root", str(tmp_path), "--only-logs", "--log", str(log)])
    out = capsys.readouterr()
    assert rc == 1, out.err
    assert "internal error" not in out.err
    assert hostile in " ".join(line.strip("│ ") for line in out.out.splitlines())


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "-1"])
def test_xl_timeout_that_never_fires_or_fires_at_once_is_usage(
    value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # nan and inf were taken (a host with xl would then wait forever on a hung xl list)
    assert main(["doctor", "--root", str(tmp_path), "--xl-timeout", value]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"kmend: error: --xl-timeout {float(value):g}: not a positive "
                          "number of seconds"), err


def test_an_empty_or_damaged_log_is_no_evidence(tmp_path: Path) -> None:
    """A --log with no line in it, or one cut short (a truncated .gz), cannot vouch for
    the host: not healthy (both were "healthy").  The lines before the damage are read."""
    empty = tmp_path / "messages"
    empty.write_text("")
    rc, doc = _cli("--root", str(tmp_path), "--only-logs", "--log", str(empty), "--json")
    assert rc == 1 and doc is not None and doc["healthy"] is False
    assert doc["verdict"].startswith("unknown: no kernel log read") and doc["logs_read"] == []
    # a quiet log of this host, gzipped and cut short: its lines vouch only up to the cut
    host = "w-xen10"
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "hostname").write_text(host + "\n")
    quiet = f"Dec 23 00:59:59 {host} kernel: e1000e: eth0 NIC Link is Up\n" * 4000
    whole = gzip.compress(quiet.encode())
    cut = tmp_path / "messages.1.gz"
    cut.write_bytes(whole[: len(whole) - 20])
    rc, doc = _cli("--root", str(tmp_path), "--only-logs", "--log", str(cut), "--json")
    assert rc == 1 and doc is not None and doc["healthy"] is False
    assert doc["verdict"] == f"unknown: could not read {cut} to its end (damaged)"
    assert doc["logs_read"] == [str(cut)]
    assert any("truncated gzip data" in e for e in doc["log_errors"])
    (tmp_path / "messages.gz").write_bytes(whole)  # the same log whole: healthy
    rc, doc = _cli("--root", str(tmp_path), "--only-logs", "--log",
                   str(tmp_path / "messages.gz"), "--json")
    assert rc == 0 and doc is not None and doc["healthy"] is True
