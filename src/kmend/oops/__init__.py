"""Crash extraction and decoding: find every kernel crash report in a stream of log lines,
decode its fields and name it.

``parse_reports(lines)`` is the entry point: LogLine records in, CrashReport records out.
"""

from kmend.oops.model import CrashReport
from kmend.oops.segment import parse_reports

__all__ = ["CrashReport", "parse_reports"]
