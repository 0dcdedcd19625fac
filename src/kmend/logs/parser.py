"""Turn numbered text lines into LogLine records: containers stripped, flattening undone.

:class:`LineParser` holds the little state a line needs from its neighbours: the
container of the previous piece of an over-long line, and whether the previous record was
a ``/dev/kmsg`` record (whose dictionary lines, starting with a space, are skipped).
"""

from __future__ import annotations

from dataclasses import replace

from kmend.logs.containers import Outer, is_kmsg_dict_line, parse_console, parse_outer
from kmend.logs.flatten import split_escapes, split_landmarks, split_prefixes, split_stamps
from kmend.logs.journal import JournalEntry, looks_like_json_entry, parse_json_line
from kmend.logs.journaltext import RecordReader
from kmend.logs.lines import Piece
from kmend.logs.model import LogLine
from kmend.logs.paste import WRAPPED, clean_line, continues
from kmend.logs.terminal import TERMINAL_CODES, strip_terminal_codes

#: The longest message line kept, in characters.  The kernel's own lines are at most
#: 1024 bytes (printk's LOG_LINE_MAX is 1024 minus its prefix); anything longer is debris
#: (binary garbage, a runaway line without newlines) and is cut, which the report says.
MAX_TEXT = 1024


class LineParser:
    """Parse the lines of one source in order (call :meth:`reset` after skipping lines)."""

    def __init__(self, source: str, host: str | None = None) -> None:
        self.source = source
        #: the host of lines whose container names none (a per-host directory's name)
        self.host = host
        self._last_outer: Outer | None = None
        self._after_kmsg = False
        #: The previous line's records, held back one line by :meth:`push`: the next line may
        #: be the rest of it, cut by a mail client's hard wrap (``kmend.logs.paste.continues``).
        self._held: list[LogLine] = []
        self._held_raw = ""
        #: journalctl's multi-line records (json-pretty, verbose)
        self._records = RecordReader()

    def reset(self) -> None:
        """Forget neighbour state (the caller skipped some lines; :meth:`flush` first)."""
        self._records.reset()
        self._last_outer = None
        self._after_kmsg = False
        self._held = []
        self._held_raw = ""

    def flush(self) -> list[LogLine]:
        """The records held back for a possible continuation, and those of a journal record
        still open (call at the end of the input)."""
        held, self._held, self._held_raw = self._held, [], ""
        done, given_back = self._records.flush()
        if given_back or done is not None:
            held = list(held)
            for lineno, line in given_back:
                self._parse(held, Piece(lineno, line), line, ())
            if done is not None:
                held += self.feed_entry(*done)
        return held

    def push(self, piece: Piece) -> list[LogLine]:
        """Stream *piece*: the LogLines of the line before it are returned, as each line is
        held back until the next one shows whether it was cut by a hard wrap (then the two
        are one record).  Call :meth:`flush` at the end of the input."""
        out = self.feed(piece)
        held = self._held
        if len(out) == 1 and held and not piece.cont:
            line = out[0]
            if line.uptime is None and line.timestamp is None and line.level is None:
                last = held[-1]
                framed = (
                    last.uptime is not None
                    or last.timestamp is not None
                    or "quote markers" in last.debris
                )
                # a kernel line is at most MAX_TEXT long: a chain of "wrapped" lines never
                # grows past it (re-joining without a bound is quadratic and unbounded)
                fits = len(last.text) + 1 + len(line.text) <= MAX_TEXT
                if fits and continues(self._held_raw, line.text, framed=framed):
                    debris = tuple(dict.fromkeys((*last.debris, *line.debris, WRAPPED)))
                    held[-1] = replace(last, text=f"{last.text} {line.text}", debris=debris)
                    self._held_raw = piece.text
                    return []
        self._held = out
        self._held_raw = piece.text
        return held

    def feed(self, piece: Piece) -> list[LogLine]:
        """The LogLines of one line (or one piece of an over-long line), at once (no hard-wrap
        re-joining: :meth:`push` does that)."""
        out: list[LogLine] = []
        text = piece.text
        debris: tuple[str, ...] = ()
        if "\x1b" in text:
            text = strip_terminal_codes(text)
            debris = (TERMINAL_CODES,)
        if not piece.cont:
            self._last_outer = None
        if self._after_kmsg and text.startswith(" ") and is_kmsg_dict_line(text):
            return out
        self._after_kmsg = False
        records = self._records
        if records.active or records.starts(text):
            taken, done, given_back = records.feed(piece.lineno, text)
            for lineno, line in given_back:  # lines that turned out to be no record
                self._parse(out, Piece(lineno, line), line, ())
            if done is not None:
                out += self.feed_entry(*done)
            if taken:
                return out
        self._parse(out, piece, text, debris)
        return out

    def _parse(self, out: list[LogLine], piece: Piece, text: str, debris: tuple[str, ...]) -> None:
        """Add the LogLines of the line *text* (of *piece*) to *out*."""
        if looks_like_json_entry(text):
            entry = parse_json_line(text)
            if entry is not None:
                out += self.feed_entry(piece.lineno, entry)
                return
        for k, seg in enumerate(split_prefixes(text)):
            outer = parse_outer(seg)
            if outer.kind == "none" or (outer.host and outer.host[-1] == ":"):
                # no container (or a host-less "kernel:" one): maybe pasted text with debris
                cleaned = clean_line(seg)
                if cleaned is not None:
                    rules = (*debris, *cleaned.rules)
                    for line in cleaned.lines:
                        self._segment(out, piece, k, line, parse_outer(line), debris=rules)
                    continue
            # the common case, inline (this loop runs for every line of every log)
            if outer.kind == "none":
                prev = self._last_outer
                if prev is not None and (k > 0 or piece.cont):
                    outer = Outer(
                        prev.kind, prev.host, prev.timestamp, prev.kernel, prev.level,
                        None, seg,
                    )  # fmt: skip
            else:
                self._last_outer = outer
            if outer.kind == "kmsg":
                self._after_kmsg = True
            if outer.kernel:
                self._message(out, piece.lineno, outer, outer.body, escapes=True, debris=debris)

    def _segment(
        self,
        out: list[LogLine],
        piece: Piece,
        k: int,
        seg: str,
        outer: Outer,
        *,
        debris: tuple[str, ...],
    ) -> None:
        """The LogLines of one syslog-prefixed piece *seg* (the *k*-th) of a physical line,
        cleaned of paste debris (the same steps as the common case inline in :meth:`_parse`)."""
        if outer.kind == "none":
            prev = self._last_outer
            if prev is not None and (k > 0 or piece.cont):
                outer = Outer(
                    prev.kind, prev.host, prev.timestamp, prev.kernel, prev.level,
                    None, seg,
                )  # fmt: skip
        else:
            self._last_outer = outer
        if outer.kind == "kmsg":
            self._after_kmsg = True
        if outer.kernel:
            self._message(out, piece.lineno, outer, outer.body, escapes=True, debris=debris)

    def feed_entry(self, lineno: int, entry: JournalEntry) -> list[LogLine]:
        """The LogLines of one journal entry (none unless it is a kernel message)."""
        out: list[LogLine] = []
        if entry.kernel and entry.message is not None:
            outer = Outer(
                "journal", entry.host, entry.timestamp, True, entry.level, entry.uptime,
                entry.message,
            )  # fmt: skip
            for line in entry.message.split("\n"):
                self._message(out, lineno, outer, line, escapes=False, boot=entry.boot)
        return out

    def _message(
        self,
        out: list[LogLine],
        lineno: int,
        outer: Outer,
        body: str,
        *,
        escapes: bool,
        boot: str | None = None,
        debris: tuple[str, ...] = (),
    ) -> None:
        if not escapes:
            frags = [body]
        elif outer.kind == "none":
            frags = body.split("#012") if "#012" in body else [body]
        else:
            frags = split_escapes(body)
        for frag in frags:
            for stamped in split_stamps(frag):
                con = parse_console(stamped)
                context = con.context or outer.context
                level = con.level if con.level is not None else outer.level
                uptime = con.uptime if con.uptime is not None else outer.uptime
                for line in split_landmarks(con.text):
                    cut = 0
                    if len(line) > MAX_TEXT:
                        cut, line = len(line), line[:MAX_TEXT]
                    out.append(LogLine(
                        self.source, lineno, outer.host or self.host, outer.timestamp,
                        context, line,
                        uptime=uptime, level=level, boot=boot, debris=debris, cut=cut,
                    ))  # fmt: skip
