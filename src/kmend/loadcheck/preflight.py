"""Preflight: boot the target kernel under QEMU (optionally as Xen PV dom0) and load the
module for real, with kmend.lab.  The kernel's own verdict, not a prediction."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kmend.errors import CommandFailed, CommandTimeout, InputError, UsageError
from kmend.ko import read_module
from kmend.lab import (
    BootCase,
    BootResult,
    InitramfsSpec,
    Insmod,
    Modprobe,
    ModuleTree,
    Run,
    XenConfig,
    boot,
)
from kmend.lab.kernels import read_modules_dep
from kmend.lab.secureboot import SecureBootConfig, boot_chain_error
from kmend.lab.steps import Step
from kmend.loadcheck.dmesg import first_error, taint_letters
from kmend.loadcheck.providers import normalize

MAIN_LABEL = "module"
STATE_LABEL = "sig-state"
#: what the guest reports before the load: sig_enforce, then the lockdown level
STATE_COMMAND = ("cat /sys/module/module/parameters/sig_enforce; "
                 "mount -t securityfs securityfs /sys/kernel/security 2>/dev/null; "
                 "cat /sys/kernel/security/lockdown 2>/dev/null || echo unknown")


@dataclass(frozen=True)
class PreflightResult:
    loaded: bool
    rc: int | None
    first_error: str | None
    messages: tuple[str, ...]
    insmod_output: tuple[str, ...]
    taint: int | None
    taints: str
    release: str | None
    module: str
    kernel_image: str
    xen: str | None
    dependencies: tuple[str, ...]
    missing_dependencies: tuple[str, ...]
    seconds: float
    secure_boot: bool = False
    mok_certs: tuple[str, ...] = ()
    #: the guest's /sys/module/module/parameters/sig_enforce ("Y"/"N"), under Secure Boot
    sig_enforce: str | None = None
    #: the guest's /sys/kernel/security/lockdown (e.g. "none [integrity] confidentiality")
    lockdown: str | None = None


def _dependency_steps(depends: tuple[str, ...], modules_dir: Path | None,
                      extra: tuple[Path, ...]) -> tuple[list[Step], list[str], list[str]]:
    steps: list[Step] = []
    loaded: list[str] = []
    given = {normalize(read_module(p).name): p for p in extra}
    for index, path in enumerate(extra):
        steps.append(Insmod(f"with-{index}", path))
    known = read_modules_dep(modules_dir) if modules_dir is not None else {}
    missing = []
    for name in depends:
        norm = normalize(name)
        if norm in given:
            loaded.append(norm)
        elif norm in known:
            steps.append(Modprobe(f"dep-{norm}", norm))
            loaded.append(norm)
        else:
            missing.append(norm)
    return steps, loaded, missing


def preflight(
    module: Path,
    kernel_image: Path,
    *,
    modules_dir: Path | None = None,
    xen: Path | None = None,
    with_modules: tuple[Path, ...] = (),
    timeout: float = 300.0,
    console_path: Path | None = None,
    secure_boot: SecureBootConfig | None = None,
) -> PreflightResult:
    """Boot *kernel_image*, load *module*'s dependencies then *module*; report what happened.

    With *secure_boot* the kernel boots through OVMF Secure Boot, shim and grub, with the
    configuration's certificates enrolled as MOKs (the image must be a signed kernel).
    """
    if secure_boot is not None and xen is not None:
        raise UsageError("--secure-boot and --xen cannot be combined",
                         "preflight under Secure Boot boots Linux through shim and grub")
    mod = read_module(module)
    if modules_dir is not None and not (modules_dir / "modules.dep").is_file():
        raise InputError(f"{modules_dir}: no modules.dep here",
                         "give the kernel's /lib/modules/RELEASE directory")
    steps, deps, missing = _dependency_steps(mod.depends, modules_dir, with_modules)
    if secure_boot is not None:
        steps.insert(0, Run(STATE_LABEL, STATE_COMMAND, capture_dmesg=False))
    steps.append(Insmod(MAIN_LABEL, module))
    tree = (ModuleTree(root=modules_dir, only=tuple(d for d in deps if d in
                                                    read_modules_dep(modules_dir)))
            if modules_dir is not None and any(isinstance(s, Modprobe) for s in steps) else None)
    case = BootCase(
        kernel=kernel_image,
        initramfs=InitramfsSpec(steps=tuple(steps), modules=tree, use_kmod=True),
        timeout=timeout,
        xen=XenConfig(hypervisor=xen) if xen is not None else None,
        console_path=console_path,
        name=f"preflight {mod.name}",
        secure_boot=secure_boot,
    )
    result = boot(case)
    load = result.load(MAIN_LABEL)
    if load.rc is None and secure_boot is not None:
        refused = boot_chain_error(result.console)
        if refused is not None:
            raise InputError(f"{kernel_image}: the Secure Boot chain refused the kernel "
                             f"image ({refused!r})", "give a kernel signed for Secure Boot "
                             "(Debian's linux-image-RELEASE, not -unsigned)")
    if load.rc is None:
        tail = "\n".join(result.console.strip().splitlines()[-5:])
        why = "timed out" if result.timed_out else "never reported the load"
        error = CommandTimeout if result.timed_out else CommandFailed
        raise error(
            f"the guest {why} ({result.seconds:.0f} s); last console lines: {tail!r}",
            "pass --console FILE to keep the whole console, or raise --timeout",
        )
    return PreflightResult(
        loaded=load.rc == 0,
        rc=load.rc,
        first_error=first_error(load.messages),
        messages=load.messages,
        insmod_output=load.output,
        taint=load.taint_after,
        taints=taint_letters(load.taint_after),
        release=result.release,
        module=mod.name,
        kernel_image=str(kernel_image),
        xen=str(xen) if xen is not None else None,
        dependencies=tuple(deps),
        missing_dependencies=tuple(missing),
        seconds=result.seconds,
        **_secure_boot_facts(result, secure_boot),
    )


def _secure_boot_facts(result: BootResult, cfg: SecureBootConfig | None) -> dict[str, Any]:
    if cfg is None:
        return {}
    out = result.command(STATE_LABEL).output
    return {
        "secure_boot": True,
        "mok_certs": tuple(str(c) for c in cfg.mok_certs),
        "sig_enforce": out[0].strip() if out else None,
        "lockdown": out[1].strip() if len(out) > 1 else None,
    }
