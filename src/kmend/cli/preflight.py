"""`kmend preflight MODULE.ko [--kernel R | --kernel-image VMLINUZ] [--modules-dir DIR] [--xen XEN]
[--secure-boot [--cert CERT ...]]`.

Boots the kernel under QEMU (Xen PV dom0 with --xen; through OVMF Secure Boot, shim and
grub with --secure-boot, CERT enrolled as a MOK), loads the module for real and reports
the kernel's verdict.  Exit 0: loaded; 1: refused; others: errors.py codes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from kmend.cli import options
from kmend.cli.common import console_for, emit_json, print_verdict
from kmend.errors import UsageError

if TYPE_CHECKING:  # kmend.lab (QEMU) is imported only when the verb runs
    from kmend.loadcheck.preflight import PreflightResult


def result_lines(res: PreflightResult, path: Path) -> list[str]:
    where = f"{res.release or '?'}" + (" (Xen PV dom0)" if res.xen else "")
    if res.secure_boot:
        where += " under Secure Boot (shim, grub)"
    head = "LOADED" if res.loaded else "REFUSED"
    taints = f" (kernel taint now: {' '.join(res.taints)})" if res.taints else ""
    lines = [f"{path.name} → {where}, booted in QEMU: {head}{taints}"]
    if res.secure_boot:
        moks = ", ".join(res.mok_certs) or "none"
        lines.append(f"  enrolled MOKs: {moks}; in the guest: sig_enforce={res.sig_enforce}, "
                     f"lockdown: {res.lockdown}")
    if res.dependencies:
        lines.append(f"  loaded first: {', '.join(res.dependencies)}")
    if res.missing_dependencies:
        lines.append(f"  depends on {', '.join(res.missing_dependencies)}, not given: "
                     "pass --modules-dir or --with")
    if res.messages:
        lines.append("  the kernel printed:")
        lines += [f"    {m}" for m in res.messages]
    if res.insmod_output:
        lines.append("  insmod said:")
        lines += [f"    {m}" for m in res.insmod_output]
    if res.first_error:
        lines.append(f"  first error: {res.first_error}")
    lines.append(f"  ({res.seconds:.1f} s)")
    return lines


def register(app: typer.Typer) -> None:
    @app.command("preflight")
    def _cmd(  # noqa: PLR0917 (one parameter per CLI option)
        module: Annotated[Path, typer.Argument(help="the .ko (.ko.xz, .ko.zst, .ko.gz)")],
        kernel_image: Annotated[Path | None, typer.Option(help="the vmlinuz to boot")] = None,
        kernel: options.Kernel = None,
        modules_dir: options.ModulesDir = None,
        xen: Annotated[Path | None, typer.Option(
            help="boot as PV dom0 under this Xen (e.g. /boot/xen-4.17-amd64.gz)")] = None,
        with_module: Annotated[list[Path] | None, typer.Option(
            "--with", help="another .ko to insmod first (repeatable)")] = None,
        secure_boot: Annotated[bool, typer.Option(
            "--secure-boot", help="boot through OVMF Secure Boot, Debian's signed shim and "
            "grub (the kernel must be signed)")] = False,
        cert: Annotated[list[Path] | None, typer.Option(
            help="with --secure-boot: enroll this certificate as a MOK (repeatable)")] = None,
        timeout: Annotated[float, typer.Option(help="seconds before the boot is killed")] = 300.0,
        console: Annotated[Path | None, typer.Option(help="keep the guest console here")] = None,
        json: options.Json = False,
    ) -> int:
        """Boot the kernel in QEMU and load MODULE for real.  (0 loaded, 1 refused)

        Without --kernel-image or --kernel the installed kernel the module was built for
        (its vermagic) is booted, else the running kernel."""
        options.positive_seconds(timeout, "--timeout", 300)
        if kernel_image is not None and kernel is not None:
            raise UsageError("give --kernel-image or --kernel, not both",
                             "e.g. --kernel 6.1.0-57-amd64")
        options.kernel_release(kernel)
        options.existing_dir(modules_dir, "--modules-dir")
        if cert and not secure_boot:
            raise UsageError("--cert enrolls a MOK for a --secure-boot boot",
                             "add --secure-boot")
        options.module_file(module)
        from kmend.lab import SecureBootConfig
        from kmend.lab import kernel_image as installed_image
        from kmend.loadcheck.preflight import preflight

        if kernel_image is None and kernel is None:
            from kmend.ko import read_module

            kernel = (read_module(module).vermagic or "").split(" ", 1)[0] \
                or os.uname().release
            options.kernel_release(kernel)
        if kernel is not None:
            kernel_image = installed_image(kernel)
            tree = Path("/lib/modules") / kernel
            if modules_dir is None and (tree / "modules.dep").is_file():
                modules_dir = tree
        assert kernel_image is not None
        sb = SecureBootConfig(mok_certs=tuple(cert or ())) if secure_boot else None
        res = preflight(module, kernel_image, modules_dir=modules_dir, xen=xen,
                        with_modules=tuple(with_module or ()), timeout=timeout,
                        console_path=console, secure_boot=sb)
        out = console_for(json)
        word = "LOADED" if res.loaded else "REFUSED"
        for i, line in enumerate(result_lines(res, module)):
            print_verdict(out, line, word if i == 0 else None)
        if json:
            emit_json(res)
        return 0 if res.loaded else 1
