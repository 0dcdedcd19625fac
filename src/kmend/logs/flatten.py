"""Re-split "flattened" log lines: many messages pasted or escaped onto one line.

Three independent steps, all pure functions over text:

* :func:`split_prefixes` cuts a physical line before every further syslog prefix
  (``Dec 23 00:51:38 host kernel: ``, RFC3339 ones) that follows whitespace;
* :func:`split_escapes` cuts a message at rsyslog's ``#012``/``\\012`` and literal ``\\n``
  escapes (and turns ``#011`` into a tab);
* :func:`split_stamps` cuts a console text at repeated printk ``[  12.345678]`` stamps;
* :func:`split_landmarks` cuts a text that lost all prefixes at the landmarks of a kernel
  report (``Modules linked in:``, ``RIP:``, ``Call Trace:``, frames, ``Code:`` …), but only
  when it finds at least two of them in the middle of the text, so ordinary lines that
  merely mention one of these words stay whole.

rsyslog escapes control characters as ``#NNN`` (octal: ``#012`` is a newline,
``#011`` a tab) when $EscapeControlCharactersOnReceive is on, its default.
"""

from __future__ import annotations

import re

from kmend.logs.grammar import PREFIX

#: A syslog prefix somewhere after the start of a line, preceded by whitespace.
#:
#: Linear time: a cut is a whole run of whitespace that starts after a non-space (or at
#: position 1 of a line that starts with whitespace), so a run is tried once, from its
#: start; giving back its spaces one by one costs one failed lookahead each (the text
#: after a space is a space, not a prefix).  The naive ``\s+(?=…)`` tries every suffix of
#: a run: a line of 20,000 spaces took 10 s.  (No possessive ``++``: fleet hosts run
#: these libraries with Python 3.9.)
_RUN_START = r"(?:(?<!\s)|(?<=^\s))\s+"
MID_PREFIX_RE = re.compile(_RUN_START + "(?=" + PREFIX + ")")
#: Cheap pre-check for MID_PREFIX_RE: a time of day after the first prefix's.
_MID_TIME_RE = re.compile(r":\d\d:\d\d[ .,+Z-]")
_ESCAPE_RE = re.compile(r"#012|\\012|\\n")
_STAMP = r"(?:<\d{1,3}>)?\[\s{0,16}\d{1,10}\.\d{6,9}\](?:\[\s{0,16}[TC]\d{1,10}\])? "
#: A printk stamp after whitespace (linear, as MID_PREFIX_RE).
_STAMP_MID_RE = re.compile(_RUN_START + "(?=" + _STAMP + ")")
_STAMP_START_RE = re.compile(r"(?:<\d{1,3}>)?\[\s*\d{1,10}\.\d{6,9}\]")


def split_prefixes(line: str) -> list[str]:
    """Cut *line* before every syslog prefix that follows whitespace."""
    if len(line) < 40 or _MID_TIME_RE.search(line, 20) is None:
        return [line]
    pieces: list[str] = []
    pos = 0
    for m in MID_PREFIX_RE.finditer(line, 1):
        pieces.append(line[pos:m.start()])
        pos = m.end()
    if not pieces:
        return [line]
    pieces.append(line[pos:])
    return pieces


def split_escapes(text: str) -> list[str]:
    """Cut *text* at ``#012``, ``\\012`` and literal ``\\n``; ``#011``/``\\011`` become tabs."""
    hash_ = "#" in text
    backslash = "\\" in text
    if not hash_ and not backslash:
        return [text]
    if "#011" in text or "\\011" in text:
        text = text.replace("#011", "\t").replace("\\011", "\t")
    if not backslash and "#012" not in text:
        return [text]
    parts = _ESCAPE_RE.split(text)
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()
    return parts


def split_stamps(text: str) -> list[str]:
    """Cut a console text that starts with a printk stamp at every further stamp.

    Only a line with at least three stamps counts as flattened: two stamps on one line
    are how the console shows interleaved or continued (pr_cont) output, which syzkaller
    keeps as one line.
    """
    # every stamp ends in "] ": fewer than three of them, and the line is not flattened
    if len(text) < 60 or text[0] not in "<[" or text.count("] ") < 3:
        return [text]
    if not _STAMP_START_RE.match(text):
        return [text]
    cuts = list(_STAMP_MID_RE.finditer(text, 1))
    if len(cuts) < 2:
        return [text]
    pieces: list[str] = []
    pos = 0
    for m in cuts:
        pieces.append(text[pos:m.start()])
        pos = m.end()
    pieces.append(text[pos:])
    return pieces


# --- report landmarks ---------------------------------------------------------------------

