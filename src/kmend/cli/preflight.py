"""`kmend preflight` (waiting for kmend.lab)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("preflight")
    def _cmd() -> int:
        """Boot the target kernel in QEMU and load the module for real (not ready yet)."""
        return 0
