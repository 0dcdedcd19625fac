"""`kmend sign MODULE.ko [--key KEY --cert CERT | --new-key DIR] [-o OUT] [--kernel R | --kdir D]`.

Appends the kernel's module signature (what scripts/sign-file writes).  Without --key/
--cert the DKMS MOK key (ROOT/var/lib/dkms/mok.key + mok.pub) is used; --new-key DIR
creates a key and prints how to enroll it.  Exit 0 signed; others: errors.py codes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from kmend.cli import options
from kmend.cli.common import console_for, emit_json
from kmend.errors import EnvironmentMissing, KmendError, UsageError
from kmend.kernel.paths import resolve_in_root
from kmend.sign import KeyPair, create_key, enroll_instructions, find_key, sign_module


def resolve_key(key: Path | None, cert: Path | None, new_key: Path | None,
                root: Path) -> tuple[KeyPair, list[str]]:
    """The key pair to sign with and, for a new key, the enrollment instructions."""
    if new_key is not None:
        if key is not None or cert is not None:
            raise UsageError("give either --new-key or --key/--cert", "not both")
        pair = create_key(new_key)
        return pair, [f"created signing key {pair.key} and certificate {pair.cert}",
                      *enroll_instructions(pair)]
    pair_or_none = find_key(key, cert, root)
    if pair_or_none is None:
        raise EnvironmentMissing(
            "no signing key: no --key/--cert and no DKMS key (/var/lib/dkms/mok.key)",
            "give --key KEY --cert CERT, or --new-key DIR to create one (and enroll it)")
    return pair_or_none, []


def kdir_for(kernel: str | None, kdir: Path | None, root: Path) -> Path | None:
    if kernel is not None and kdir is not None:
        raise UsageError("give --kernel or --kdir, not both", "e.g. --kernel 6.1.0-47-amd64")
    if kernel is None:
        return kdir
    if not kernel or "/" in kernel or kernel in {".", ".."}:
        raise UsageError(f"{kernel!r} is not a kernel release", "e.g. 6.1.0-47-amd64")
    return resolve_in_root(root, f"/lib/modules/{kernel}/build")


def _vermagic_release(module: Path) -> str | None:
    """The release in the module's vermagic, else the running kernel's (None when the
    file is not a module: signing then reports what is wrong with it)."""
    from kmend.ko import read_module

    try:
        release = (read_module(module).vermagic or "").split(" ", 1)[0]
    except KmendError:
        return None
    release = release or os.uname().release
    return release if "/" not in release and release not in {".", ".."} else None


def register(app: typer.Typer) -> None:
    @app.command("sign")
    def _cmd(  # noqa: PLR0917 (one parameter per CLI option)
        module: Annotated[Path, typer.Argument(help="the .ko (.ko.xz, .ko.zst, .ko.gz)")],
        key: Annotated[Path | None, typer.Option(help="private key (PEM or DER)")] = None,
        cert: Annotated[Path | None, typer.Option(help="its X.509 certificate")] = None,
        new_key: Annotated[Path | None, typer.Option(
            help="create a new key pair in this directory (then enroll it as a MOK)")] = None,
        output: Annotated[Path | None, typer.Option(
            "--output", "-o", help="where to write the result: the signed module file "
            "(default: in place)")] = None,
        kernel: options.Kernel = None,
        kdir: options.Kdir = None,
        hash_algo: Annotated[str | None, typer.Option(
            "--hash", help="override the hash (sha256, sha384, sha512, sha224)")] = None,
        root: options.Root = Path("/"),
        json: options.Json = False,
    ) -> int:
        """Sign MODULE with a module signing key (as the kernel's sign-file does).

        The target kernel's CONFIG_MODULE_SIG_HASH picks the hash (--kernel, default: the
        module's vermagic; sha256 when that kernel's headers are not here)."""
        options.kernel_release(kernel)
        options.existing_dir(root, "--root")
        options.existing_dir(kdir, "--kdir")
        options.module_file(module)
        target_kdir = kdir_for(kernel, kdir, root)
        if target_kdir is None and kernel is None and hash_algo is None:
            target_kdir = kdir_for(_vermagic_release(module), None, root)
        pair, notes = resolve_key(key, cert, new_key, root)
        res = sign_module(module, pair.key, pair.cert, hash_algo=hash_algo, out=output,
                          kdir=target_kdir)
        console = console_for(json)
        for line in notes:
            console.print(line, markup=False, highlight=False, soft_wrap=True)
        again = " (old signature replaced)" if res.resigned else ""
        console.print(f"signed {res.path}{again}: signer '{res.signer}', key {res.key_id}, "
                      f"{res.hash_algo}" + (f", recompressed ({res.compression})"
                                            if res.compression else ""),
                      markup=False, highlight=False, soft_wrap=True)
        if json:
            emit_json({"signed": res, "key": pair, "enroll": notes})
        return 0
