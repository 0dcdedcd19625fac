"""``sign_module``: append the kernel's module signature, as ``scripts/sign-file`` does.

The signature is a detached PKCS#7 SignedData over the module bytes (no certificates,
no authenticated attributes, signer named by issuer and serial number, RSA PKCS#1 v1.5
or ECDSA), followed by ``struct module_signature`` (id_type PKEY_ID_PKCS7, sig_len
big-endian) and the magic ``~Module signature appended~\\n``.  For RSA keys the bytes are
those of the kernel's own sign-file (PKCS#1 v1.5 is deterministic) apart from the
digest AlgorithmIdentifier's NULL parameters, which the kernel's parser ignores.

A module that is already signed is re-signed (the old signature is dropped, not
stacked).  Signing happens after stripping and before compression: a .ko.xz/.ko.zst/
.ko.gz is decompressed, signed and recompressed the same way (kbuild's options).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID

from kmend.errors import InputError, UsageError
from kmend.kernel.kconfig import parse_config
from kmend.ko.compressed import decompress
from kmend.ko.reader import read_bytes
from kmend.ko.signature import HASHES, MAGIC, hash_class, split_raw, trailer
from kmend.sign.keys import check_pair, load_cert, load_private_key

DEFAULT_HASH = "sha256"
#: what cryptography's PKCS#7 builder signs with (the kernel also knows sha1/sha3-*)
_BUILDER_HASHES = ("sha224", "sha256", "sha384", "sha512")


@dataclass(frozen=True)
class SignResult:
    """What was signed, with what, and where it went."""

    path: Path  # the signed file
    source: Path  # the module that was read
    hash_algo: str
    signer: str  # the certificate's issuer CN, what modinfo prints as "signer"
    key_id: str  # the serial number, as modinfo prints "sig_key"
    sig_len: int
    compression: str  # "", "xz", "zst" or "gz" (kept from the input)
    resigned: bool  # an old signature was replaced
    sha256: str  # of the file written


def hash_algo_of(kdir: Path) -> str | None:
    """CONFIG_MODULE_SIG_HASH of the kernel whose build tree is *kdir* (None if unknown)."""
    for rel in ("include/config/auto.conf", ".config"):
        path = kdir / rel
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        value = parse_config(text.splitlines()).get("CONFIG_MODULE_SIG_HASH")
        if value:
            return value
    return None


def _issuer_cn(cert_issuer: x509.Name) -> str:
    for oid in (NameOID.COMMON_NAME, NameOID.ORGANIZATION_NAME):
        attrs = cert_issuer.get_attributes_for_oid(oid)
        if attrs:
            value = attrs[0].value
            return value if isinstance(value, str) else value.decode("utf-8", "replace")
    return ""


def sign_bytes(elf: bytes, key: Path, cert: Path, hash_algo: str = DEFAULT_HASH
               ) -> tuple[bytes, bool]:
    """Sign decompressed module bytes; return (signed bytes, an old signature was dropped)."""
    if hash_algo not in HASHES:
        raise UsageError(f"unknown hash algorithm {hash_algo!r}",
                         "use one of " + ", ".join(HASHES))
    if hash_algo not in _BUILDER_HASHES:
        raise UsageError(f"kmend signs with {', '.join(_BUILDER_HASHES)}; not {hash_algo}",
                         "give --hash sha256 (the kernel accepts any of them), or use "
                         "the kernel's scripts/sign-file")
    if not elf.startswith(b"\x7fELF"):
        raise InputError("not an ELF kernel module", "give the .ko that make produced")
    body, blob, id_type = split_raw(elf)
    resigned = id_type is not None
    if resigned and blob is None:
        raise InputError("the module ends in a corrupt signature trailer",
                         "rebuild it (the trailer's lengths run past the file)")
    private = load_private_key(key)
    certificate = load_cert(cert)
    check_pair(private, certificate, key, cert)
    opts = pkcs7.PKCS7Options
    sig = (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(body)
        .add_signer(certificate, private, hash_class(hash_algo)())  # type: ignore[arg-type]
        .sign(serialization.Encoding.DER,
              [opts.DetachedSignature, opts.NoCerts, opts.NoAttributes, opts.Binary])
    )
    return body + sig + trailer(len(sig)), resigned


def _atomic_write(path: Path, data: bytes, mode: int) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".kmend-sign", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def sign_module(ko: Path, key: Path, cert: Path, *, hash_algo: str | None = None,
                out: Path | None = None, kdir: Path | None = None) -> SignResult:
    """Sign *ko* in place (or write the signed module to *out*).

    The hash is *hash_algo*, else the target's CONFIG_MODULE_SIG_HASH when *kdir* is
    given, else sha256.  The file is replaced atomically; on any error nothing changes.
    """
    algo = hash_algo or (hash_algo_of(kdir) if kdir is not None else None) or DEFAULT_HASH
    raw = read_bytes(ko)
    elf, kind = decompress(raw, str(ko))
    try:
        signed, resigned = sign_bytes(elf, key, cert, algo)
    except InputError as exc:
        if exc.message.startswith(("not an ELF", "the module ends")):
            raise InputError(f"{ko}: {exc.message}", exc.hint) from exc
        raise
    data = signed
    if kind:
        from kmend.install.compress import compress  # kbuild's options, round-trip checked

        data = compress(signed, kind)
    dest = out if out is not None else ko
    try:
        mode = ko.stat().st_mode & 0o777
        _atomic_write(dest, data, mode)
    except OSError as exc:
        raise InputError(f"{dest}: cannot write ({exc.strerror})",
                         "check the directory's permissions") from exc
    _body, blob, _id_type = split_raw(signed)
    assert blob is not None
    certificate = load_cert(cert)
    serial = certificate.serial_number.to_bytes(
        (certificate.serial_number.bit_length() + 8) // 8, "big", signed=True)
    return SignResult(
        path=dest,
        source=ko,
        hash_algo=algo,
        signer=_issuer_cn(certificate.issuer),
        key_id=":".join(f"{b:02X}" for b in serial),
        sig_len=len(blob),
        compression=kind,
        resigned=resigned,
        sha256=hashlib.sha256(data).hexdigest(),
    )


__all__ = ["DEFAULT_HASH", "MAGIC", "SignResult", "hash_algo_of", "sign_bytes", "sign_module"]
