"""`kmend show` (being written)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("show")
    def _cmd() -> int:
        """Not implemented yet."""
        return 0
