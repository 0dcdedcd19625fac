"""Signing as a step of build / backport / run: right after make (modules are built
stripped of nothing and uncompressed, so this is "after stripping, before compression"),
before the load check."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from kmend.errors import EnvironmentMissing
from kmend.sign.keys import KeyPair, find_key
from kmend.sign.signer import SignResult, sign_module


def key_for_build(sign: bool, key: Path | None, cert: Path | None,
                  root: Path = Path("/")) -> KeyPair | None:
    """The key a build signs with: None when not asked (no --sign, no --key/--cert)."""
    if not sign and key is None and cert is None:
        return None
    pair = find_key(key, cert, root)
    if pair is None:
        raise EnvironmentMissing(
            "--sign: no signing key (no --key/--cert, no /var/lib/dkms/mok.key)",
            "give --key KEY --cert CERT, or create one: kmend sign --new-key DIR MODULE.ko")
    return pair


def sign_built(modules: Iterable[Path], pair: KeyPair, kdir: Path) -> list[SignResult]:
    """Sign every built module in place with the target's hash algorithm."""
    return [sign_module(ko, pair.key, pair.cert, kdir=kdir) for ko in modules]


def describe(res: SignResult) -> str:
    return f"signed {res.path.name}: signer '{res.signer}', key {res.key_id}, {res.hash_algo}"
