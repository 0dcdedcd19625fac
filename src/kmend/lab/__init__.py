"""The lab: boot real kernels (and Xen) under QEMU with a generated initramfs.

Typical use::

    from kmend.lab import BootCase, InitramfsSpec, Insmod, boot
    result = boot(BootCase(kernel=kernel_image("6.1.0-47-amd64"),
                           initramfs=InitramfsSpec(steps=(Insmod("hello", ko),))))
    result.load("hello").rc, result.load("hello").messages, result.taint
"""

from kmend.lab.console import BootResult, CommandResult, LoadResult, parse_markers
from kmend.lab.initramfs import InitramfsSpec, build_initramfs
from kmend.lab.kernels import (
    ModuleTree,
    find_module,
    kernel_image,
    modules_dir,
    read_module_bytes,
    resolve_modules,
)
from kmend.lab.qemu import BootCase, boot, choose_accel, probe_kvm, run_many
from kmend.lab.secureboot import SecureBootConfig
from kmend.lab.steps import Insmod, Modprobe, Run, Step
from kmend.lab.xen import (
    XenConfig,
    dom0_module_tree,
    evtchn_steps,
    tool_executables,
    tool_files,
    toolstack_steps,
)

__all__ = [
    "BootCase",
    "BootResult",
    "CommandResult",
    "InitramfsSpec",
    "Insmod",
    "LoadResult",
    "Modprobe",
    "ModuleTree",
    "Run",
    "SecureBootConfig",
    "Step",
    "XenConfig",
    "boot",
    "build_initramfs",
    "choose_accel",
    "dom0_module_tree",
    "evtchn_steps",
    "find_module",
    "kernel_image",
    "modules_dir",
    "parse_markers",
    "probe_kvm",
    "read_module_bytes",
    "resolve_modules",
    "run_many",
    "tool_executables",
    "tool_files",
    "toolstack_steps",
]
