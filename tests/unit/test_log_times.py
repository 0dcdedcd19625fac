"""Log times as instants, year inference for syslog stamps, hosts from directory names."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from conftest import REPO
from kmend.logs import read_paths
from kmend.logs.hostdir import host_from_path
from kmend.logs.when import instant, parse, reference, with_year
from kmend.oops import parse_reports
from kmend.triage.choose import newest as _newest
from kmend.triage.scan import dated, group_reports, scan

CRASHES = REPO / "tests/data/crashes"
BUG61 = CRASHES / "6.1.0-47-amd64/bug"
EXAMPLE = REPO / "examples/w-xen09-messages.log"


@pytest.fixture(autouse=True)
def utc_here(monkeypatch: pytest.MonkeyPatch) -> None:
    """This machine's zone is the one year-less and zone-less stamps are read in: fix it."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()


def test_offsets_compare_as_instants() -> None:
    # 01:30 at +02:00 is 23:30 UTC the day before: earlier than 00:10 UTC
    a, b = parse("2026-11-26T01:30:00+02:00"), parse("2026-11-26T00:10:00+00:00")
    assert a is not None and b is not None and a < b
    assert "2026-11-26T01:30:00+02:00" > "2026-11-26T00:10:00+00:00"  # the old string order
    assert parse("2026-11-26T03:04:05.123456789Z") == datetime(2026, 11, 26, 3, 4, 5, 123456,
                                                               tzinfo=UTC)  # fmt: skip
    assert parse("--12-23T00:51:38") is None and parse("garbage") is None


@pytest.mark.parametrize(
    ("stamp", "ref", "year"),
    [
        ("--12-23T00:51:38", datetime(2027, 1, 5, tzinfo=UTC), 2026),  # over new year
        ("--01-02T10:00:00", datetime(2027, 1, 5, tzinfo=UTC), 2027),
        ("--01-05T23:59:59", datetime(2027, 1, 5, tzinfo=UTC), 2027),  # the reference day
        ("--01-06T00:00:00", datetime(2027, 1, 5, tzinfo=UTC), 2027),  # a day of skew allowed
        ("--01-08T12:00:00", datetime(2027, 1, 5, tzinfo=UTC), 2026),
        ("--02-29T08:00:00", datetime(2027, 3, 1, tzinfo=UTC), 2024),  # the last Feb 29
    ],
)
def test_year_inference(stamp: str, ref: datetime, year: int) -> None:
    when = with_year(stamp, ref)
    assert when is not None and when.year == year
    assert when.strftime("%m-%dT%H:%M:%S") == stamp[2:]


def test_the_reference_date_of_a_file(tmp_path: Path) -> None:
    log = tmp_path / "messages"
    log.write_text("x\n")
    when = datetime(2027, 1, 5, 12, 0, tzinfo=UTC)
    os.utime(log, (when.timestamp(), when.timestamp()))
    ref = reference(str(log))
    assert ref.when == when and "modification time (2027-01-05)" in ref.why
    rotated = tmp_path / "messages-20261207.gz"
    rotated.write_text("x\n")
    ref = reference(str(rotated))
    assert ref.when.date().isoformat() == "2026-12-07" and "rotation date" in ref.why
    assert "today" in reference("-").why


def test_a_year_less_report_gets_a_year_and_a_note(tmp_path: Path) -> None:
    log = tmp_path / "messages"
    log.write_bytes(EXAMPLE.read_bytes())  # Dec 23 00:51:38, written in early January
    when = datetime(2027, 1, 5, 12, 0, tzinfo=UTC).timestamp()
    os.utime(log, (when, when))
    (rep,) = scan([str(log)]).reports
    assert rep.timestamp == "2026-12-23T00:51:38+00:00"
    assert any("year 2026 inferred from the log's last line" in n
               and "the file's modification time" in n for n in rep.notes)


def test_year_less_stamps_keep_the_files_time_order(tmp_path: Path) -> None:
    """Nov 27 then Dec 23 in a file last written on Dec 7: the file is in time order, so
    both are of the year before (Dec 23 cannot be this year) and Dec 23 is the newer."""
    text = EXAMPLE.read_text()
    older = text.replace("Dec 23 ", "Nov 27 ").replace("w-xen09", "w-xen07")
    log = tmp_path / "messages"
    log.write_text(older + text)
    when = datetime(2026, 12, 7, 12, 0, tzinfo=UTC).timestamp()
    os.utime(log, (when, when))
    first, second = scan([str(log)]).reports
    assert first.timestamp is not None and second.timestamp is not None
    assert first.timestamp.startswith("2025-11-27") and second.timestamp.startswith("2025-12-23")


def test_zone_less_times_are_noted_and_zoned_ones_kept() -> None:
    when, note = instant("2026-11-28T22:51:21", lambda: pytest.fail("no reference needed"))
    assert when == datetime(2026, 11, 28, 22, 51, 21, tzinfo=UTC)
    assert note and "no zone given" in note
    when, note = instant("2026-11-28T22:51:21+05:30", lambda: pytest.fail("not asked"))
    assert when is not None and when.utcoffset() == timedelta(hours=5, minutes=30)
    assert note is None


