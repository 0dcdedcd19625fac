"""`kmend rollback [TXN]`: restore the byte-identical originals of an installed fix."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kmend.cli import options
from kmend.cli.common import console_for, emit_json
from kmend.cli.install import render
from kmend.install import SafeRoot, rollback


def register(app: typer.Typer) -> None:
    @app.command("rollback")
    def _cmd(
        txn: Annotated[str | None, typer.Argument(help="Transaction id (default: the newest "
                                                   "installed fix)")] = None,
        kernel: Annotated[str | None, typer.Option(
            "--kernel", help="the target kernel release (uname -r form, e.g. 6.1.0-47-amd64): "
            "roll back its newest fix (default: the newest fix of any kernel)",
            callback=options.check_kernel)] = None,
        root: options.Root = Path("/"),
        json_mode: options.Json = False,
    ) -> int:
        """Roll back an installed fix: originals restored, depmod/initramfs redone."""
        options.existing_dir(root, "--root")
        with SafeRoot(root) as r:
            result = rollback(r, txn, kernel)
        if json_mode:
            emit_json(result)
        else:
            render(console_for(json_mode), result)
        return 0
