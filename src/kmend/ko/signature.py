"""The appended module signature: ``<module><PKCS#7><struct module_signature><magic>``.

``struct module_signature`` (include/linux/module_signature.h) is 12 bytes:
``u8 algo, hash, id_type, signer_len, key_id_len, __pad[3]; __be32 sig_len``.  For
PKCS#7 (id_type 2) the signer, key id and hash live inside the DER blob; this module
walks just enough DER to print them the way modinfo does, and to verify the signature
the way the kernel's ``verify_pkcs7_signature()`` does (:func:`verify`).

What the kernel accepts for a module (crypto/asymmetric_keys/pkcs7_*.c): SignedData
version 1 (PKCS#7 / CMS v1, signer named by issuer and serial) or 3 (CMS, signer named by
subject key identifier), content type id-data, detached content, and no authenticated
attributes ("Invalid module sig (has authattrs)"); the signature is RSA PKCS#1 v1.5 or
ECDSA over the digest of the module bytes before the signature.  The signer's key must
be in a trusted keyring; no matching key is ``-ENOKEY`` ("module with unavailable key"),
a key that does not verify is ``-EKEYREJECTED`` (insmod: "Key was rejected by service").
"""

from __future__ import annotations

import binascii
import re
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kmend.errors import EnvironmentMissing, InputError
from kmend.ko.model import ModuleSignature

if TYPE_CHECKING:  # cryptography is imported where it is used: a fleet host may lack it
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    from kmend.ko.elfread import Image

MAGIC = b"~Module signature appended~\n"
_STRUCT = struct.Struct(">BBBBB3xI")
PKEY_ID_PKCS7 = 2
_ID_TYPES = {0: "PGP", 1: "X509", 2: "PKCS#7"}
_HASH_OIDS = {
    "2.16.840.1.101.3.4.2.1": "sha256",
    "2.16.840.1.101.3.4.2.2": "sha384",
    "2.16.840.1.101.3.4.2.3": "sha512",
    "2.16.840.1.101.3.4.2.4": "sha224",
    "1.3.14.3.2.26": "sha1",
    "2.16.840.1.101.3.4.2.8": "sha3-256",
    "2.16.840.1.101.3.4.2.9": "sha3-384",
    "2.16.840.1.101.3.4.2.10": "sha3-512",
}
#: digest name -> name of its cryptography hash class (see :func:`hash_class`)
HASHES: dict[str, str] = {
    "sha1": "SHA1",
    "sha224": "SHA224",
    "sha256": "SHA256",
    "sha384": "SHA384",
    "sha512": "SHA512",
    "sha3-256": "SHA3_256",
    "sha3-384": "SHA3_384",
    "sha3-512": "SHA3_512",
}


def x509_module() -> Any:
    """cryptography's x509 module, imported on first use: reading certificates and
    verifying signatures need it, parsing a module's signature does not."""
    try:
        from cryptography import x509 as mod
    except ImportError as exc:
        raise EnvironmentMissing("python3 cryptography is not installed: certificates "
                                 "cannot be read", "install python3-cryptography") from exc
    return mod


def hash_class(name: str) -> type[hashes.HashAlgorithm]:
    """The cryptography hash class of a digest name of :data:`HASHES`."""
    x509_module()
    from cryptography.hazmat.primitives import hashes

    cls: type[hashes.HashAlgorithm] = getattr(hashes, HASHES[name])
    return cls
_RSA = "1.2.840.113549.1.1.1"
_ECDSA_PREFIXES = ("1.2.840.10045.4.",)
_DATA = "1.2.840.113549.1.7.1"
_SIGNED_DATA = "1.2.840.113549.1.7.2"
_CN, _O = "2.5.4.3", "2.5.4.10"


def trailer(sig_len: int) -> bytes:
    """``struct module_signature`` for a PKCS#7 blob of *sig_len* bytes, then the magic."""
    return _STRUCT.pack(0, 0, PKEY_ID_PKCS7, 0, 0, sig_len) + MAGIC


