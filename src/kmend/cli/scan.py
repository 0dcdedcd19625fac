"""``kmend scan PATH…``: every crash in the logs, one row per distinct signature."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from kmend.cli.common import console_for, err_console, write_stdout
from kmend.errors import InputError, UsageError
from kmend.jsonout import RecordWriter, encode_at
from kmend.logs.journalfile import JournalQuery
from kmend.oops import CrashReport
from kmend.triage.scan import scan


class _JsonStream:
    """``{"reports": [...], "groups": [...]}`` written as the reports are decoded: one
    line per field of a report, each report written and forgotten (memory stays flat)."""

    def __init__(self) -> None:
        self.count = 0
        self._encode = RecordWriter(2)
        write_stdout('{\n  "reports": [')

    def report(self, rep: CrashReport) -> None:
        write_stdout(("," if self.count else "") + "\n    " + self._encode(rep))
        self.count += 1

    def finish(self, groups: object, error: dict[str, object] | None = None) -> None:
        """The groups, and the error object every verb's --json document carries when
        it ends with an error (here: a path that could not be read, or no crash)."""
        close = "\n  ]" if self.count else "]"
        tail = f',\n  "error": {encode_at(error, 1, 3)}' if error else ""
        write_stdout(close + ',\n  "groups": ' + encode_at(groups, 1, 3) + tail + "\n}\n")


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
        # JSON: each report written as soon as it is decoded, while the reader is still busy
        stream = _JsonStream() if json_out else None
        result = scan(paths, stream.report if stream else None, journal=query, keep=False)
        for warning in result.warnings:
            print(f"kmend: warning: {warning}", file=sys.stderr)
        for err in result.errors:
            print(f"kmend: error: {err}", file=sys.stderr)
        where = "the journal" if not paths else " ".join(paths)
        error = None
        if result.errors:
            error = {"code": InputError.exit_code, "kind": "input",
                     "message": f"{len(result.errors)} path(s) could not be read: "
                                + "; ".join(e.message for e in result.errors[:3]),
                     "hint": "check the paths"}
        elif result.count == 0:
            error = {"code": InputError.exit_code, "kind": "input",
                     "message": f"no kernel crash found in {where}",
                     "hint": "check the file, or give another log"}
        if stream is not None:
            stream.finish(result.groups, error)
        else:
            from kmend.report.crash_text import render_groups  # rich tables: only here

            render_groups(console_for(False), result.groups, result.count)
        if result.errors:
            err_console.print(f"{len(result.errors)} path(s) could not be read")
            return InputError.exit_code
        if result.count == 0:
            # as every verb: no crash in the logs is exit 4 (like grep's "no match", a
            # script can tell "nothing found" from "found"); the document is still written
            print(f"kmend: no kernel crash found in {where}", file=sys.stderr)
            return InputError.exit_code
        return 0
