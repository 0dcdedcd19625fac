"""Log timestamps as instants.

A LogLine's ``timestamp`` is the time as the log wrote it (``kmend.logs.model``):

* full with an offset (RFC3339 syslog, journalctl ``short-iso``, a journal's
  ``__REALTIME_TIMESTAMP`` given in UTC): an instant as it stands; ``+02:00`` and
  ``+00:00`` stamps compare by the instant, not by the text;
* full without an offset (``dmesg -T``, RFC3339 without a zone): local time of the machine
  that wrote it, taken to be this machine's zone;
* year-less (RFC3164 syslog, ``--12-23T00:51:38``): local time too, and the year is
  inferred from a full time on a neighbouring line of the same log when there is one (the
  year that puts the stamp nearest to it), else from a reference date the log cannot be
  newer than — the rotation date in the file name (``messages-20261207``), else the file's
  modification time, else now — as the latest year that does not put the stamp after the
  reference (Dec 23 in a file last written on Jan 5, 2027 is Dec 23, 2026).

The printk time (seconds since boot) is monotonic and never turned into wall-clock time.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable
from datetime import datetime, timedelta

from kmend._compat import UTC, dataclass
from kmend.logs.grammar import MON, MONTHS, b

_YEARLESS_RE = re.compile(r"^--(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d{1,9})?$")
#: logrotate's ``dateext`` suffix (``messages-20261207``, ``syslog-20261207.gz``).
_DATEEXT_RE = re.compile(r"-(20\d\d)(\d\d)(\d\d)(?:\d{2,6})?(?:\.\d+)?(?:\.(?:gz|xz|bz2|zst))?$")
#: How far a stamp may lie after the reference and still be the reference's year (clock
#: skew between hosts, a file copied before its last lines were flushed).
SLACK = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Reference:
    """The newest time a log's lines can have, and how it is known (for the notes)."""

    when: datetime  # aware
    why: str


def _fromiso(ts: str) -> datetime | None:
    text = re.sub(r"(\.\d{6})\d+", r"\1", ts)  # fromisoformat takes at most microseconds
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def parse(ts: str | None) -> datetime | None:
    """The instant of a full ISO 8601 timestamp (aware; a naive one in this machine's
    zone), or None for None, a year-less or an unreadable one."""
    if not ts or ts.startswith("--"):
        return None
    when = _fromiso(ts)
    if when is None:
        return None
    return when if when.tzinfo is not None else when.astimezone()


def instant(
    ts: str | None, ref: Callable[[], Reference], neighbour: str | None = None
) -> tuple[datetime | None, str | None]:
    """The instant of a LogLine timestamp and, when part of it was inferred, a note
    saying how.  *ref* gives the reference date of the log (asked only for a year-less
    stamp); *neighbour* is a full timestamp of a nearby line of the same log, if any."""
    if not ts:
        return None, None
    if ts.startswith("--"):
        near = parse(neighbour)
        if near is not None:
            when = nearest_year(ts, near)
            if when is not None:
                note = (f"time {ts}: year {when.year} inferred from a neighbouring line's "
                        f"time ({neighbour}); read as this machine's local time "
                        f"({zone_name(when)})")  # fmt: skip
                return when, note
        r = ref()
        when = with_year(ts, r.when)
        if when is None:
            return None, None
        note = (f"time {ts}: year {when.year} inferred from {r.why}; "
                f"read as this machine's local time ({zone_name(when)})")  # fmt: skip
        return when, note
    when = _fromiso(ts)
    if when is None:
        return None, None
    if when.tzinfo is None:
        when = when.astimezone()
        zone = zone_name(when)
        return when, f"time {ts}: no zone given; read as this machine's local time ({zone})"
    return when, None


def is_yearless(ts: str | None) -> bool:
    return bool(ts and _YEARLESS_RE.match(ts))


def with_year(ts: str, ref: datetime) -> datetime | None:
    """The instant of the year-less *ts* (local time) in the latest year that does not put
    it more than ``SLACK`` after *ref*; None when *ts* is not year-less."""
    m = _YEARLESS_RE.match(ts)
    if m is None:
        return None
    mon, day, hh, mm, ss = (int(g) for g in m.groups()[:5])
    micro = int((m[6] or ".0")[1:7].ljust(6, "0"))
    local_ref = ref.astimezone()
    for year in range(local_ref.year + 1, local_ref.year - 8, -1):
        try:
            when = datetime(year, mon, day, hh, mm, ss, micro).astimezone()
        except ValueError:  # Feb 29 outside a leap year, or a month/day that never is
            continue
        if when <= ref + SLACK:
            return when
    return None


