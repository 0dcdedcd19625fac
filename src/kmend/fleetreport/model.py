"""One record per crash signature: where and when it hit, and how its fix went out (pure).

Inputs are a :class:`kmend.triage.scan.ScanResult` (the same grouping as
``kmend scan --json``) and the install journals of the hosts.  A transaction belongs to a
signature through its provenance (``crash_signature``, as ``kmend run`` and the fleet
rollout record it).  A crash *recurred* on a host when that host logged the signature
again after a fix for it was installed there.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from kmend.fleetreport.journals import HostJournals
from kmend.install.model import InstallTransaction, TxnState
from kmend.oops import CrashReport
from kmend.triage.scan import Group, ScanResult

#: Provenance keys shown as "the fix" (in this order), as kmend run records them.
FIX_KEYS = ("fix_commit", "fix_patch", "fix_subject", "fix_first_release", "fix_evidence",
            "source", "revision", "revision_kind", "policy", "check", "preflight", "build")
_HEX = re.compile(r"[0-9a-f]{1,64}")


def parse_time(text: str | None) -> datetime | None:
    """An ISO-8601 time (``2026-11-26T03:04:07.06+00:00``, ``…Z``) as UTC; None for a time
    without a date (classic syslog) or no time."""
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def page_name(signature: str) -> str:
    """The file of a signature's page; a signature that is not kmend's hex is never used
    as a file name as it is."""
    if _HEX.fullmatch(signature):
        return f"sig-{signature}.html"
    return f"sig-x{abs(hash(signature)) & 0xFFFFFFFF:08x}.html"


@dataclass(frozen=True)
class Event:
    host: str
    when: datetime | None
    kind: str  # "crash", "install", "rollback"
    label: str


@dataclass(frozen=True)
class HostState:
    host: str
    kernels: tuple[str, ...]
    state: str  # "installed", "rolled back", "failed", "planned", "not installed"
    transaction: str
    installed: str
    rollback_command: str
    recurred: bool


@dataclass(frozen=True)
class SignatureView:
    group: Group
    page: str
    status: str
    status_kind: str  # css class: none, upstream, built, installed, recurred
    sample: CrashReport
    events: tuple[Event, ...]
    hosts: tuple[str, ...]  # every host with a crash or a transaction for this signature
    kernels: tuple[str, ...]
    grid: dict[tuple[str, str], int]  # (host, kernel) -> crashes
    fix: tuple[tuple[str, str], ...]
    host_states: tuple[HostState, ...]
    installed_on: int
    rolled_back_on: int


@dataclass(frozen=True)
class FleetView:
    generated: str
    reports: int
    hosts: tuple[str, ...]
    signatures: tuple[SignatureView, ...]
    errors: tuple[str, ...]
    journals: int


def rollback_command(txn: InstallTransaction) -> str:
    argv = ["kmend", "rollback", txn.id]
    if txn.root not in ("", "/"):
        argv += ["--root", txn.root]
    return shlex.join(argv)


def _rolled_back_at(txn: InstallTransaction) -> datetime | None:
    return parse_time(txn.updated) if txn.state is TxnState.ROLLED_BACK else None


def _host_state(host: str, txns: Sequence[InstallTransaction], crashes: Sequence[CrashReport],
                kernels: tuple[str, ...]) -> HostState:
    if not txns:
        return HostState(host, kernels, "not installed", "", "", "", False)
    last = txns[-1]
    first_install = min((t for t in txns if t.state in (TxnState.COMMITTED,
                                                        TxnState.ROLLED_BACK)),
                        key=lambda t: t.id, default=None)
    since = parse_time(first_install.created) if first_install else None
    recurred = since is not None and any(
        (when := parse_time(r.timestamp)) is not None and when > since for r in crashes)
    words = {TxnState.COMMITTED: "installed", TxnState.ROLLED_BACK: "rolled back",
             TxnState.FAILED: "failed", TxnState.PLANNED: "planned"}
    state = words.get(last.state, str(last.state))
    command = rollback_command(last) if last.state is TxnState.COMMITTED else ""
    return HostState(host, kernels, state, last.id, last.created, command, recurred)


def _status(views: Sequence[HostState], fleet_size: int,
            prov: dict[str, str]) -> tuple[str, str]:
    installed = [h.host for h in views if h.state == "installed"]
    rolled = [h.host for h in views if h.state == "rolled back"]
    recurred = [h.host for h in views if h.recurred]
    parts: list[str] = []
    kind = "none"
    if installed or rolled:
        parts.append(f"installed on {len(installed)} of {fleet_size} hosts")
        kind = "installed"
    if rolled:
        parts.append(f"rolled back on {', '.join(rolled)}")
    if recurred:
        parts.append(f"recurred on {', '.join(recurred)}")
        kind = "recurred"
    if not parts and any(h.state in ("planned", "failed") for h in views):
        parts.append("built")
        kind = "built"
    if not parts and prov.get("fix_first_release"):
        parts.append(f"fixed upstream in {prov['fix_first_release']}")
        kind = "upstream"
    return ("; ".join(parts) or "none"), kind


def build_view(result: ScanResult, journals: Sequence[HostJournals],
               generated: datetime | None = None) -> FleetView:
    by_host_txns: dict[str, list[InstallTransaction]] = {}
    for hj in journals:
        by_host_txns.setdefault(hj.host, []).extend(hj.transactions)
    fleet = sorted({r.host for r in result.reports if r.host} | set(by_host_txns))
    views: list[SignatureView] = []
    for group in result.groups:
        reps = [result.reports[i] for i in group.reports]
        sig_txns = {host: sorted((t for t in txns if (t.provenance or {}).get(
                        "crash_signature") == group.signature), key=lambda t: t.id)
                    for host, txns in by_host_txns.items()}
        sig_txns = {h: t for h, t in sig_txns.items() if t}
        hosts = sorted({r.host or "(unknown host)" for r in reps} | set(sig_txns))
        events: list[Event] = []
        grid: dict[tuple[str, str], int] = {}
        for r in reps:
            host = r.host or "(unknown host)"
            events.append(Event(host, parse_time(r.timestamp), "crash",
                                f"{r.title} ({r.timestamp or 'no date'})"))
            key = (host, r.kernel_release or "?")
            grid[key] = grid.get(key, 0) + 1
        prov: dict[str, str] = {}
        states: list[HostState] = []
        for host in hosts:
            txns = sig_txns.get(host, [])
            for t in txns:
                for k, v in (t.provenance or {}).items():
                    prov.setdefault(str(k), str(v))
                if t.state in (TxnState.COMMITTED, TxnState.ROLLED_BACK):
                    events.append(Event(host, parse_time(t.created), "install",
                                        f"install {t.module} on {t.kernel} ({t.id})"))
                back = _rolled_back_at(t)
                if back is not None:
                    events.append(Event(host, back, "rollback",
                                        f"rollback of {t.id} ({t.updated})"))
            host_reps = [r for r in reps if (r.host or "(unknown host)") == host]
            kernels = tuple(sorted({r.kernel_release for r in host_reps if r.kernel_release}
                                   | {t.kernel for t in txns}))
            states.append(_host_state(host, txns, host_reps, kernels))
        status, kind = _status(states, len(fleet), prov)
        views.append(SignatureView(
            group=group, page=page_name(group.signature), status=status, status_kind=kind,
            sample=reps[0], events=tuple(events), hosts=tuple(hosts),
            kernels=tuple(sorted({k for _, k in grid} | {k for s in states for k in s.kernels})),
            grid=grid, fix=tuple((k, prov[k]) for k in FIX_KEYS if k in prov),
            host_states=tuple(states),
            installed_on=sum(1 for s in states if s.state == "installed"),
            rolled_back_on=sum(1 for s in states if s.state == "rolled back"),
        ))
    when = generated or datetime.now(UTC)
    return FleetView(
        generated=when.strftime("%Y-%m-%d %H:%M:%SZ"), reports=len(result.reports),
        hosts=tuple(fleet), signatures=tuple(views),
        errors=tuple(str(e) for e in result.errors),
        journals=sum(len(j.transactions) for j in journals),
    )
