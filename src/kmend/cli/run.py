"""`kmend run LOG… --source (GIT|TREE)`: from a crash in a log to an installed module fix.

triage → locate → fixes → backport → build → check → [preflight] → install, each stage
saying what it found and why it chose.  It asks before installing (``--yes`` does not ask;
without a terminal and without ``--yes`` it refuses); ``--dry-run`` stops before install.

Exit codes: 0 done; 1 no revision builds, or the kernel would refuse the module; 2 bad
arguments, or no terminal to ask and no --yes; 3 no headers for the target (or another
missing tool); 4 no crash in the logs; 5 a build or command failed; 8 the crashed module is
not in the source; 9 the operator answered no.  Nothing is changed on any error; with
--json the record so far is printed (its last stage ``failed``) before the one-line error.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from kmend.cli import options
from kmend.cli.common import console_for, emit_json
from kmend.errors import InputError, UsageError


def register(app: typer.Typer) -> None:
    @app.command("run")
    def _cmd(  # noqa: PLR0917 (typer maps options to parameters)
        logs: Annotated[list[Path], typer.Argument(
            help="log files, directories or - for stdin, with the crash")],
        source: options.Source = None,
        kdir: options.Kdir = None,
        kernel: options.Kernel = None,
        index: options.Index = None,
        policy: Annotated[str | None, typer.Option("--policy", help=options.HELP["--policy"])
                          ] = None,
        fix: Annotated[str | None, typer.Option("--fix", help="the fix commit: no search")] = None,
        base: options.Base = None,
        base_source: Annotated[Path | None, typer.Option(
            "--base-source", help="the target's own source tree or tarball (with a tree "
            "--source and --fix PATCH: the fix applied to it)")] = None,
        preflight: Annotated[bool, typer.Option(
            "--preflight", help="boot the target kernel in QEMU (Xen for Xen modules) and "
            "load the module")] = False,
        root: options.Root = Path("/"),
        yes: Annotated[bool, typer.Option("--yes", "-y", help="install without asking")] = False,
        dry_run: Annotated[bool, typer.Option("--dry-run", help="stop before install; "
                                              "change nothing")] = False,
        until: Annotated[str, typer.Option("--until", help="stop after this stage (triage, "
                                           "locate, fixes, backport, build, check, "
                                           "preflight)")] = "install",
        output: options.Output = None,
        sign: options.Sign = False,
        key: options.Key = None,
        cert: options.Cert = None,
        json_mode: options.Json = False,
        module: Annotated[str | None, typer.Option(
            "--module", help="the module to fix (default: the crash's culprit module)")] = None,
        file: Annotated[str | None, typer.Option(
            "--file", help="module project: the source file of the crashing function")] = None,
        function: Annotated[str | None, typer.Option(
            "--function", help="module project: the crashing function")] = None,
        issue: Annotated[str | None, typer.Option(
            "--issue", help="module project: the issue the crash was reported in (N or "
            "URL)")] = None,
    ) -> int:
        """The whole pipeline: crash in a log → fix → backport → build → check → install."""
        from kmend.pipeline import RunOptions, run_pipeline
        from kmend.sign.step import key_for_build

        if source is None:
            raise UsageError("no --source given", "--source ~/linux (a kernel history, a module "
                             "project's repository, a path or a URL)")
        if policy is not None:
            options.check_policy(policy)
        for log in logs:
            if str(log) != "-" and not log.exists():
                raise InputError(f"{log}: no such file or directory",
                                 "give the log files (or directories, or - for stdin)")
        if any(str(log) == "-" for log in logs) and until == "install" and not (
                yes or dry_run):
            raise UsageError("the log comes from stdin, so kmend cannot ask before installing",
                             "add --yes (install) or --dry-run (stop before install)")
        console = console_for(json_mode)

        def say(text: str) -> None:
            console.print(text, markup=False, highlight=False, soft_wrap=True)

        opts = RunOptions(logs=tuple(logs), source=source, kdir=kdir, kernel=kernel,
                          index=index, policy=policy, fix=fix, base=base,
                          base_source=base_source, preflight=preflight,
                          root=root, yes=yes, dry_run=dry_run, output=output, until=until,
                          module=module, file=file, function=function, issue=issue,
                          signing_key=key_for_build(sign, key, cert, root))
        record = run_pipeline(opts, say, sys.stdin, sys.stderr,
                              on_fail=emit_json if json_mode else None)
        if json_mode:
            emit_json(record)
        return 0
