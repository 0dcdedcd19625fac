"""The on-disk journal: one JSON file per transaction under ``ROOT/var/lib/kmend/txn/ID/``.

It is rewritten atomically (temp + fsync + rename + fsync of the directory) before and
after every step, so after a crash it names the last step that finished.  Backups of
originals and the staged new files live beside it in the same directory.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import replace
from typing import Any

from kmend.errors import StateError
from kmend.install.fsops import SafeRoot
from kmend.install.lock import STATE_DIR
from kmend.install.model import (
    CheckSummary,
    FileChange,
    InitramfsPlan,
    InstallTransaction,
    Mode,
    SavedFile,
    Step,
    StepState,
    TxnState,
)
from kmend.jsonout import dumps

TXN_DIR = f"{STATE_DIR}/txn"
JOURNAL = "journal.json"


def new_id() -> str:
    """Sortable by creation time (to the microsecond), unique by a random suffix."""
    ns = time.time_ns()
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(ns // 1_000_000_000))
    return f"{stamp}.{ns // 1000 % 1_000_000:06d}Z-{secrets.token_hex(3)}"


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def txn_dir(txn_id: str) -> str:
    if not txn_id or "/" in txn_id or txn_id.startswith("."):
        raise StateError(f"not a transaction id: {txn_id!r}", "see `kmend status` for ids")
    return f"{TXN_DIR}/{txn_id}"


def save(root: SafeRoot, txn: InstallTransaction) -> InstallTransaction:
    """Write the journal durably; returns the transaction with ``updated`` set."""
    txn = replace(txn, updated=now())
    root.write_atomic(f"{txn_dir(txn.id)}/{JOURNAL}", (dumps(txn) + "\n").encode(),
                      mode=0o600, tag="journal")
    return txn


def load(root: SafeRoot, txn_id: str) -> InstallTransaction:
    rel = f"{txn_dir(txn_id)}/{JOURNAL}"
    try:
        raw = root.read_bytes(rel)
    except FileNotFoundError:
        raise StateError(f"no transaction {txn_id} under {root.path}",
                         "see `kmend status` for the transactions there") from None
    try:
        return from_dict(json.loads(raw))
    except (ValueError, KeyError, TypeError) as exc:
        raise StateError(f"journal {root.host_path(rel)} is unreadable: {exc}",
                         "inspect it by hand; kmend will not guess") from exc


def list_ids(root: SafeRoot) -> list[str]:
    """Transaction ids, oldest first (ids start with a UTC timestamp)."""
    return [n for n in root.listdir(TXN_DIR) if not n.startswith(".")]


def load_all(root: SafeRoot) -> list[InstallTransaction]:
    out = []
    for txn_id in list_ids(root):
        if root.lstat(f"{txn_dir(txn_id)}/{JOURNAL}") is None:
            continue  # created but the first journal write never finished: nothing was done
        out.append(load(root, txn_id))
    return out


def _opt(d: dict[str, Any], key: str) -> Any:
    return d.get(key)


def from_dict(d: dict[str, Any]) -> InstallTransaction:
    check = d.get("check")
    ini = d.get("initramfs") or {}
    return InstallTransaction(
        id=str(d["id"]),
        kernel=str(d["kernel"]),
        root=str(d["root"]),
        steps=tuple(Step(str(s["name"]), StepState(s["state"]), str(s.get("detail", "")))
                    for s in d["steps"]),
        state=TxnState(d["state"]),
        module=str(d.get("module", "")),
        mode=Mode(d.get("mode", "override")),
        source=str(d.get("source", "")),
        source_sha256=str(d.get("source_sha256", "")),
        files=tuple(FileChange(str(f["path"]), _opt(f, "old_sha256"), _opt(f, "new_sha256"),
                               _opt(f, "backup"), _opt(f, "staged")) for f in d.get("files", [])),
        saved=tuple(SavedFile(str(f["path"]), str(f["sha256"]), str(f["backup"]))
                    for f in d.get("saved", [])),
        created_dirs=tuple(str(x) for x in d.get("created_dirs", [])),
        initramfs=InitramfsPlan(ini.get("image"), bool(ini.get("contains_module")),
                                str(ini.get("action", "none")),
                                tuple(str(a) for a in ini.get("command", [])),
                                str(ini.get("reason", ""))),
        check=None if check is None else CheckSummary(
            bool(check["available"]), check.get("will_load"), str(check.get("first_error", "")),
            tuple(str(x) for x in check.get("findings", [])), str(check.get("note", ""))),
        forced=bool(d.get("forced", False)),
        provenance=d.get("provenance"),
        messages=tuple(str(m) for m in d.get("messages", [])),
        error=str(d.get("error", "")),
        created=str(d.get("created", "")),
        updated=str(d.get("updated", "")),
        rollback_of_failure=bool(d.get("rollback_of_failure", False)),
    )
