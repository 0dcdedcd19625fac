"""`kmend run` picks the newest crash by time when the logs say the time in full."""

from __future__ import annotations

from conftest import REPO
from kmend.logs import read_paths
from kmend.oops import CrashReport, parse_reports
from kmend.triage.choose import newest as _newest

CRASHES = REPO / "tests/data/crashes"
BUG61 = CRASHES / "6.1.0-47-amd64/bug"  # captured 03:04 on web-lab01
WARN612 = CRASHES / "6.12.117+deb12-amd64/warn"  # captured 04:04 on db-lab02


def reports(*paths: str) -> list[CrashReport]:
    return list(parse_reports(read_paths(list(paths))))


def test_full_timestamps_pick_the_newest_whatever_the_file_order() -> None:
    reps = reports(f"{WARN612}.rsyslog.log", f"{BUG61}.rsyslog.log")
    assert [r.title for r in reps] == ["WARNING in crashmod_warn", "kernel BUG in crashmod_bug"]
    index, why = _newest(reps)
    assert index == 0 and why == "the newest (2026-11-26T04:04:08.234629+00:00)"
    index, _ = _newest(list(reversed(reps)))
    assert index == 1


def test_year_less_syslog_times_fall_back_to_log_order() -> None:
    reps = reports(f"{WARN612}.syslog.log", f"{BUG61}.syslog.log")
    assert len(reps) == 2 and all(r.timestamp and r.timestamp.startswith("--") for r in reps)
    assert _newest(reps) == (1, "the newest (last in the logs)")


def test_a_console_log_without_times_and_a_single_crash() -> None:
    reps = reports(f"{BUG61}.console.log", f"{WARN612}.rsyslog.log")
    assert len(reps) == 2 and reps[0].timestamp is None
    assert _newest(reps) == (1, "the newest (last in the logs)")
    assert _newest(reps[:1]) == (0, "the only one")
