"""The terminal display of :mod:`kmend.progress`: a Rich progress line on stderr that
appears once a task has run for about a second and vanishes when it ends.  Used only when
stderr is a terminal, --json is off and TERM is not dumb.  Rich's progress module is
imported only when a line is really shown, so short commands do not pay for it."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from kmend import progress

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

#: Seconds a task runs before its line is shown.
DELAY = 1.0


class _Shown:
    """One task's line: a timer starts it after DELAY (so blocking work, like a tar
    extraction, gets a spinner too); Rich's own thread keeps it moving."""

    def __init__(self, label: str, total: float | None) -> None:
        self.label, self.total = label, total
        self.done = 0.0
        self.text = ""
        self.lock = threading.Lock()
        self.bar: Progress | None = None
        self.task_id: TaskID | None = None
        self.closed = False
        self.timer = threading.Timer(DELAY, self._start)
        self.timer.daemon = True
        self.timer.start()

    def _start(self) -> None:
        from rich.progress import (
            BarColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        from kmend.cli.common import err_console

        with self.lock:
            if self.closed:
                return
            self.bar = Progress(SpinnerColumn(), TextColumn("{task.description}", markup=False),
                                BarColumn(), TimeElapsedColumn(), console=err_console,
                                transient=True)
            self.bar.start()
            self.task_id = self.bar.add_task(self.label, total=self.total)
            self._update()

    def _update(self) -> None:
        if self.bar is not None and self.task_id is not None:
            desc = f"{self.label} {self.text}".strip()
            self.bar.update(self.task_id, completed=self.done, description=desc)

    def advance(self, amount: float = 1) -> None:
        with self.lock:
            self.done += amount
            self._update()

    def note(self, text: str) -> None:
        with self.lock:
            self.text = text
            self._update()

    def close(self) -> None:
        self.timer.cancel()
        with self.lock:
            self.closed = True
            if self.bar is not None:
                self.bar.stop()


@contextmanager
def _display(label: str, total: float | None) -> Iterator[_Shown]:
    shown = _Shown(label, total)
    try:
        yield shown
    finally:
        shown.close()


def enable(json_mode: bool) -> None:
    """Show progress on this terminal, unless output is for a program."""
    quiet = json_mode or not sys.stderr.isatty() or os.environ.get("TERM") == "dumb"
    progress.set_display(None if quiet else _display)
