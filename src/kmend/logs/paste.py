"""Debris of pasted text: what mail clients, issue trackers, terminals and log collectors add
around kernel lines, recognised and removed before the line's container is parsed.

Pure functions over one line (:func:`clean_line`) and over two neighbouring lines
(:func:`continues`).  Each rule has a name; the names of the rules that fired travel with the
line (``LogLine.debris``) and end up in the notes of the crash report the line belongs to, so
one mail may quote one report and paste another plainly and each report says what was done to
it.  A line no rule recognises is returned as ``None`` (the common case, and cheap: lines that
start like a printk console line or carry no debris marker are passed over at once).

The rules, at the start of a line (applied repeatedly, in this order):

* markdown code fences (```` ``` ````, ``~~~``) are dropped; backticks and bold markers
  (``**``) around a line removed;
* quote markers ``>``/``> >``/``>>`` of replies;
* shell prompts: ``root@host:~# dmesg | tail`` (a command: dropped), a prompt glued to the
  first console line (``[root@h gpio]# [ 12.3] …``, ``user@host ~ $ [ 186.3] …``: removed);
* line numbers of a quoted ``cat -n`` / ``nl`` (``  247\\t…``, ``11745 [ 4622.1] …``);
* log collectors' prefixes: an Android kernel-log export (``1276.705430:   <1> (01-28
  07:22:33.304698634) ``), a CI clock (``16:56:35 [ 82.6] …``, ``2018/01/09 14:28:48 ``),
  console names (``[guest0/uart0] ``), a console logger's bracketed time
  (``[2026-03-28 22:39:25] [    2.5] …`` of a Xen guest console log, ``[22:22:59:896] `` of a
  serial terminal), a collector's zoned time and syslog facility (``2016-07-31 16:26:53 +0000
  UTC kern.alert kernel: ``), level tags (``INFO:``/``WARN:``/``CRIT:`` before a
  console stamp or a crash line: never read as the kernel's own ``INFO:``), OpenWrt
  ``logread`` prefixes,
  ``dmesg -H`` stamps (``[Mar 8 17:07]``, ``[  +0.000005]``), ``dmesg -T`` stamps in another
  language (``[Mi Okt 12 10:11:12 2022]``: rewritten in English), syslogd wall broadcasts;
* non-breaking and zero-width spaces of text copied from a web page;
* bare ``kernel:`` / `` kernel:[ 1150.9] `` prefixes with no host, and a syslog time with no
  host (``Feb 4 16:15:15 kernel: ``);
* journal and syslog prefixes with a non-English month name (``июл 27 10:11:12 host kernel:``,
  ``Okt``, ``mrt``, ``déc.``, ``ene``…): rewritten with the English name, so that the container
  parser reads the host and the time; other programs' lines in that shape are dropped;
* indentation in front of a console stamp or a syslog prefix;
* a printk stamp whose start was cut off when the paste was selected (``22734.139015] INFO:
  …``, ``0.277424] ACPI …``): the rest of the stamp is removed;
* console lines glued together by terminal-width padding (a long run of blanks, then the next
  line's printk stamp) are cut apart, and a terminal pager's ``[173/1730]`` marker removed;
* console lines run together by a web archive that lost a mail's line breaks (two or more
  console record heads after a blank inside one long line: printk stamps with their six-digit
  fraction, console levels ``<N>`` with or without a stamp) are cut apart before each head;
* another program's output glued before a kernel line on a shared console (``panic: runtime
  e[43204.878510] Kernel panic - ...``): the text before the printk stamp is removed.  Only a
  stamp with its six-digit fraction glued to a word counts: a container puts a blank, ``:``
  or ``>`` before the stamp.

:func:`continues` says when a line is the rest of the line before it, cut by a mail client's
hard wrap at about 72 columns: the kernel's own line grammar must show the cut (a ``CPU:``
line that stops before the kernel release, a frame whose ``[module]`` went to the next line),
or the line before ended near the wrap column and the line itself starts like no kernel line.

Every pattern is linear: no nested or adjacent unbounded quantifiers that can backtrack.
"""