def _retimed(text: str, stamp: str) -> str:
    """The rsyslog capture with every line's RFC3339 time replaced by *stamp*."""
    out = []
    for line in text.splitlines(keepends=True):
        head, sep, rest = line.partition(" ")
        out.append(stamp + sep + rest if head[:4].isdigit() else line)
    return "".join(out)


def test_first_and_last_seen_compare_instants(tmp_path: Path) -> None:
    """The same crash logged by a host at +02:00 and by one at +00:00: the +02:00 report
    is the earlier although its text sorts later."""
    text = Path(f"{BUG61}.rsyslog.log").read_text()
    (tmp_path / "a.log").write_text(_retimed(text, "2026-11-26T01:30:00.000000+02:00"))
    (tmp_path / "b.log").write_text(_retimed(text, "2026-11-26T00:10:00.000000+00:00"))
    reps = list(dated(read_paths([str(tmp_path / "b.log"), str(tmp_path / "a.log")])))
    assert [r.timestamp for r in reps] == [
        "2026-11-26T00:10:00+00:00", "2026-11-26T01:30:00+02:00"]  # fmt: skip
    (group,) = group_reports(reps)
    assert group.first_seen == "2026-11-26T01:30:00+02:00"
    assert group.last_seen == "2026-11-26T00:10:00+00:00"
    # kmend run's newest crash: b's (00:10 UTC), not a's (23:30 UTC the day before)
    assert _newest(reps) == (0, "the newest (2026-11-26T00:10:00+00:00)")


def test_newest_by_inferred_year_across_new_year(tmp_path: Path) -> None:
    """Two year-less syslog files: the one written in January holds the newer crash even
    though its stamp (Jan 2) sorts before the other's (Dec 23)."""
    old, new = tmp_path / "old" / "messages", tmp_path / "new" / "messages"
    for path, stamp, mtime in ((old, "Dec 23 00:51:38", datetime(2026, 12, 24, tzinfo=UTC)),
                               (new, "Jan  2 03:00:00", datetime(2027, 1, 3, tzinfo=UTC))):  # fmt: skip
        path.parent.mkdir()
        path.write_text(EXAMPLE.read_text().replace("Dec 23 00:51:38", stamp))
        os.utime(path, (mtime.timestamp(), mtime.timestamp()))
    reps = list(dated(read_paths([str(new), str(old)])))
    assert [r.timestamp for r in reps] == ["2027-01-02T03:00:00+00:00", "2026-12-23T00:51:38+00:00"]
    assert _newest(reps) == (0, "the newest (2027-01-02T03:00:00+00:00)")


@pytest.mark.parametrize(
    ("path", "host"),
    [
        ("/var/log/w-xen09/messages", "w-xen09"),
        ("/var/log/hosts/db-01/2026/12/kern.log", "db-01"),
        ("/srv/collect/remote/edge-3.example.org/console.log.2.gz", "edge-3.example.org"),
        ("/var/log/messages", None),
        ("/var/log/apt/history.log", None),
        ("/var/log/journal/messages", None),
        ("/home/me/logs/crash.txt", None),
        ("/tmp/pytest-of-root/pytest-3/test_x0/messages", None),
        ("/var/log/2026-12/messages", None),
        ("/srv/hosts/10.0.0.7/messages", "10.0.0.7"),
        ("/var/log/10.0.0.7/messages", None),
    ],
)
def test_host_from_directory_names(path: str, host: str | None) -> None:
    assert host_from_path(path) == host


def test_console_log_in_a_per_host_directory_takes_its_host(tmp_path: Path) -> None:
    """A console capture names no host: rsyslog's HOST/ directory does."""
    log = tmp_path / "log" / "xen-dom0-7" / "console.log"
    log.parent.mkdir(parents=True)
    log.write_bytes(Path(f"{BUG61}.console.log").read_bytes())
    (rep,) = scan([str(tmp_path / "log")]).reports
    assert rep.host == "xen-dom0-7"
    # a syslog line's own host wins over the directory's
    log.write_bytes(EXAMPLE.read_bytes())
    (rep,) = scan([str(tmp_path / "log")]).reports
    assert rep.host == "w-xen09"


def test_a_dmesg_report_keeps_monotonic_time_only() -> None:
    text = Path(f"{BUG61}.console.log").read_text()
    (rep,) = parse_reports(read_paths([f"{BUG61}.console.log"]))
    assert rep.timestamp is None
    header = next(line for line in text.splitlines() if "kernel BUG at" in line)
    up = float(header.split("]")[0].strip("[ "))
    assert rep.uptime == pytest.approx(up)


def test_a_neighbouring_full_time_gives_the_year(tmp_path: Path) -> None:
    """A log whose other lines say the year (RFC3339 from another relay): the year-less
    crash takes the year nearest to them, not the file's modification time's."""
    log = tmp_path / "messages"
    relay = "2024-12-22T23:59:00+00:00 w-xen09 kernel: e1000: eth0 NIC Link is Up\n"
    log.write_text(relay + EXAMPLE.read_text())
    when = datetime(2027, 1, 5, 12, 0, tzinfo=UTC).timestamp()
    os.utime(log, (when, when))
    (rep,) = scan([str(log)]).reports
    assert rep.timestamp == "2024-12-23T00:51:38+00:00"
    assert any("year 2024 inferred from a neighbouring line" in n for n in rep.notes)
