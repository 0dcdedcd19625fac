"""Helpers shared by the verb modules: consoles and JSON output.

Rich is imported when a console is first used: a verb that prints plain lines to a pipe
(``kmend check`` in a script) never needs it (:func:`say`).
"""

from __future__ import annotations

import os
import sys
from typing import IO, TYPE_CHECKING, Any, TextIO

from kmend.jsonout import dumps

if TYPE_CHECKING:
    from rich.console import Console

    #: Human text and progress go to stderr when --json is given, so stdout is one
    #: document.  (Created on first use, see __getattr__.)
    err_console: Console
    out_console: Console

#: Width for text that is not going to a terminal (a file, a pipe, a CI log): wide enough
#: that tables keep one row per line; a terminal's own width wins.
PIPE_WIDTH = 160


def stream_gone(stream: Any) -> None:
    """The reader of *stream* went away (``kmend doctor | head -1``): the rest of the
    text goes to /dev/null and the verb carries on, so its exit code is still its own (a
    verdict, a failure) and no work is left half done (a backport stopped at its first
    probe line, and said 0)."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def _console(stream: Any, *, stderr: bool) -> Console:
    """A console that writes to whatever sys.stdout/sys.stderr is at print time (so tests
    capturing them see the text); only its width is decided now."""
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            self.quiet = True
            stream_gone(sys.stderr if self.stderr else sys.stdout)

    tty = getattr(stream, "isatty", lambda: False)()
    wide = not tty and "COLUMNS" not in os.environ
    # NO_COLOR (no-color.org): Rich alone would drop colours but keep bold and underline;
    # no colour system at all means no escape codes.
    if os.environ.get("NO_COLOR"):
        return _Console(stderr=stderr, highlight=False, width=PIPE_WIDTH if wide else None,
                        color_system=None)
    return _Console(stderr=stderr, highlight=False, width=PIPE_WIDTH if wide else None)


_CONSOLES: dict[str, Console] = {}


def __getattr__(name: str) -> Console:
    """``err_console`` and ``out_console``, created (and Rich imported) on first use."""
    if name not in ("err_console", "out_console"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if name not in _CONSOLES:
        stderr = name == "err_console"
        _CONSOLES[name] = _console(sys.stderr if stderr else sys.stdout, stderr=stderr)
    return _CONSOLES[name]


def console_for(json_mode: bool) -> Console:
    return __getattr__("err_console" if json_mode else "out_console")


def plain_stream(json_mode: bool) -> TextIO | None:
    """The stream :func:`console_for` writes to, when its text would carry no colour
    anyway: NO_COLOR, or not a terminal (unless FORCE_COLOR or TTY_COMPATIBLE asks Rich
    to treat it as one).  None when colour is possible: then print through the console."""
    stream = sys.stderr if json_mode else sys.stdout
    if os.environ.get("NO_COLOR"):
        return stream
    if "FORCE_COLOR" in os.environ or "TTY_COMPATIBLE" in os.environ:
        return None
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    return None if tty else stream


def say(json_mode: bool, line: str, word: str | None = None) -> None:
    """:func:`print_verdict` on :func:`console_for`'s console, without creating one (nor
    importing Rich) when the line would be printed without colour."""
    stream = plain_stream(json_mode)
    if stream is not None:
        _write_line(stream, line)
    else:
        print_verdict(console_for(json_mode), line, word)


class Lines:
    """:func:`say` for many lines: written in blocks when they go plain to a pipe or a
    file (a kernel tree is thousands of lines), else one by one through the console.
    Use as a context manager (the last block is written at the end)."""

    BLOCK = 256

    def __init__(self, json_mode: bool) -> None:
        self.json_mode = json_mode
        self.stream = plain_stream(json_mode)
        self.pending: list[str] = []

    def say(self, line: str, word: str | None = None) -> None:
        if self.stream is None:
            print_verdict(console_for(self.json_mode), line, word)
            return
        self.pending.append(line)
        if len(self.pending) >= self.BLOCK:
            self.flush()

    def flush(self) -> None:
        if self.stream is not None and self.pending:
            block, self.pending = "\n".join(self.pending), []
            _write_line(self.stream, block)

    def __enter__(self) -> Lines:
        return self

    def __exit__(self, *exc: object) -> None:
        self.flush()


def _write_line(stream: IO[str], line: str) -> None:
    try:
        stream.write(line + "\n")
    except BrokenPipeError:
        stream_gone(stream)


#: Whether a verb has begun its JSON document on stdout (a one-slot list): an error after
#: that point is not written as a second document (the verb's own document says it).
DOCUMENT_STARTED = [False]


def write_stdout(text: str) -> None:
    """Write to stdout; after the reader went away, to /dev/null (:func:`stream_gone`)."""
    DOCUMENT_STARTED[0] = True
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        stream_gone(sys.stdout)


def emit_json(obj: Any, *, flat_below: int | None = None) -> None:
    write_stdout(dumps(obj, flat_below=flat_below) + "\n")


def emit_error_json(code: int, kind: str, message: str, hint: str) -> None:
    """The --json error document: stdout holds one document also when a verb fails."""
    if DOCUMENT_STARTED[0]:
        return
    write_stdout(
        dumps({"error": {"code": code, "kind": kind, "message": message, "hint": hint}}) + "\n"
    )


#: Verdict words and their colours.  Rich prints no colour when the stream is not a
#: terminal or NO_COLOR is set, so pipes and files get the plain words.
VERDICT_STYLES = {"LOADS": "bold green", "LOADED": "bold green", "REFUSED": "bold red",
                  "ERROR": "bold red", "healthy": "bold green", "unhealthy": "bold red",
                  "active": "green", "INACTIVE": "bold red"}


def print_verdict(console: Console, line: str, word: str | None = None) -> None:
    """Print *line* as plain text with *word* (a verdict, see VERDICT_STYLES) coloured
    where it first appears after the line's first ": " (before it: names)."""
    if word is None:
        print_parts(console, (line, None))
        return
    sep = line.find(": ")
    at = line.find(word, sep + 1 if sep >= 0 else 0)
    if at < 0:
        print_parts(console, (line, None))
        return
    print_parts(console, (line[:at], None), (word, VERDICT_STYLES[word]),
                (line[at + len(word):], None))


def print_parts(console: Console, *parts: tuple[str, str | None]) -> None:
    """Print one line made of (text, Rich style or None) parts; the text is never read
    as markup.  Without colour (a pipe, a file, NO_COLOR) the plain text is written
    directly, without Rich's rendering cost (thousands of lines for a kernel tree)."""
    line = "".join(text for text, _style in parts)
    if console.color_system is None or console.no_color:
        _write_line(console.file, line)
        return
    from rich.text import Text

    out = Text()
    for text, style in parts:
        out.append(text, style=style)
    console.print(out, highlight=False, soft_wrap=True)