from __future__ import annotations

import datetime
import re
from typing import NamedTuple

from kmend._compat import zip_strict
from kmend.logs.grammar import MON, WEEKDAY

#: Month abbreviations and names of the languages journalctl and syslog print most (lower
#: case, without a trailing dot): Russian, German, French, Spanish, Dutch, Italian,
#: Portuguese, Polish, Ukrainian, Swedish, Czech.
FOREIGN_MONTHS: dict[str, int] = {}
for _num, _names in enumerate(
    (
        "янв jän jan janv ene gen sty січ jan led leden január",
        "фев feb févr fév feb fev lut лют feb úno",
        "мар mär märz mar mars mrt marzo mar bře бер",
        "апр apr avr abr kwi кві dub",
        "май мая mai may mei mag maj тра kvě",
        "июн jun juin jun giu cze чер čen",
        "июл jul juil jul lug lip лип čvc",
        "авг aug août ago sie сер srp",
        "сен sep sept set wrz вер zář",
        "окт okt oct ott out paź жов říj",
        "ноя nov nov lis лис",
        "дек dez déc dic dec gru грудня гру pro",
    ),
    start=1,
):
    for _name in _names.split():
        FOREIGN_MONTHS.setdefault(_name, _num)
_ENGLISH = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_ENGLISH_SET = frozenset(_ENGLISH)

_STAMP = r"\[\s{0,12}\d{1,10}\.\d{0,9}\]"

