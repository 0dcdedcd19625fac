"""``kmend show PATH [--index N]``: one crash fully decoded."""

from __future__ import annotations

from typing import Annotated

import typer

from kmend.cli.common import console_for, emit_json
from kmend.errors import InputError, UsageError
from kmend.logs import read_paths
from kmend.oops import parse_reports
from kmend.report.crash_text import render_report


def register(app: typer.Typer) -> None:
    @app.command("show")
    def show_cmd(
        path: Annotated[str, typer.Argument(help="a log file, a directory or - for stdin")],
        index: Annotated[
            int,
            typer.Option("--index", help="which crash (0 = first; negative counts from the end)"),
        ] = 0,
        json_out: Annotated[
            bool, typer.Option("--json", help="one JSON document on stdout")
        ] = False,
    ) -> int:
        """Decode one crash: fields, taint in words, frames, disassembled Code:."""
        reports = list(parse_reports(read_paths([path], prefilter=True)))
        if not reports:
            raise InputError(f"{path}: no kernel crash found", "check the file, or run kmend scan")
        if not -len(reports) <= index < len(reports):
            raise UsageError(
                f"--index {index} out of range: {path} holds {len(reports)} crash(es)",
                f"use 0..{len(reports) - 1}",
            )
        rep = reports[index]
        if json_out:
            emit_json(rep)
        else:
            render_report(console_for(False), rep, index % len(reports), len(reports))
        return 0
