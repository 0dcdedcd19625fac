"""Reload the module in the running kernel — only when that is safe.

Only for root ``/`` and the running kernel's release.  A module that is not loaded needs
nothing (the next load uses the new file).  A loaded module is unloaded and loaded again
with ``modprobe -r`` + ``modprobe`` only when ``/sys/module/NAME/refcnt`` is 0 and
``/sys/module/NAME/holders`` is empty; otherwise the answer is "reboot needed".
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from kmend import proc
from kmend.install.fsops import SafeRoot

SYS_MODULE = Path("/sys/module")


@dataclass(frozen=True)
class ReloadDecision:
    action: str  # "none" | "run" | "reboot"
    reason: str


def decide(root: SafeRoot, release: str, name: str,
           sys_module: Path = SYS_MODULE) -> ReloadDecision:
    if not root.is_host:
        return ReloadDecision("none", "never reloaded inside --root; boot that system to use it")
    running = os.uname().release
    if release != running:
        return ReloadDecision("none", f"{release} is not the running kernel ({running}); "
                              f"the new module is used when {release} boots")
    mod = sys_module / name
    if not mod.is_dir():
        return ReloadDecision("none", f"{name} is not loaded; the next load uses the new file")
    try:
        refcnt = int((mod / "refcnt").read_text().strip() or "0")
    except (OSError, ValueError):
        return ReloadDecision("reboot", f"{name} is built in or its refcnt is unreadable; "
                              "reboot needed")
    holders = sorted(os.listdir(mod / "holders")) if (mod / "holders").is_dir() else []
    if refcnt or holders:
        used = f"refcnt {refcnt}" + (f", holders: {', '.join(holders)}" if holders else "")
        return ReloadDecision("reboot", f"{name} is in use ({used}); reboot needed to use the "
                              "new module")
    return ReloadDecision("run", f"{name} is loaded and unused: modprobe -r {name}; "
                          f"modprobe {name}")


def reload(name: str) -> None:
    proc.run(["modprobe", "-r", name], timeout=120)
    proc.run(["modprobe", name], timeout=120)
