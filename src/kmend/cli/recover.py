"""`kmend recover`: finish or undo a transaction a crash interrupted."""

from __future__ import annotations

from pathlib import Path

import typer

from kmend.cli import options
from kmend.cli.common import console_for, emit_json
from kmend.cli.install import render
from kmend.install import SafeRoot, recover


def register(app: typer.Typer) -> None:
    @app.command("recover")
    def _cmd(root: options.Root = Path("/"), json_mode: options.Json = False) -> int:
        """Finish or undo interrupted transactions (prints the transaction, or null)."""
        options.existing_dir(root, "--root")
        console = console_for(json_mode)
        with SafeRoot(root) as r:
            done = recover(r)
        if json_mode:
            emit_json(done[-1] if done else None)
        elif not done:
            console.print("nothing to recover")
        for txn in done:
            if not json_mode:
                render(console, txn)
        return 0
