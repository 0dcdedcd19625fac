"""Signing keys: the one given (--key/--cert), DKMS's MOK key, or a new one kmend makes.

A key is a private key file (PEM or DER, unencrypted) and its X.509 certificate (PEM or
DER).  DKMS keeps its Machine Owner Key at ``/var/lib/dkms/mok.key`` (PEM) and
``/var/lib/dkms/mok.pub`` (DER); a host that built DKMS modules under Secure Boot has
usually enrolled that certificate already.  Enrolling a new certificate needs the
firmware: ``mokutil --import CERT.der`` queues it, and at the next boot shim's MokManager
asks the person at the console to confirm with the password given to mokutil — that step
cannot be automated.
"""

from __future__ import annotations

import datetime
import functools
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kmend.errors import InputError, StateError, UsageError
from kmend.kernel.paths import resolve_in_root
from kmend.ko.signature import load_cert, load_certs, read_small

__all__ = [
    "DKMS_CERT", "DKMS_KEY", "KeyPair", "check_pair", "create_key", "enroll_instructions",
    "find_key", "load_cert", "load_certs", "load_private_key",
]

#: DKMS's MOK key pair, relative to the system root.
DKMS_KEY = "/var/lib/dkms/mok.key"
DKMS_CERT = "/var/lib/dkms/mok.pub"

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class KeyPair:
    """A private key and its certificate, and where they came from."""

    key: Path
    cert: Path
    origin: str  # "given", "dkms" or "created"
    cert_der: Path | None = None  # the DER copy for mokutil --import (created keys)


def load_private_key(path: Path) -> PrivateKey:
    """An unencrypted RSA or EC private key from a PEM or DER file.

    Loading validates the RSA key (about 0.2 s for 2048 bits), so a key is parsed once per
    file content: signing every module of a build costs one load.
    """
    data = read_small(path, "private key")
    return _parse_private_key(data, str(path))


@functools.lru_cache(maxsize=8)
def _parse_private_key(data: bytes, path: str) -> PrivateKey:
    try:
        if b"-----BEGIN" in data:
            key = serialization.load_pem_private_key(data, password=None)
        else:
            key = serialization.load_der_private_key(data, password=None)
    except TypeError as exc:
        raise InputError(f"{path}: the private key is encrypted",
                         "give an unencrypted key (sign-file needs one too)") from exc
    except ValueError as exc:
        raise InputError(f"{path}: not a private key (PEM or DER)",
                         "give the private key, e.g. /var/lib/dkms/mok.key") from exc
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise InputError(f"{path}: a {type(key).__name__} cannot sign kernel modules",
                         "use an RSA (or ECDSA) key")
    return key


def check_pair(key: PrivateKey, cert: x509.Certificate, key_path: Path, cert_path: Path) -> None:
    """Raise InputError unless *key* is the private half of *cert*."""
    pub = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    if key.public_key().public_bytes(der, pub) != cert.public_key().public_bytes(der, pub):
        raise InputError(f"{key_path} is not the private key of {cert_path}",
                         "give the matching --key and --cert")


def find_key(explicit_key: Path | None, explicit_cert: Path | None,
             root: Path = Path("/")) -> KeyPair | None:
    """The key to sign with: --key/--cert when given, else DKMS's MOK key under *root*,
    else None (the caller may :func:`create_key`)."""
    if (explicit_key is None) != (explicit_cert is None):
        raise UsageError("give --key and --cert together",
                         "e.g. --key /var/lib/dkms/mok.key --cert /var/lib/dkms/mok.pub")
    if explicit_key is not None and explicit_cert is not None:
        return KeyPair(explicit_key, explicit_cert, "given")
    key = resolve_in_root(root, DKMS_KEY)
    cert = resolve_in_root(root, DKMS_CERT)
    if key is not None and cert is not None and key.is_file() and cert.is_file():
        return KeyPair(key, cert, "dkms", cert_der=cert)
    return None


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def create_key(directory: Path, *, common_name: str | None = None,
               days: int = 36500) -> KeyPair:
    """Make a new RSA-2048 module signing key and self-signed certificate in *directory*
    (``kmend-signing.key`` 0600, ``kmend-signing.pem``, ``kmend-signing.der``).

    The certificate carries what the kernel's own signing certificate carries
    (digitalSignature, not a CA, subject/authority key ids) plus the code-signing
    extended key usage.  Existing files are never overwritten.
    """
    directory.mkdir(parents=True, exist_ok=True)
    key_path = directory / "kmend-signing.key"
    pem_path = directory / "kmend-signing.pem"
    der_path = directory / "kmend-signing.der"
    for p in (key_path, pem_path, der_path):
        if p.exists():
            raise StateError(f"{p} already exists", "use it with --key/--cert, or choose "
                             "another directory")
    cn = common_name or f"kmend module signing key ({socket.gethostname()})"
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.datetime.now(datetime.UTC)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False,
                                     False), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]),
                       critical=False)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_private(key_path, key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    pem_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    der_path.write_bytes(cert.public_bytes(serialization.Encoding.DER))
    return KeyPair(key_path, pem_path, "created", cert_der=der_path)


def enroll_instructions(pair: KeyPair) -> list[str]:
    """How a person enrolls *pair*'s certificate as a Machine Owner Key."""
    der = pair.cert_der or pair.cert
    return [
        f"enroll the certificate as a Machine Owner Key: mokutil --import {der}",
        "  (mokutil asks for a one-time password), then reboot; shim's MokManager appears "
        "on the console: Enroll MOK → Continue → Yes → the password → Reboot",
        "  kmend cannot do this step: MokManager needs a person at the console, by design",
        "  check afterwards with: mokutil --test-key " + str(der),
    ]