_FRAME_TAIL = r"\+0x[0-9a-f]+/0x[0-9a-f]+"
_LANDMARK_RE = re.compile(
    r"(?<=\s)(?:"
    r"(?P<cut>-{4,}\[ cut here \]-{4,})"
    r"|(?P<end>---\[ end [^\]\n]{0,300}\]---)"
    r"|(?P<cpu>CPU: \d+ (?:UID: \d+ )?PID: \d+)"
    r"|(?P<oframe>(?:\? )?\[<[0-9a-f]{8,16}>\] (?:\? )?[\w.$]+" + _FRAME_TAIL + r")"
    r"|(?P<frame>(?:\? )?[A-Za-z_][\w.$]*" + _FRAME_TAIL + r")"
    r"|(?P<gpf>general protection fault)"
    r"|(?P<marker></?(?:TASK|IRQ|NMI|EOI|SOFTIRQ)>)"
    r"|(?P<mark>"
    r"kernel BUG at |invalid opcode: |Modules linked in:|Hardware name: |Call Trace:|Stack:"
    r"|BUG: |WARNING: |Oops: |#PF: |Workqueue: |Kernel panic - not syncing|Kernel Offset: "
    r"|Pid: \d+, comm: |Process \S+ \(pid: \d+|task: [0-9a-f]{8,16} "
    r"|[RE]IP: [0-9a-f]{4}:|RIP {1,2}\[<|RSP: [0-9a-f]{4}:|RSP <[0-9a-f]+>"
    r"|(?:RAX|RDX|RBP|R10|R13|EAX|ESI): [0-9a-f]{4,16} "
    r"|FS: {1,2}[0-9a-f]{8,16}|CS: {1,2}[0-9a-f]{4} |CR2: [0-9a-f]{8,16} |DR[03]: [0-9a-f]{8,16} "
    r"|PKRU: [0-9a-f]{8}|Code: (?:[0-9a-f<(]|Bad RIP|Unable)"
    r"))"
)
_FRAME_END_RE = re.compile(_FRAME_TAIL + r"(?:\(\))?(?: \[[\w.\-]+\])?$")
_BEFORE_FRAME_OK = ("Call Trace:", "<TASK>", "<IRQ>", "</IRQ>", "<NMI>", "</NMI>", "<EOI>",
                    "<SOFTIRQ>", "</SOFTIRQ>")  # fmt: skip
_HEXWORD_RE = re.compile(r"[0-9a-f]{8,16}")


def _accept(kind: str, text: str, start: int, end: int) -> bool:
    """Whether a landmark of *kind* at *end* may start a new line after the segment
    ``text[start:end]``.  Only the segment's ends are looked at (a segment grows while
    landmarks are refused: copying it each time would be quadratic)."""
    while end > start and text[end - 1].isspace():
        end -= 1
    tail = text[max(start, end - 1024) : end]
    if kind in ("oframe", "frame"):
        if text.startswith(("RIP", "EIP", "PC is at", "LR is at", "pc :", "lr :"), start, end):
            return False
        return tail.endswith(_BEFORE_FRAME_OK) or _FRAME_END_RE.search(tail) is not None
    if kind == "cpu":
        return not tail.endswith("WARNING:")
    if kind == "gpf":
        return not tail.endswith(("Oops:", "]"))
    return True


def _split_stack_words(segment: str) -> list[str]:
    """``Stack: w1 … w12`` (flattened) → ``Stack:`` and the hex words four per line."""
    words = segment.split()
    if len(words) <= 1 or not all(_HEXWORD_RE.fullmatch(w) for w in words[1:]):
        return [segment]
    rest = words[1:]
    return ["Stack:"] + [" ".join(rest[i:i + 4]) for i in range(0, len(rest), 4)]


def split_landmarks(text: str) -> list[str]:
    """Cut a report that lost its line prefixes at the kernel's report landmarks.

    Returns ``[text]`` unless at least two landmarks were found in the middle of *text*.
    """
    if len(text) < 60:
        return [text]
    hints = text.count(": ")
    if hints < 3 and "+" in text:
        hints += text.count("+0x")
    if hints < 3 and "[" in text:
        hints += text.count("[<")
    if hints < 3:
        return [text]
    cuts: list[int] = []
    seg_start = 0
    for m in _LANDMARK_RE.finditer(text):
        kind = m.lastgroup or "mark"
        if _accept(kind, text, seg_start, m.start()):
            cuts.append(m.start())
            seg_start = m.start()
    if len(cuts) < 2:
        return [text]
    pieces: list[str] = []
    pos = 0
    for cut in cuts:
        pieces.append(text[pos:cut].rstrip())
        pos = cut
    pieces.append(text[pos:])
    out: list[str] = []
    for piece in pieces:
        if piece.startswith("Stack: "):
            out.extend(_split_stack_words(piece))
        elif piece:
            out.append(piece)
    return out
