"""`kmend hook install|remove`: the kernel-upgrade hooks that run `kmend rebuild`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kmend.cli import options
from kmend.cli.common import console_for, emit_json
from kmend.errors import UsageError
from kmend.install import SafeRoot
from kmend.rebuild.hooks import install_hooks, remove_hooks


def register(app: typer.Typer) -> None:
    @app.command("hook")
    def _cmd(
        action: Annotated[str, typer.Argument(help="install or remove")],
        root: options.Root = Path("/"),
        json_mode: options.Json = False,
    ) -> int:
        """Install (or remove) /etc/kernel/postinst.d/zz-kmend and
        /etc/kernel/install.d/90-kmend.install, which run kmend rebuild for a new kernel."""
        if action not in ("install", "remove"):
            raise UsageError(f"unknown hook action {action!r}", "use install or remove")
        options.existing_dir(root, "--root")
        with SafeRoot(root) as r:
            done = install_hooks(r) if action == "install" else remove_hooks(r)
        if json_mode:
            emit_json({"hooks": done})
        else:
            console = console_for(json_mode)
            for h in done:
                console.print(f"{h.action}: {h.path}", markup=False, soft_wrap=True)
        return 0
