"""``kmend show LOGS... [--index N | --signature SIG]``: one crash fully decoded."""

from __future__ import annotations

from typing import Annotated

import typer

from kmend.cli import options
from kmend.cli.common import console_for, emit_json
from kmend.errors import InputError, UsageError
from kmend.logs import read_paths
from kmend.report.crash_text import render_report
from kmend.triage.choose import choose
from kmend.triage.scan import dated


def register(app: typer.Typer) -> None:
    @app.command("show")
    def show_cmd(
        paths: Annotated[
            list[str], typer.Argument(help="log files, directories or - for stdin")
        ],
        index: options.Index = None,
        signature: Annotated[
            str | None,
            typer.Option("--signature", help="the newest crash with this signature (or a "
                         "prefix of it, as kmend scan prints)"),
        ] = None,
        json_out: options.Json = False,
    ) -> int:
        """Decode one crash: fields, taint in words, frames, disassembled Code:."""
        if index is not None and signature is not None:
            raise UsageError("--index and --signature both given", "choose one crash")
        if signature is not None and not signature.strip():
            raise UsageError("--signature is empty", "give the signature kmend scan prints")
        where = " ".join(paths)
        reports = list(dated(read_paths(paths, prefilter=True)))
        if not reports:
            raise InputError(f"{where}: no kernel crash found", "check the file, or run kmend scan")
        if signature is not None:
            chosen = [i for i, r in enumerate(reports) if r.signature.startswith(signature)]
            if not chosen:
                raise InputError(f"no crash with signature {signature} in {where}",
                                 "kmend scan lists the signatures")
            if len({reports[i].signature for i in chosen}) > 1:
                raise UsageError(f"--signature {signature} matches several signatures",
                                 "give more of it")
            index = chosen[-1]
        index, _why = choose(reports, index)
        rep = reports[index]
        if json_out:
            emit_json(rep)
        else:
            render_report(console_for(False), rep, index % len(reports), len(reports))
        return 0
