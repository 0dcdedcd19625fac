"""Progress of long work: stages report it, the CLI shows it (a leaf module).

A stage wraps long work in ``with progress.task("unpacking linux-source-6.1") as t:`` and
calls ``t.advance()`` / ``t.note("12 crash reports")``; without a display set (libraries,
tests, ``--json``, output not a terminal) that costs one attribute lookup.  The CLI sets a
display (:func:`set_display`) that appears only once a task has run for about a second, so
short commands never flash a bar.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol


class Task(Protocol):
    def advance(self, amount: float = 1) -> None: ...

    def note(self, text: str) -> None: ...


class _Quiet:
    def advance(self, amount: float = 1) -> None:
        pass

    def note(self, text: str) -> None:
        pass


#: The display, in a one-slot list: (label, total or None) → a context manager yielding a
#: Task; None: work is not shown.
_DISPLAY: list[Callable[[str, float | None], object] | None] = [None]


def set_display(display: Callable[[str, float | None], object] | None) -> None:
    """Install (or with None remove) the display used by :func:`task`."""
    _DISPLAY[0] = display


@contextmanager
def task(label: str, total: float | None = None) -> Iterator[Task]:
    """A unit of long work named *label* (*total* steps when known)."""
    display = _DISPLAY[0]
    if display is None:
        yield _Quiet()
        return
    with display(label, total) as shown:  # type: ignore[attr-defined]
        yield shown
