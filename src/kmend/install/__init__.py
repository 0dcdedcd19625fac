"""Transactional module install: plan, journal, backup, atomic replace, depmod, initramfs,
reload, rollback, recover, lock.  Each module's docstring says its part.

Library entry points (what the CLI and ``kmend run`` call)::

    with SafeRoot("/") as root:
        plan = plan_install(root, Path("xen-evtchn.ko"), provenance={...})
        txn = install(root, plan)          # InstallTransaction, state committed
        rollback(root, txn.id)             # state rolled-back, tree as before
"""

from __future__ import annotations

from kmend.install.fsops import SafeRoot, UnsafePath, WriteFailed
from kmend.install.lock import LockHeld
from kmend.install.model import InstallTransaction, Mode, Step, StepState, TxnState
from kmend.install.plan import ModuleRefused, Plan, plan_install
from kmend.install.recover import recover
from kmend.install.status import Status, status
from kmend.install.transaction import CRASH_ENV, install, rollback

__all__ = [
    "CRASH_ENV",
    "InstallTransaction",
    "LockHeld",
    "Mode",
    "ModuleRefused",
    "Plan",
    "SafeRoot",
    "Status",
    "Step",
    "StepState",
    "TxnState",
    "UnsafePath",
    "WriteFailed",
    "install",
    "plan_install",
    "recover",
    "rollback",
    "status",
]
