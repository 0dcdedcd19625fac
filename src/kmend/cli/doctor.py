"""``kmend doctor [--root DIR] [--log PATH…] [--json]``: health of a (Xen) host.

Exit 0: healthy; 1: a problem was found; others: errors.py codes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from kmend.cli import options
from kmend.cli.common import console_for, emit_json, print_parts
from kmend.doctor import DoctorReport, examine
from kmend.doctor.xlprobe import DEFAULT_TIMEOUT


def render(console: Console, report: DoctorReport) -> None:
    style = "bold green" if report.healthy else (
        "bold yellow" if report.verdict.startswith("unknown") else "bold red")
    print_parts(console, ("verdict: ", None), (report.verdict, style))
    if report.next_command:
        console.print(f"next: {report.next_command}", markup=False, soft_wrap=True)
    table = Table("check", "ok", "detail")
    for check in report.checks:
        # Text, never markup: a detail quotes log paths and crash titles (untrusted)
        table.add_row(Text(check.name), Text("yes", style="green") if check.ok
                      else Text("NO", style="bold red"), Text(check.detail))
    console.print(table)
    for i, crash in enumerate(report.crashes):
        who = f"{crash.comm} pid {crash.pid}" if crash.comm else "no process"
        console.print(
            f"crash {i}: {crash.title} [{crash.module or '-'}] {who} "
            f"({crash.source} --index {crash.index})",
            markup=False,
        )
    for crash in report.other_hosts:
        console.print(
            f"other host {crash.host}: {crash.title} ({crash.source} --index {crash.index}); "
            "not counted for this host", markup=False,
        )
    console.print("logs read: " + (", ".join(report.logs_read) or "none"), markup=False,
                  soft_wrap=True)
    for err in report.log_errors:
        console.print(f"log problem: {err}", markup=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    @app.command("doctor")
    def doctor_cmd(
        root: options.Root = Path("/"),
        log: Annotated[
            list[str] | None, typer.Option("--log", help="another log to read (repeatable)")
        ] = None,
        only_logs: Annotated[
            bool, typer.Option("--only-logs", help="read only the --log paths")
        ] = False,
        xl_timeout: Annotated[
            float, typer.Option("--xl-timeout", help="seconds before xl list counts as hung")
        ] = DEFAULT_TIMEOUT,
        json_out: options.Json = False,
    ) -> int:
        """Is this Xen host healthy?  xl, xenstored, devices, modules, crashes since boot."""
        options.existing_dir(root, "--root")
        options.positive_seconds(xl_timeout, "--xl-timeout", DEFAULT_TIMEOUT)
        report = examine(root, log or (), default_logs=not only_logs, xl_timeout=xl_timeout)
        if json_out:
            emit_json(report)
        render(console_for(json_out), report)
        return 0 if report.healthy else 1
