"""``kmend scan PATH…``: every crash in the logs, one row per distinct signature."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from kmend.cli.common import console_for, emit_json, err_console
from kmend.errors import InputError, UsageError
from kmend.jsonout import Encoded, encode_at
from kmend.logs.journalfile import JournalQuery
from kmend.triage.scan import scan


def register(app: typer.Typer) -> None:
    @app.command("scan")
    def scan_cmd(
        paths: Annotated[
            list[str] | None,
            typer.Argument(help="log files, directories, journal files or - for stdin"),
        ] = None,
        json_out: Annotated[
            bool, typer.Option("--json", help="one JSON document on stdout")
        ] = False,
        journal: Annotated[
            bool, typer.Option("--journal", help="read this machine's systemd journal")
        ] = False,
        boot: Annotated[
            str | None,
            typer.Option("--boot", help="journals: only this boot (0 current, -1 the one before)"),
        ] = None,
        since: Annotated[
            str | None,
            typer.Option("--since", help="journals: only entries since this time"),
        ] = None,
    ) -> int:
        """Find every kernel crash in the logs and fold duplicates across hosts."""
        paths = paths or []
        if not paths and not journal:
            raise UsageError(
                "no path given", "give log files, directories or - for stdin, or --journal"
            )
        if journal and paths:
            raise UsageError("--journal reads this machine's journal: give no paths with it", "")
        query = None
        if journal or boot is not None or since is not None:
            query = JournalQuery(boot, since)
        if query is not None:
            query.check()
        # JSON: one line per field of a report (a scan may find thousands), each report
        # encoded as soon as it is found, while the reader is still busy
        encoded: list[Encoded] = []
        result = scan(
            paths,
            (lambda rep: encoded.append(encode_at(rep, 2, 3))) if json_out else None,
            journal=query,
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
