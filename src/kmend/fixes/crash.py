"""The ``--log`` adapter: the crash site of the N-th crash decoded from a log."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from kmend.errors import InputError
from kmend.fixes.model import CrashSite
from kmend.logs import read_paths
from kmend.oops import CrashReport
from kmend.triage.choose import choose
from kmend.triage.scan import dated


def site_from_report(report: CrashReport) -> tuple[CrashSite, str | None]:
    """CrashSite and kernel release of a decoded :class:`kmend.oops.model.CrashReport`."""
    location = report.location
    if location is None:
        raise InputError(f"the crash {report.title!r} names no source file and line",
                         "give --file and --function (and --line) instead of the log")
    pc_fn = report.pc.function if report.pc is not None else None
    function = report.function or pc_fn
    trace = tuple(dict.fromkeys(f.function for f in report.frames
                                if f.function and f.reliable))
    alt = tuple(t for t in (report.header, *report.alt_titles) if t and t != report.title)
    return (CrashSite(file=location.file, function=function, line=location.line,
                      title=report.title, trace_functions=trace, kind=report.type,
                      alt_titles=alt),
            report.kernel_release)


def site_from_log(paths: Sequence[Path], index: int | None) -> tuple[CrashSite, str | None]:
    """Decode the crashes in *paths*; the site of crash *index* (0-based, as ``kmend show``;
    negative counts from the end; None: the newest, as ``kmend show`` and ``kmend run``)."""
    reports = list(dated(read_paths([str(p) for p in paths])))
    if not reports:
        raise InputError(f"no kernel crash found in {', '.join(map(str, paths))}",
                         "check the log (kmend scan) or give --file and --function")
    chosen, _why = choose(reports, index)
    return site_from_report(reports[chosen])
