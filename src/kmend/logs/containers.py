"""Recognise one line's container (syslog, journal text, dmesg, console, /dev/kmsg).

Pure functions over one physical line of text.  The outer container is the part a log
daemon adds (``Dec 23 00:51:38 host kernel: ``, ``2026-11-26T03:04:05+00:00 host kernel: ``,
the ``journalctl`` short formats, ``/dev/kmsg`` records, ``dmesg -T``); the console prefix is
what printk itself adds (``<4>``, ``[  12.345678]``, ``[ T123]``), plus the syzkaller
console decorations (``** N printk messages dropped ** ``, ``<anything> login: ``).

Formats: RFC 3164/5424 syslog, journalctl's short/json/export output, /dev/kmsg records
(Documentation/ABI/testing/dev-kmsg) and printk's own prefixes.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import NamedTuple

from kmend._compat import UTC
from kmend.logs.grammar import (
    HOST,
    MON,
    MONTHS,
    PRI,
    RFC3164_TIME,
    RFC3339_TIME,
    TAG,
    WEEKDAY,
    plain,
)

#: RFC3164 / journalctl short / short-precise: ``Dec  3 00:51:38[.123456] host tag[pid]: ``.
RFC3164_RE = re.compile(PRI + RFC3164_TIME + " " + HOST + " " + TAG)
#: Just an RFC3164 time at the start of a line (as ``lines.is_foreign`` tests it).
_RFC3164_HEAD_RE = re.compile(plain(RFC3164_TIME) + " ")
#: rsyslog RFC3339 / journalctl short-iso: ``2026-11-26T03:04:05.123456+00:00 host tag: ``.
RFC3339_RE = re.compile(PRI + RFC3339_TIME + " " + HOST + " " + TAG)
#: RFC 5424 (rsyslog's RSYSLOG_SyslogProtocol23Format, syslog-ng's syslog-protocol, what
#: ``logger --rfc5424`` sends): ``<PRI>1 TIME HOST APP PROCID MSGID SD MSG``, where absent
#: fields are ``-`` and SD is ``-`` or ``[id key="value" …]`` elements; MSG may start with
#: a byte order mark.
RFC5424_RE = re.compile(
    PRI + r"1 (?:" + RFC3339_TIME + r"|-) " + HOST + r" (?P<app>[!-~]{1,48}) [!-~]{1,128} "
    r'[!-~]{1,32} (?:-|(?:\[[^\]"]{1,64}(?: [^\]"=]{1,32}="(?:[^"\\]|\\.){0,256}"){0,16}\]){1,16})'
    r"(?: \ufeff?|$)"
)
#: journalctl short-monotonic: ``[   12.345678] host kernel: `` (tag must be kernel or have a
#: pid); short-delta adds the time since the previous entry: ``[ 12.345678 <  0.000104 >]``,
#: blanks in its place for a boot's first entry.
MONOTONIC_RE = re.compile(
    r"\[\s*(?P<up>\d{1,10}\.\d{1,9})(?: <\s{0,12}\d{1,10}\.\d{1,9} >| {1,24})?\] "
    r"(?P<host>[^\s\[\]:]{1,255}) " + TAG
)
#: journalctl short-full and with-unit: ``Wed 2026-12-23 00:51:38[.000001] UTC host tag: ``
#: (the zone as tzdata names it: a name, or an offset where the zone has no name: ``+04``).
FULL_RE = re.compile(
    WEEKDAY + r" (?P<day>\d{4}-\d\d-\d\d) (?P<hms>\d\d:\d\d:\d\d(?:\.\d{1,9})?) "
    r"(?P<zone>[A-Za-z]{1,6}|[+-]\d\d(?::?\d\d)?) " + HOST + " " + TAG
)
#: Zone names that say the offset; any other name (CET, EST: ambiguous) leaves it unknown.
_UTC_NAMES = frozenset(("UTC", "GMT", "UCT", "Z", "Etc", "Universal", "Zulu"))
#: journalctl short-unix: ``1797987098.000001 host tag: `` (seconds since the epoch).
UNIX_RE = re.compile(r"(?P<sec>\d{9,10})\.(?P<frac>\d{1,9}) " + HOST + " " + TAG)
#: ``dmesg -T``: ``[Sat Nov 28 22:51:21 2026] ``.
DMESG_T_RE = re.compile(
    rf"\[{WEEKDAY} (?P<mon>{MON}) +(?P<day>\d{{1,2}}) "
    r"(?P<hms>\d\d:\d\d:\d\d) (?P<year>\d{4})\] ?"
)
#: util-linux ``dmesg -x`` (decode): ``kern  :crit  : `` before the rest of dmesg's line.
#: Messages a program wrote to /dev/kmsg have another facility (``user``).
DMESG_X_RE = re.compile(
    r"(?P<fac>kern|user|mail|daemon|auth|syslog|lpr|news|uucp|cron|authpriv|ftp"
    r"|local[0-7]) {0,4}:(?P<lvl>emerg|alert|crit|err|warn|notice|info|debug) {0,4}: "
)
DMESG_LEVELS = {name: n for n, name in enumerate(
    ("emerg", "alert", "crit", "err", "warn", "notice", "info", "debug"))}
#: util-linux ``dmesg --time-format=iso``: ``2026-12-07T03:00:41,063772+00:00 `` (a comma
#: and six digits, a zone with a colon: no syslog daemon writes it so).
DMESG_ISO_RE = re.compile(
    r"(?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d),(?P<us>\d{6})(?P<tz>[+-]\d\d:\d\d) "
)
#: ``/dev/kmsg`` record: ``level,seq,usec,flags[,more];text``.
#: netconsole's extended form is the same record, optionally after the release (``r``).
KMSG_RE = re.compile(
    r"(?:\d[\w.+~-]{0,63},)??(?P<pri>\d{1,3}),(?P<seq>\d{1,20}),(?P<usec>\d{1,20}),[-+c]?"
    r"(?P<more>[^;]{0,128});"
)
_KMSG_CALLER_RE = re.compile(r"\bcaller=(?P<ctx>[TC]\d{1,10})\b")
#: A /dev/kmsg dictionary (continuation) line: `` SUBSYSTEM=pci``.
KMSG_DICT_RE = re.compile(r" [A-Z_][A-Z0-9_]*=")
#: printk console prefix (``<lvl>``, ``[ time]``, ``[ Tpid]``/``[ Ccpu]``), after the optional
#: decorations.  Some vendor kernels print the time without its fraction (``[  240.] ``).
CONSOLE_RE = re.compile(
    r"(?:<(?P<lvl>\d{1,3})>)?"
    # util-linux dmesg -d adds the time since the previous message: [ 2.063772 <  0.000082>]
    r"\[\s*(?P<up>\d{1,10}\.\d{0,9})(?: <\s{0,12}\d{1,10}\.\d{6}>)?\]"
    r"(?: ?\[\s*(?P<ctx>[TC]\d{1,10})\])?"
    r" ?"
)
#: util-linux ``dmesg --time-format=delta``: only the time since the previous message.
DELTA_RE = re.compile(r"\[<\s{0,12}\d{1,10}\.\d{6}>\] ?")
#: util-linux ``dmesg -H``/``-e``/``--time-format=reltime``: ``[  +0.000082]`` (time since
#: the previous message) or ``[Dec  7 03:00]`` (a new minute's first message).
RELTIME_RE = re.compile(
    r"\[(?:\s{0,12}\+\d{1,10}\.\d{6}|[A-Z][a-z]{2} ?\d{1,2} \d\d:\d\d(?::\d\d)?)\] ?"
)
#: printk level alone at the start of a line (``/proc/kmsg`` without time).
LEVEL_RE = re.compile(r"<(?P<lvl>[0-7])>")
#: A caller id alone at the start (``dmesg`` prints it after its own time column).
CALLER_RE = re.compile(r"\[\s*(?P<ctx>[TC]\d{1,10})\] ?")
_DROPPED_RE = re.compile(r"\*\* \d+ printk messages dropped \*\* ")
_KMSG_ESC_RE = re.compile(r"\\x([0-9a-fA-F]{2})")


class Outer(NamedTuple):
    """The outer (daemon) container of a line: who logged it and when."""

    kind: str  # "syslog", "kmsg", "dmesg-T", "dmesg-x", "monotonic", "none"
    host: str | None
    timestamp: str | None
    kernel: bool  # whether the message is a kernel message (kept)
    level: int | None
    uptime: float | None
    body: str  # the message with the container removed
    context: str | None = None  # a caller id the container carries (/dev/kmsg ``caller=``)


class Console(NamedTuple):
    """The printk console prefix of a message."""

    level: int | None
    uptime: float | None
    context: str | None
    text: str


_TIME_CACHE: dict[str, str] = {}


def _rfc3164_time(mon: str, day: str, hms: str, frac: str | None) -> str:
    """``Dec  3 00:51:38`` → ISO 8601 without a year: ``--12-03T00:51:38``."""
    return f"--{MONTHS[mon]:02d}-{int(day):02d}T{hms}{frac or ''}"


def _tz(tz: str | None) -> str:
    """A zone offset as ISO 8601 writes it: ``+0200`` and ``+02`` → ``+02:00``."""
    if not tz:
        return ""
    if tz == "Z" or ":" in tz:
        return tz
    return f"{tz[:3]}:{tz[3:] or '00'}"


def _rfc3339_time(ts: str, tz: str | None) -> str:
    """An RFC3339 time as the grammar matched it (``T`` or a space, ``.`` or ``,``) in
    ISO 8601."""
    return ts.replace(" ", "T", 1).replace(",", ".", 1) + _tz(tz)


def _is_kernel(tag: str) -> bool:
    return tag == "kernel"


def _level_from_pri(pri: str | None) -> int | None:
    return int(pri) & 7 if pri is not None else None


def _rfc3339(line: str) -> Outer | None:
    """An rsyslog RFC3339 line (optionally forwarded with ``<PRI>``), else None."""
    m = RFC3339_RE.match(line)
    if m is None:
        return None
    return Outer(
        "syslog", m["host"], _rfc3339_time(m["ts"], m["tz"]), _is_kernel(m["tag"]),
        _level_from_pri(m["pri"]), None, line[m.end():],
    )  # fmt: skip


def _rfc5424(line: str) -> Outer | None:
    """An RFC 5424 syslog line, else None."""
    m = RFC5424_RE.match(line)
    if m is None:
        return None
    stamp = _rfc3339_time(m["ts"], m["tz"]) if m["ts"] else None
    return Outer(
        "syslog", None if m["host"] == "-" else m["host"], stamp, m["app"] == "kernel",
        _level_from_pri(m["pri"]), None, line[m.end():],
    )  # fmt: skip


def _full(line: str) -> Outer | None:
    """A journalctl short-full or with-unit line, else None."""
    m = FULL_RE.match(line)
    if m is None:
        return None
    zone = m["zone"]
    offset = "+00:00" if zone in _UTC_NAMES else (_tz(zone) if zone[0] in "+-" else "")
    return Outer(
        "syslog", m["host"], f"{m['day']}T{m['hms']}{offset}", _is_kernel(m["tag"]),
        None, None, line[m.end():],
    )  # fmt: skip


def _unix(line: str) -> Outer | None:
    """A journalctl short-unix line, else None."""
    m = UNIX_RE.match(line)
    if m is None:
        return None
    try:
        when = datetime.fromtimestamp(int(m["sec"]), tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
    micro = m["frac"][:6].ljust(6, "0")
    ts = when.replace(microsecond=int(micro)).isoformat(timespec="microseconds")
    return Outer("syslog", m["host"], ts, _is_kernel(m["tag"]), None, None, line[m.end():])


def _dmesg_x(rest: str, kernel: bool, level: int) -> Outer:
    """The line after ``dmesg -x``'s facility and level: dmesg's own time forms follow."""
    inner = parse_outer(rest) if rest[:1] in "[0123456789" else None
    if inner is not None and inner.kind == "dmesg-T":
        return inner._replace(kernel=kernel, level=level)
    return Outer("dmesg-x", None, None, kernel, level, None, rest)


def parse_outer(line: str) -> Outer:
    """Strip the daemon container of *line*; ``kind == "none"`` when there is none."""
    first = line[:1]
    if first.isdigit():
        outer = _rfc3339(line)
        if outer is not None and (outer.kernel or line[19:20] != ","):
            return outer
        iso = DMESG_ISO_RE.match(line)
        if iso is not None:
            stamp = f"{iso['ts']}.{iso['us']}{iso['tz']}"
            return Outer("dmesg-T", None, stamp, True, None, None, line[iso.end():])
        outer = outer or _unix(line) or (_rfc5424(line) if line[1:2] == " " else None)
        if outer is not None:
            return outer
        m = KMSG_RE.match(line)
        if m:
            caller = _KMSG_CALLER_RE.search(m["more"]) if m["more"] else None
            return Outer(
                "kmsg", None, None, True, int(m["pri"]) & 7,
                int(m["usec"]) / 1e6, decode_kmsg_escapes(line[m.end():]),
                caller["ctx"] if caller else None,
            )  # fmt: skip
        return Outer("none", None, None, True, None, None, line)
    if first == "<" or first in "ADFJMNOS":
        m = RFC3164_RE.match(line)
        if m:
            t, host, tag, pri = m.group("t", "host", "tag", "pri")
            if tag != "kernel":
                return Outer("syslog", host, None, False, None, None, "")
            ts = _TIME_CACHE.get(t)
            if ts is None:
                if len(_TIME_CACHE) > 4096:
                    _TIME_CACHE.clear()
                ts = _TIME_CACHE[t] = _rfc3164_time(m["mon"], m["day"], m["hms"], m["frac"])
            return Outer(
                "syslog", host, ts, True, int(pri) & 7 if pri else None, None, line[m.end() :]
            )
        if "kernel" not in line and _RFC3164_HEAD_RE.match(line):
            # another program's syslog line in an unusual shape (``-- MARK --``): not kernel
            return Outer("syslog", None, None, False, None, None, "")
        if first == "<":
            outer = _rfc3339(line) or _rfc5424(line)
            if outer is not None:
                return outer
        elif first in "MFS":
            outer = _full(line)
            if outer is not None:
                return outer
        return Outer("none", None, None, True, None, None, line)
    if first in "TW":
        outer = _full(line)
        if outer is not None:
            return outer
    elif first in "kumdaslncf":
        m = DMESG_X_RE.match(line)
        if m is not None:
            return _dmesg_x(line[m.end():], m["fac"] == "kern", DMESG_LEVELS[m["lvl"]])
    if first == "[":
        m = DMESG_T_RE.match(line) if line[1:2].isalpha() else None
        if m:
            ts = f"{m['year']}-{MONTHS[m['mon']]:02d}-{int(m['day']):02d}T{m['hms']}"
            return Outer("dmesg-T", None, ts, True, None, None, line[m.end():])
        m = MONOTONIC_RE.match(line)
        if m and (m["pid"] is not None or _is_kernel(m["tag"])):
            return Outer(
                "monotonic", m["host"], None, _is_kernel(m["tag"]), None,
                float(m["up"]), line[m.end():],
            )  # fmt: skip
    return Outer("none", None, None, True, None, None, line)


_AFTER_BRACKET = frozenset(" 0123456789TC")


def parse_console(text: str) -> Console:
    """Strip the printk console prefix (level, time, caller id) from *text*.

    As in syzkaller, the ``** N printk messages dropped ** `` and ``… login: `` decorations
    are stripped only together with a printk time that follows them.
    """
    if not text:
        return Console(None, None, None, text)
    original = text
    first = text[0]
    dropped = False
    if first == "*":
        m = _DROPPED_RE.match(text)
        if m:
            text = text[m.end() :]
            first = text[:1]
            dropped = True
    if first == "[":
        m = DELTA_RE.match(text) if text[1:2] == "<" else RELTIME_RE.match(text)
        if m is not None:
            return Console(None, None, None, text[m.end():])
        if text[1:2] not in _AFTER_BRACKET:
            return Console(None, None, None, original)  # "[UFW BLOCK] …": not a printk prefix
    if first not in "<[":
        login = text.find(" login: ", 0, 220)
        if login < 0:
            return Console(None, None, None, original)
        m = CONSOLE_RE.match(text, login + 8)
        if m is None:
            return Console(None, None, None, original)
        lvl = m["lvl"]
        return Console(
            int(lvl) & 7 if lvl is not None else None, float(m["up"]), m["ctx"], text[m.end():]
        )
    m = CONSOLE_RE.match(text)
    if m:
        lvl = m["lvl"]
        return Console(
            int(lvl) & 7 if lvl is not None else None, float(m["up"]), m["ctx"], text[m.end():]
        )
    if dropped:
        return Console(None, None, None, original)
    m = LEVEL_RE.match(text)
    if m:
        rest = text[m.end():]
        c = CALLER_RE.match(rest)
        if c:
            return Console(int(m["lvl"]), None, c["ctx"], rest[c.end():])
        return Console(int(m["lvl"]), None, None, rest)
    m = CALLER_RE.match(text)
    if m:
        return Console(None, None, m["ctx"], text[m.end():])
    return Console(None, None, None, text)


def decode_kmsg_escapes(text: str) -> str:
    r"""Decode /dev/kmsg ``\xNN`` escapes (bytes, then UTF-8 with replacement)."""
    if "\\x" not in text:
        return text
    out = bytearray()
    pos = 0
    for m in _KMSG_ESC_RE.finditer(text):
        out += text[pos:m.start()].encode("utf-8", "surrogateescape")
        out.append(int(m.group(1), 16))
        pos = m.end()
    out += text[pos:].encode("utf-8", "surrogateescape")
    return out.decode("utf-8", "replace")


def is_kmsg_dict_line(line: str) -> bool:
    """Whether *line* is a /dev/kmsg dictionary continuation (`` KEY=value``)."""
    return KMSG_DICT_RE.match(line) is not None
