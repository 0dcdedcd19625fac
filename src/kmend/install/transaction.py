"""Run install and rollback transactions: lock, journal before and after every step,
undo on failure, and the test-only crash hook.

``KMEND_TEST_CRASH_AFTER=<step name>`` makes the process SIGKILL itself right after that
step finished and its journal entry was fsynced — the tests use it to interrupt a
transaction at every step and check that ``kmend recover`` leaves exactly the old or
exactly the new tree.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable
from dataclasses import replace

from kmend.errors import KmendError, StateError
from kmend.install import journal, steps
from kmend.install.fsops import SafeRoot, _oserror
from kmend.install.lock import TransactionLock
from kmend.install.model import (
    INSTALL_STEPS,
    ROLLBACK_STEPS,
    STEP_BACKUP,
    STEP_DEPMOD,
    STEP_INITRAMFS,
    STEP_PLACE,
    STEP_REDEPMOD,
    STEP_REINITRAMFS,
    STEP_RELOAD,
    STEP_RERELOAD,
    STEP_RESTORE,
    InstallTransaction,
    Step,
    StepState,
    TxnState,
)
from kmend.install.plan import Plan

CRASH_ENV = "KMEND_TEST_CRASH_AFTER"

StepFn = Callable[[SafeRoot, InstallTransaction], steps.StepResult]

FORWARD: dict[str, StepFn] = {
    STEP_PLACE: steps.place,
    STEP_DEPMOD: steps.depmod,
    STEP_INITRAMFS: steps.initramfs,
    STEP_RELOAD: steps.reload_module,
}
BACKWARD: dict[str, StepFn] = {
    STEP_RESTORE: steps.restore,
    STEP_REDEPMOD: steps.redepmod,
    STEP_REINITRAMFS: steps.reinitramfs,
    STEP_RERELOAD: steps.rereload,
}
PENDING_STATES = (TxnState.RUNNING, TxnState.ROLLING_BACK)


def _crash_point(name: str) -> None:
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def _run_step(root: SafeRoot, txn: InstallTransaction, name: str, fn: StepFn) -> InstallTransaction:
    txn = journal.save(root, txn.with_step(name, StepState.RUNNING))
    try:
        txn, state, detail = fn(root, txn)
    except OSError as exc:
        raise _oserror(exc, f"run step {name}", root.path) from exc
    txn = journal.save(root, txn.with_step(name, state, detail))
    _crash_point(name)
    return txn


def pending(root: SafeRoot) -> list[InstallTransaction]:
    return [t for t in journal.load_all(root) if t.state in PENDING_STATES]


def _refuse_if_pending(root: SafeRoot) -> None:
    left = pending(root)
    if left:
        raise StateError(f"transaction {left[0].id} ({left[0].module} on {left[0].kernel}) "
                         f"was interrupted ({left[0].state})",
                         "run `kmend recover` first")


def rollback_steps(root: SafeRoot, txn: InstallTransaction, final: TxnState) -> InstallTransaction:
    if txn.step(STEP_RESTORE) is None:
        txn = replace(txn, steps=(*txn.steps, *(Step(n) for n in ROLLBACK_STEPS)))
    txn = journal.save(root, replace(txn, state=TxnState.ROLLING_BACK))
    for name in ROLLBACK_STEPS:
        if not txn.done(name):
            txn = _run_step(root, txn, name, BACKWARD[name])
    return journal.save(root, replace(txn, state=final))


def _discard_copies(root: SafeRoot, txn: InstallTransaction) -> None:
    """Drop a failed transaction's backups and staged files (frees space first: the usual
    reason a backup fails is a full disk, and the journal still has to be written)."""
    tdir = journal.txn_dir(txn.id)
    rels = [c for fc in txn.files for c in (fc.backup, fc.staged) if c]
    rels += [sf.backup for sf in txn.saved]
    for rel in rels:
        with contextlib.suppress(KmendError, FileNotFoundError, NotADirectoryError):
            root.remove(f"{tdir}/{rel}")
        with contextlib.suppress(KmendError, FileNotFoundError, NotADirectoryError):
            root.remove_temps(f"{tdir}/{rel}".rsplit("/", 1)[0], "tmp")


def undo(root: SafeRoot, txn: InstallTransaction, error: str) -> InstallTransaction:
    place = txn.step(STEP_PLACE)
    if place is None or place.state is StepState.PENDING:
        _discard_copies(root, txn)  # the tree was never touched: the copies are useless
    txn = replace(txn, error=error, rollback_of_failure=True)
    return rollback_steps(root, txn, TxnState.FAILED)


def _fail(root: SafeRoot, txn: InstallTransaction, exc: KmendError) -> KmendError:
    """Undo after a failed step; return the error to raise (with what happened to the tree)."""
    try:
        undo(root, txn, str(exc))
    except KmendError as undo_exc:
        # Most often the journal itself cannot be written (disk full).  Put the tree back
        # anyway — the steps are content-based, so `recover` later agrees with the result.
        try:
            steps.restore(root, txn)
            steps.redepmod(root, txn)
        except KmendError:
            tree = "the module tree may be half-changed"
        else:
            tree = "the module tree was put back, but the journal could not be updated"
        return StateError(f"install {txn.id} failed ({exc.message}) and undoing it failed too "
                          f"({undo_exc.message}); {tree}",
                          "fix the cause, then run `kmend recover`")
    extra = f"install {txn.id} was undone; nothing changed"
    exc.hint = f"{exc.hint}; {extra}" if exc.hint else extra
    return exc


def forward(root: SafeRoot, txn: InstallTransaction) -> InstallTransaction:
    for name in INSTALL_STEPS:
        if name != STEP_BACKUP and not txn.done(name):
            try:
                txn = _run_step(root, txn, name, FORWARD[name])
            except KmendError as exc:
                raise _fail(root, journal.load(root, txn.id), exc) from exc
    return journal.save(root, replace(txn, state=TxnState.COMMITTED))


def _refuse_if_stale(root: SafeRoot, plan: Plan) -> None:
    """The plan was made before the lock was taken: another transaction may have changed the
    files it replaces in between.  Then nothing is written and the user plans again."""
    for fc in plan.txn.files:
        if root.sha256(fc.path) != fc.old_sha256:
            raise StateError(
                f"another kmend transaction changed {root.host_path(fc.path)} while this "
                "install was being planned; nothing was changed",
                "run the command again",
            )


def already_installed(root: SafeRoot, plan: Plan) -> InstallTransaction | None:
    """The committed transaction that wrote exactly the plan's bytes where the plan would
    write them, still on disk: installing the identical module again is a no-op, not a
    second active transaction (which a rollback would then have to unwind twice)."""
    files = plan.txn.files
    if not files or any(fc.old_sha256 is None or fc.old_sha256 != fc.new_sha256
                        for fc in files):
        return None
    wanted = {(fc.path, fc.new_sha256) for fc in files}
    for t in reversed(journal.load_all(root)):
        if t.state is not TxnState.COMMITTED or t.kernel != plan.txn.kernel:
            continue
        wrote = {(fc.path, fc.new_sha256) for fc in t.files if fc.new_sha256}
        if wanted <= wrote:
            return t
    return None


def install(root: SafeRoot, plan: Plan) -> InstallTransaction:
    """Run a planned install under the lock; undo it if a step fails.  A module identical
    to the one a committed transaction installed there returns that transaction."""
    with TransactionLock(root):
        same = already_installed(root, plan)
        if same is not None:
            return same
        _refuse_if_pending(root)
        _refuse_if_stale(root, plan)
        txn = journal.save(root, replace(plan.txn, state=TxnState.RUNNING))

        def do_backup(r: SafeRoot, t: InstallTransaction) -> steps.StepResult:
            t, state, detail = steps.backup(r, t, plan.payloads)
            if plan.sources:
                steps.keep_sources(r, t, plan.sources)
                detail += f"; kept {len(plan.sources)} source files for kmend rebuild"
            return t, state, detail

        try:
            txn = _run_step(root, txn, STEP_BACKUP, do_backup)
        except KmendError as exc:
            raise _fail(root, journal.load(root, txn.id), exc) from exc
        return forward(root, txn)


def select(root: SafeRoot, txn_id: str | None, kernel: str | None) -> InstallTransaction:
    """The transaction to roll back: the given one, or the newest committed one."""
    if txn_id:
        return journal.load(root, txn_id)
    committed = [t for t in journal.load_all(root) if t.state is TxnState.COMMITTED
                 and (kernel is None or t.kernel == kernel)]
    if not committed:
        where = f" for kernel {kernel}" if kernel else ""
        raise StateError(f"no installed kmend fix under {root.path}{where} to roll back",
                         "see `kmend status`")
    return committed[-1]


def rollback(root: SafeRoot, txn_id: str | None = None,
             kernel: str | None = None) -> InstallTransaction:
    select(root, txn_id, kernel)  # read-only: a wrong id or nothing to roll back writes nothing
    with TransactionLock(root):
        _refuse_if_pending(root)
        txn = select(root, txn_id, kernel)
        if txn.state is not TxnState.COMMITTED:
            raise StateError(f"transaction {txn.id} is {txn.state}, not committed",
                             "only an installed fix can be rolled back")
        for fc in txn.files:
            cur = root.sha256(fc.path)
            if cur != fc.new_sha256:
                raise StateError(
                    f"{root.host_path(fc.path)} is no longer what {txn.id} installed",
                    "roll back the later transaction that changed it first (see kmend status)")
        return rollback_steps(root, txn, TxnState.ROLLED_BACK)
