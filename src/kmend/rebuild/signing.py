"""The signing step of a rebuild: sign the rebuilt module when a key is configured.

The key comes from ``--key/--cert``, else the one the signing library finds for the root
(DKMS's MOK key).  With no key, the module is left unsigned and the result says so; a
host that enforces signatures will then refuse it, which ``kmend check`` reports.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class SignOutcome:
    signed: bool
    text: str  # "signed with KEY (sha256)" or why it was not signed


def _library() -> Any | None:
    try:
        return importlib.import_module("kmend.sign")
    except ImportError:
        return None


def sign_rebuilt(ko: Path, *, enabled: bool, key: Path | None, cert: Path | None,
                 root: Path, kdir: Path) -> SignOutcome:
    if not enabled:
        return SignOutcome(False, "not signed: --no-sign")
    lib = _library()
    if lib is None:
        if key is not None or cert is not None:
            return SignOutcome(False, "not signed: this kmend has no signing support")
        return SignOutcome(False, "not signed: no signing key configured")
    pair = lib.find_key(key, cert, root)
    if pair is None:
        return SignOutcome(False, "not signed: no signing key configured (give --key/--cert, "
                                  "or create DKMS's MOK key /var/lib/dkms/mok.key)")
    res = lib.sign_module(ko, Path(pair.key), Path(pair.cert), kdir=kdir)
    details = ", ".join(str(x) for x in (getattr(res, "signer", ""),
                                         getattr(res, "hash_algo", "")) if x)
    return SignOutcome(True, f"signed with {pair.cert}" + (f" ({details})" if details else ""))
