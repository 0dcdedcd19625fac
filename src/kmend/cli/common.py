"""Helpers shared by the verb modules: consoles and JSON output."""

from __future__ import annotations

import os
import sys
from typing import Any

from rich.console import Console

from kmend.report.jsonout import dumps

#: Width for text that is not going to a terminal (a file, a pipe, a CI log): wide enough
#: that tables keep one row per line; a terminal's own width wins.
PIPE_WIDTH = 160


def _console(stream: Any, *, stderr: bool) -> Console:
    """A console that writes to whatever sys.stdout/sys.stderr is at print time (so tests
    capturing them see the text); only its width is decided now."""
    tty = getattr(stream, "isatty", lambda: False)()
    wide = not tty and "COLUMNS" not in os.environ
    return Console(stderr=stderr, highlight=False, width=PIPE_WIDTH if wide else None)


#: Human text and progress go to stderr when --json is given, so stdout is one document.
err_console = _console(sys.stderr, stderr=True)
out_console = _console(sys.stdout, stderr=False)


def console_for(json_mode: bool) -> Console:
    return err_console if json_mode else out_console


def emit_json(obj: Any, *, flat_below: int | None = None) -> None:
    sys.stdout.write(dumps(obj, flat_below=flat_below) + "\n")
    sys.stdout.flush()
