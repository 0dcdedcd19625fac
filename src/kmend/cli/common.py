"""Helpers shared by the verb modules: consoles and JSON output."""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console

from kmend.report.jsonout import dumps

#: Human text and progress go to stderr when --json is given, so stdout is one document.
err_console = Console(stderr=True, highlight=False)
out_console = Console(highlight=False)


def console_for(json_mode: bool) -> Console:
    return err_console if json_mode else out_console


def emit_json(obj: Any) -> None:
    sys.stdout.write(dumps(obj) + "\n")
    sys.stdout.flush()
