"""Scan paths for crash reports and group them by signature.

Memory stays flat in the number of reports: a report is handed to the caller as soon as
it is decoded and, unless asked, not kept; a group is built from a compact summary of
its signature (count, hosts, times, releases, the indexes of its reports).
"""

from __future__ import annotations

from array import array
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


@dataclass(slots=True)
class _Summary:
    """What a group needs of its reports, without the reports."""

    title: str
    module: str | None
    hosts: set[str] = field(default_factory=set)
    releases: set[str] = field(default_factory=set)
    first_seen: str | None = None
    last_seen: str | None = None
    indexes: array[int] = field(default_factory=lambda: array("Q"))


class Grouper:
    """Fold reports into per-signature summaries, one report at a time."""

    def __init__(self) -> None:
        self._by_sig: dict[str, _Summary] = {}
        self.count = 0

    def add(self, rep: CrashReport) -> None:
        summary = self._by_sig.get(rep.signature)
        if summary is None:
            summary = self._by_sig[rep.signature] = _Summary(rep.title, rep.module)
        summary.indexes.append(self.count)
        self.count += 1
        if rep.host:
            summary.hosts.add(rep.host)
        if rep.kernel_release:
            summary.releases.add(rep.kernel_release)
        if summary.module is None and rep.module:
            summary.module = rep.module
        t = rep.timestamp
        if t:
            if summary.first_seen is None or t < summary.first_seen:
                summary.first_seen = t
            if summary.last_seen is None or t > summary.last_seen:
                summary.last_seen = t

    def groups(self) -> list[Group]:
        """One group per signature, most frequent first."""
        groups = [
            Group(
                signature=sig,
                title=s.title,
                count=len(s.indexes),
                hosts=tuple(sorted(s.hosts)),
                first_seen=s.first_seen,
                last_seen=s.last_seen,
                module=s.module,
                kernel_releases=tuple(sorted(s.releases)),
                reports=tuple(s.indexes),
            )
            for sig, s in self._by_sig.items()
        ]
        groups.sort(key=lambda g: (-g.count, g.title))
        return groups


@dataclass
class ScanResult:
    reports: list[CrashReport] = field(default_factory=list)  # only with keep=True
    groups: list[Group] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    warnings: list[InputError] = field(default_factory=list)
    count: int = 0


def iter_reports(
    paths: Sequence[str],
    errors: list[InputError],
    warnings: list[InputError] | None = None,
) -> Iterator[CrashReport]:
    """Reports from every path; an unreadable path is recorded in *errors* and skipped;
    damaged compressed data (read up to the damage) is recorded in *warnings*."""
    on_warning = warnings.append if warnings is not None else None
    for path in paths:
        try:
            yield from parse_reports(read_paths([path], prefilter=True, on_warning=on_warning))
        except InputError as err:
            errors.append(err)


def group_reports(reports: Sequence[CrashReport]) -> list[Group]:
    """One group per signature, most frequent first."""
    grouper = Grouper()
    for rep in reports:
        grouper.add(rep)
    return grouper.groups()


def scan(
    paths: Sequence[str],
    on_report: Callable[[CrashReport], None] | None = None,
    *,
    keep: bool = True,
) -> ScanResult:
    """Every report in *paths*, grouped; *on_report* sees each report as soon as it is
    decoded (while the log reader is still searching the rest).  With ``keep=False`` the
    reports are not kept in the result (memory flat in their number)."""
    result = ScanResult()
    grouper = Grouper()
    with progress.task("scanning logs") as shown:
        for report in iter_reports(paths, result.errors, result.warnings):
            grouper.add(report)
            shown.note(f"{grouper.count} crash report(s)")
            if keep:
                result.reports.append(report)
            if on_report is not None:
                on_report(report)
    result.count = grouper.count
    result.groups = grouper.groups()
    return result
