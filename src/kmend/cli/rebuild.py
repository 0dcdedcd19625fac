"""`kmend rebuild --kernel R`: carry every active fix over to kernel R, or retire it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from kmend.cli import options
from kmend.cli.common import console_for, emit_json, err_console
from kmend.install import SafeRoot
from kmend.rebuild.engine import RebuildOptions, RebuildReport, rebuild


def render(report: RebuildReport, say: Callable[[str], None]) -> None:
    say(f"kernel {report.kernel} (upstream {report.upstream}, from {report.version_from}) "
        f"under {report.root}" + (" — dry run, nothing changed" if report.dry_run else ""))
    for note in report.notes:
        say(f"  note: {note}")
    if not report.decisions:
        say("  no active kmend fixes to carry over")
    for d in report.decisions:
        say(f"  {d.module:<20} {d.action:<16} {d.reason}")
        for extra in (d.signed, f"check: {d.check}" if d.check else ""):
            if extra:
                say(f"  {'':<20} {'':<16} {extra}")


def register(app: typer.Typer) -> None:
    @app.command("rebuild")
    def _cmd(  # noqa: PLR0917 (typer maps options to parameters)
        kernel: Annotated[str, typer.Option(
            "--kernel", help="the target kernel release (uname -r form, e.g. 6.1.0-47-amd64): "
            "the new kernel to carry the fixes over to", callback=options.check_kernel)],
        root: options.Root = Path("/"),
        dry_run: Annotated[bool, typer.Option("--dry-run", help="Decide only")] = False,
        sign: Annotated[bool, typer.Option("--sign/--no-sign", help="Sign rebuilt modules "
                                           "when a key is configured")] = True,
        key: Annotated[Path | None, typer.Option("--key", help="Signing key (PEM)")] = None,
        cert: Annotated[Path | None, typer.Option("--cert", help="Signing certificate")] = None,
        kdir: options.Kdir = None,
        package_version: Annotated[str | None, typer.Option(
            "--package-version", help="The kernel package's version (6.1.192-3) when the "
            "release string names only an ABI series")] = None,
        json_mode: options.Json = False,
    ) -> int:
        """Rebuild every active fix for KERNEL (or retire it when KERNEL has the fix).
        Exit 1 when a fix could not be carried over (sources unknown, build or check
        failed)."""
        options.existing_dir(root, "--root")
        console = console_for(json_mode)

        def say(text: str) -> None:
            err_console.print(text, markup=False, highlight=False, soft_wrap=True)

        opts = RebuildOptions(kernel=kernel, dry_run=dry_run, sign=sign, key=key, cert=cert,
                              kdir=kdir, package_version=package_version)
        with SafeRoot(root) as r:
            report = rebuild(r, opts, say if not json_mode else lambda _t: None)
        if json_mode:
            emit_json({**_doc(report), "ok": report.ok})
        else:
            render(report, lambda t: console.print(t, markup=False, highlight=False,
                                                   soft_wrap=True))
        return 0 if report.ok else 1


def _doc(report: RebuildReport) -> dict[str, object]:
    from kmend.jsonout import to_jsonable

    out = to_jsonable(report)
    assert isinstance(out, dict)
    return out
