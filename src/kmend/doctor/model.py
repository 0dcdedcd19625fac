"""The facts ``kmend doctor`` gathers and the report it gives (frozen dataclasses)."""

from __future__ import annotations

from kmend._compat import dataclass


@dataclass(frozen=True, slots=True)
class ProcState:
    """One running process as /proc/<pid>/stat shows it (``state``: R S D T t Z X I …)."""

    pid: int
    comm: str
    state: str


@dataclass(frozen=True, slots=True)
class XlProbe:
    """What ``xl list`` did: answered (``rc`` 0), failed (``rc`` ≠ 0) or hung (killed).

    ``source`` is ``live`` (run now) or ``captured`` (read from the tree); ``seconds`` is
    how long it took (or ran before it was killed).
    """

    source: str
    rc: int | None
    hung: bool
    seconds: float | None
    timeout: float
    output: str = ""

    @property
    def answered(self) -> bool:
        return not self.hung and self.rc == 0


@dataclass(frozen=True, slots=True)
class XenFacts:
    """The Xen side of the host, read from files under the root."""

    is_xen: bool  # /proc/xen or /sys/hypervisor/type = xen
    is_dom0: bool  # /proc/xen/capabilities holds control_d
    proc_xen: bool
    capabilities: str | None
    evtchn_device: bool  # /dev/xen/evtchn
    modules: tuple[str, ...]  # Xen modules loaded (or built in, seen in /sys/module)
    daemons: tuple[ProcState, ...]  # xenstored / oxenstored processes
    xl: XlProbe | None  # None: xl not installed / not captured


@dataclass(frozen=True, slots=True)
class CrashSummary:
    """One kernel crash since boot, as much as the verdict needs."""

    title: str
    type: str | None
    location: str | None  # "file:line"
    function: str | None
    module: str | None
    pid: int | None
    comm: str | None
    kernel_release: str | None
    timestamp: str | None
    source: str  # the log it came from (path, or "dmesg" / "journalctl")
    index: int  # its index among that source's crashes (kmend show --index)
    panicked: bool
    signature: str
    host: str | None = None  # the host its log line names (None: the line names none)
    #: True when the crash is known to be of the current boot (journal -b, the ring buffer,
    #: a file after its last boot banner); False for a file with no banner, read whole.
    since_boot: bool = True


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True, slots=True)
class DoctorReport:
    root: str
    healthy: bool
    verdict: str
    next_command: str | None
    checks: tuple[Check, ...]
    crashes: tuple[CrashSummary, ...]
    log_sources: tuple[str, ...]
    log_errors: tuple[str, ...] = ()
    #: The sources that were actually read (a verdict needs at least one).
    logs_read: tuple[str, ...] = ()
    #: Crashes whose lines name another host (a central log): listed, not this host's health.
    other_hosts: tuple[CrashSummary, ...] = ()
