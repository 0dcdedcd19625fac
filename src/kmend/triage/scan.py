"""Scan paths for crash reports and group them by signature.

Report times are made instants here (``kmend.logs.when``): a year-less syslog stamp gets
the year its file says, and the report's notes say how; first/last seen compare instants.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import field, replace

from kmend import progress
from kmend._compat import dataclass
from kmend.errors import InputError
from kmend.logs import read_paths
from kmend.logs.journalfile import JournalQuery
from kmend.logs.model import LogLine
from kmend.logs.reader import read_journal
from kmend.logs.when import Reference, instant, iso, parse, reference
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


class Dater:
    """Give reports their time as an instant (ISO 8601 with offset), noting inferences.

    :meth:`watch` passes the log lines through and remembers the last full timestamp of
    each source, the neighbour a year-less stamp takes its year from."""

    def __init__(self) -> None:
        self._refs: dict[str, Reference] = {}
        self._full: dict[str, str] = {}  # source → last full timestamp seen in it

    def watch(self, lines: Iterable[LogLine]) -> Iterator[LogLine]:
        full = self._full
        for line in lines:
            ts = line.timestamp
            if ts and ts[0] != "-":
                full[line.source] = ts
            yield line

    def _ref(self, path: str) -> Reference:
        ref = self._refs.get(path)
        if ref is None:
            if len(self._refs) > 4096:
                self._refs.clear()
            ref = self._refs[path] = reference(path)
        return ref

    def __call__(self, report: CrashReport) -> CrashReport:
        if not report.timestamp:
            return report
        path = report.source.path if report.source else "-"
        when, note = instant(report.timestamp, lambda: self._ref(path), self._full.get(path))
        if when is None:
            return report
        notes = (*report.notes, note) if note else report.notes
        return replace(report, timestamp=iso(when), notes=notes)


def dated(lines: Iterable[LogLine]) -> Iterator[CrashReport]:
    """The reports of *lines* with their times as instants (see :class:`Dater`)."""
    dater = Dater()
    for report in parse_reports(dater.watch(lines)):
        yield dater(report)


def iter_reports(
    paths: Sequence[str], errors: list[InputError], journal: JournalQuery | None = None
) -> Iterator[CrashReport]:
    """Reports from every path; an unreadable path is recorded in *errors* and skipped.
    With *journal* and no paths, the local journal is read."""
    if journal is not None and not paths:
        try:
            yield from dated(read_journal([], "journal", journal))
        except InputError as err:
            errors.append(err)
        return
    for path in paths:
        try:
            yield from dated(read_paths([path], prefilter=True, journal=journal))
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
        times = sorted(
            (when, r.timestamp) for r in reps if (when := parse(r.timestamp)) is not None
        )
        groups.append(
            Group(
                signature=sig,
                title=reps[0].title,
                count=len(reps),
                hosts=tuple(sorted({r.host for r in reps if r.host})),
                first_seen=times[0][1] if times else None,
                last_seen=times[-1][1] if times else None,
                module=next((r.module for r in reps if r.module), None),
                kernel_releases=tuple(sorted({r.kernel_release for r in reps if r.kernel_release})),
                reports=tuple(idx),
            )
        )
    groups.sort(key=lambda g: (-g.count, g.title))
    return groups


def scan(
    paths: Sequence[str],
    on_report: Callable[[CrashReport], None] | None = None,
    journal: JournalQuery | None = None,
) -> ScanResult:
    """Every report in *paths* (none, with *journal*: the local journal), grouped;
    *on_report* sees each report as soon as it is decoded (while the log reader is still
    searching the rest).  *journal* selects a boot or a time in journals."""
    result = ScanResult()
    with progress.task("scanning logs") as shown:
        for report in iter_reports(paths, result.errors, journal):
            result.reports.append(report)
            shown.note(f"{len(result.reports)} crash report(s)")
            if on_report is not None:
                on_report(report)
    result.groups = group_reports(result.reports)
    return result
