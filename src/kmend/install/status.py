"""``kmend status``: the fixes kmend installed, per kernel, with their provenance.

Read-only: it takes no lock and writes nothing, so it works on a read-only root.  A fix
is *active* when the file on disk still has the sha256 the transaction wrote.

``kernel_states`` answers, for every installed kernel (``ROOT/lib/modules/*``), which fixes
are active there and why: installed by a transaction, rebuilt from the provenance of a fix
on another kernel (``kmend rebuild``), retired because that kernel already contains the
fix, sources unknown, failed, or not carried over yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kmend.install import decisions, journal
from kmend.install.fsops import SafeRoot
from kmend.install.model import InstallTransaction, TxnState


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
class FixState:
    """One module's fix on one kernel: ``state`` is installed, rebuilt, retired, dkms,
    sources-unknown, failed, inactive, rolled-back or not-carried; ``why`` in words."""

    module: str
    state: str
    why: str
    active: bool
    transaction: str = ""
    fix_commit: str = ""


@dataclass(frozen=True)
class KernelState:
    kernel: str
    fixes: tuple[FixState, ...]


@dataclass(frozen=True)
class Status:
    root: str
    kernels: tuple[KernelFixes, ...]
    pending: tuple[str, ...]
    transactions: tuple[TxnSummary, ...]
    kernel_states: tuple[KernelState, ...] = ()


def _txn_state(root: SafeRoot, t: InstallTransaction) -> FixState:
    prov = t.provenance or {}
    fix = str(prov.get("fix_commit") or "")
    active = all(root.sha256(fc.path) == fc.new_sha256 for fc in t.files if fc.new_sha256)
    if not active:
        return FixState(t.module, "inactive", f"the file transaction {t.id} installed has "
                        "changed since", False, t.id, fix)
    if prov.get("rebuilt_from"):
        extra = "; ".join(str(prov[k]) for k in ("signed", "check") if prov.get(k))
        return FixState(t.module, "rebuilt", f"rebuilt from the provenance of transaction "
                        f"{prov['rebuilt_from']} and installed as transaction {t.id}"
                        + (f" ({extra})" if extra else ""), True, t.id, fix)
    return FixState(t.module, "installed", f"installed by transaction {t.id}", True, t.id, fix)


def kernel_states(root: SafeRoot, txns: list[InstallTransaction],
                  only: str | None = None) -> tuple[KernelState, ...]:
    kernels = sorted(n for n in root.listdir("lib/modules")
                     if root.is_dir(f"lib/modules/{n}") and (only is None or n == only))
    committed = [t for t in txns if t.state is TxnState.COMMITTED]
    by_id = {t.id: t for t in txns}
    active_any: dict[str, InstallTransaction] = {}
    for t in committed:
        if _txn_state(root, t).active:
            active_any[t.module] = t
    out = []
    for k in kernels:
        states: dict[str, FixState] = {}
        for t in committed:
            if t.kernel == k:
                states[t.module] = _txn_state(root, t)
        for module, d in decisions.load(root, k).items():
            if module in states and states[module].active:
                continue
            if d.action == decisions.REBUILT:
                later = by_id.get(d.transaction)
                if later is not None and later.state is not TxnState.COMMITTED:
                    states[module] = FixState(module, "rolled-back", f"rebuilt as transaction "
                                              f"{d.transaction}, which is now {later.state}",
                                              False, d.transaction, d.fix_commit)
                continue
            states[module] = FixState(module, d.action, d.reason, d.action == decisions.DKMS,
                                      d.transaction, d.fix_commit)
        for module, t in active_any.items():
            if module not in states:
                states[module] = FixState(
                    module, "not-carried", f"active on {t.kernel} (transaction {t.id}) but "
                    f"not carried to {k}: run kmend rebuild --kernel {k}", False, t.id,
                    str((t.provenance or {}).get("fix_commit") or ""))
        out.append(KernelState(k, tuple(states[m] for m in sorted(states))))
    return tuple(out)


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
        kernel_states=kernel_states(root, txns, kernel),
    )
