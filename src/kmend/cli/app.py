"""The Typer application and the list of verbs.

Each verb is a module ``kmend.cli.<name>`` with a ``register(app)`` function.
"""

from __future__ import annotations

import importlib

import typer

#: Verb modules, in the order ``kmend --help`` lists them.
VERBS: tuple[str, ...] = (
    "scan",
    "report",
    "show",
    "fixes",
    "backport",
    "build",
    "check",
    "preflight",
    "install",
    "rollback",
    "status",
    "recover",
    "run",
    "doctor",
)


def build_app(only: str | None = None) -> typer.Typer:
    """The application; with *only* (a verb name) just that verb is imported, which keeps
    start-up cheap (each verb pulls in its own stage libraries)."""
    app = typer.Typer(
        name="kmend",
        help="From a kernel crash in a log to a verified, installed, roll-back-able module fix.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )
    @app.callback()
    def _group() -> None:
        """Keep the verb in the command line even when only one verb is loaded."""

    for name in VERBS if only not in VERBS else (only,):
        module = importlib.import_module(f"kmend.cli.{name}")
        module.register(app)
    return app
