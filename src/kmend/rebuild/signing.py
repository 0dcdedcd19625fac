"""The signing step of a rebuild: sign the rebuilt module when a key is configured.

The key comes from ``--key/--cert``, else DKMS's MOK key under the root
(:func:`kmend.sign.find_key`); the hash is the target kernel's CONFIG_MODULE_SIG_HASH.
With no key, the module is left unsigned and the result says so: a host that enforces
signatures would refuse it (``kmend check --secure-boot`` predicts that).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SignOutcome:
    signed: bool
    text: str  # "signed with CERT (signer, sha256)" or why it was not signed


def sign_rebuilt(ko: Path, *, enabled: bool, key: Path | None, cert: Path | None,
                 root: Path, kdir: Path) -> SignOutcome:
    from kmend.sign import find_key, sign_module

    if not enabled:
        return SignOutcome(False, "not signed: --no-sign")
    pair = find_key(key, cert, root)
    if pair is None:
        return SignOutcome(False, "not signed: no signing key configured (give --key/--cert, "
                                  "or create DKMS's MOK key /var/lib/dkms/mok.key)")
    res = sign_module(ko, pair.key, pair.cert, kdir=kdir)
    return SignOutcome(True, f"signed with {pair.cert} ({pair.origin} key; signer "
                             f"{res.signer}, {res.hash_algo})")
