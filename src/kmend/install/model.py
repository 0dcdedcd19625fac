"""Data types of an install transaction (``InstallTransaction`` is part of the contract).

A transaction is a journaled list of named steps.  Install appends the install steps;
a rollback (asked for, or automatic after a failure) appends the rollback steps to the
same transaction, so its journal tells the whole story and one JSON document describes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from kmend._compat import StrEnum

STEP_BACKUP = "backup"
STEP_PLACE = "place"
STEP_DEPMOD = "depmod"
STEP_INITRAMFS = "initramfs"
STEP_RELOAD = "reload"
INSTALL_STEPS: tuple[str, ...] = (STEP_BACKUP, STEP_PLACE, STEP_DEPMOD, STEP_INITRAMFS,
                                  STEP_RELOAD)

STEP_RESTORE = "rollback-restore"
STEP_REDEPMOD = "rollback-depmod"
STEP_REINITRAMFS = "rollback-initramfs"
STEP_RERELOAD = "rollback-reload"
ROLLBACK_STEPS: tuple[str, ...] = (STEP_RESTORE, STEP_REDEPMOD, STEP_REINITRAMFS, STEP_RERELOAD)

ALL_STEPS = INSTALL_STEPS + ROLLBACK_STEPS


class Mode(StrEnum):
    OVERRIDE = "override"  # DKMS-style: lib/modules/R/updates/kmend/NAME.ko, in-tree untouched
    REPLACE = "replace"    # replace the in-tree file, keeping a byte-identical backup


class TxnState(StrEnum):
    PLANNED = "planned"            # dry run: nothing written
    RUNNING = "running"            # install steps in progress (recover finishes or undoes)
    COMMITTED = "committed"        # installed
    ROLLING_BACK = "rolling-back"  # rollback steps in progress (recover finishes them)
    ROLLED_BACK = "rolled-back"    # rolled back on request: the tree is as before
    FAILED = "failed"              # install failed or was interrupted early; undone


class StepState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Step:
    name: str
    state: StepState = StepState.PENDING
    detail: str = ""


@dataclass(frozen=True)
class FileChange:
    """A file the transaction writes: *path* relative to the root.

    ``old_sha256`` is None when the file did not exist (override mode), ``new_sha256``
    is None when the transaction removes it.  ``backup``/``staged`` are relative to the
    transaction's directory.
    """

    path: str
    old_sha256: str | None
    new_sha256: str | None
    backup: str | None
    staged: str | None


@dataclass(frozen=True)
class SavedFile:
    """A file another tool rewrites (depmod outputs, the initramfs image), saved for exactness."""

    path: str
    sha256: str
    backup: str


@dataclass(frozen=True)
class InitramfsPlan:
    """What the initramfs needs: ``action`` is ``none``, ``run`` (root is /) or ``manual``."""

    image: str | None
    contains_module: bool
    action: str
    command: tuple[str, ...] = ()
    reason: str = ""


@dataclass(frozen=True)
class CheckSummary:
    """What the load check said about the module for the target kernel (if it could run)."""

    available: bool
    will_load: bool | None
    first_error: str = ""
    findings: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class InstallTransaction:
    id: str
    kernel: str
    root: str
    steps: tuple[Step, ...]
    state: TxnState
    module: str = ""
    mode: Mode = Mode.OVERRIDE
    source: str = ""
    source_sha256: str = ""
    files: tuple[FileChange, ...] = ()
    saved: tuple[SavedFile, ...] = ()
    created_dirs: tuple[str, ...] = ()
    initramfs: InitramfsPlan = InitramfsPlan(None, False, "none")
    check: CheckSummary | None = None
    forced: bool = False
    provenance: dict[str, Any] | None = None
    messages: tuple[str, ...] = ()
    error: str = ""
    created: str = ""
    updated: str = ""
    rollback_of_failure: bool = field(default=False)

    def step(self, name: str) -> Step | None:
        for s in self.steps:
            if s.name == name:
                return s
        return None

    def with_step(self, name: str, state: StepState,
                  detail: str | None = None) -> InstallTransaction:
        steps = []
        found = False
        for s in self.steps:
            if s.name == name:
                found = True
                s = replace(s, state=state, detail=s.detail if detail is None else detail)
            steps.append(s)
        if not found:
            steps.append(Step(name, state, detail or ""))
        return replace(self, steps=tuple(steps))

    def done(self, name: str) -> bool:
        s = self.step(name)
        return s is not None and s.state in (StepState.DONE, StepState.SKIPPED)

    def add_message(self, text: str) -> InstallTransaction:
        if text in self.messages:
            return self
        return replace(self, messages=(*self.messages, text))
