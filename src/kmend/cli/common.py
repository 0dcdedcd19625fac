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


def _console(stream: Any) -> Console:
    tty = getattr(stream, "isatty", lambda: False)()
    return Console(
        file=stream, highlight=False, width=None if tty or "COLUMNS" in os.environ else PIPE_WIDTH
    )


#: Human text and progress go to stderr when --json is given, so stdout is one document.
err_console = _console(sys.stderr)
out_console = _console(sys.stdout)


def console_for(json_mode: bool) -> Console:
    return err_console if json_mode else out_console


def emit_json(obj: Any) -> None:
    sys.stdout.write(dumps(obj) + "\n")
    sys.stdout.flush()
