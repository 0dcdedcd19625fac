"""The appended module signature: ``<module><PKCS#7><struct module_signature><magic>``.

``struct module_signature`` (include/linux/module_signature.h) is 12 bytes:
``u8 algo, hash, id_type, signer_len, key_id_len, __pad[3]; __be32 sig_len``.  For
PKCS#7 (id_type 2) the signer, key id and hash live inside the DER blob; this module
walks just enough DER to print them the way modinfo does.
"""

from __future__ import annotations

import struct

from kmend.ko.model import ModuleSignature

MAGIC = b"~Module signature appended~\n"
_STRUCT = struct.Struct(">BBBBB3xI")
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
_CN, _O = "2.5.4.3", "2.5.4.10"


def split_signature(data: bytes) -> tuple[bytes, ModuleSignature | None]:
    """Return (module bytes without the trailer, the parsed trailer or None)."""
    if not data.endswith(MAGIC) or len(data) < len(MAGIC) + _STRUCT.size:
        return data, None
    end = len(data) - len(MAGIC)
    _algo, _hash, id_type, signer_len, key_len, sig_len = _STRUCT.unpack_from(
        data, end - _STRUCT.size
    )
    start = end - _STRUCT.size - sig_len - signer_len - key_len
    if start < 0:
        return data, ModuleSignature(id_type="corrupt", sig_len=sig_len)
    blob = data[end - _STRUCT.size - sig_len : end - _STRUCT.size]
    sig = ModuleSignature(id_type=_ID_TYPES.get(id_type, f"unknown({id_type})"), sig_len=sig_len)
    if id_type == 2:
        signer, key_id, hash_algo = _pkcs7_details(blob)
        sig = ModuleSignature("PKCS#7", sig_len, signer, key_id, hash_algo)
    return data[:start], sig


# --- a minimal DER walker (only what the PKCS#7 SignerInfo needs) -----------------


def _tlv(buf: bytes, pos: int) -> tuple[int, int, int]:
    """Return (tag, content start, content end) of the DER element at *pos*."""
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


def _pkcs7_details(blob: bytes) -> tuple[str, str, str]:
    """(signer, key id, hash) from a PKCS#7 SignedData; empty strings where unreadable."""
    try:
        _t, c0, c1 = _tlv(blob, 0)  # ContentInfo
        kids = _children(blob, c0, c1)
        _t, e0, _e1 = kids[1]  # [0] EXPLICIT
        _t, s0, s1 = _tlv(blob, e0)  # SignedData
        signed = _children(blob, s0, s1)
        signer_infos = signed[-1]
        first = _children(blob, signer_infos[1], signer_infos[2])[0]
        info = _children(blob, first[1], first[2])
        sid, digest_alg = info[1], info[2]
        hash_oid = _children(blob, digest_alg[1], digest_alg[2])[0]
        hash_algo = _HASH_OIDS.get(_oid(blob[hash_oid[1] : hash_oid[2]]), "")
        if sid[0] == 0x30:  # issuerAndSerialNumber
            issuer, serial = _children(blob, sid[1], sid[2])[:2]
            signer = _name_attr(blob, issuer[1], issuer[2], _CN) or _name_attr(
                blob, issuer[1], issuer[2], _O
            )
            raw = blob[serial[1] : serial[2]]
        else:  # [0] subjectKeyIdentifier
            signer, raw = "", blob[sid[1] : sid[2]]
        key_id = ":".join(f"{b:02X}" for b in raw)
        return signer, key_id, hash_algo
    except (ValueError, IndexError):
        return "", "", ""
