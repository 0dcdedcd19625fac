"""Collect the facts of one host (live root ``/`` or a captured tree) and decide."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from kmend.doctor.crashlogs import CAPTURE_DIR, scan_crashes
from kmend.doctor.model import DoctorReport
from kmend.doctor.procfs import XENSTORE_DAEMONS, find_processes
from kmend.doctor.verdict import decide
from kmend.doctor.xenstate import xen_facts
from kmend.doctor.xlprobe import DEFAULT_TIMEOUT, probe_captured, probe_live
from kmend.errors import UsageError


def is_live(root: Path) -> bool:
    """A root that is this machine's ``/`` is probed live (commands run); any other is a tree."""
    try:
        return root.resolve() == Path("/").resolve()
    except OSError:
        return False


def examine(
    root: Path = Path("/"),
    logs: Sequence[str] = (),
    *,
    default_logs: bool = True,
    xl_timeout: float = DEFAULT_TIMEOUT,
) -> DoctorReport:
    """The doctor's report on the host at *root*."""
    if not root.is_dir():
        raise UsageError(f"--root {root}: not a directory", "give / or a captured tree")
    if not math.isfinite(xl_timeout) or xl_timeout <= 0:
        raise UsageError("--xl-timeout must be positive", "e.g. --xl-timeout 10")
    live = is_live(root)
    daemons = find_processes(root, XENSTORE_DAEMONS)
    xen_present = (root / "proc" / "xen").is_dir()
    xl = None
    if xen_present:
        xl = probe_live(xl_timeout) if live else probe_captured(root / CAPTURE_DIR)
    facts = xen_facts(root, daemons, xl)
    scan = scan_crashes(root, logs, defaults=default_logs, live=live)
    return decide(
        facts, scan.crashes, str(root), scan.sources, scan.errors,
        read=scan.read, missed=scan.missed, other_hosts=scan.other_hosts,
    )
