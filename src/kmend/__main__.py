"""``python -m kmend`` → the CLI."""

from kmend.cli import entry

entry()