def signature_extent(data: Image) -> tuple[int, bytes | None, int | None]:
    """(length of the module before its signature, the signature blob, id_type); the
    length is all of *data* and the blob None when unsigned or corrupt.  Reads only the
    end of *data*."""
    size = len(data)
    if size < len(MAGIC) + _STRUCT.size:
        return size, None, None
    tail = data[size - len(MAGIC) - _STRUCT.size:]
    if tail[_STRUCT.size:] != MAGIC:
        return size, None, None
    end = size - len(MAGIC)
    _algo, _hash, id_type, signer_len, key_len, sig_len = _STRUCT.unpack(tail[:_STRUCT.size])
    start = end - _STRUCT.size - sig_len - signer_len - key_len
    if start < 0:
        return size, None, id_type
    blob = data[end - _STRUCT.size - sig_len : end - _STRUCT.size]
    return start, blob, id_type


def split_raw(data: bytes) -> tuple[bytes, bytes | None, int | None]:
    """(module bytes, the signature blob, id_type); blob None when unsigned or corrupt."""
    length, blob, id_type = signature_extent(data)
    return (data if blob is None else data[:length]), blob, id_type


def read_signature(data: Image) -> tuple[int, ModuleSignature | None]:
    """(length of the module before the trailer, the parsed trailer or None)."""
    length, blob, id_type = signature_extent(data)
    if id_type is None:
        return length, None
    if blob is None:
        sig_len = _STRUCT.unpack(data[len(data) - len(MAGIC) - _STRUCT.size:
                                      len(data) - len(MAGIC)])[5]
        return length, ModuleSignature(id_type="corrupt", sig_len=sig_len)
    sig = ModuleSignature(id_type=_ID_TYPES.get(id_type, f"unknown({id_type})"),
                          sig_len=len(blob))
    if id_type == PKEY_ID_PKCS7:
        info = parse_pkcs7(blob)
        if info is not None:
            sig = ModuleSignature("PKCS#7", len(blob), info.signer, info.key_id,
                                  info.hash_algo)
    return length, sig


def split_signature(data: bytes) -> tuple[bytes, ModuleSignature | None]:
    """Return (module bytes without the trailer, the parsed trailer or None)."""
    length, sig = read_signature(data)
    return (data if length == len(data) else data[:length]), sig


# --- a minimal DER walker (only what the PKCS#7 SignerInfo needs) -----------------


