"""The syslog prefix grammar, written once.

A syslog line is ``[<PRI>]TIME HOST TAG[PID]: message``: TIME is RFC3164's ``Dec  3
00:51:38`` (journalctl short; short-precise adds a fraction) or RFC3339's
``2026-11-26T03:04:05.123456+00:00`` (rsyslog, journalctl short-iso; a space may stand for
the ``T``, a comma for the dot, and the zone may be missing).  ``kmend.logs.containers``
parses prefixes with these pieces; ``flatten`` cuts a flattened line before each prefix;
the prefilter finds kernel lines and their hosts in raw blocks (the bytes form, :func:`b`);
``lines`` and ``when`` look for stamps; ``paste`` recognises collectors' forms around them.

The pieces carry named groups for the parser; :func:`plain` makes them non-capturing for
a pattern that only finds or cuts.
"""

from __future__ import annotations

import re

MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MONTHS = {name: number for number, name in enumerate(MONTH_NAMES, 1)}
MON = "(?:" + "|".join(MONTH_NAMES) + ")"
WEEKDAY = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"

#: ``<PRI>`` of a forwarded syslog message (RSYSLOG_TraditionalForwardFormat).
PRI = r"(?:<(?P<pri>\d{1,3})>)?"
#: ``Dec  3 00:51:38[.123456]`` (the day space-padded or not).
RFC3164_TIME = (
    rf"(?P<t>(?P<mon>{MON}) (?P<day>[ \d]?\d) (?P<hms>\d\d:\d\d:\d\d)(?P<frac>\.\d{{1,9}})?)"
)
#: ``2026-11-26T03:04:05.123456+00:00`` (``T`` or a space, ``.`` or ``,``, zone optional).
RFC3339_TIME = (
    r"(?P<ts>\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d{1,9})?)(?P<tz>Z|[+-]\d\d:?\d\d)?"
)
HOST = r"(?P<host>[^\s\[\]]{1,255})"
#: ``tag[pid]: `` (or the tag's colon ending the line).
TAG = r"(?P<tag>[^\s:\[\]]{1,64})(?:\[(?P<pid>\d{1,10})\])?:(?: |$)"

_NAMED = re.compile(r"\(\?P<\w+>")


def plain(fragment: str) -> str:
    """*fragment* with its named groups made non-capturing."""
    return _NAMED.sub("(?:", fragment)


def b(fragment: str) -> bytes:
    """The bytes form of *fragment*, for patterns that search raw blocks."""
    return fragment.encode("ascii")


#: Either time, without groups.
TIME = plain(f"(?:{RFC3164_TIME}|{RFC3339_TIME})")
#: A whole prefix of any program's line, without groups.
PREFIX = plain(PRI) + TIME + " " + plain(HOST) + " " + plain(TAG)
