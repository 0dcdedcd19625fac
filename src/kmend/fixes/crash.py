"""The ``--log`` adapter: the crash site of the N-th crash decoded from a log."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from kmend.errors import InputError, UsageError
from kmend.fixes.model import CrashSite
from kmend.logs import read_paths
from kmend.oops import CrashReport, parse_reports


def site_from_report(report: CrashReport) -> tuple[CrashSite, str | None]:
    """CrashSite and kernel release of a decoded :class:`kmend.oops.model.CrashReport`."""
    location = report.location
    if location is None:
        raise InputError(f"the crash {report.title!r} names no source file and line",
                         "give --file and --function (and --line) instead of --log")
    pc_fn = report.pc.function if report.pc is not None else None
    function = report.function or pc_fn
    trace = tuple(dict.fromkeys(f.function for f in report.frames
                                if f.function and f.reliable))
    alt = tuple(t for t in (report.header, *report.alt_titles) if t and t != report.title)
    return (CrashSite(file=location.file, function=function, line=location.line,
                      title=report.title, trace_functions=trace, kind=report.type,
                      alt_titles=alt),
            report.kernel_release)


def site_from_log(paths: Sequence[Path], index: int) -> tuple[CrashSite, str | None]:
    """Decode the crashes in *paths*; the site of crash *index* (0-based, as ``kmend show``;
    negative counts from the end)."""
    reports = list(parse_reports(read_paths([str(p) for p in paths])))
    if not reports:
        raise InputError(f"no kernel crash found in {', '.join(map(str, paths))}",
                         "check the log (kmend scan) or give --file and --function")
    if not -len(reports) <= index < len(reports):
        raise UsageError(f"--index {index} is out of range: the log has {len(reports)} "
                         "crash(es)", f"give --index 0..{len(reports) - 1} (see kmend scan)")
    return site_from_report(reports[index])
