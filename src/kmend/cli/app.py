"""The Typer application and the list of verbs.

Each verb is a module ``kmend.cli.<name>`` with a ``register(app)`` function.
"""

from __future__ import annotations

import importlib

import typer

#: Verb modules, in the order ``kmend --help`` lists them.
VERBS: tuple[str, ...] = (
    "scan",
    "show",
    "fixes",
    "install",
    "rollback",
    "status",
    "recover",
)


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="kmend",
        help="From a kernel crash in a log to a verified, installed, roll-back-able module fix.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )
    for name in VERBS:
        module = importlib.import_module(f"kmend.cli.{name}")
        module.register(app)
    return app