_FENCE_RE = re.compile(r"\s{0,8}(?:`{3,8}|~{3,8})[\w+.-]{0,32}\s{0,8}$")
_QUOTE_RE = re.compile(r"(?:>[ \t]?)+")
_BACKTICK_RE = re.compile(r"`{1,2}(?!`)")
#: Markdown bold around a line a reporter wanted to point at (``**[ 29.7] BUG: ...**``).  The
#: kernel's own lines that start with stars have a blank after them (``** 5 printk messages
#: dropped **``, ``** replaying previous printk message **``).
_BOLD_RE = re.compile(r"\*\*(?=\S)")
_TRAIL_BOLD_RE = re.compile(r"(?<=\S)\*\*\s{0,8}$")
_TRAIL_BACKTICK_RE = re.compile(r"`{1,3}[\s\"']{0,8}$")
_PROMPT_RE = re.compile(
    r"(?:\[[\w.-]{1,64}@[\w.-]{1,255}(?: [^\]]{0,128})?\][#$]"
    r"|[\w.-]{1,64}@[\w.-]{1,255}:[^\s#$]{0,256}\s?[#$]"
    # Gentoo's default "\u@\h \W \$": the directory after a blank, not a colon
    r"|[\w.-]{1,64}@[\w.-]{1,255} [^\s#$]{1,256} [#$]"
    r"|[#$])\s+"
)
_COMMAND_RE = re.compile(
    r"(?:sudo\s+)?(?:dmesg|journalctl|cat|zcat|xzcat|grep|egrep|zgrep|tail|head|less|more|"
    r"uname|awk|sed|sort|modprobe|insmod|rmmod|echo|python3?|\./)"
)
_LINENO_RE = re.compile(r"\s{0,8}\d{1,7}(?:\t|\s{1,8}(?=" + _STAMP + r"|<\d>))")
#: A line number whose tab became blanks (a quoted ``cat -n`` in a mail): only before a line
#: that starts like a kernel line.
_LINENO_BLANKS_RE = re.compile(r"\s{0,8}\d{1,7} {1,8}")
_ANDROID_RE = re.compile(
    r"\s{0,8}\d{1,10}\.\d{6}:\s{1,8}<\d>\s{1,8}\(\d\d-\d\d \d\d:\d\d:\d\d\.\d{1,9}\)\s"
)
_CLOCK_RE = re.compile(
    r"(?:\d\d:\d\d:\d\d(?:[.,]\d{1,9})?\s{1,4}(?=" + _STAMP + r")"
    r"|\d{4}/\d\d/\d\d \d\d:\d\d:\d\d(?:\.\d{1,9})? )"
)
_LEVEL_TAG_RE = re.compile(
    r"(?:INFO|WARN|WARNING|ERROR|ERR|CRIT|CRITICAL|DEBUG|NOTICE|ALERT|EMERG|FATAL)\s{0,4}:\s{1,4}"
    r"(?=" + _STAMP + r"|<\d>\[|(?:BUG|WARNING|INFO|Oops|Kernel panic|kernel BUG|Kernel BUG"
    r"|Unable to handle|general protection|Internal error|Call Trace|RIP|Code): "
    # an ordinary driver message ("usb 1-1: ...", "e1000e 0000:00:19.0 eth0: ..."): the
    # kernel's own INFO:/WARNING: lines never go on like that
    r"|[a-z][\w-]{1,24}(?: [\w.:-]{1,32}){0,2}: )"
)
#: A console logger's own time in brackets before the line it captured: a date and time
#: (Qubes' and other guest console logs) or a time of day with its fraction (serial terminal
#: programs).  A printk stamp has no "-" or ":" in it, so the two never meet.
_LOGGER_TIME_RE = re.compile(
    r"\[(?:\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[.,:]\d{1,9})?"
    r"|\d\d:\d\d:\d\d[.,:]\d{1,9})\] ?"
)
#: The tail of a printk stamp whose "[" (and maybe some digits) the selection cut off.
_CUT_STAMP_RE = re.compile(r"\d{0,10}\.\d{1,9}\] ?(?=\S)")
#: A printk stamp (with its six-digit fraction) glued to the end of another writer's text on
#: the same console line; and the characters a container puts right before a stamp.
_GLUED_STAMP_RE = re.compile(r"\[\s{0,12}\d{1,10}\.\d{6}\]")
_BEFORE_STAMP = frozenset(" \t:>][(=|")
_CONSOLE_NAME_RE = re.compile(r"\[[A-Za-z][\w.-]{0,31}/[\w.-]{1,32}\] ?")
_DMESG_T_FOREIGN_RE = re.compile(
    r"\[[^\W\d_]{2,4}\.? (?P<mon>[^\W\d_]{3,5})\.? {1,2}(?P<day>\d{1,2}) "
    r"(?P<hms>\d\d:\d\d:\d\d) (?P<year>\d{4})\] ?"
)
_DMESG_H_RE = re.compile(
    r"\[(?:[A-Z][a-z]{2} ?\d{1,2} \d\d:\d\d(?::\d\d)?|\s{0,8}\+\d{1,6}\.\d{6})\] ?"
)
_LOGREAD_RE = re.compile(
    WEEKDAY + " " + MON + r" [ \d]\d \d\d:\d\d:\d\d \d{4} "
    r"(?P<fac>[a-z]{2,8})\.[a-z]{3,7} (?P<tag>[^\s:\[]{1,64})(?:\[\d{1,10}\])?: "
)
#: A log collector's line: a date and time with its zone (Go's time format, ``2016-07-31
#: 16:26:53 +0000 UTC``, as Docker for Mac's VM log writes it), then the syslog facility and
#: level (``kern.alert``) and the tag.  Lines of other tags are other programs' lines.
_ZONED_FACILITY_RE = re.compile(
    r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:\.\d{1,9})?(?: ?(?:Z|[+-]\d\d:?\d\d))?(?: [A-Z]{2,5})? "
    r"[a-z]{2,8}\.(?:emerg|alert|crit|err|warn|warning|notice|info|debug) "
    r"(?P<tag>[^\s:\[]{1,64})(?:\[\d{1,10}\])?: "
)
_WALL_RE = re.compile(r"(?:Broadcast message|Message) from \S{1,255} at .{0,64}\.\.\.\s{0,8}$")
_BARE_KERNEL_RE = re.compile(
    r"\s{0,8}(?:" + MON + r" {1,2}\d{1,2} \d\d:\d\d:\d\d(?:\.\d{1,9})? )?kernel:(?: |(?=\[))"
)
_FOREIGN_RE = re.compile(
    r"(?P<mon>[^\W\d_]{3,6})\.? {1,2}(?P<day>\d{1,2}) (?P<rest>\d\d:\d\d:\d\d(?:\.\d{1,9})? "
    r"[^\s\[\]]{1,255} )(?P<tag>[^\s:\[\]]{1,64})(?:\[\d{1,10}\])?:(?: |$)"
)
_INDENT_RE = re.compile(r"[ \t]{1,64}(?=" + _STAMP + r"|<\d>\[|" + MON + r" [ \d]\d \d\d:)")
#: A run of blanks (matched whole, once: no backtracking into it), and what must follow it.
_BLANK_RUN_RE = re.compile(r" {8,}")
_STAMP_AT_RE = re.compile(r"(?:<\d>)?" + _STAMP)
_PAGER_MARK_RE = re.compile(r"\s{8}\[\d{1,7}/\d{1,7}\]\s{0,8}$")
#: The head of a console record inside a line, after a blank: a printk stamp with the fraction
#: printk prints (six digits), a console level before it or alone ("<1>[ 203.119139] ",
#: "<4>Modules linked in: " of a kernel without printk times): where a web archive that lost
#: a mail's line breaks ran the next console line in.
_INNER_STAMP_RE = re.compile(
    r"(?<= )(?:(?:<\d>)?\[\s{0,12}\d{1,10}\.\d{6}\] |<\d>(?=[A-Za-z*\[]))\S"
)
#: How many inner heads show a run of console lines (one could be prose quoting a stamp).
_RUN_STAMPS = 2
#: Lines shorter than this are never a run of several console lines.
_RUN_MIN = 100