def _tlv(buf: bytes, pos: int) -> tuple[int, int, int]:
    """Return (tag, content start, content end) of the DER element at *pos*."""
    if pos + 2 > len(buf):
        raise ValueError("DER element runs past the end")
    tag = buf[pos]
    length = buf[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7F
        if n == 0 or n > 4:
            raise ValueError("unsupported DER length")
        length = int.from_bytes(buf[pos : pos + n], "big")
        pos += n
    if pos + length > len(buf):
        raise ValueError("DER element runs past the end")
    return tag, pos, pos + length


def _children(buf: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    out = []
    pos = start
    while pos < end:
        tag, cstart, cend = _tlv(buf, pos)
        out.append((tag, cstart, cend))
        pos = cend
    return out


def _oid(raw: bytes) -> str:
    if not raw:
        raise ValueError("empty OID")
    parts = [raw[0] // 40, raw[0] % 40]
    value = 0
    for byte in raw[1:]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(value)
            value = 0
    return ".".join(str(p) for p in parts)


def _name_attr(buf: bytes, start: int, end: int, wanted: str) -> str:
    for _set_tag, s0, s1 in _children(buf, start, end):
        for _seq_tag, a0, a1 in _children(buf, s0, s1):
            kids = _children(buf, a0, a1)
            if (len(kids) == 2 and kids[0][0] == 0x06
                    and _oid(buf[kids[0][1] : kids[0][2]]) == wanted):
                return buf[kids[1][1] : kids[1][2]].decode("utf-8", "replace")
    return ""


def _element(buf: bytes, el: tuple[int, int, int]) -> bytes:
    """The whole DER encoding (header included) of a child element."""
    _tag, c0, c1 = el
    # walk back over the header: tag byte + length bytes
    for hdr in range(2, 7):
        start = c0 - hdr
        if start >= 0:
            try:
                t, s, e = _tlv(buf, start)
            except ValueError:
                continue
            if (t, s, e) == el:
                return buf[start:c1]
    raise ValueError("cannot re-read a DER element")


@dataclass(frozen=True)
class SignerInfo:
    """The first SignerInfo of a module signature, as the kernel reads it."""

    version: int  # SignedData version (1 or 3)
    content_type: str  # OID of the encapsulated content type (id-data for modules)
    signer: str  # issuer CN (or O) as modinfo prints "signer"
    key_id: str  # serial number or subject key id, colon-separated hex ("sig_key")
    hash_algo: str  # "sha256", ... ("" if unknown)
    has_authattrs: bool
    pkey_oid: str  # digestEncryptionAlgorithm OID
    signature: bytes
    issuer_der: bytes = b""  # DER Name of the issuer (issuerAndSerialNumber)
    serial: int | None = None
    skid: bytes = b""  # subject key identifier (CMS v3)


def _want(el: tuple[int, int, int], *tags: int) -> tuple[int, int, int]:
    if el[0] not in tags:
        raise ValueError(f"DER tag {el[0]:#x} where {'/'.join(hex(t) for t in tags)} belongs")
    return el


def _int(blob: bytes, el: tuple[int, int, int]) -> int:
    _want(el, 0x02)
    return int.from_bytes(blob[el[1] : el[2]], "big", signed=True)


#: The last few signatures' DER up to the signature value, with what it says: the modules
#: one key signed differ only in the bytes of that value (the last element), so a blob
#: that starts with the same bytes and has the same length has the same SignerInfo but
#: for the signature.  (A kernel tree is thousands of modules signed by one key.)
_SAME_SIGNER: list[tuple[int, int, bytes, SignerInfo]] = []


def parse_pkcs7(blob: bytes) -> SignerInfo | None:
    """The first SignerInfo of a PKCS#7 SignedData; None where the DER does not have the
    shape the kernel's ASN.1 decoder (crypto/asymmetric_keys/pkcs7.asn1) accepts."""
    blob = bytes(blob)
    for at, (length, start, prefix, info) in enumerate(_SAME_SIGNER):
        if len(blob) == length and blob.startswith(prefix):
            if info.signature != blob[start:]:  # (the same blob again: the same object)
                info = replace(info, signature=blob[start:])
                del _SAME_SIGNER[at]
                _SAME_SIGNER.insert(0, (length, start, prefix, info))
            return info
    parsed = _parse_pkcs7(blob)
    if parsed is None:
        return None
    info, value_at = parsed
    if value_at is not None:
        _SAME_SIGNER.insert(0, (len(blob), value_at, blob[:value_at], info))
        del _SAME_SIGNER[4:]
    return info


def _parse_pkcs7(blob: bytes) -> tuple[SignerInfo, int | None] | None:
    """:func:`parse_pkcs7`, and where the signature value starts when it is the last thing
    in *blob*."""
    try:
        top = _want(_tlv(blob, 0), 0x30)  # ContentInfo
        if top[2] != len(blob):
            raise ValueError("bytes after the ContentInfo")
        kids = _children(blob, top[1], top[2])
        if _oid(blob[_want(kids[0], 0x06)[1] : kids[0][2]]) != _SIGNED_DATA:
            raise ValueError("not SignedData")
        wrapper = _want(kids[1], 0xA0)  # [0] EXPLICIT
        sd = _want(_tlv(blob, wrapper[1]), 0x30)  # SignedData
        signed = _children(blob, sd[1], sd[2])
        version = _int(blob, signed[0])
        algs = _want(signed[1], 0x31, 0x30)  # digestAlgorithms: SET or SEQUENCE OF
        for alg in _children(blob, algs[1], algs[2]):
            _want(_children(blob, *_want(alg, 0x30)[1:])[0], 0x06)
        encap = _children(blob, *_want(signed[2], 0x30)[1:])
        content_type = _oid(blob[_want(encap[0], 0x06)[1] : encap[0][2]])
        if len(encap) > 1:
            raise ValueError("content embedded: a module signature is detached")
        for extra in signed[3:-1]:
            _want(extra, 0xA0, 0xA1)  # certificates, crls
        signer_infos = _want(signed[-1], 0x31)
        first = _want(_children(blob, signer_infos[1], signer_infos[2])[0], 0x30)
        info = _children(blob, first[1], first[2])
        si_version = _int(blob, info[0])
        sid = _want(info[1], 0x30, 0x80)
        if (si_version, sid[0]) not in {(1, 0x30), (3, 0x80)} or (
                (version == 1) != (si_version == 1)):
            raise ValueError("SignedData-SignerInfo version mismatch")
        digest_alg = _want(info[2], 0x30)
        hash_oid = _want(_children(blob, digest_alg[1], digest_alg[2])[0], 0x06)
        hash_algo = _HASH_OIDS.get(_oid(blob[hash_oid[1] : hash_oid[2]]), "")
        rest = info[3:]
        has_authattrs = bool(rest) and rest[0][0] == 0xA0
        if has_authattrs:
            rest = rest[1:]
        pkey_alg, sig_el = _want(rest[0], 0x30), _want(rest[1], 0x04)
        for extra in rest[2:]:
            _want(extra, 0xA1)  # unauthenticatedAttributes
        pkey_oid_el = _want(_children(blob, pkey_alg[1], pkey_alg[2])[0], 0x06)
        pkey_oid = _oid(blob[pkey_oid_el[1] : pkey_oid_el[2]])
        signature = blob[sig_el[1] : sig_el[2]]
        issuer_der, serial, skid = b"", None, b""
        if sid[0] == 0x30:  # issuerAndSerialNumber
            issuer, serial_el = _children(blob, sid[1], sid[2])[:2]
            _want(issuer, 0x30)
            signer = _name_attr(blob, issuer[1], issuer[2], _CN) or _name_attr(
                blob, issuer[1], issuer[2], _O
            )
            raw = blob[_want(serial_el, 0x02)[1] : serial_el[2]]
            issuer_der = _element(blob, issuer)
            serial = int.from_bytes(raw, "big", signed=True)
        else:  # [0] subjectKeyIdentifier
            signer, raw = "", blob[sid[1] : sid[2]]
            skid = raw
        key_id = ":".join(f"{b:02X}" for b in raw)
        return (SignerInfo(version, content_type, signer, key_id, hash_algo, has_authattrs,
                           pkey_oid, signature, issuer_der, serial, skid),
                sig_el[1] if sig_el[2] == len(blob) else None)
    except (ValueError, IndexError, TypeError):
        return None


# --- certificates -----------------------------------------------------------------

#: Key and certificate files are small; a larger file is not one.
_MAX_KEY_BYTES = 1 << 20


def read_small(path: Path, what: str) -> bytes:
    """Read a key or certificate file (bounded) or raise InputError with one clear line."""
    try:
        if path.stat().st_size > _MAX_KEY_BYTES:
            raise InputError(f"{path}: too large for a {what}", f"give a PEM or DER {what}")
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such file", f"give the path of the {what}") from exc
    except PermissionError as exc:
        raise InputError(f"{path}: permission denied", f"the {what} must be readable "
                         "(run as root for /var/lib/dkms/mok.key)") from exc
    except IsADirectoryError as exc:
        raise InputError(f"{path}: is a directory", f"give the path of the {what}") from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})", f"check the {what}") from exc


def load_cert(path: Path) -> x509.Certificate:
    """One X.509 certificate from a PEM or DER file."""
    data = read_small(path, "certificate")
    mod = x509_module()
    try:
        load = mod.load_pem_x509_certificate if b"-----BEGIN" in data else \
            mod.load_der_x509_certificate
        cert: x509.Certificate = load(data)
    except ValueError as exc:
        raise InputError(f"{path}: not an X.509 certificate (PEM or DER)",
                         "give the certificate, e.g. /var/lib/dkms/mok.pub") from exc
    return cert


def load_certs(paths: list[Path] | tuple[Path, ...]) -> list[x509.Certificate]:
    """Every certificate of every file (a PEM file may hold several)."""
    out: list[x509.Certificate] = []
    for path in paths:
        data = read_small(path, "certificate")
        if data.count(b"-----BEGIN CERTIFICATE-----") > 1:
            try:
                out += x509_module().load_pem_x509_certificates(data)
            except ValueError as exc:
                raise InputError(f"{path}: unreadable PEM certificates",
                                 "give PEM or DER certificates") from exc
        else:
            out.append(load_cert(path))
    return out



# --- who a certificate names, without the X.509 library ----------------------------


@dataclass(frozen=True)
class CertIdentity:
    """What the kernel compares a signature's signer with (x509_public_key / pkcs7 key
    lookup): the issuer and serial number, or the subject key identifier."""

    issuer_der: bytes
    serial: int
    skid: bytes | None  # None: the certificate has no subjectKeyIdentifier extension

    def may_sign(self, info: SignerInfo) -> bool:
        """False when this certificate certainly is not *info*'s signer (only the serial
        number is compared: the X.509 library compares its own encoding of the issuer)."""
        if info.serial is not None:
            return self.serial == info.serial
        return self.skid is not None and self.skid == info.skid


_SKID_OID = "2.5.29.14"
_PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", re.S)


def _cert_identity(der: bytes) -> CertIdentity:
    """Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL,
    serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo,
    [1] [2] unique ids OPTIONAL, [3] extensions OPTIONAL }, ... } (RFC 5280 4.1)."""
    top = _want(_tlv(der, 0), 0x30)
    if top[2] != len(der):
        raise ValueError("bytes after the certificate")
    tbs = _want(_children(der, top[1], top[2])[0], 0x30)
    fields = _children(der, tbs[1], tbs[2])
    if fields[0][0] == 0xA0:
        fields = fields[1:]
    serial = _int(der, fields[0])
    _want(fields[1], 0x30)
    issuer = _want(fields[2], 0x30)
    skid: bytes | None = None
    for tag, start, _end in fields[6:]:
        if tag != 0xA3:
            continue
        exts = _want(_tlv(der, start), 0x30)
        for ext in _children(der, exts[1], exts[2]):
            parts = _children(der, *_want(ext, 0x30)[1:])
            if _oid(der[_want(parts[0], 0x06)[1]:parts[0][2]]) != _SKID_OID:
                continue
            value = _want(parts[-1], 0x04)
            inner = _want(_tlv(der, value[1]), 0x04)
            if skid is not None or inner[2] != value[2]:
                raise ValueError("unexpected subjectKeyIdentifier")
            skid = der[inner[1]:inner[2]]
    return CertIdentity(_element(der, issuer), serial, skid)


def cert_identities(data: bytes) -> list[CertIdentity] | None:
    """Who each certificate of a PEM or DER file's *data* names, read with the DER walker
    (no X.509 library); None when the data is not plainly that (then only the X.509
    library can tell)."""
    try:
        if b"-----BEGIN" not in data:
            return [_cert_identity(data)]
        blocks = _PEM_CERT.findall(data)
        if not blocks or data.count(b"-----BEGIN") != len(blocks):
            return None
        return [_cert_identity(binascii.a2b_base64(b)) for b in blocks]
    except (ValueError, IndexError, TypeError, binascii.Error):
        return None


# --- verification (what verify_pkcs7_signature() decides) -------------------------

#: verdicts of :func:`verify`, named after the kernel's errno
OK = "ok"
NODATA = "unsigned"  # -ENODATA: no signature
NOKEY = "nokey"  # -ENOKEY: no trusted key matches the signer
REJECTED = "rejected"  # -EKEYREJECTED: a matching key, but the signature is wrong/invalid
NOPKG = "nopkg"  # -ENOPKG: unsupported crypto
BADMSG = "badmsg"  # -EBADMSG / -EINVAL: unparseable signature


@dataclass(frozen=True)
class Verification:
    """The outcome of checking one module's signature against trusted certificates."""

    result: str  # one of OK, NODATA, NOKEY, REJECTED, NOPKG, BADMSG
    detail: str
    signer: str = ""
    key_id: str = ""
    hash_algo: str = ""
    cert_subject: str = ""  # the trusted certificate that matched
    kernel_message: str = ""  # the line the kernel prints about it ("" when it prints none)


def _matches(cert: x509.Certificate, info: SignerInfo) -> bool:
    if info.serial is not None:
        return (cert.serial_number == info.serial
                and cert.issuer.public_bytes() == info.issuer_der)
    x509 = x509_module()
    try:
        ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    except x509.ExtensionNotFound:
        return False
    return bool(ski.value.digest == info.skid)


def verify(data: Image, certs: Iterable[x509.Certificate], *,
           may_match: Callable[[SignerInfo], bool] | None = None) -> Verification:
    """Verify the signature appended to module bytes *data* (decompressed) against *certs*,
    in the order the kernel does: trailer, PKCS#7 parse, module-signature rules, key
    lookup (-ENOKEY), then the signature itself (-EKEYREJECTED).

    When *may_match* says that no certificate can be the signer, *certs* is not iterated
    (it may load them on demand): the answer is -ENOKEY."""
    tail = data[max(0, len(data) - len(MAGIC) - _STRUCT.size):]  # only the end is read
    if not tail.endswith(MAGIC):
        return Verification(NODATA, "no signature appended")
    modlen = len(data) - len(MAGIC)
    if modlen <= _STRUCT.size:
        return Verification(BADMSG, "the file is shorter than a signature trailer")
    algo, hsh, id_type, signer_len, key_len, sig_len = _STRUCT.unpack(tail[:_STRUCT.size])
    pad = tail[5:8]
    if sig_len >= modlen - _STRUCT.size:
        return Verification(BADMSG, "the signature length runs past the file")
    if id_type != PKEY_ID_PKCS7:
        return Verification(NOPKG, f"signature type {_ID_TYPES.get(id_type, id_type)} "
                            "(the kernel verifies only PKCS#7)",
                            kernel_message="module: not signed with expected PKCS#7 message")
    if algo or hsh or signer_len or key_len or any(pad):
        return Verification(BADMSG, "non-zero fields in struct module_signature",
                            kernel_message="module: PKCS#7 signature info has unexpected "
                            "non-zero params")
    end = modlen - _STRUCT.size
    blob = data[end - sig_len : end]
    info = parse_pkcs7(blob)
    if info is None:
        return Verification(BADMSG, "the PKCS#7 signature is not readable DER")
    base = {"signer": info.signer, "key_id": info.key_id, "hash_algo": info.hash_algo}
    if info.version not in (1, 3):
        return Verification(BADMSG, "Unsupported SignedData version", **base)
    if info.content_type != _DATA:
        return Verification(REJECTED, "Invalid module sig (not pkcs7-data)",
                            kernel_message="PKCS7: Invalid module sig (not pkcs7-data)", **base)
    if info.has_authattrs:
        return Verification(REJECTED, "Invalid module sig (has authattrs)",
                            kernel_message="PKCS7: Invalid module sig (has authattrs)", **base)
    if info.hash_algo not in HASHES:
        return Verification(NOPKG, "unsupported digest algorithm", **base)
    is_rsa = info.pkey_oid == _RSA
    if not is_rsa and not info.pkey_oid.startswith(_ECDSA_PREFIXES):
        return Verification(NOPKG, f"unsupported public key algorithm {info.pkey_oid}",
                            **base)
    cert = None
    if may_match is None or may_match(info):
        cert = next((c for c in certs if _matches(c, info)), None)
    if cert is None:
        return Verification(NOKEY, "no trusted certificate matches the signer "
                            f"'{info.signer}' (key {info.key_id})", **base)
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

    body = data[: end - sig_len]
    hash_cls = hash_class(info.hash_algo)
    subject = cert.subject.rfc4514_string()
    pub = cert.public_key()
    try:
        if is_rsa and isinstance(pub, rsa.RSAPublicKey):
            pub.verify(info.signature, body, padding.PKCS1v15(), hash_cls())
        elif not is_rsa and isinstance(pub, ec.EllipticCurvePublicKey):
            pub.verify(info.signature, body, ec.ECDSA(hash_cls()))
        else:
            return Verification(REJECTED, "the certificate's key type does not match the "
                                "signature", cert_subject=subject, **base)
    except InvalidSignature:
        return Verification(REJECTED, "the signature does not match the module bytes "
                            f"(key of '{subject}')", cert_subject=subject, **base)
    except UnsupportedAlgorithm:
        return Verification(NOPKG, "unsupported crypto", cert_subject=subject, **base)
    return Verification(OK, f"signature verified with '{subject}'", cert_subject=subject,
                        **base)
