"""Xen 4.17 under QEMU (TCG) with a Debian kernel as PV dom0.

QEMU's multiboot loader needs the hypervisor as an uncompressed ELF (Debian ships
``/boot/xen-4.17-amd64.gz``; given the .gz, QEMU mistakes it for a bzImage and says
``linux kernel too old to load a ram disk``).  The dom0 kernel and its initramfs are
multiboot modules: ``-initrd "vmlinuz <dom0 args>,initrd"``, a literal comma written
``,,``.  Dom0's ``poweroff -f`` goes through Xen's ACPI S5 and QEMU exits.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

from kmend.errors import EnvironmentMissing, InputError
from kmend.lab.kernels import ModuleTree, modules_dir
from kmend.lab.steps import Modprobe, Run

XEN_GZ = Path("/boot/xen-4.17-amd64.gz")
XEN_BIN = Path("/usr/lib/xen-4.17/bin")
XEN_ARGS = (
    "console=com1 com1=115200,8n1 dom0_mem=512M,max:512M loglvl=all guest_loglvl=all "
    "noreboot console_timestamps=boot"
)
DOM0_ARGS = "console=hvc0 earlyprintk=xen panic=-1"
DOM0_MODULES = ("xen-evtchn", "xen-privcmd", "xenfs", "xen-gntdev", "xen-gntalloc")
_TOOLS = (
    (f"{XEN_BIN}/xl", "usr/sbin/xl"),
    (f"{XEN_BIN}/xenstored", "usr/sbin/xenstored"),
    (f"{XEN_BIN}/xen-init-dom0", "usr/sbin/xen-init-dom0"),
    # xenstore-read etc. are one multi-call binary dispatching on its name: copy it
    *((f"/usr/bin/xenstore-{n}", f"usr/bin/xenstore-{n}") for n in ("read", "write", "ls")),
)


@dataclass(frozen=True)
class XenConfig:
    """Boot the case's kernel as PV dom0 under this hypervisor."""

    hypervisor: Path = XEN_GZ
    xen_args: str = XEN_ARGS
    # one vCPU: under TCG on a busy host a second vCPU made the boot slower (34 s vs 23 s)
    memory_mb: int = 1024
    smp: int = 1


def hypervisor_elf(source: Path, dest: Path) -> Path:
    """Write the uncompressed ELF multiboot image of *source* (.gz or ELF) to *dest*."""
    if not source.is_file():
        raise EnvironmentMissing(
            f"Xen hypervisor {source} not found", "apt-get install xen-hypervisor-4.17-amd64"
        )
    raw = source.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise InputError(f"cannot decompress {source}: {exc}") from exc
    if raw[:4] != b"\x7fELF":
        raise InputError(f"{source} is not an ELF (or gzipped ELF) Xen image")
    dest.write_bytes(raw)
    return dest


def multiboot_modules(kernel: Path, cmdline: str, initrd: Path) -> str:
    """The ``-initrd`` value: two multiboot modules, commas doubled as QEMU requires."""

    def esc(text: str) -> str:
        return text.replace(",", ",,")

    return f"{esc(str(kernel))} {esc(cmdline)},{esc(str(initrd))}"


def dom0_module_tree(release: str, names: tuple[str, ...] = DOM0_MODULES) -> ModuleTree:
    """The installed Xen dom0 modules of *release* and their dependencies."""
    return ModuleTree(modules_dir(release), only=names)


def tool_executables() -> tuple[tuple[str, Path], ...]:
    """(guest path, host path) for xl, xenstored, xen-init-dom0 and xenstore-*."""
    found: list[tuple[str, Path]] = []
    for host, guest in _TOOLS:
        path = Path(host)
        if not path.is_file():
            raise EnvironmentMissing(f"{path} not found", "apt-get install xen-utils-4.17")
        found.append((guest, path))
    return tuple(found)


def evtchn_steps() -> tuple[Modprobe | Run, ...]:
    """Load Debian's xen-evtchn in dom0 and show that /dev/xen/evtchn appeared."""
    return (
        Run("xen-type", "cat /sys/hypervisor/type /sys/hypervisor/guest_type"),
        Modprobe("xen-evtchn", "xen-evtchn"),
        Run("evtchn-dev", "test -c /dev/xen/evtchn && ls -l /dev/xen/evtchn"),
    )


def toolstack_steps() -> tuple[Modprobe | Run, ...]:
    """Start xenstored and ask ``xl list`` (needs :func:`tool_executables` in the guest)."""
    return (
        Modprobe("xenfs", "xenfs"),
        Modprobe("xen-privcmd", "xen-privcmd"),
        Modprobe("xen-gntdev", "xen-gntdev"),
        Run("mount-xenfs", "mount -t xenfs xenfs /proc/xen && ls /proc/xen"),
        Run(
            "xenstored",
            "mkdir -p /var/lib/xenstored /var/run/xenstored /var/lib/xen /var/log/xen"
            " && xenstored --pid-file /run/xenstored.pid && sleep 1",
        ),
        Run("xen-init-dom0", "xen-init-dom0"),
        Run("xl-list", "xl list", timeout=60),
    )


def tool_files() -> tuple[tuple[str, Path], ...]:
    """Host configuration files xl reads (``/etc/xen/xl.conf``), when present."""
    conf = Path("/etc/xen/xl.conf")
    return (("etc/xen/xl.conf", conf),) if conf.is_file() else ()