#: How the lines of a report start (after line numbers whose tab became blanks).
_LINE_START_RE = re.compile(
    r"[A-Z][\w -]{0,30}:|Kernel panic|kernel BUG|Kernel BUG|Unable to handle|general protection"
    r"|invalid opcode|-{4,}\[ cut here|---\[ end|={8,}|</?(?:TASK|IRQ|NMI|EOI|SOFTIRQ)>"
    r"|(?:\? )?[A-Za-z_][\w.]{0,127}\+0x[0-9a-f]"
)

#: Characters a line with debris can start with (any other line is passed over at once).
_DEBRIS_FIRST = frozenset("`~>$#*[ \t0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZk")
_STAMP_SECOND = frozenset(" 0123456789")
_CONSOLE_LINE_RE = re.compile(r"(?:<\d{1,3}>)?" + _STAMP + r"(?:\[\s{0,8}[TC]\d{1,10}\])? ?\S")


class Cleaned(NamedTuple):
    """A line with its debris removed: no line (dropped), one, or several (cut apart)."""

    lines: tuple[str, ...]
    rules: tuple[str, ...]


def _foreign_month(text: str) -> tuple[str, str] | None:
    """A syslog/journal prefix with a non-English month: (rewritten line or "", rule)."""
    m = _FOREIGN_RE.match(text)
    if m is None or m["mon"] in _ENGLISH_SET:
        return None
    month = FOREIGN_MONTHS.get(m["mon"].lower())
    if month is None:
        return None
    if m["tag"] != "kernel":
        return "", "other programs' journal lines"
    english = f"{_ENGLISH[month - 1]} {int(m['day']):2d} "
    return english + text[m.start("rest"):], "journal prefix with a non-English month name"


