"""The one question ``kmend run`` asks before it changes the system."""

from __future__ import annotations

from typing import TextIO

from kmend.errors import Declined, UsageError


def require_asker(stdin: TextIO, *, assume_yes: bool) -> None:
    """Refuse up front (before any slow stage) when the install could not be confirmed."""
    if not assume_yes and not stdin.isatty():
        raise UsageError("refusing to install without confirmation: stdin is not a terminal",
                         "run it on a terminal, or pass --yes (or --dry-run to change nothing)")


def confirm(question: str, stdin: TextIO, out: TextIO, *, assume_yes: bool) -> None:
    """Return when the operator agrees; raise :class:`Declined` on anything but yes, and a
    UsageError when nobody can be asked (stdin is not a terminal and no ``--yes``)."""
    if assume_yes:
        return
    require_asker(stdin, assume_yes=assume_yes)
    out.write(f"{question} [y/N] ")
    out.flush()
    answer = stdin.readline().strip().lower()
    if answer not in ("y", "yes"):
        raise Declined(f"not installed: the answer was {answer or 'empty'!r}; nothing was "
                       "changed", "the built module is kept in the output directory")
