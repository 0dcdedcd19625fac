"""kmend scan on systemd journal files written by systemd's own tools.

The journal files are made by ``systemd-journal-remote`` (Debian package
systemd-journal-remote) from export-format input written here: the founding crash of
``examples/w-xen09-messages.log`` as kernel entries (``_TRANSPORT=kernel``) among sshd
lines, with the host, boot id and wall-clock time of each entry chosen here.  The expected
host and time come from that input and from ``journalctl --file F -o json`` (systemd's
reader), never from kmend.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from conftest import REPO, need

REMOTE = Path("/lib/systemd/systemd-journal-remote")
EXAMPLE = REPO / "examples" / "w-xen09-messages.log"
BOOT_A = "0123456789abcdef0123456789abcdef"
BOOT_B = "fedcba9876543210fedcba9876543210"
#: 2026-12-23T00:51:38Z in µs since the epoch: when the founding BUG is logged here
T0 = int(datetime(2026, 12, 23, 0, 51, 38, tzinfo=UTC).timestamp()) * 1_000_000
HEADER = "kernel BUG at drivers/xen/evtchn.c:264!"
TITLE = "kernel BUG in evtchn_bind_to_user"


def crash_messages() -> list[str]:
    """The kernel messages of the founding crash, syslog header removed."""
    return [re.sub(r"^\w{3} +\d+ [\d:]+ \S+ kernel: ", "", line)
            for line in EXAMPLE.read_text().splitlines()]  # fmt: skip


def export_entry(fields: list[tuple[str, str | int]]) -> str:
    """One entry of the journal export format (text fields; a blank line ends it)."""
    return "".join(f"{k}={v}\n" for k, v in fields) + "\n"


def entries(host: str, boot: str, t0: int, mono0: int) -> tuple[str, int]:
    """sshd lines (one says WARNING:, which is not a kernel message), the crash as kernel
    entries one µs apart, more sshd lines; and the header's __REALTIME_TIMESTAMP."""
    out: list[str] = []
    common = [("_BOOT_ID", boot), ("_HOSTNAME", host)]
    sshd = [("_TRANSPORT", "syslog"), ("SYSLOG_IDENTIFIER", "sshd"), ("PRIORITY", "6")]
    for i in range(20):
        msg = ("WARNING: BUG report attached, Oops" if i == 7
               else f"Accepted publickey for root from 10.0.0.{i} port 5{i:03d} ssh2")  # fmt: skip
        t = t0 - 60_000_000 + i * 1_000_000
        out.append(export_entry([("__REALTIME_TIMESTAMP", t), ("__MONOTONIC_TIMESTAMP", mono0 + t - t0),
                                 *common, *sshd, ("_PID", 400 + i), ("MESSAGE", msg)]))  # fmt: skip
    header_at = 0
    for j, msg in enumerate(crash_messages()):
        t = t0 + j
        if msg == HEADER:
            header_at = t
        out.append(export_entry([
            ("__REALTIME_TIMESTAMP", t), ("__MONOTONIC_TIMESTAMP", mono0 + j), *common,
            ("_TRANSPORT", "kernel"), ("SYSLOG_IDENTIFIER", "kernel"), ("PRIORITY", "4"),
            ("_SOURCE_MONOTONIC_TIMESTAMP", mono0 + j), ("MESSAGE", msg),
        ]))  # fmt: skip
    for i in range(5):
        t = t0 + 5_000_000 + i
        out.append(export_entry([("__REALTIME_TIMESTAMP", t), ("__MONOTONIC_TIMESTAMP", mono0 + t - t0),
                                 *common, *sshd, ("MESSAGE", "Connection closed by 10.0.0.9")]))  # fmt: skip
    assert header_at
    return "".join(out), header_at


def journal_remote(export: str, out: Path, tmp: Path) -> Path:
    """Write *export* into the journal file *out* with systemd-journal-remote."""
    need(REMOTE.exists(), "systemd-journal-remote is not installed (apt-get install "
                          "systemd-journal-remote)")  # fmt: skip
    src = tmp / (out.name + ".export")
    src.write_text(export)
    res = subprocess.run([str(REMOTE), f"--output={out}", str(src)], capture_output=True,
                         text=True, timeout=60, check=False)  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert out.read_bytes()[:8] == b"LPKSHHRH"
    return out


def journalctl_json(path: Path) -> list[dict[str, Any]]:
    res = subprocess.run(["journalctl", f"--file={path}", "-o", "json", "--no-pager"],
                         capture_output=True, text=True, timeout=60, check=True)  # fmt: skip
    return [json.loads(line) for line in res.stdout.splitlines()]