def _foreign_dmesg_t(text: str) -> str | None:
    """A ``dmesg -T`` stamp printed in another language (``[Mi Okt 12 10:11:12 2022]``),
    rewritten in English so that the container parser reads the time."""
    m = _DMESG_T_FOREIGN_RE.match(text)
    if m is None:
        return None
    month = FOREIGN_MONTHS.get(m["mon"].lower())
    if month is None or m["mon"] in _ENGLISH_SET:
        return None
    try:
        day = datetime.date(int(m["year"]), month, int(m["day"]))
    except ValueError:
        return None
    weekday = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[day.weekday()]
    return f"[{weekday} {_ENGLISH[month - 1]} {day.day:2d} {m['hms']} {m['year']}] " + text[
        m.end():
    ]


def _inside(rest: str, closing: re.Pattern[str]) -> str:
    """*rest* (a line after its opening marker) without its closing marker, if any."""
    t = closing.search(rest)
    return rest[: t.start()] if t else rest


def _one_pass(text: str) -> tuple[str | None, str] | None:
    """Apply the first rule that recognises the start of *text*: (new text or None, rule)."""
    first = text[:1]
    if (first in "`~" or first in " \t") and _FENCE_RE.match(text):
        return None, "markdown code fences"
    if first == "`":
        m = _BACKTICK_RE.match(text)
        if m:
            return _inside(text[m.end():], _TRAIL_BACKTICK_RE), "backticks"
    if first == ">":
        return text[_QUOTE_RE.match(text).end():], "quote markers"  # type: ignore[union-attr]
    if first == "*":
        m = _BOLD_RE.match(text)
        if m:
            return _inside(text[m.end():], _TRAIL_BOLD_RE), "markdown bold markers"
    if first in "$#[" or "@" in text[:64]:
        m = _PROMPT_RE.match(text)
        if m:
            rest = text[m.end():]
            if _CONSOLE_LINE_RE.match(rest):
                return rest, "shell prompt"
            if _COMMAND_RE.match(rest):
                return None, "shell prompts and commands"
    if first.isdigit() or first in " \t":
        m = _ANDROID_RE.match(text)
        if m:
            return text[m.end():], "Android kernel log prefix"
        m = _LINENO_RE.match(text)
        if m and not _CONSOLE_LINE_RE.match(text):
            return text[m.end():], "line numbers"
        m = _LINENO_BLANKS_RE.match(text)
        if m and _LINE_START_RE.match(text, m.end()):
            return text[m.end():], "line numbers"
        m = _CLOCK_RE.match(text)
        if m:
            return text[m.end():], "clock prefix"
        m = _ZONED_FACILITY_RE.match(text)
        if m:
            if m["tag"] != "kernel":
                return None, "other programs' log lines"
            return text[m.end():], "log collector prefix with zone and facility"
        m = _CUT_STAMP_RE.match(text)
        if m:
            return text[m.end():], "printk stamp cut at the start"
    if first == "[":
        m = _CONSOLE_NAME_RE.match(text)
        if m:
            return text[m.end():], "console name prefix"
        m = _LOGGER_TIME_RE.match(text)
        if m:
            return text[m.end():], "console logger time prefix"
        m = _DMESG_H_RE.match(text)
        if m:
            return text[m.end():], "dmesg -H stamps"
        stamp = _foreign_dmesg_t(text)
        if stamp is not None:
            return stamp, "dmesg -T stamps with non-English names"
    if first.isupper():
        m = _LEVEL_TAG_RE.match(text)
        if m:
            return text[m.end():], "console collector level tag"
        m = _LOGREAD_RE.match(text)
        if m:
            if m["tag"] != "kernel":
                return None, "other programs' log lines"
            return text[m.end():], "logread prefix"
        if _WALL_RE.match(text):
            return None, "syslogd wall messages"
    if first in "k \tADFJMNOS":
        m = _BARE_KERNEL_RE.match(text)
        if m:
            return text[m.end():], "bare kernel: prefix"
    if first.isalpha():
        got = _foreign_month(text)
        if got is not None:
            new, rule = got
            return (new or None), rule
    if first in " \t":
        m = _INDENT_RE.match(text)
        if m:
            return text[m.end():], "indentation"
    if first not in "[<":
        pos = text.find("[", 1, 256)
        while pos > 0:
            if text[pos - 1] not in _BEFORE_STAMP and _GLUED_STAMP_RE.match(text, pos):
                return text[pos:], "another program's output glued before a kernel line"
            pos = text.find("[", pos + 1, 256)
    return None


