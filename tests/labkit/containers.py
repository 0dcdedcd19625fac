"""Wrap kernel log records in the containers logs arrive in (for fixtures and benchmarks).

Input is a list of :class:`Record` (syslog level, printk time in seconds, text).  Output
formats, as rsyslog, journalctl and dmesg write them:

* RFC3164 syslog: ``Nov 26 03:04:05 host kernel: [    1.720029] text`` (day space-padded)
* rsyslog RFC3339: ``2026-11-26T03:04:06.720029+00:00 host kernel: text``
* dmesg: ``[    1.720029] text``; ``dmesg -T``: ``[Thu Nov 26 03:04:06 2026] text``
* /proc/kmsg / console_msg_format=syslog: ``<4>[    1.720029] text``
* /dev/kmsg: ``4,123,1720029,-;text`` (non-printable bytes and backslash as ``\\xNN``)
* ``journalctl -o json``: one object per line; MESSAGE becomes an array of byte values
  when the text holds control characters, as journald does
* flattened: the syslog lines from *start* on joined into one line with ``#012``
  (rsyslog's escape for an embedded newline)

Wall-clock time is ``base + printk time``, so outputs are deterministic.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


@dataclass(frozen=True)
class Record:
    level: int
    seconds: float
    text: str

    @property
    def stamp(self) -> str:
        """The printk time as the kernel prints it: ``[%5lu.%06lu]``."""
        whole = int(self.seconds)
        micro = round((self.seconds - whole) * 1_000_000)
        if micro == 1_000_000:
            whole, micro = whole + 1, 0
        return f"[{whole:5d}.{micro:06d}]"

    @property
    def usec(self) -> int:
        return round(self.seconds * 1_000_000)


def _wall(base: datetime, record: Record) -> datetime:
    return base + timedelta(microseconds=record.usec)


def _rfc3164_time(when: datetime) -> str:
    return f"{_MONTHS[when.month - 1]} {when.day:2d} {when:%H:%M:%S}"


def rfc3164(
    records: Iterable[Record], host: str, base: datetime, *, stamp: bool = True
) -> list[str]:
    out = []
    for r in records:
        text = f"{r.stamp} {r.text}" if stamp else r.text
        out.append(f"{_rfc3164_time(_wall(base, r))} {host} kernel: {text}")
    return out


def rfc3339(records: Iterable[Record], host: str, base: datetime) -> list[str]:
    out = []
    for r in records:
        when = _wall(base, r).isoformat(timespec="microseconds")
        out.append(f"{when} {host} kernel: {r.text}")
    return out


def dmesg(records: Iterable[Record]) -> list[str]:
    return [f"{r.stamp} {r.text}" for r in records]


def dmesg_human(records: Iterable[Record], base: datetime) -> list[str]:
    out = []
    for r in records:
        w = _wall(base, r)
        stamp = f"{_DAYS[w.weekday()]} {_MONTHS[w.month - 1]} {w.day:2d} {w:%H:%M:%S} {w.year}"
        out.append(f"[{stamp}] {r.text}")
    return out


def level_prefixed(records: Iterable[Record]) -> list[str]:
    return [f"<{r.level}>{r.stamp} {r.text}" for r in records]


def _kmsg_escape(text: str) -> str:
    out = []
    for byte in text.encode("utf-8", "replace"):
        if byte < 0x20 or byte in {0x7F, 0x5C}:
            out.append(f"\\x{byte:02x}")
        else:
            out.append(chr(byte))
    return "".join(out).encode("latin-1").decode("utf-8", "replace")


def kmsg(records: Iterable[Record], first_seq: int = 0) -> list[str]:
    return [
        f"{r.level},{first_seq + i},{r.usec},-;{_kmsg_escape(r.text)}"
        for i, r in enumerate(records)
    ]


def journal_json(records: Iterable[Record], host: str, base: datetime, boot_id: str) -> list[str]:
    out = []
    for r in records:
        wall = _wall(base, r)
        realtime = int(wall.timestamp() * 1_000_000)
        message: str | list[int] = r.text
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in r.text):
            message = list(r.text.encode("utf-8"))
        entry = {
            "__REALTIME_TIMESTAMP": str(realtime),
            "__MONOTONIC_TIMESTAMP": str(r.usec),
            "_BOOT_ID": boot_id,
            "_TRANSPORT": "kernel",
            "PRIORITY": str(r.level),
            "SYSLOG_FACILITY": "0",
            "SYSLOG_IDENTIFIER": "kernel",
            "_SOURCE_MONOTONIC_TIMESTAMP": str(r.usec),
            "_HOSTNAME": host,
            "MESSAGE": message,
        }
        out.append(json.dumps(entry, separators=(", ", ": ")))
    return out


def flattened(records: list[Record], host: str, base: datetime, start: int) -> list[str]:
    """RFC3164 lines, with every record from index *start* on folded into one ``#012`` line."""
    head = rfc3164(records[:start], host, base)
    tail = records[start:]
    if not tail:
        return head
    first = _rfc3164_time(_wall(base, tail[0]))
    body = "#012".join(f"{r.stamp} {r.text}" for r in tail)
    return [*head, f"{first} {host} kernel: {body}"]


def default_base() -> datetime:
    return datetime(2026, 11, 26, 3, 4, 5, tzinfo=UTC)
