"""`kmend install MODULE.ko`: transactional install with backup, depmod and initramfs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from kmend import provenance as pv
from kmend.cli import options
from kmend.cli.common import console_for, emit_json, print_verdict
from kmend.errors import UsageError
from kmend.install import Mode, SafeRoot, install, plan_install
from kmend.install.model import InstallTransaction, StepState
from kmend.jsonout import to_jsonable
from kmend.rebuild.hooks import install_hooks

_MARK = {StepState.DONE: "done", StepState.SKIPPED: "skipped", StepState.PENDING: "planned",
         StepState.RUNNING: "RUNNING"}


def render(console: Console, txn: InstallTransaction) -> None:
    console.print(f"transaction {txn.id}: {txn.module} on {txn.kernel} ({txn.mode} mode) "
                  f"under {txn.root} — {txn.state}", soft_wrap=True, markup=False)
    check = txn.check
    if check is not None and check.available:
        word = "LOADS" if check.will_load else "REFUSED"
        print_verdict(console, f"  load check: {word}"
                      + (f" ({check.first_error})" if check.first_error else ""), word)
    elif check is not None:
        console.print("  load check: not run", soft_wrap=True, markup=False)
    for step in txn.steps:
        console.print(f"  {step.name:<20} {_MARK.get(step.state, str(step.state)):<8} "
                      f"{step.detail}", soft_wrap=True, markup=False)
    for fc in txn.files:
        console.print(f"  file {fc.path}: {fc.old_sha256 or '(new)'} -> "
                      f"{fc.new_sha256 or '(removed)'}", soft_wrap=True, markup=False)
    for msg in txn.messages:
        console.print(f"  note: {msg}", soft_wrap=True, markup=False)
    if txn.error:
        console.print(f"  error: {txn.error}", soft_wrap=True, markup=False)


def read_provenance(path: Path | None, module: Path | None = None) -> dict[str, Any] | None:
    """The --provenance file, else the PROVENANCE that kmend build/backport wrote beside
    the module (so a module kmend built carries where its sources are)."""
    if path is None and module is not None:
        path = pv.beside(module)
    if path is None:
        return None
    return pv.read(path)


def register(app: typer.Typer) -> None:
    @app.command("install")
    def _cmd(  # noqa: PLR0917 (typer maps options to parameters)
        module: Annotated[Path, typer.Argument(help="the .ko (.ko.xz, .ko.zst, .ko.gz)")],
        kernel: options.Kernel = None,
        root: options.Root = Path("/"),
        mode: Annotated[str, typer.Option("--mode", help="override (updates/, default) or "
                                          "replace (the in-tree file)")] = "override",
        dry_run: Annotated[bool, typer.Option("--dry-run", help="Plan only")] = False,
        force: Annotated[bool, typer.Option("--force", help="Install even if the load check "
                                            "says the kernel will refuse it")] = False,
        provenance: Annotated[Path | None, typer.Option("--provenance", help="JSON file: "
                                                        "where the sources are, fix commit "
                                                        "(default: the PROVENANCE kmend "
                                                        "wrote beside the module)")] = None,
        hook: Annotated[bool, typer.Option("--hook", help="Also install the kernel-upgrade "
                                           "hooks that run kmend rebuild")] = False,
        json_mode: options.Json = False,
    ) -> int:
        """Install a module fix transactionally (backup, depmod, initramfs, journal)."""
        console = console_for(json_mode)
        try:
            chosen = Mode(mode)
        except ValueError:
            raise UsageError(f"unknown --mode {mode!r}", "use override or replace") from None
        options.kernel_release(kernel)
        options.existing_dir(root, "--root")
        options.module_file(module)
        prov = read_provenance(provenance, module)
        with SafeRoot(root) as r:
            plan = plan_install(r, module, kernel=kernel, mode=chosen, force=force,
                                provenance=prov)
            for msg in plan.txn.messages:
                if msg.startswith("WARNING"):
                    console.print(msg, style="bold red", soft_wrap=True, markup=False)
            if dry_run:
                if json_mode:
                    emit_json({"dry_run": True, "steps": [s.name for s in plan.txn.steps],
                               "transaction": plan.txn})
                else:
                    render(console, plan.txn)
                return 0
            txn = install(r, plan)
            hooks = install_hooks(r) if hook else ()
        if json_mode:
            emit_json({**to_jsonable(txn), "hooks": hooks} if hook else txn)
        else:
            render(console, txn)
            for h in hooks:
                console.print(f"  hook {h.action}: {h.path}", soft_wrap=True, markup=False)
        return 0
