"""Scan paths for crash reports and group them by signature.

Report times are made instants here (``kmend.logs.when``): a year-less syslog stamp gets
the year its file says, and the report's notes say how; first/last seen compare instants.

Memory stays flat in the number of reports: a report is handed to the caller as soon as
it is decoded and, unless asked, not kept; a group is built from a compact summary of
its signature (count, hosts, first/last seen, releases, the indexes of its reports).
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import field, replace
from datetime import datetime

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
    reports: list[CrashReport] = field(default_factory=list)  # only with keep=True
    groups: list[Group] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    warnings: list[InputError] = field(default_factory=list)
    count: int = 0
    #: the given paths read without an error, or with some of their files read (damaged
    #: compressed data is only a warning)
    read: list[str] = field(default_factory=list)


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
    paths: Sequence[str],
    errors: list[InputError],
    journal: JournalQuery | None = None,
    warnings: list[InputError] | None = None,
    read: list[str] | None = None,
) -> Iterator[CrashReport]:
    """Reports from every path; an unreadable path is recorded in *errors* and skipped;
    damaged compressed data (read up to the damage) is recorded in *warnings*; the paths
    read without an error, or with some of their files read, are added to *read*.
    With *journal* and no paths, the local journal is read."""
    if journal is not None and not paths:
        try:
            yield from dated(read_journal([], "journal", journal))
        except InputError as err:
            errors.append(err)
        return
    on_warning = warnings.append if warnings is not None else None
    for path in paths:
        # an unreadable file of a directory is recorded and the others still read (raised,
        # it ended the directory, and with it the reports still open from its good files)
        before = len(errors)
        files: list[str] = []
        try:
            yield from dated(read_paths([path], prefilter=True, journal=journal,
                                        on_warning=on_warning, on_error=errors.append,
                                        on_read=files.append))  # fmt: skip
        except InputError as err:
            errors.append(err)
        if read is not None and (files or len(errors) == before):
            read.append(path)


_Seen = tuple[datetime, str]  # an instant and the timestamp as written


@dataclass(slots=True)
class _Summary:
    """What a group needs of its reports, without the reports."""

    title: str
    module: str | None
    hosts: set[str] = field(default_factory=set)
    releases: set[str] = field(default_factory=set)
    first: _Seen | None = None
    last: _Seen | None = None
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
        when = parse(rep.timestamp)
        if when is not None and rep.timestamp:
            seen = (when, rep.timestamp)
            if summary.first is None or seen < summary.first:
                summary.first = seen
            if summary.last is None or seen > summary.last:
                summary.last = seen

    def groups(self) -> list[Group]:
        """One group per signature, most frequent first."""
        groups = [
            Group(
                signature=sig,
                title=s.title,
                count=len(s.indexes),
                hosts=tuple(sorted(s.hosts)),
                first_seen=s.first[1] if s.first else None,
                last_seen=s.last[1] if s.last else None,
                module=s.module,
                kernel_releases=tuple(sorted(s.releases)),
                reports=tuple(s.indexes),
            )
            for sig, s in self._by_sig.items()
        ]
        groups.sort(key=lambda g: (-g.count, g.title))
        return groups


def group_reports(reports: Sequence[CrashReport]) -> list[Group]:
    """One group per signature, most frequent first."""
    grouper = Grouper()
    for rep in reports:
        grouper.add(rep)
    return grouper.groups()


def scan(
    paths: Sequence[str],
    on_report: Callable[[CrashReport], None] | None = None,
    journal: JournalQuery | None = None,
    *,
    keep: bool = True,
) -> ScanResult:
    """Every report in *paths* (none, with *journal*: the local journal), grouped;
    *on_report* sees each report as soon as it is decoded (while the log reader is still
    searching the rest).  *journal* selects a boot or a time in journals.  With
    ``keep=False`` the reports are not kept in the result (memory flat in their number)."""
    result = ScanResult()
    grouper = Grouper()
    with progress.task("scanning logs") as shown:
        for report in iter_reports(paths, result.errors, journal, result.warnings, result.read):
            grouper.add(report)
            shown.note(f"{grouper.count} crash report(s)")
            if keep:
                result.reports.append(report)
            if on_report is not None:
                on_report(report)
    result.count = grouper.count
    result.groups = grouper.groups()
    return result
