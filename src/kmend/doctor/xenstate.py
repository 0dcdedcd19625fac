"""Is this a Xen host, a dom0, and are the Xen devices and modules there (files only)."""

from __future__ import annotations

import contextlib
from pathlib import Path

from kmend.doctor.model import ProcState, XenFacts, XlProbe

#: The dom0 modules the toolstack needs (as /proc/modules names them).
XEN_MODULES = ("xen_evtchn", "xen_gntdev", "xen_privcmd", "xenfs", "xen_gntalloc")
#: The ones without which xenstored cannot run (event channels, hypercalls, /proc/xen).
REQUIRED_MODULES = ("xen_evtchn", "xen_privcmd", "xenfs")


def _text(path: Path, limit: int = 1 << 20) -> str | None:
    try:
        with path.open("rb") as fh:
            return fh.read(limit).decode("utf-8", "replace")
    except OSError:
        return None


def loaded_modules(root: Path) -> set[str]:
    """Module names from ``proc/modules`` plus ``sys/module/<name>`` (built-in ones too)."""
    names: set[str] = set()
    text = _text(root / "proc" / "modules")
    for line in (text or "").splitlines():
        if line.strip():
            names.add(line.split()[0])
    with contextlib.suppress(OSError):
        names.update(e.name for e in (root / "sys" / "module").iterdir())
    return names


def xen_facts(root: Path, daemons: tuple[ProcState, ...], xl: XlProbe | None) -> XenFacts:
    proc_xen = (root / "proc" / "xen").is_dir()
    hv_type = (_text(root / "sys" / "hypervisor" / "type", 64) or "").strip()
    caps = _text(root / "proc" / "xen" / "capabilities", 4096)
    caps = caps.strip() if caps is not None else None
    modules = loaded_modules(root)
    return XenFacts(
        is_xen=proc_xen or hv_type == "xen",
        is_dom0=caps is not None and "control_d" in caps.split(),
        proc_xen=proc_xen,
        capabilities=caps,
        evtchn_device=(root / "dev" / "xen" / "evtchn").exists(),
        modules=tuple(m for m in XEN_MODULES if m in modules),
        daemons=daemons,
        xl=xl,
    )
