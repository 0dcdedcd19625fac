"""journald output: ``journalctl -o json`` lines and ``journalctl -o export`` entries.

Fields (systemd.journal-fields(7)): a kernel entry
has ``_TRANSPORT=kernel`` (or ``SYSLOG_IDENTIFIER=kernel``); ``MESSAGE`` is a string, or —
when it holds control or non-UTF-8 bytes — an array of byte values; ``_HOSTNAME``;
``__REALTIME_TIMESTAMP`` (µs since the epoch); ``_SOURCE_MONOTONIC_TIMESTAMP`` (the printk
time, µs since boot); ``PRIORITY`` (the level); ``_BOOT_ID`` (128-bit hex id of the boot).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import datetime

from kmend._compat import UTC, dataclass
from kmend.logs.open import Readable


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """The parts of one journal entry the reader keeps."""

    kernel: bool
    host: str | None
    timestamp: str | None
    uptime: float | None
    level: int | None
    message: str | None  # None: the journal holds no (or an over-long, nulled) MESSAGE
    boot: str | None = None


def _text(value: object) -> str | None:
    """A journal field value: a string, a byte array, or a list of those (first wins)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        if value and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            return bytes(v & 0xFF for v in value).decode("utf-8", "replace")
        for item in value:
            if isinstance(item, (str, list)):
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


def entry_from_fields(fields: Mapping[str, object]) -> JournalEntry:
    """A JournalEntry from decoded journal fields."""
    message = _text(fields.get("MESSAGE"))
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
        boot=_text(fields.get("_BOOT_ID")),
    )


#: What journalctl -o json-sse and -o json-seq put before each JSON object (a server-sent
#: event's field; RFC 7464's record separator).
_JSON_LEADS = ("data: ", "\x1e")
#: How a journal JSON line starts: its object, or a lead then the object.
_JSON_STARTS = ("{", *(lead + "{" for lead in _JSON_LEADS))


def parse_json_line(line: str) -> JournalEntry | None:
    """One ``journalctl -o json`` line (or json-sse, json-seq), or None when it is not a
    journal JSON object."""
    for lead in _JSON_LEADS:
        if line.startswith(lead):
            line = line[len(lead) :]
            break
    try:
        obj = json.loads(line)
    except (ValueError, RecursionError):
        return None
    if not isinstance(obj, dict):
        return None
    return entry_from_fields(obj)


def looks_like_json_entry(line: str) -> bool:
    """Cheap test before trying json.loads."""
    return line.startswith(_JSON_STARTS) and '"MESSAGE"' in line


# --- journalctl -o export ------------------------------------------------------------------

#: How every ``journalctl -o export`` stream starts.
EXPORT_MAGIC = (b"__CURSOR=", b"__REALTIME_TIMESTAMP=")
#: Longest field value kept (a larger one is cut; the rest is skipped, not stored).
MAX_FIELD = 1 << 20


class _Bytes:
    """A minimal buffered reader over a ``read(n)`` stream: lines and exact-size reads."""

    def __init__(self, stream: Readable) -> None:
        self._stream = stream
        self._buf = b""
        self._pos = 0
        self.lines = 0  # newlines consumed so far

    def _fill(self) -> bool:
        chunk = self._stream.read(1 << 16)
        if not chunk:
            return False
        self._buf = self._buf[self._pos :] + chunk
        self._pos = 0
        return True

    def readline(self) -> bytes | None:
        """The next line without its newline (cut at MAX_FIELD), or None at the end."""
        while True:
            nl = self._buf.find(b"\n", self._pos)
            if nl >= 0:
                line = self._buf[self._pos : nl]
                self._pos = nl + 1
                self.lines += 1
                return line[:MAX_FIELD]
            if len(self._buf) - self._pos > MAX_FIELD:
                line = self._buf[self._pos : self._pos + MAX_FIELD]
                self._skip_line()
                return line
            if not self._fill():
                if self._pos < len(self._buf):
                    line = self._buf[self._pos :]
                    self._pos = len(self._buf)
                    return line
                return None

    def _skip_line(self) -> None:
        while True:
            nl = self._buf.find(b"\n", self._pos)
            if nl >= 0:
                self._pos = nl + 1
                self.lines += 1
                return
            self._pos = len(self._buf)
            if not self._fill():
                return

    def read(self, size: int) -> bytes:
        """Exactly *size* bytes (fewer at the end); only the first MAX_FIELD are kept."""
        parts: list[bytes] = []
        kept = 0
        while size > 0:
            if self._pos >= len(self._buf) and not self._fill():
                break
            take = min(size, len(self._buf) - self._pos)
            part = self._buf[self._pos : self._pos + take]
            self._pos += take
            size -= take
            self.lines += part.count(b"\n")
            if kept < MAX_FIELD:
                parts.append(part[: MAX_FIELD - kept])
                kept += len(parts[-1])
        return b"".join(parts)


def iter_export(stream: Readable) -> Iterator[tuple[int, JournalEntry]]:
    """(line number, entry) for each entry of a ``journalctl -o export`` stream.

    Text fields are ``NAME=value`` lines; binary ones are ``NAME``, a little-endian 64-bit
    size, the data and a newline; a blank line ends an entry.
    """
    reader = _Bytes(stream)
    fields: dict[str, object] = {}
    start = 1
    while True:
        line = reader.readline()
        if line is None or not line:
            if fields:
                yield start, entry_from_fields(fields)
                fields = {}
            if line is None:
                return
            start = reader.lines + 1
            continue
        eq = line.find(b"=")
        if eq >= 0:
            name, value = line[:eq], line[eq + 1 :]
        else:
            name = line
            size_bytes = reader.read(8)
            if len(size_bytes) < 8:
                return
            value = reader.read(int.from_bytes(size_bytes, "little"))
            reader.readline()  # the newline after the data
        fields[name.decode("ascii", "replace")] = value.decode("utf-8", "replace")