def clean_line(text: str) -> Cleaned | None:
    """*text* without its paste debris, or None when it carries none that is known here."""
    if not text:
        return None
    rules: list[str] = []
    if "\xa0" in text or "\u200b" in text or text[0] == "\ufeff":
        # copied from a web page: non-breaking spaces in stamps and indentation
        text = text.replace("\xa0", " ").replace("\u200b", "").lstrip("\ufeff")
        rules.append("non-breaking and zero-width spaces")
        if not text:
            return Cleaned(("",), tuple(rules))
    first = text[0]
    if (
        first == "[" and text[1:2] in _STAMP_SECOND and "+" not in text[:14]
        and text[3:4] != ":" and text[5:6] != "-"
    ):  # printk stamp
        padded = "        " in text or (
            len(text) > _RUN_MIN and (" [" in text[14:] or " <" in text[14:])
        )
        return _clean_tail(text, tuple(rules)) if padded or rules else None
    if first not in _DEBRIS_FIRST and not first.isalpha() and "@" not in text[:64]:
        return _clean_tail(text, tuple(rules))
    if first == "<" and _CONSOLE_LINE_RE.match(text):
        return _clean_tail(text, tuple(rules))
    for _ in range(8):
        got = _one_pass(text)
        if got is None:
            break
        new, rule = got
        if rule not in rules:
            rules.append(rule)
        if new is None:
            return Cleaned((), tuple(rules))
        text = new
    return _clean_tail(text, tuple(rules))


def _clean_tail(text: str, rules: tuple[str, ...]) -> Cleaned | None:
    """Cut lines glued by terminal padding or run together by a lost line break; drop a
    pager's position marker."""
    if len(text) > _RUN_MIN and (" [" in text or " <" in text):
        starts = [m.start() for m in _INNER_STAMP_RE.finditer(text)]
        if len(starts) >= _RUN_STAMPS:
            # a mail archive that lost the line breaks: "... I get: [ 0.973207] CPU 0 Unable
            # to handle kernel paging request ... [ 1.124206] Oops[#1]: [ 1.151460] CPU: 0
            # ..." is cut before each console stamp; what came before the first is its own line
            run = [text[: starts[0]].rstrip()] if text[: starts[0]].strip() else []
            for begin, end in zip_strict(starts, [*starts[1:], len(text)]):
                run.append(text[begin:end].rstrip())
            return Cleaned(tuple(run), (*rules, "line breaks lost by a web archive"))
    if len(text) > 60 and "        " in text:
        tail = len(text) - 48
        m = _PAGER_MARK_RE.search(text, max(0, tail))
        if m:
            text = text[: m.start()].rstrip()
            rules = (*rules, "terminal pager marker")
        cuts = [
            run.start()
            for run in _BLANK_RUN_RE.finditer(text)
            if _STAMP_AT_RE.match(text, run.end())
        ]
        if cuts:
            pieces: list[str] = []
            pos = 0
            for cut in cuts:
                pieces.append(text[pos:cut].rstrip())
                pos = cut
            pieces.append(text[pos:].lstrip())
            return Cleaned(tuple(pieces), (*rules, "lines joined by terminal padding"))
    if not rules:
        return None
    return Cleaned((text,), rules)


# --- hard-wrapped lines ---------------------------------------------------------------------

