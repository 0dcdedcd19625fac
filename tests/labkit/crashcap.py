"""Capture real kernel crashes from the crashmod test module (tests/data/crashmod).

The facts a fixture manifest records come from here, independently of any decoder:
the trigger's line and function are read from crashmod.c by its ``KMEND-TRIGGER:``
marker comments; the release and the triggering PID are printed by the guest itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tests.labkit.containers import Record

from kmend.lab.initramfs import InitramfsSpec
from kmend.lab.qemu import BootCase
from kmend.lab.steps import Insmod, Run

#: crashmod is built with -fmacro-prefix-map so __FILE__ reads like a DKMS build.
MACRO_PREFIX = "/var/lib/dkms/crashmod/1.0/build"
SOURCE_NAME = "crashmod.c"
COMPILED_PATH = f"{MACRO_PREFIX}/{SOURCE_NAME}"
COMM = "kmend-trigger"
#: Serial console with the syslog level of every record (kernel >= 4.15), so that the
#: fixtures can carry real levels; ``plain_console`` removes the ``<N>`` again.  panic=1
#: (not -1) so a panic prints "Rebooting in 1 seconds.." as production hosts do.
APPEND = "console=ttyS0 panic=1 console_msg_format=syslog"
PID_MARK = "KMEND-CRASH: pid="
GUEST_KO = "/lab/crashmod.ko"

_MARKER = re.compile(r"KMEND-TRIGGER: (\w+)")
_FUNC = re.compile(r"^[A-Za-z_][\w\s\*]*?\b([A-Za-z_]\w*)\s*\([^;]*$")
_KLINE = re.compile(r"^<(\d+)>\[\s*(\d+\.\d+)\] ?(.*)$")
_PID = re.compile(re.escape(PID_MARK) + r"(\d+)")


@dataclass(frozen=True)
class CrashKind:
    """One way crashmod can crash, and what the kernel is expected to report."""

    name: str
    family: str
    context: str = "task"  # "task", or "irq" for the timer callback
    panics: bool = False  # the kernel panics (the boot ends there)
    oops: bool = True  # the die() path runs (taint D)
    location_in_module: bool = True  # a "file:line" in crashmod.c is printed
    setup: str = ""  # shell run before the trigger (sysctls)
    trigger: str = ""  # crashmod's trigger name (default: name)
    at_load: bool = False  # trigger in module_init (insmod crashmod.ko trigger=...)
    requires: str = ""  # kernel config option the kind needs, e.g. CONFIG_KFENCE
    extra_append: str = ""  # extra kernel command line

    @property
    def trigger_name(self) -> str:
        return self.trigger or self.name

    @property
    def comm(self) -> str:
        return "insmod" if self.at_load else COMM


KINDS: tuple[CrashKind, ...] = (
    CrashKind("bug", "BUG"),
    CrashKind("warn", "WARNING", oops=False),
    CrashKind("null", "NULL pointer dereference", location_in_module=False),
    CrashKind("paging", "paging request", location_in_module=False),
    CrashKind("gpf", "general protection fault", location_in_module=False),
    CrashKind("divide", "divide error", location_in_module=False),
    CrashKind("panic", "kernel panic", panics=True, oops=False, location_in_module=False),
    CrashKind(
        "softlockup",
        "soft lockup",
        oops=False,
        location_in_module=False,
        setup="echo 1 > /proc/sys/kernel/watchdog_thresh",
    ),
    CrashKind(
        "hung",
        "hung task",
        oops=False,
        location_in_module=False,
        setup="echo 2 > /proc/sys/kernel/hung_task_timeout_secs",
    ),
    CrashKind("atomic_sleep", "scheduling while atomic", oops=False, location_in_module=False),
    CrashKind("listcorrupt", "BUG", location_in_module=False),
    CrashKind(
        "timer", "NULL pointer dereference", context="irq", panics=True, location_in_module=False
    ),
    # a double fault on the guard page: die() in exception context, so the kernel panics
    CrashKind("stackoverflow", "stack guard page", panics=True, location_in_module=False),
    CrashKind(
        "kfence",
        "KFENCE use-after-free",
        oops=False,
        location_in_module=False,
        requires="CONFIG_KFENCE",
        extra_append="kfence.sample_interval=1",
    ),
    CrashKind("bug_at_load", "BUG", trigger="bug", at_load=True),
)
KIND_BY_NAME = {k.name: k for k in KINDS}


@dataclass(frozen=True)
class TriggerSite:
    kind: str
    line: int
    function: str


def trigger_sites(source: str) -> dict[str, TriggerSite]:
    """Find every ``KMEND-TRIGGER: <kind>`` comment: its line and enclosing function."""
    lines = source.splitlines()
    sites: dict[str, TriggerSite] = {}
    for index, line in enumerate(lines):
        found = _MARKER.search(line)
        if not found:
            continue
        function = ""
        for back in range(index, -1, -1):
            head = _FUNC.match(lines[back])
            if head and not lines[back].startswith((" ", "\t", "#", "/", "*")):
                function = head.group(1)
                break
        kind = found.group(1)
        if kind in sites:
            raise ValueError(f"two KMEND-TRIGGER markers for {kind}")
        sites[kind] = TriggerSite(kind, index + 1, function)
    return sites


def trigger_command(kind: CrashKind) -> str:
    """The guest shell command: set sysctls, rename itself, report its PID, trigger.

    For an ``at_load`` kind the command reports the PID and execs insmod itself, so the
    crashing insmod has that PID.
    """
    parts = [kind.setup] if kind.setup else []
    if kind.at_load:
        parts += [
            f'echo "{PID_MARK}$$" > /dev/console',
            # kmod's insmod by its path: exec then names the process "insmod" (busybox
            # would re-exec itself as /proc/self/exe, named "exe")
            f"exec /usr/sbin/insmod {GUEST_KO} trigger={kind.trigger_name}",
        ]
        return "; ".join(parts)
    parts += [
        f"printf %s {COMM} > /proc/self/comm",
        f'echo "{PID_MARK}$$" > /dev/console',
        f"echo {kind.trigger_name} > /proc/crashmod",
    ]
    return "; ".join(parts)


def kernel_has(config_text: str, option: str) -> bool:
    """Whether *option* is =y or =m in a kernel .config text."""
    return any(line.strip() in {f"{option}=y", f"{option}=m"} for line in config_text.splitlines())


def capture_case(
    kernel: Path, ko: Path, kind: CrashKind, *, timeout: float = 150.0, console: Path | None = None
) -> BootCase:
    """One boot: load crashmod, trigger *kind* from a process named :data:`COMM`.

    An ``at_load`` kind ships crashmod as a file and loads it from the trigger command.
    """
    run = Run("trigger", trigger_command(kind), capture_dmesg=False)
    if kind.at_load:
        spec = InitramfsSpec(steps=(run,), files=((GUEST_KO.lstrip("/"), ko),), use_kmod=True)
    else:
        spec = InitramfsSpec(steps=(Insmod("crashmod", ko), run))
    return BootCase(
        kernel=kernel,
        initramfs=spec,
        append=APPEND,
        extra_append=kind.extra_append,
        timeout=timeout,
        console_path=console,
        name=f"crash-{kind.name}",
    )


def kernel_records(console: str) -> list[Record]:
    """The kernel's records (``<N>[ts] text`` lines) of a console_msg_format=syslog capture."""
    records = []
    for line in console.replace("\r\n", "\n").split("\n"):
        found = _KLINE.match(line)
        if found:
            records.append(Record(int(found.group(1)), float(found.group(2)), found.group(3)))
    return records


def plain_console(console: str) -> str:
    """The capture from its first to its last kernel line, without the ``<N>`` prefixes.

    This is what the serial console shows with the default console_msg_format; the
    lines /init wrote in between are kept, as a real console would show them.
    """
    lines = console.replace("\r\n", "\n").split("\n")
    index = [i for i, line in enumerate(lines) if _KLINE.match(line)]
    if not index:
        return ""
    kept = lines[index[0] : index[-1] + 1]
    return "\n".join(re.sub(r"^<\d+>(?=\[)", "", line) for line in kept) + "\n"


def trigger_pid(console: str) -> int | None:
    found = _PID.search(console)
    return int(found.group(1)) if found else None
