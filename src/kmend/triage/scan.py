"""Scan paths for crash reports and group them by signature."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from kmend import progress
from kmend.errors import InputError
from kmend.logs import read_paths
from kmend.oops import CrashReport, parse_reports


@dataclass(frozen=True, slots=True)
class Group:
    signature: str
    title: str
    count: int
    hosts: tuple[str, ...]
    first_seen: str | None
    last_seen: str | None
    module: str | None
    kernel_releases: tuple[str, ...]
    reports: tuple[int, ...]


@dataclass
class ScanResult:
    reports: list[CrashReport] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)


def iter_reports(paths: Sequence[str], errors: list[InputError]) -> Iterator[CrashReport]:
    """Reports from every path; an unreadable path is recorded in *errors* and skipped."""
    for path in paths:
        try:
            yield from parse_reports(read_paths([path], prefilter=True))
        except InputError as err:
            errors.append(err)


def group_reports(reports: Sequence[CrashReport]) -> list[Group]:
    """One group per signature, most frequent first."""
    by_sig: dict[str, list[int]] = {}
    for i, rep in enumerate(reports):
        by_sig.setdefault(rep.signature, []).append(i)
    groups: list[Group] = []
    for sig, idx in by_sig.items():
        reps = [reports[i] for i in idx]
        times = sorted(r.timestamp for r in reps if r.timestamp)
        groups.append(
            Group(
                signature=sig,
                title=reps[0].title,
                count=len(reps),
                hosts=tuple(sorted({r.host for r in reps if r.host})),
                first_seen=times[0] if times else None,
                last_seen=times[-1] if times else None,
                module=next((r.module for r in reps if r.module), None),
                kernel_releases=tuple(sorted({r.kernel_release for r in reps if r.kernel_release})),
                reports=tuple(idx),
            )
        )
    groups.sort(key=lambda g: (-g.count, g.title))
    return groups


def scan(
    paths: Sequence[str], on_report: Callable[[CrashReport], None] | None = None
) -> ScanResult:
    """Every report in *paths*, grouped; *on_report* sees each report as soon as it is
    decoded (while the log reader is still searching the rest)."""
    result = ScanResult()
    with progress.task("scanning logs") as shown:
        for report in iter_reports(paths, result.errors):
            result.reports.append(report)
            shown.note(f"{len(result.reports)} crash report(s)")
            if on_report is not None:
                on_report(report)
    result.groups = group_reports(result.reports)
    return result
