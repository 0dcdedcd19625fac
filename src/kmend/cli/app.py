"""The Typer application and the list of verbs.

Each verb is a module ``kmend.cli.<name>`` with a ``register(app)`` function.  The list
below also carries each verb's one-line summary, so ``kmend --help`` and ``kmend
--version`` answer without importing Typer or any stage library (start-up is most of a
short command's time).  A unit test checks each summary against the verb's own help.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import typer

#: The tool's one-line description (top-level help).
ABOUT = "From a kernel crash in a log to a verified, installed, roll-back-able module fix."

#: Verb → one-line summary, in the order ``kmend --help`` lists them (the data flow).
VERBS: dict[str, str] = {
    "scan": "Find every kernel crash in the logs and fold duplicates into signatures.",
    "report": "An HTML report of the fleet's crashes per signature, with the fix rollout.",
    "show": "Decode one crash: fields, taint in words, frames, disassembled Code:.",
    "fixes": "Find and rank the upstream commits that fix a crash, with evidence.",
    "backport": "Pick and prepare a revision of MODULE that builds against the target.",
    "build": "Build a module directory against a kernel's headers, then check the result.",
    "sign": "Sign MODULE with a module signing key (as the kernel's sign-file does).",
    "check": "Will the kernel accept MODULE, and what will it print?",
    "preflight": "Boot the kernel in QEMU and load MODULE for real.",
    "install": "Install a module fix transactionally (backup, depmod, initramfs, reload).",
    "rollback": "Roll back an installed fix: originals restored byte-identical.",
    "status": "List the module fixes kmend installed, per kernel, and why each is active.",
    "rebuild": "Carry every active fix over to a new kernel (or retire it when it has the fix).",
    "hook": "Install or remove the kernel-upgrade hooks that run kmend rebuild.",
    "recover": "Finish or undo transactions a crash interrupted.",
    "run": "The whole pipeline: crash in a log → fix → backport → build → check → install.",
    "doctor": "Is this (Xen) host healthy? xl, xenstored, devices, modules, crashes.",
}

#: One example per verb, shown at the end of ``kmend VERB -h``.
EXAMPLES: dict[str, str] = {
    "scan": "kmend scan /var/log/ hosts/*/messages.*.gz --json > crashes.json",
    "report": "kmend report hosts/ -o report --txn web1=out/txn/web1",
    "show": "kmend show examples/w-xen09-messages.log --index 0",
    "fixes": "kmend fixes examples/w-xen09-messages.log --source ~/linux",
    "backport": "kmend backport --source ~/linux --module xen-evtchn --fix FIX "
                "--kdir /lib/modules/6.1.0-47-amd64/build -o xen-evtchn-fix",
    "build": "kmend build xen-evtchn-fix --kdir /lib/modules/6.1.0-47-amd64/build",
    "sign": "kmend sign xen-evtchn.ko --key /var/lib/dkms/mok.key --cert "
            "/var/lib/dkms/mok.pub --kernel 6.1.0-47-amd64",
    "check": "kmend check xen-evtchn.ko --kernel 6.1.0-47-amd64",
    "preflight": "kmend preflight xen-evtchn.ko --kernel 6.1.0-47-amd64",
    "install": "kmend install xen-evtchn.ko --provenance PROVENANCE --dry-run",
    "rollback": "kmend rollback --root /srv/image",
    "status": "kmend status --json",
    "rebuild": "kmend rebuild --kernel 6.1.0-57-amd64 --root /srv/image --dry-run",
    "hook": "kmend hook install --root /srv/image",
    "recover": "kmend recover --root /srv/image",
    "run": "kmend run examples/w-xen09-messages.log --source ~/linux "
           "--kdir /lib/modules/6.1.0-47-amd64/build --dry-run",
    "doctor": "kmend doctor --log /var/log/messages",
}

#: Options every verb understands the same way (``-h`` is ``--help`` everywhere).
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def top_help() -> str:
    """``kmend --help``: written from the table, with no verb imported."""
    width = max(len(v) for v in VERBS)
    lines = [
        "Usage: kmend [-h] [--version] VERB [ARGS]...",
        "",
        f"  {ABOUT}",
        "",
        "Verbs (kmend VERB -h for each one's options and an example):",
    ]
    lines += [f"  {name.ljust(width)}  {summary}" for name, summary in VERBS.items()]
    lines += [
        "",
        "Options:",
        "  -h, --help  Show this message and exit.",
        "  --version   Print kmend's version and exit.",
        "",
        "Exit codes: 0 success, 1 negative verdict, 2 usage, 3 missing environment, 4 bad",
        "input, 5 external command failed, 6 timeout, 7 state problem, 8 module not in the",
        "source, 9 the operator answered no, 130 interrupted.  --json: one document on stdout,",
        'also on error: {"error": {"code": N, "kind": ..., "message": ..., "hint": ...}}.',
    ]
    return "\n".join(lines) + "\n"


def build_app(only: str | None = None) -> typer.Typer:
    """The application; with *only* (a verb name) just that verb is imported, which keeps
    start-up cheap (each verb pulls in its own stage libraries)."""
    import typer

    app = typer.Typer(
        name="kmend",
        help=ABOUT,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        context_settings=CONTEXT,
    )

    @app.callback()
    def _group() -> None:
        """Keep the verb in the command line even when only one verb is loaded."""

    for name in VERBS if only not in VERBS else (only,):
        module = importlib.import_module(f"kmend.cli.{name}")
        module.register(app)
    return app
