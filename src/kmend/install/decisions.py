"""What ``kmend rebuild --kernel R`` decided for each active fix, kept per kernel.

``ROOT/var/lib/kmend/rebuild/R.json`` holds the newest decision per module for kernel R
(rebuilt as transaction X, retired because R contains the fix, sources unknown, failed),
written atomically.  ``kmend status`` reads it to say why a fix is or is not active on R.
The module tree itself is changed only by install transactions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from kmend.install import modtree
from kmend.install.fsops import SafeRoot
from kmend.install.journal import now
from kmend.install.lock import STATE_DIR
from kmend.jsonout import dumps

DECISIONS_DIR = f"{STATE_DIR}/rebuild"

#: Decision actions.
REBUILT = "rebuilt"            # built again from the provenance and installed for R
RETIRED = "retired"            # R already contains the fix: no override is carried
ALREADY = "already"            # a kmend fix for this module is already active on R
DKMS = "dkms"                  # DKMS built it for R (AUTOINSTALL); kmend verified the result
UNKNOWN = "sources-unknown"    # nothing records where the fix's sources are
FAILED = "failed"              # the rebuild, its check or its install failed
PLANNED = "planned"            # --dry-run: what would be done
NEGATIVE = (UNKNOWN, FAILED)


@dataclass(frozen=True)
class Decision:
    module: str
    action: str
    reason: str
    origin: str = ""          # the transaction whose fix was carried over
    origin_kernel: str = ""
    transaction: str = ""     # the transaction installing it for this kernel
    fix_commit: str = ""
    release: str = ""         # the tag that decided a retirement
    signed: str = ""          # how the module was signed (or why not)
    check: str = ""           # what the load check said
    seconds: float = 0.0
    decided: str = ""


def _rel(kernel: str) -> str:
    return f"{DECISIONS_DIR}/{modtree.check_release(kernel)}.json"


def load(root: SafeRoot, kernel: str) -> dict[str, Decision]:
    """Module name → the newest decision for *kernel* (empty when none or unreadable)."""
    try:
        raw = root.read_bytes(_rel(kernel))
        doc = json.loads(raw)
        items = doc["decisions"]
        return {str(d["module"]): _from_dict(d) for d in items if isinstance(d, dict)}
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return {}


def _from_dict(d: dict[str, Any]) -> Decision:
    return Decision(module=str(d["module"]), action=str(d["action"]),
                    reason=str(d.get("reason", "")), origin=str(d.get("origin", "")),
                    origin_kernel=str(d.get("origin_kernel", "")),
                    transaction=str(d.get("transaction", "")),
                    fix_commit=str(d.get("fix_commit", "")), release=str(d.get("release", "")),
                    signed=str(d.get("signed", "")), check=str(d.get("check", "")),
                    seconds=float(d.get("seconds", 0.0)), decided=str(d.get("decided", "")))


def save(root: SafeRoot, kernel: str, decided: list[Decision]) -> None:
    """Merge *decided* into the kernel's record (newest per module wins)."""
    current = load(root, kernel)
    stamp = now()
    for d in decided:
        current[d.module] = replace(d, decided=d.decided or stamp)
    doc = {"kernel": kernel, "updated": stamp,
           "decisions": [current[k] for k in sorted(current)]}
    root.write_atomic(_rel(kernel), (dumps(doc) + "\n").encode(), mode=0o644, tag="rebuild")
