"""``kmend recover``: finish or undo transactions a crash interrupted.

An install interrupted before its new module file was in place is undone (the tree goes
back to exactly the old state); one interrupted after it is finished (depmod, initramfs…;
exactly the new state) — and undone if finishing fails.  An interrupted rollback is
always finished.  Every step is idempotent, so recovery just runs the missing ones.
"""

from __future__ import annotations

from kmend.install.fsops import SafeRoot
from kmend.install.lock import TransactionLock
from kmend.install.model import STEP_PLACE, InstallTransaction, StepState, TxnState
from kmend.install.transaction import forward, pending, rollback_steps, undo


def recover_one(root: SafeRoot, txn: InstallTransaction) -> InstallTransaction:
    """Finish or undo one interrupted transaction (the lock must be held)."""
    if txn.state is TxnState.ROLLING_BACK:
        final = TxnState.FAILED if txn.rollback_of_failure else TxnState.ROLLED_BACK
        return rollback_steps(root, txn, final)
    place = txn.step(STEP_PLACE)
    placed = place is not None and place.state in (StepState.RUNNING, StepState.DONE) and all(
        root.sha256(fc.path) == fc.new_sha256 for fc in txn.files)
    if placed:
        txn = txn.with_step(STEP_PLACE, StepState.DONE, place.detail if place and
                            place.state is StepState.DONE else "completed before the crash")
        txn = txn.add_message("recovered: the interrupted install was finished")
        return forward(root, txn)
    return undo(root, txn, "interrupted before the module was placed; undone by recover")


def recover(root: SafeRoot) -> list[InstallTransaction]:
    with TransactionLock(root):
        return [recover_one(root, t) for t in pending(root)]
