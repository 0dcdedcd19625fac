"""journalctl's multi-line text records: ``-o json-pretty`` objects and ``-o verbose`` entries.

Both spread one journal entry over many lines, so neither a line nor the line parser's
one-line containers can read them; :class:`RecordReader` gathers a record's lines and
gives the entry when the record ends.

* json-pretty: a line ``{``, one ``<TAB>"FIELD" : value,`` line per field (an array value
  ``[`` then one ``<TAB><TAB>item`` line per item and ``<TAB>]``), a line ``}``.  A ``{``
  followed by a line of another form (a pasted C block) is no record: its lines are given
  back and read as ordinary lines.
* verbose: a head line ``Wed 2026-12-23 00:51:38.000001 UTC [s=…;i=…;b=BOOT;m=MONO;
  t=REALTIME;x=…]`` (b: the boot id; m and t: the monotonic and wall-clock times in µs,
  hexadecimal), then one ``    FIELD=value`` line per field, indented by four spaces.

A record is bounded (``MAX_RECORD_LINES`` lines, ``MAX_RECORD_CHARS`` characters): the lines
of a longer json-pretty one are given back and read as ordinary lines; a longer verbose one
is dropped (its ``FIELD=value`` lines are no kernel lines).
"""

from __future__ import annotations

import json
import re

from kmend.logs.grammar import WEEKDAY
from kmend.logs.journal import JournalEntry, entry_from_fields

MAX_RECORD_LINES = 4096
MAX_RECORD_CHARS = 1 << 20

_VERBOSE_HEAD_RE = re.compile(
    WEEKDAY + r" \d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d{1,9})? \S{1,8} "
    r"\[s=[0-9a-f]{1,64};i=[0-9a-f]{1,16};b=(?P<boot>[0-9a-f]{32});m=(?P<mono>[0-9a-f]{1,16});"
    r"t=(?P<real>[0-9a-f]{1,16});x=[0-9a-f]{1,16}\]$"
)
#: A field line of a json-pretty object (a tab, ``"KEY" : ``); an array's items (two tabs)
#: and its end (``<TAB>]``) only after a field line that opens one (ends with ``[``).
_JSON_FIELD_RE = re.compile(r'\t"[A-Za-z0-9_]{1,64}" : ')
_JSON_ITEM_RE = re.compile(r"\t(?:\t|\])")
_VERBOSE_FIELD_RE = re.compile(r"    (?P<key>[A-Z_][A-Z0-9_]{0,63})=(?P<value>.*)$")


class RecordReader:
    """Gather the lines of multi-line journal records, one line at a time."""

    def __init__(self) -> None:
        self._kind: str | None = None  # "json" or "verbose" while inside a record
        self._lines: list[tuple[int, str]] = []  # a json-pretty record's lines so far
        self._in_array = False
        self._fields: dict[str, str] = {}
        self._chars = 0
        self.lineno = 0  # the line of the record's MESSAGE (its first line until then)

    @property
    def active(self) -> bool:
        """Whether a record is open (the next line is offered to :meth:`feed`)."""
        return self._kind is not None

    def reset(self) -> None:
        self._kind = None
        self._lines = []
        self._in_array = False
        self._fields = {}
        self._chars = 0

    @staticmethod
    def starts(text: str) -> bool:
        """Whether *text* may open a record (a cheap test first: called for every line)."""
        if text == "{":
            return True
        return text[:1] in "MTWFS" and "[s=" in text and _VERBOSE_HEAD_RE.match(text) is not None

    def feed(
        self, lineno: int, text: str
    ) -> tuple[bool, tuple[int, JournalEntry] | None, list[tuple[int, str]]]:
        """Whether *text* (line *lineno*) belongs to a record; the entry (and the line of its
        MESSAGE) of a record it ended; the lines (number, text) of a record it showed to be
        none, to be read as ordinary lines before it.  A verbose record ends at the next
        head line or at a line of another form; that line is then not taken unless it is a
        head."""
        if self._kind == "json":
            return self._json_line(lineno, text)
        done: tuple[int, JournalEntry] | None = None
        if self._kind == "verbose":
            m = _VERBOSE_FIELD_RE.match(text)
            if m is not None and self._grow(text):
                key = m["key"]
                if key == "MESSAGE":
                    self.lineno = lineno
                self._fields.setdefault(key, m["value"])
                return True, None, []
            done = self._verbose_entry()
        if text == "{":
            self._kind, self._lines, self._chars = "json", [(lineno, text)], 1
            self.lineno = lineno
            return True, done, []
        m = _VERBOSE_HEAD_RE.match(text) if text[:1] in "MTWFS" else None
        if m is not None:
            self._kind, self._chars, self.lineno = "verbose", len(text), lineno
            self._fields = {"_BOOT_ID": m["boot"], "__REALTIME_TIMESTAMP": str(int(m["real"], 16))}
            return True, done, []
        return False, done, []

    def flush(self) -> tuple[tuple[int, JournalEntry] | None, list[tuple[int, str]]]:
        """At the end of the input (or before a gap): the entry of a verbose record still
        open, and the lines of an unfinished json-pretty one, given back."""
        if self._kind == "json":
            return None, self._give_back()
        entry = self._verbose_entry() if self._kind == "verbose" else None
        self.reset()
        return entry, []

    def _grow(self, text: str) -> bool:
        """Count *text* in the record: False when the record is now over its bounds (a
        verbose one is then dropped; the caller gives a json-pretty one's lines back)."""
        self._chars += len(text)
        lines = len(self._lines) + len(self._fields)
        if self._chars > MAX_RECORD_CHARS or lines > MAX_RECORD_LINES:
            if self._kind == "verbose":
                self.reset()
            return False
        return True

    def _verbose_entry(self) -> tuple[int, JournalEntry] | None:
        fields, at = self._fields, self.lineno
        self.reset()
        return (at, entry_from_fields(fields)) if "MESSAGE" in fields else None

    def _json_line(
        self, lineno: int, text: str
    ) -> tuple[bool, tuple[int, JournalEntry] | None, list[tuple[int, str]]]:
        if self._in_array:
            fits = _JSON_ITEM_RE.match(text) is not None
            self._in_array = not text.startswith("\t]")
        else:
            fits = text == "}" or _JSON_FIELD_RE.match(text) is not None
            self._in_array = fits and text.endswith("[")
        if not fits:
            return False, None, self._give_back()  # a "{" of something else: not a record
        self._lines.append((lineno, text))
        if not self._grow(text):
            return True, None, self._give_back()
        if text.startswith('\t"MESSAGE"'):
            self.lineno = lineno
        if text != "}":
            return True, None, []
        body = "\n".join(line for _, line in self._lines)
        try:
            obj = json.loads(body)
        except (ValueError, RecursionError):
            return True, None, self._give_back()
        at = self.lineno
        self.reset()
        return True, ((at, entry_from_fields(obj)) if isinstance(obj, dict) else None), []

    def _give_back(self) -> list[tuple[int, str]]:
        lines = self._lines
        self.reset()
        return lines