def nearest_year(ts: str, near: datetime) -> datetime | None:
    """The instant of the year-less *ts* (local time) in the year that puts it nearest to
    *near*; None when *ts* is not year-less."""
    best: datetime | None = None
    for year in (near.year - 1, near.year, near.year + 1):
        when = with_year(ts, datetime(year, 12, 31, 23, 59, 59).astimezone())
        if (
            when is not None
            and when.year == year
            and (best is None or abs(when - near) < abs(best - near))
        ):
            best = when
    return best


#: An RFC3164 stamp at the start of a line (``Dec 23 00:51:38``), for the tail search.
_TAIL_STAMP_RE = re.compile(b("^(" + MON + r") {1,2}(\d{1,2}) (\d\d):(\d\d):(\d\d) "), re.M)
#: How much of a plain file's end is read to find its last stamp.
TAIL_BYTES = 64 * 1024


def _last_yearless(path: str) -> str | None:
    """The year-less stamp (``--12-23T00:51:38``) of the last syslog line of a plain
    (uncompressed) file, read from its end; None when there is none or it is compressed.

    Only a regular file has an end to read: a FIFO (its writer already gone after the
    log was read) or a device is never opened for reading again, and opening never
    blocks (``O_NONBLOCK``, then ``fstat`` on the open descriptor)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            head = fh.read(6)
            if head[:2] in (b"\x1f\x8b", b"BZ") or head[:6] in (b"\xfd7zXZ\x00",) \
                    or head[:4] == b"\x28\xb5\x2f\xfd":
                return None
            size = fh.seek(0, os.SEEK_END)
            fh.seek(max(0, size - TAIL_BYTES))
            tail = fh.read(TAIL_BYTES)
        except OSError:
            return None
    last = None
    for last in _TAIL_STAMP_RE.finditer(tail):  # noqa: B007 - the last match is wanted
        pass
    if last is None:
        return None
    mon = MONTHS[last[1].decode()]
    return f"--{mon:02d}-{int(last[2]):02d}T{last[3].decode()}:{last[4].decode()}:" \
        f"{last[5].decode()}"


def reference(path: str) -> Reference:
    """The newest time the lines of *path* can carry.  A syslog file is written in time
    order, so its last line is the newest: the year of every earlier year-less stamp is the
    latest that does not put it after that line (a file holding Nov 27 then Dec 23, last
    written on Dec 7, is Nov 27 and Dec 23 of the year before, not Nov 27 of this year).
    The last line's own year comes from the rotation date, the modification time or now."""
    base = _base_reference(path)
    last = _last_yearless(path) if path != "-" else None
    if last is not None:
        when = with_year(last, base.when)
        if when is not None:
            return Reference(when, f"the log's last line ({last[2:].replace('T', ' ')}, "
                                   f"year from {base.why})")
    return base


def _base_reference(path: str) -> Reference:
    """The rotation date, the modification time, or (stdin, unreadable) now."""
    name = os.path.basename(path)
    m = _DATEEXT_RE.search(name) if path != "-" else None
    if m:
        try:
            day = datetime(int(m[1]), int(m[2]), int(m[3]), 23, 59, 59).astimezone()
            return Reference(day, f"the rotation date in its name ({m[1]}-{m[2]}-{m[3]})")
        except ValueError:
            pass
    if path != "-":
        try:
            mtime = os.stat(path).st_mtime
            when = datetime.fromtimestamp(mtime, tz=UTC).astimezone()
            return Reference(when, f"the file's modification time ({when.date().isoformat()})")
        except (OSError, OverflowError, ValueError):
            pass
    now = datetime.now(tz=UTC).astimezone()
    return Reference(now, f"today's date ({now.date().isoformat()})")


def iso(when: datetime) -> str:
    """ISO 8601 with the offset (microseconds only when there are some)."""
    return when.isoformat(timespec="microseconds" if when.microsecond else "seconds")


def zone_name(when: datetime) -> str:
    """This machine's zone at *when*, for a note (``UTC+01:00``)."""
    off = when.utcoffset() or timedelta(0)
    sign = "-" if off < timedelta(0) else "+"
    minutes = abs(int(off.total_seconds())) // 60
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"
