"""`kmend status`: installed fixes per kernel, with provenance, and for every installed
kernel which fixes are active there and why."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from kmend.cli import options
from kmend.cli.common import console_for, emit_json, print_parts
from kmend.install import SafeRoot, status

#: Provenance keys too long for the text view (``--json`` has them all).
_LONG = frozenset({"sources", "probes", "tree_files", "search", "format"})


#: --kernel here filters (it names no kernel to act on): the shared words, then what it does.
KERNEL_FILTER = ("the target kernel release (uname -r form, e.g. 6.1.0-47-amd64): list only "
                 "its fixes (default: every kernel)")


def register(app: typer.Typer) -> None:
    @app.command("status")
    def _cmd(
        kernel: Annotated[str | None, typer.Option("--kernel", help=KERNEL_FILTER,
                                                          callback=options.check_kernel)] = None,
        root: options.Root = Path("/"),
        json_mode: options.Json = False,
    ) -> int:
        """List the module fixes kmend installed, per kernel."""
        options.existing_dir(root, "--root")
        with SafeRoot(root) as r:
            st = status(r, kernel)
        if json_mode:
            emit_json(st)
            return 0
        console = console_for(json_mode)
        if not st.kernels:
            console.print(f"no kmend fixes installed under {st.root}", markup=False)
        for k in st.kernels:
            console.print(f"kernel {k.kernel}:", markup=False)
            for f in k.fixes:
                state, style = (("active", "green") if f.active else
                                ("INACTIVE (file changed since)", "bold red"))
                print_parts(console, (f"  {f.module:<20} {f.mode:<9} {f.path}  [", None),
                            (state, style), (f"] txn {f.transaction}", None))
                for key, value in (f.provenance or {}).items():
                    if key in _LONG:
                        continue
                    if isinstance(value, dict | list):
                        value = json.dumps(value, separators=(",", ":"))
                    console.print(f"      {key}: {value}", soft_wrap=True, markup=False)
        if st.kernel_states:
            console.print("per installed kernel:", markup=False)
        for ks in st.kernel_states:
            console.print(f"  {ks.kernel}:" + ("" if ks.fixes else " no kmend fixes"),
                          markup=False, soft_wrap=True)
            for fs in ks.fixes:
                console.print(f"    {fs.module:<20} {fs.state:<16} {fs.why}", soft_wrap=True,
                              markup=False)
        for txn_id in st.pending:
            console.print(f"transaction {txn_id} was interrupted: run kmend recover",
                          style="bold red", soft_wrap=True, markup=False)
        return 0
