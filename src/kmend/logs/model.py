"""The LogLine: one kernel message line with its container stripped."""

from __future__ import annotations

from kmend._compat import dataclass


@dataclass(frozen=True, slots=True)
class LogLine:
    """One message line, as the kernel printed it, plus where and when it was seen.

    ``text`` has every container removed: syslog/journal header, ``<N>`` level,
    ``[ seconds]`` printk time and the ``[T123]``/``[C3]`` caller id.

    ``timestamp`` is the wall-clock time as an ISO 8601 string when the container
    gives one, as written: full with its offset (``2026-11-26T03:04:05.123456+00:00``;
    a journal's ``__REALTIME_TIMESTAMP`` in UTC), full without one (``dmesg -T``), or
    ISO 8601's year-less form (``--12-23T00:51:38``) for RFC3164 syslog, which has no
    year (``kmend.logs.when`` turns them into instants).  ``uptime`` is the printk time in
    seconds since boot (monotonic, never mixed with wall-clock time) when the line carried
    one.  ``context`` is the printk caller id (``T123`` or ``C3``) or None.  ``boot`` is
    the journal's ``_BOOT_ID`` of the line's boot, when it came from a journal.  ``debris``
    names the paste-debris rules (``kmend.logs.paste``) that fired on the line, if any.
    """

    source: str
    lineno: int
    host: str | None
    timestamp: str | None
    context: str | None
    text: str
    uptime: float | None = None
    level: int | None = None
    boot: str | None = None
    debris: tuple[str, ...] = ()
