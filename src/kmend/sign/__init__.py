"""Module signing: the kernel's appended PKCS#7 signature, made with ``cryptography``.

``sign_module`` signs a .ko (or .ko.xz/.ko.zst/.ko.gz: decompressed, signed, recompressed
the same way) with a key the target trusts; ``find_key`` finds that key (given, or
DKMS's MOK key); ``create_key`` makes a new one and ``enroll_instructions`` says how to
enroll it.  Verification against trusted certificates lives in
:func:`kmend.ko.signature.verify` (the load check uses it).
"""

from kmend.sign.keys import KeyPair, create_key, enroll_instructions, find_key, load_certs
from kmend.sign.signer import SignResult, hash_algo_of, sign_bytes, sign_module

__all__ = [
    "KeyPair",
    "SignResult",
    "create_key",
    "enroll_instructions",
    "find_key",
    "hash_algo_of",
    "load_certs",
    "sign_bytes",
    "sign_module",
]