def kmend(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = dict(os.environ, PYTHONPATH=str(REPO / "src"), **(env or {}))
    return subprocess.run([sys.executable, "-m", "kmend", *args], capture_output=True,
                          text=True, timeout=120, env=full, check=False)  # fmt: skip


def scan_json(*args: str) -> dict[str, Any]:
    res = kmend("scan", "--json", *args)
    assert res.returncode == 0, res.stderr
    doc: dict[str, Any] = json.loads(res.stdout)
    return doc


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.fixture
def founding(tmp_path: Path) -> tuple[Path, int]:
    export, header_at = entries("w-xen09", BOOT_A, T0, 9_000_000_000)
    return journal_remote(export, tmp_path / "remote.journal", tmp_path), header_at


def test_the_founding_crash_in_a_journal_file_is_found_with_host_and_time(
    founding: tuple[Path, int],
) -> None:
    path, header_at = founding
    # systemd's reader agrees with the input on the header's entry
    byjc = [e for e in journalctl_json(path) if e.get("MESSAGE") == HEADER]
    assert len(byjc) == 1 and int(byjc[0]["__REALTIME_TIMESTAMP"]) == header_at
    assert byjc[0]["_HOSTNAME"] == "w-xen09" and byjc[0]["_BOOT_ID"] == BOOT_A

    doc = scan_json(str(path))
    assert [r["title"] for r in doc["reports"]] == [TITLE]  # the sshd WARNING: is no crash
    rep = doc["reports"][0]
    assert rep["host"] == "w-xen09"
    assert rep["boot_id"] == BOOT_A
    expected = datetime.fromtimestamp(header_at / 1e6, tz=UTC)
    assert instant(rep["timestamp"]) == expected
    assert rep["timestamp"].endswith("+00:00")
    assert rep["module"] == "xen_evtchn"
    group = doc["groups"][0]
    assert group["hosts"] == ["w-xen09"] and instant(group["first_seen"]) == expected


def test_a_directory_of_journals_is_read_not_skipped(tmp_path: Path) -> None:
    """A systemd-journal-remote output directory (one file per host) and a journal
    journald did not close (``.journal~``), beside a text log, in one directory walk."""
    logs = tmp_path / "remote"
    logs.mkdir()
    a, at_a = entries("xen-a", BOOT_A, T0, 100_000_000)
    b, at_b = entries("xen-b", BOOT_B, T0 + 3_600_000_000, 200_000_000)
    journal_remote(a, logs / "remote-xen-a.journal", tmp_path)
    dirty = journal_remote(b, tmp_path / "b.journal", tmp_path)
    shutil.copy(dirty, logs / "system@0005f0e1d2c3b4a5-0123456789abcdef.journal~")
    (logs / "notes.txt").write_text("nothing to see\n")
    doc = scan_json(str(logs))
    got = sorted((r["host"], r["boot_id"], r["title"]) for r in doc["reports"])
    assert got == [("xen-a", BOOT_A, TITLE), ("xen-b", BOOT_B, TITLE)]
    (group,) = doc["groups"]
    assert group["count"] == 2 and group["hosts"] == ["xen-a", "xen-b"]
    assert instant(group["first_seen"]) == datetime.fromtimestamp(at_a / 1e6, tz=UTC)
    assert instant(group["last_seen"]) == datetime.fromtimestamp(at_b / 1e6, tz=UTC)


def test_since_and_boot_select_part_of_a_journal(tmp_path: Path) -> None:
    a, _ = entries("xen-a", BOOT_A, T0, 100_000_000)
    b, _ = entries("xen-a", BOOT_B, T0 + 86_400_000_000, 200_000_000)  # a day later, next boot
    path = journal_remote(a + b, tmp_path / "two-boots.journal", tmp_path)
    assert len(scan_json(str(path))["reports"]) == 2
    later = scan_json(str(path), "--since", "2026-12-23 12:00:00 UTC")["reports"]
    assert [r["boot_id"] for r in later] == [BOOT_B]
    first_boot = scan_json(str(path), "--boot", BOOT_A)["reports"]
    assert [r["boot_id"] for r in first_boot] == [BOOT_A]
    bad = kmend("scan", str(path), "--since", "the; day")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_without_journalctl_the_error_names_the_file(
    founding: tuple[Path, int], tmp_path: Path
) -> None:
    path, _ = founding
    bare = tmp_path / "bin"  # a PATH without journalctl
    bare.mkdir()
    res = kmend("scan", str(path), env={"PATH": str(bare)})
    assert res.returncode == 3, res.stderr
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and str(path) in lines[0] and "journalctl" in lines[0]


def test_the_local_journal_is_read(tmp_path: Path) -> None:
    """``--journal`` asks journalctl for this machine's kernel entries; whatever they are,
    the answer is one JSON document (a machine without a journal has none)."""
    need(shutil.which("journalctl"), "journalctl is not installed")
    res = kmend("scan", "--json", "--journal", "--boot", "all")
    doc = json.loads(res.stdout)
    assert isinstance(doc["reports"], list)
    # 0 with crashes, 4 (no crash in the logs) without: the document is written either way
    assert res.returncode == (0 if doc["reports"] else 4), res.stderr
    assert kmend("scan", "--journal", str(tmp_path)).returncode == 2


#: journalctl's text output formats, and what each line carries: the host, and the
#: wall-clock time with its date (to the second, or to the µs).
OUTPUTS = {
    "short": ("host",), "short-precise": ("host",), "short-monotonic": ("host",),
    "short-delta": ("host",), "cat": (),
    "short-iso": ("host", "s"), "short-full": ("host", "s"), "with-unit": ("host", "s"),
    "short-iso-precise": ("host", "us"), "short-unix": ("host", "us"), "verbose": ("host", "us"),
    "json": ("host", "us"), "json-pretty": ("host", "us"), "json-sse": ("host", "us"),
    "json-seq": ("host", "us"), "export": ("host", "us"),
}


@pytest.mark.parametrize("fmt", sorted(OUTPUTS))
def test_every_journalctl_output_format(
    founding: tuple[Path, int], tmp_path: Path, fmt: str
) -> None:
    """What ``journalctl --file F -o FMT`` prints (saved or pasted) holds the founding
    crash: found, with the host and time where the format has them."""
    path, header_at = founding
    res = subprocess.run(["journalctl", f"--file={path}", "-o", fmt, "--no-pager"],
                         capture_output=True, timeout=60, check=True,
                         env=dict(os.environ, TZ="UTC", LC_ALL="C"))  # fmt: skip
    out = tmp_path / f"{fmt}.txt"
    out.write_bytes(res.stdout)
    assert HEADER.encode() in res.stdout
    doc = scan_json(str(out))
    assert [r["title"] for r in doc["reports"]] == [TITLE], fmt  # the sshd WARNING: is none
    rep = doc["reports"][0]
    carries = OUTPUTS[fmt]
    if "host" in carries:
        assert rep["host"] == "w-xen09"
    expected = datetime.fromtimestamp(header_at / 1e6, tz=UTC)
    if "us" in carries:
        assert instant(rep["timestamp"]) == expected
    elif "s" in carries:
        assert instant(rep["timestamp"]) == expected.replace(microsecond=0)


def test_short_delta_of_a_boots_first_entry(tmp_path: Path) -> None:
    """short-delta prints blanks in place of the delta for a boot's first entry: here the
    crash's first line ("cut here"), which the report's notes name."""
    export = "".join(
        export_entry([("__REALTIME_TIMESTAMP", T0 + j), ("__MONOTONIC_TIMESTAMP", 5_000_000 + j),
                      ("_BOOT_ID", BOOT_A), ("_HOSTNAME", "w-xen09"), ("_TRANSPORT", "kernel"),
                      ("SYSLOG_IDENTIFIER", "kernel"), ("MESSAGE", msg)])
        for j, msg in enumerate(crash_messages()))  # fmt: skip
    path = journal_remote(export, tmp_path / "first.journal", tmp_path)
    res = subprocess.run(["journalctl", f"--file={path}", "-o", "short-delta", "--no-pager"],
                         capture_output=True, text=True, timeout=60, check=True)  # fmt: skip
    first = res.stdout.splitlines()[0]
    assert " <" not in first.split("]")[0] and first.endswith("cut here ]------------"), first
    out = tmp_path / "delta.txt"
    out.write_text(res.stdout)
    rep = scan_json(str(out))["reports"][0]
    assert rep["title"] == TITLE and rep["host"] == "w-xen09"
    assert "cut here" in rep["raw"].splitlines()[0]


@pytest.mark.parametrize("zone", ["Asia/Dubai", "America/Sao_Paulo", "Europe/Berlin"])
def test_short_full_in_zones_tzdata_names_by_offset(
    founding: tuple[Path, int], tmp_path: Path, zone: str
) -> None:
    """short-full prints the zone as tzdata abbreviates it: "+04" and "-03" for zones without
    a name, an exact instant; "CET" says no offset, so only the wall time is checked."""
    path, header_at = founding
    res = subprocess.run(["journalctl", f"--file={path}", "-o", "short-full", "--no-pager"],
                         capture_output=True, text=True, timeout=60, check=True,
                         env=dict(os.environ, TZ=zone, LC_ALL="C"))  # fmt: skip
    out = tmp_path / "full.txt"
    out.write_text(res.stdout)
    rep = scan_json(str(out))["reports"][0]
    assert rep["title"] == TITLE and rep["host"] == "w-xen09"
    header = next(line for line in res.stdout.splitlines() if line.endswith(HEADER))
    zone_text = header.split()[3]
    expected = datetime.fromtimestamp(header_at // 1_000_000, tz=UTC)
    got = instant(rep["timestamp"])
    if zone_text[0] in "+-":
        assert got == expected, (header, rep["timestamp"])
    else:  # a name: the wall time as printed
        assert rep["timestamp"].startswith(f"{header.split()[1]}T{header.split()[2]}")