#: A ``CPU:`` identity line cut before the kernel release (the release then reads as text).
_CPU_CUT_RE = re.compile(
    r"CPU: \d{1,5} (?:UID: \d{1,10} )?PID: \d{1,10} Comm: .{1,64} "
    r"(?:Not tainted|Tainted: [A-Z ]{1,40})$"
)
_RELEASE_START_RE = re.compile(r"\d{1,2}\.\d{1,3}[\w.+~-]{0,64}(?: #| \(|$)")
_FRAME_END_RE = re.compile(r"\+0x[0-9a-f]{1,16}/0x[0-9a-f]{1,16}$")
#: A WARNING line cut after its "at file:line" (the function went to the next line).
_AT_FILE_END_RE = re.compile(r"WARNING: .{0,200} at \S{1,255}:\d{1,6}$")
_FUNC_START_RE = re.compile(r"[A-Za-z_][\w.]{0,127}\+0x[0-9a-f]")
_MODULE_ONLY_RE = re.compile(r"\[[\w-]{1,64}\]$")
#: Fixed wording inside kernel lines that a hard wrap may cut between two of its words: a line
#: ending with the first words of one and the next starting with the rest was cut there,
#: whatever the wrap column (a mailed arm64 report: "<1>[ 203.119139] Unable to handle kernel
#: unknown 43 at virtual" then "address 0001ffff9e2e7d78").  No kernel line starts with the
#: rest of one of these, so the grammar decides alone.
_CUT_PHRASES = (
    "at virtual address",
    "NULL pointer dereference",
    "paging request at",
    "blocked for more than",
)


def _phrase_cuts(phrases: tuple[str, ...]) -> tuple[tuple[re.Pattern[str], re.Pattern[str]], ...]:
    cuts = []
    for phrase in phrases:
        words = phrase.split(" ")
        for i in range(1, len(words)):
            head = re.escape(" ".join(words[:i]))
            tail = re.escape(" ".join(words[i:]))
            cuts.append((re.compile(rf"\s{head}$"), re.compile(rf"{tail}(?:\s|$)")))
    return tuple(cuts)


_PHRASE_CUTS = _phrase_cuts(_CUT_PHRASES)
#: How a kernel line may start: a line that starts like this is never a wrapped remainder.
_KERNEL_START_RE = re.compile(
    r"\s{0,12}(?:\[|<|\? |[A-Z][A-Za-z0-9_]{0,24}:|[RE][A-Z0-9]{1,3}:|---|===|CPU|Call|Code|"
    r"Modules|Hardware|Workqueue|[a-z_][\w.]{0,127}\+0x|\$ ?\d|[a-z]{1,3}\d{0,2}\s{0,2}:|"
    r"[0-9a-f]{4}: |Kernel|kernel|Oops|BUG|WARNING|INFO|Unable|Internal|PC |LR |pc |lr |sp )"
)
WRAP_COLUMN = 72
#: The rule name recorded for re-joined lines.
WRAPPED = "hard-wrapped lines re-joined"


def continues(previous: str, text: str, *, framed: bool) -> bool:
    """Whether *text* is the remainder of *previous*, cut by a hard wrap.

    *previous* is the earlier physical line as pasted (debris included, for its length);
    *text* is the line's message with its debris removed.  Only a line with no container of
    its own can be a remainder: the caller checks that.  The kernel's line grammar decides
    alone (a ``CPU:`` line cut before the release, a frame before its ``[module]``, a WARNING
    line after its ``at file:line``, a fixed phrase cut between its words); the wrap column
    is trusted only when *framed*: the line before had a container or a quote marker that
    this one lacks (in a bare paste every line looks like that).
    """
    if not text or not previous:
        return False
    body = previous.rstrip()
    if _CPU_CUT_RE.search(body) and _RELEASE_START_RE.match(text):
        return True
    if _FRAME_END_RE.search(body) and _MODULE_ONLY_RE.match(text.strip()):
        return True
    if _AT_FILE_END_RE.search(body) and _FUNC_START_RE.match(text):
        return True
    if any(head.search(body) and tail.match(text) for head, tail in _PHRASE_CUTS):
        return True
    if not framed or text[0] in " \t" or _KERNEL_START_RE.match(text):
        return False
    n = len(previous)
    if n > 80:
        return False
    word = text.split(" ", 1)[0]
    return n + 1 + len(word) > WRAP_COLUMN
