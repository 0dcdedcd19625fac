"""``kmend report LOGS… -o DIR [--txn HOST=DIR…]``: the fleet's crashes as static HTML."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from kmend.cli.common import console_for, emit_json
from kmend.errors import InputError, UsageError


def register(app: typer.Typer) -> None:
    @app.command("report")
    def report_cmd(
        paths: Annotated[list[str], typer.Argument(help="log files or directories")],
        out: Annotated[
            Path, typer.Option("-o", "--output", metavar="DIR", help="directory for the pages")
        ],
        txn: Annotated[
            list[str] | None,
            typer.Option("--txn", metavar="HOST=DIR", help="a host's root or its fetched "
                         "install journals (repeatable)"),
        ] = None,
        json_out: Annotated[
            bool, typer.Option("--json", help="one JSON document on stdout")
        ] = False,
    ) -> int:
        """An HTML report of the fleet's crashes per signature, with the fix rollout."""
        from kmend.fleetreport.journals import read_host
        from kmend.fleetreport.model import build_view
        from kmend.fleetreport.render import write_report
        from kmend.triage.scan import scan

        if not paths:
            raise UsageError("no log given", "give log files or directories")
        journals = [read_host(spec) for spec in txn or ()]
        result = scan(paths)
        if result.errors and not result.read:
            # nothing read: an empty report would replace a good one in DIR
            first = result.errors[0]
            more = f" (and {len(result.errors) - 1} more)" if len(result.errors) > 1 else ""
            raise InputError(f"no log could be read: {first.message}{more}",
                             f"check the paths; {out} is left as it was")
        for err in result.errors:
            print(f"kmend: error: {err}", file=sys.stderr)
        view = build_view(result, journals)
        written = write_report(view, out)
        if json_out:
            doc = {"index": written.index, "pages": written.pages,
                   "signatures": len(view.signatures), "reports": view.reports,
                   "hosts": view.hosts, "errors": view.errors}
            if result.errors:  # exit 4: the error object of every verb's document
                doc["error"] = {"code": InputError.exit_code, "kind": "input",
                                "message": f"{len(result.errors)} path(s) could not be read: "
                                           + "; ".join(e.message for e in result.errors[:3]),
                                "hint": "check the paths"}
            emit_json(doc)
        else:
            console_for(False).print(
                f"{view.reports} report(s), {len(view.signatures)} signature(s), "
                f"{len(view.hosts)} host(s): {written.index}", markup=False, soft_wrap=True)
        return InputError.exit_code if result.errors else 0
