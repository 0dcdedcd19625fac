"""The options every verb shares, written once: the same name, meaning, default and help
text wherever a verb takes them (the README's "Command-line grammar" lists them).

A verb declares ``root: options.Root = Path("/")``; a unit test checks that no verb
declares one of these names with other words.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

#: name → help text of the shared options (the test reads this table).
HELP: dict[str, str] = {
    "--json": "one JSON document on stdout (also on error); human text goes to stderr",
    "--root": "the system to act on: / (default) or the root of an image, chroot or captured "
              "tree; every read and write stays inside it",
    "--kernel": "the target kernel release (uname -r form, e.g. 6.1.0-47-amd64); default: "
                "the module's vermagic, else the running kernel",
    "--kdir": "the target kernel's build tree (headers); default: ROOT/lib/modules/KERNEL/build",
    "--source": "where the module's code is: a kernel git history, a module project's "
                "repository (path or URL), or a Debian linux-source tarball",
    "--base": "the revision that crashed: a tag, a version as the project writes it "
              "(v0.12.2, 0.12.2) or a commit; default: derived from the crash",
    "--head": "the newest revision to consider (default: the default branch's tip)",
    "--index": "which crash of the logs: 0 = the first, -1 = the last (default: the newest)",
    "--policy": "which revision to build: minimal (the base plus the fix; the default when "
                "a fix is known) or newest (the newest revision that still builds)",
    "--output": "where to write the result (a directory)",
    "--jobs": "parallel jobs (default: the number of CPUs)",
    "--modules-dir": "the target kernel's module tree, where dependencies are looked up "
                     "(default: ROOT/lib/modules/KERNEL)",
}


def _root(value: Path) -> Path:
    """--root is checked when it is parsed, in every verb (exit 4 when missing)."""
    existing_dir(value, "--root")
    return value


def _kdir(value: Path | None) -> Path | None:
    """--kdir as given: a missing directory is bad input (exit 4) in every verb; a default
    one that is missing (no headers installed) is the environment's (exit 3, later)."""
    return existing_dir(value, "--kdir")


def _modules_dir(value: Path | None) -> Path | None:
    return existing_dir(value, "--modules-dir")


def _source(value: str | None) -> str | None:
    """A local --source as an absolute path: the PROVENANCE that records it outlives the
    working directory (kmend rebuild runs from a kernel hook, in /).  URLs unchanged."""
    import os

    if value and "://" not in value and os.path.exists(value):
        return os.path.abspath(value)
    return value


def _jobs(value: int | None) -> int | None:
    """-j N: at least 1 (exit 2 otherwise)."""
    from kmend.errors import UsageError

    if value is not None and value < 1:
        raise UsageError(f"--jobs {value}: not a number of jobs (1 or more)", "e.g. -j 4")
    return value


def check_kernel(value: str | None) -> str | None:
    """--kernel has the form of a release in every verb (exit 2 otherwise)."""
    return kernel_release(value)


Json = Annotated[bool, typer.Option("--json", help=HELP["--json"])]
Root = Annotated[Path, typer.Option("--root", help=HELP["--root"], callback=_root)]
Kernel = Annotated[str | None, typer.Option("--kernel", help=HELP["--kernel"],
                                            callback=check_kernel)]
Kdir = Annotated[Path | None, typer.Option("--kdir", help=HELP["--kdir"], callback=_kdir)]
Source = Annotated[str | None, typer.Option("--source", help=HELP["--source"],
                                            callback=_source)]
Base = Annotated[str | None, typer.Option("--base", help=HELP["--base"])]
Head = Annotated[str | None, typer.Option("--head", help=HELP["--head"])]
Index = Annotated[int | None, typer.Option("--index", help=HELP["--index"])]
Policy = Annotated[str, typer.Option("--policy", help=HELP["--policy"])]
Output = Annotated[Path | None, typer.Option("--output", "-o", help=HELP["--output"])]
Jobs = Annotated[int | None, typer.Option("--jobs", "-j", help=HELP["--jobs"],
                                          callback=_jobs)]
ModulesDir = Annotated[Path | None, typer.Option("--modules-dir", help=HELP["--modules-dir"],
                                                 callback=_modules_dir)]

#: Signing after a build (``build``, ``backport``, ``run``): the same three options.
Sign = Annotated[bool, typer.Option(
    "--sign", help="sign the built modules (--key/--cert, else DKMS's MOK key)")]
Key = Annotated[Path | None, typer.Option("--key", help="signing key (implies --sign)")]
Cert = Annotated[Path | None, typer.Option("--cert", help="its certificate")]

#: The values ``--policy`` takes (checked before any work starts).
POLICIES = ("minimal", "newest")


def check_policy(policy: str) -> str:
    from kmend.errors import UsageError

    if policy not in POLICIES:
        raise UsageError(f"--policy {policy!r}: not a policy", "minimal or newest")
    return policy


def existing_dir(path: Path | None, option: str) -> Path | None:
    """*path* when it is a directory; a one-line input error (exit 4) before any work
    otherwise, so that a mistyped directory is never silently ignored."""
    from kmend.errors import InputError

    if path is not None and not path.is_dir():
        why = "not a directory" if path.exists() else "no such directory"
        raise InputError(f"{option} {path}: {why}", f"give an existing directory to {option}")
    return path


def kernel_release(kernel: str | None, option: str = "--kernel") -> str | None:
    """*kernel* when it has the form of a release (no "/", not empty); exit 2 otherwise."""
    from kmend.errors import UsageError

    if kernel is not None and (not kernel or "/" in kernel or kernel in {".", ".."}):
        raise UsageError(f"{option} {kernel!r} is not a kernel release",
                         "e.g. 6.1.0-47-amd64 (uname -r)")
    return kernel


def positive_seconds(value: float, option: str, example: float) -> float:
    """*value* when it is a finite number of seconds above 0; exit 2 otherwise (nan, inf,
    0, negative: a timeout that never fires or fires at once)."""
    import math

    from kmend.errors import UsageError

    if not math.isfinite(value) or value <= 0:
        raise UsageError(f"{option} {value:g}: not a positive number of seconds",
                         f"e.g. {option} {example:g}")
    return value


def module_file(path: Path) -> Path:
    """*path* when it is a regular file (a module, compressed or not); one line and exit 4
    otherwise, the same words in every verb that takes a module: missing, a directory, or
    a device or FIFO (never opened: /dev/zero would never end)."""
    import stat

    from kmend.errors import InputError

    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise InputError(f"{path}: no such file", "give the module's path") from None
    except OSError as err:
        raise InputError(f"{path}: cannot read ({err.strerror})", "give the module's path") \
            from None
    if stat.S_ISREG(mode):
        return path
    kind = ("a directory" if stat.S_ISDIR(mode) else "a character device" if stat.S_ISCHR(mode)
            else "a block device" if stat.S_ISBLK(mode) else "a FIFO" if stat.S_ISFIFO(mode)
            else "a special file")
    raise InputError(f"{path}: {kind}, not a module file",
                     "give a .ko, .ko.xz, .ko.zst or .ko.gz file")
