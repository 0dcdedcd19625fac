"""``kmend scan PATH…``: every crash in the logs, one row per distinct signature."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from kmend.cli.common import console_for, err_console
from kmend.errors import InputError, UsageError
from kmend.jsonout import encode_at
from kmend.oops import CrashReport
from kmend.triage.scan import scan


class _JsonStream:
    """``{"reports": [...], "groups": [...]}`` written as the reports are decoded: one
    line per field of a report, each report written and forgotten (memory stays flat)."""

    def __init__(self) -> None:
        self.count = 0
        sys.stdout.write('{\n  "reports": [')

    def report(self, rep: CrashReport) -> None:
        sys.stdout.write(("," if self.count else "") + "\n    " + encode_at(rep, 2, 3))
        self.count += 1

    def finish(self, groups: object) -> None:
        close = "\n  ]" if self.count else "]"
        sys.stdout.write(close + ',\n  "groups": ' + encode_at(groups, 1, 3) + "\n}\n")
        sys.stdout.flush()


def register(app: typer.Typer) -> None:
    @app.command("scan")
    def scan_cmd(
        paths: Annotated[list[str], typer.Argument(help="log files, directories or - for stdin")],
        json_out: Annotated[
            bool, typer.Option("--json", help="one JSON document on stdout")
        ] = False,
    ) -> int:
        """Find every kernel crash in the logs and fold duplicates across hosts."""
        if not paths:
            raise UsageError("no path given", "give log files, directories or - for stdin")
        stream = _JsonStream() if json_out else None
        result = scan(paths, stream.report if stream else None, keep=False)
        for warning in result.warnings:
            print(f"kmend: warning: {warning}", file=sys.stderr)
        for err in result.errors:
            print(f"kmend: error: {err}", file=sys.stderr)
        if stream is not None:
            stream.finish(result.groups)
        else:
            from kmend.report.crash_text import render_groups  # rich tables: only here

            render_groups(console_for(False), result.groups, result.count)
        if result.errors:
            err_console.print(f"{len(result.errors)} path(s) could not be read")
            return InputError.exit_code
        return 0
