"""``kmend status``: the fixes kmend installed, per kernel, with their provenance.

Read-only: it takes no lock and writes nothing, so it works on a read-only root.  A fix
is *active* when the file on disk still has the sha256 the transaction wrote.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kmend.install import journal
from kmend.install.fsops import SafeRoot
from kmend.install.model import TxnState


@dataclass(frozen=True)
class InstalledFix:
    module: str
    mode: str
    path: str
    sha256: str
    transaction: str
    installed: str
    active: bool
    provenance: dict[str, Any] | None


@dataclass(frozen=True)
class KernelFixes:
    kernel: str
    fixes: tuple[InstalledFix, ...]


@dataclass(frozen=True)
class TxnSummary:
    id: str
    kernel: str
    module: str
    state: str
    error: str


@dataclass(frozen=True)
class Status:
    root: str
    kernels: tuple[KernelFixes, ...]
    pending: tuple[str, ...]
    transactions: tuple[TxnSummary, ...]


def status(root: SafeRoot, kernel: str | None = None) -> Status:
    txns = journal.load_all(root)
    per: dict[str, list[InstalledFix]] = {}
    for t in txns:
        if t.state is not TxnState.COMMITTED or (kernel and t.kernel != kernel):
            continue
        for fc in t.files:
            if fc.new_sha256 is None:
                continue
            per.setdefault(t.kernel, []).append(InstalledFix(
                module=t.module, mode=str(t.mode), path=fc.path, sha256=fc.new_sha256,
                transaction=t.id, installed=t.created,
                active=root.sha256(fc.path) == fc.new_sha256, provenance=t.provenance))
    return Status(
        root=str(root.path),
        kernels=tuple(KernelFixes(k, tuple(v)) for k, v in sorted(per.items())),
        pending=tuple(t.id for t in txns if t.state in (TxnState.RUNNING,
                                                        TxnState.ROLLING_BACK)),
        transactions=tuple(TxnSummary(t.id, t.kernel, t.module, str(t.state), t.error)
                           for t in txns if not kernel or t.kernel == kernel),
    )
