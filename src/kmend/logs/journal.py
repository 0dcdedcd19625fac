"""journald output: ``journalctl -o json`` lines and ``journalctl -o export`` entries.

Fields (systemd.journal-fields(7), crash-formats-and-triage-anchors.md §3): a kernel entry
has ``_TRANSPORT=kernel`` (or ``SYSLOG_IDENTIFIER=kernel``); ``MESSAGE`` is a string, or —
when it holds control or non-UTF-8 bytes — an array of byte values; ``_HOSTNAME``;
``__REALTIME_TIMESTAMP`` (µs since the epoch); ``_SOURCE_MONOTONIC_TIMESTAMP`` (the printk
time, µs since boot); ``PRIORITY`` (the level).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """The parts of one journal entry the reader keeps."""

    kernel: bool
    host: str | None
    timestamp: str | None
    uptime: float | None
    level: int | None
    message: str


def _text(value: object) -> str | None:
    """A journal field value: a string, a byte array, or a list of those (first wins)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        if value and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            return bytes(v & 0xFF for v in value).decode("utf-8", "replace")
        for item in value:
            if isinstance(item, str | list):
                return _text(item)
    return None


def _int(value: object) -> int | None:
    text = _text(value) if not isinstance(value, int) else str(value)
    if text is None:
        return None
    text = text.strip()
    return int(text) if text.isdigit() and len(text) < 24 else None


def realtime_iso(usec: int) -> str | None:
    """``__REALTIME_TIMESTAMP`` (µs since the epoch) as an ISO 8601 UTC time."""
    try:
        when = datetime.fromtimestamp(usec / 1e6, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return when.isoformat(timespec="microseconds")


def entry_from_fields(fields: Mapping[str, object]) -> JournalEntry | None:
    """A JournalEntry from decoded journal fields, or None when there is no MESSAGE."""
    message = _text(fields.get("MESSAGE"))
    if message is None:
        return None
    transport = _text(fields.get("_TRANSPORT"))
    ident = _text(fields.get("SYSLOG_IDENTIFIER"))
    kernel = transport == "kernel" or ident == "kernel"
    real = _int(fields.get("__REALTIME_TIMESTAMP"))
    mono = _int(fields.get("_SOURCE_MONOTONIC_TIMESTAMP"))
    prio = _int(fields.get("PRIORITY"))
    return JournalEntry(
        kernel=kernel,
        host=_text(fields.get("_HOSTNAME")),
        timestamp=realtime_iso(real) if real is not None else None,
        uptime=mono / 1e6 if mono is not None else None,
        level=prio & 7 if prio is not None else None,
        message=message,
    )


def parse_json_line(line: str) -> JournalEntry | None:
    """One ``journalctl -o json`` line, or None when it is not a journal JSON object."""
    try:
        obj = json.loads(line)
    except (ValueError, RecursionError):
        return None
    if not isinstance(obj, dict):
        return None
    return entry_from_fields(obj)


def looks_like_json_entry(line: str) -> bool:
    """Cheap test before trying json.loads."""
    return line.startswith("{") and '"MESSAGE"' in line
