"""The verbs a fleet host runs, without the CLI's dependencies: ``python3 kmend.pyz VERB``.

The Ansible collection ships kmend to each host as a zipapp of pure-Python code (kmend
and pyelftools) and runs these verbs with the host's own python3: ``scan``, ``install``,
``rollback``, ``status`` and ``doctor``.  They call the same library functions as the
``kmend`` verbs of the same names and print one JSON document on stdout; errors are one
line on stderr with kmend's exit codes (see README).

Two things only the fleet needs: ``install`` of a module whose bytes are already the
installed file is a no-op (``"changed": false``, no transaction), and ``scan --since``
keeps only the crashes logged after a time (the rollout's health gate: has the crash come
back since the fix went in?).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from kmend._compat import UTC
from kmend.errors import InputError, KmendError, UsageError
from kmend.install import (
    Mode,
    SafeRoot,
    TxnState,
    install,
    journal,
    plan_install,
    rollback,
    status,
)
from kmend.install.model import STEP_RELOAD, InstallTransaction
from kmend.install.modtree import read_modinfo
from kmend.jsonout import dumps

EXIT_INTERNAL = 70
LOGS = ("var/log/kern.log", "var/log/messages", "var/log/syslog")


def when(text: str | None) -> datetime | None:
    """An ISO-8601 time as UTC (a time without a date or offset: None / taken as UTC)."""
    if not text:
        return None
    if text[-1:] in "Zz":  # fromisoformat takes a Z only from Python 3.11 on
        text = text[:-1] + "+00:00"
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        return None
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _emit(doc: Any) -> None:
    sys.stdout.write(dumps(doc) + "\n")


def _vermagic(path: Path) -> str:
    try:
        return read_modinfo(path).vermagic
    except KmendError:
        return ""


def reboot_required(txn: InstallTransaction) -> bool:
    """Whether the fix waits for a boot: installed, and not reloaded into the running
    kernel (a --root tree, another kernel, or the old module still in use)."""
    if txn.state is not TxnState.COMMITTED:
        return False
    step = txn.step(STEP_RELOAD)
    detail = step.detail if step else ""
    return not detail.startswith("reloaded") and "is not loaded" not in detail


def cmd_scan(args: argparse.Namespace) -> int:
    from kmend.triage.scan import scan

    root = Path(args.root)
    paths = list(args.paths) or [str(root / p) for p in LOGS if (root / p).is_file()]
    since = when(args.since) if args.since else None
    if args.since and since is None:
        raise UsageError(f"--since {args.since!r} is not an ISO-8601 time",
                         "e.g. --since 2026-12-07T03:04:00Z")
    result = scan(paths) if paths else None
    reports: list[dict[str, Any]] = []
    undated = 0
    for rep in result.reports if result else ():
        if args.signature and rep.signature != args.signature:
            continue
        t = when(rep.timestamp)
        if since is not None and (t is None or t <= since):
            undated += t is None
            continue
        reports.append({
            "signature": rep.signature, "title": rep.title, "timestamp": rep.timestamp,
            "host": rep.host, "kernel_release": rep.kernel_release, "module": rep.module,
            "location": rep.location, "source": rep.source,
        })
    files = sorted({str(r["source"].path) for r in reports if r["source"]})
    _emit({"paths": paths, "count": len(reports), "reports": reports,
           "groups": result.groups if result else [], "files": files,
           "undated_skipped": undated,
           "errors": [str(e) for e in result.errors] if result else []})
    return 0


def _identical(root: SafeRoot, txn: InstallTransaction) -> bool:
    return bool(txn.files) and all(
        fc.old_sha256 is not None and fc.old_sha256 == fc.new_sha256 for fc in txn.files
    ) and root.is_dir(txn.files[0].path.rsplit("/", 1)[0])


def _diff(root: SafeRoot, txn: InstallTransaction, module: Path) -> dict[str, Any]:
    fc = txn.files[0]
    old_path = root.host_path(fc.path)
    return {
        "path": fc.path,
        "before": {"sha256": fc.old_sha256, "vermagic": _vermagic(old_path)
                   if fc.old_sha256 else None},
        "after": {"sha256": fc.new_sha256, "vermagic": _vermagic(module)},
    }


def cmd_install(args: argparse.Namespace) -> int:
    module = Path(args.module)
    if not module.is_file():
        raise InputError(f"{module} is not a file", "copy the built .ko to the host first")
    prov = json.loads(args.provenance) if args.provenance else None
    if prov is not None and not isinstance(prov, dict):
        raise UsageError("--provenance must be a JSON object")
    try:
        mode = Mode(args.mode)
    except ValueError:
        raise UsageError(f"unknown --mode {args.mode!r}", "use override or replace") from None
    with SafeRoot(args.root) as r:
        plan = plan_install(r, module, kernel=args.kernel, mode=mode, force=args.force,
                            provenance=prov)
        diff = _diff(r, plan.txn, module)
        if _identical(r, plan.txn):
            committed = [t for t in journal.load_all(r) if t.state is TxnState.COMMITTED
                         and any(f.path == diff["path"] for f in t.files)]
            last = committed[-1] if committed else None
            _emit({"changed": False, "identical": True, "diff": diff,
                   "transaction": last, "reboot_required": False,
                   "msg": f"{diff['path']} already holds these bytes"})
            return 0
        if args.dry_run:
            _emit({"changed": True, "dry_run": True, "diff": diff,
                   "steps": [s.name for s in plan.txn.steps], "transaction": plan.txn,
                   "reboot_required": False})
            return 0
        txn = install(r, plan)
    _emit({"changed": True, "diff": diff, "transaction": txn,
           "reboot_required": reboot_required(txn)})
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    with SafeRoot(args.root) as r:
        txns = journal.load_all(r)
        target: InstallTransaction | None
        if args.transaction:
            chosen = [t for t in txns if t.id == args.transaction]
            if not chosen:
                raise UsageError(f"no transaction {args.transaction} under {r.path}",
                                 "see the status verb for the ids")
            target = chosen[0]
        else:
            committed = [t for t in txns if t.state is TxnState.COMMITTED
                         and (args.kernel is None or t.kernel == args.kernel)]
            target = committed[-1] if committed else None
        if target is None or target.state is not TxnState.COMMITTED:
            _emit({"changed": False, "transaction": target,
                   "msg": "nothing installed to roll back"})
            return 0
        if args.dry_run:
            _emit({"changed": True, "dry_run": True, "transaction": target})
            return 0
        done = rollback(r, target.id)
    _emit({"changed": True, "transaction": done})
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    root = Path(args.root)
    with SafeRoot(root) as r:
        st = status(r, args.kernel)
        txns = journal.load_all(r)
    mods = root / "lib/modules"
    kernels = sorted(p.name for p in mods.iterdir() if p.is_dir()) if mods.is_dir() else []
    live = root.resolve() == Path("/").resolve()
    _emit({"status": st, "transactions": txns, "kernels": kernels,
           "running_kernel": os.uname().release if live else None})
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from kmend.doctor import examine

    report = examine(Path(args.root), args.log or (), default_logs=not args.only_logs,
                     xl_timeout=args.xl_timeout)
    _emit(report)
    return 0 if report.healthy else 1


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="kmend.pyz", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="verb", required=True)
    p = sub.add_parser("scan", help="crashes in the host's logs (JSON)")
    p.add_argument("paths", nargs="*")
    p.add_argument("--root", default="/")
    p.add_argument("--since", help="only crashes logged after this ISO-8601 time")
    p.add_argument("--signature", help="only this crash signature")
    p.set_defaults(fn=cmd_scan)
    p = sub.add_parser("install", help="install a module fix (transactional)")
    p.add_argument("module")
    p.add_argument("--root", default="/")
    p.add_argument("--kernel")
    p.add_argument("--mode", default="override")
    p.add_argument("--provenance", help="a JSON object kept with the fix")
    p.add_argument("--force", action="store_true")
    p.add_argument("--dry-run", action="store_true")
    p.set_defaults(fn=cmd_install)
    p = sub.add_parser("rollback", help="roll back an installed fix")
    p.add_argument("transaction", nargs="?")
    p.add_argument("--root", default="/")
    p.add_argument("--kernel")
    p.add_argument("--dry-run", action="store_true")
    p.set_defaults(fn=cmd_rollback)
    p = sub.add_parser("status", help="installed fixes and every transaction")
    p.add_argument("--root", default="/")
    p.add_argument("--kernel")
    p.set_defaults(fn=cmd_status)
    p = sub.add_parser("doctor", help="is the host healthy (exit 1: no)")
    p.add_argument("--root", default="/")
    p.add_argument("--log", action="append")
    p.add_argument("--only-logs", action="store_true")
    p.add_argument("--xl-timeout", type=float, default=10.0)
    p.set_defaults(fn=cmd_doctor)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:  # argparse: usage errors exit 2 after one message
        return int(exc.code or 0)
    try:
        return int(args.fn(args))
    except KmendError as err:
        print(f"kmend: error: {err}", file=sys.stderr)
        return err.exit_code
    except ValueError as exc:  # --provenance that is not JSON
        print(f"kmend: error: {exc}", file=sys.stderr)
        return UsageError.exit_code
    except Exception as exc:
        if os.environ.get("KMEND_DEBUG"):
            raise
        print(f"kmend: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
