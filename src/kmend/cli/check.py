"""`kmend check MODULE.ko (--kdir KDIR | --kernel RELEASE | --symvers FILE)`.

Exit 0: the kernel will load it; 1: it will refuse it; others: errors.py codes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kmend.cli.common import console_for, emit_json
from kmend.errors import UsageError
from kmend.kernel.target import KernelTarget
from kmend.ko import read_module
from kmend.loadcheck import check_module
from kmend.loadcheck.enforcement import LOCKDOWN_LEVELS, detect, trusted
from kmend.loadcheck.render import verdict_json, verdict_lines


def target_from_options(kdir: Path | None, kernel: str | None, symvers: Path | None,
                        root: Path) -> KernelTarget:
    given = [x for x in (kdir, kernel, symvers) if x is not None]
    if len(given) != 1:
        raise UsageError("give exactly one of --kdir, --kernel or --symvers",
                         "e.g. --kdir /lib/modules/$(uname -r)/build")
    if kdir is not None:
        return KernelTarget.from_kdir(kdir)
    if kernel is not None:
        return KernelTarget.from_release(kernel, root=root)
    assert symvers is not None
    return KernelTarget.from_symvers(symvers)


def register(app: typer.Typer) -> None:
    @app.command("check")
    def _cmd(  # noqa: PLR0917 (one parameter per CLI option)
        module: Annotated[Path, typer.Argument(help="the .ko (.ko.xz, .ko.zst, .ko.gz)")],
        kdir: Annotated[Path | None, typer.Option(help="target headers/build tree")] = None,
        kernel: Annotated[str | None, typer.Option(help="installed kernel release")] = None,
        symvers: Annotated[Path | None, typer.Option(help="a Module.symvers file")] = None,
        root: Annotated[Path, typer.Option(help="system root for --kernel")] = Path("/"),
        modules_tree: Annotated[Path | None, typer.Option(
            help="where the modules named in depends= live (default: the target's)")] = None,
        secure_boot: Annotated[bool | None, typer.Option(
            "--secure-boot/--no-secure-boot",
            help="the target boots under UEFI Secure Boot (default: as detected live)")] = None,
        sig_enforce: Annotated[bool | None, typer.Option(
            "--sig-enforce/--no-sig-enforce", help="module.sig_enforce in effect")] = None,
        lockdown: Annotated[str | None, typer.Option(
            help="lockdown level: none, integrity or confidentiality")] = None,
        cert: Annotated[list[Path] | None, typer.Option(
            help="a certificate the target trusts (enrolled MOK; repeatable); default: "
                 "DKMS's mok.pub and, live, the enrolled MOKs")] = None,
        json: Annotated[bool, typer.Option("--json", help="one JSON document on stdout")] = False,
    ) -> int:
        """Will the kernel accept MODULE, and what will it print?  (0 loads, 1 refused)"""
        if lockdown is not None and lockdown not in LOCKDOWN_LEVELS:
            raise UsageError(f"--lockdown {lockdown!r}: not a lockdown level",
                             "give none, integrity or confidentiality")
        target = target_from_options(kdir, kernel, symvers, root)
        mod = read_module(module)
        tree = modules_tree if modules_tree is not None else target.modules_dir
        enforcement = detect(target, root=root, secure_boot=secure_boot,
                             sig_enforce=sig_enforce, lockdown=lockdown)
        trust = trusted(tuple(cert or ()), target=target, root=root)
        verdict = check_module(mod, target, modules_tree=tree, enforcement=enforcement,
                               trust=trust)
        console = console_for(json)
        for line in verdict_lines(verdict, mod):
            console.print(line, markup=False, highlight=False, soft_wrap=True)
        if json:
            emit_json(verdict_json(verdict, mod, target))
        return 0 if verdict.will_load else 1
