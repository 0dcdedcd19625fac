"""``kmend scan PATH…``: every crash in the logs, one row per distinct signature."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from kmend.cli.common import console_for, emit_json, err_console
from kmend.errors import InputError, UsageError
from kmend.jsonout import Encoded, encode_at
from kmend.triage.scan import scan


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
        # JSON: one line per field of a report (a scan may find thousands), each report
        # encoded as soon as it is found, while the reader is still busy
        encoded: list[Encoded] = []
        result = scan(
            paths, (lambda rep: encoded.append(encode_at(rep, 2, 3))) if json_out else None
        )
        for err in result.errors:
            print(f"kmend: error: {err}", file=sys.stderr)
        if json_out:
            emit_json({"reports": encoded, "groups": result.groups}, flat_below=3)
        else:
            from kmend.report.crash_text import render_groups  # rich tables: only here

            render_groups(console_for(False), result.groups, len(result.reports))
        if result.errors:
            err_console.print(f"{len(result.errors)} path(s) could not be read")
            return InputError.exit_code
        return 0
