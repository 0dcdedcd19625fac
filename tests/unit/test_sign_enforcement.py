"""Signature enforcement (kernel/module/signing.c module_sig_check, the IMA arch policy,
lockdown) on hand-made targets, and the verdicts check gives for each signature state.
The messages are the kernel's printk formats; errno strings are strerror()'s."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from kmend import proc
from kmend.kernel.symvers import SymversEntry
from kmend.kernel.target import KernelTarget
from kmend.ko.model import ModuleFile
from kmend.ko.signature import (
    cert_identities,
    load_certs,
    parse_pkcs7,
    split_raw,
    split_signature,
)
from kmend.loadcheck import check_module
from kmend.loadcheck.dmesg import first_error
from kmend.loadcheck.enforcement import Enforcement, Trust, detect
from kmend.sign import create_key, sign_bytes

MAGIC = "6.1.0-57-amd64 SMP preempt mod_unload modversions "
DEBIAN = {"CONFIG_SMP": "y", "CONFIG_PREEMPT_BUILD": "y", "CONFIG_MODULE_UNLOAD": "y",
          "CONFIG_MODVERSIONS": "y", "CONFIG_MODULE_SIG": "y", "CONFIG_IMA_ARCH_POLICY": "y",
          "CONFIG_LOCK_DOWN_IN_EFI_SECURE_BOOT": "y"}
LOCKDOWN_LINE = ("Lockdown: insmod: unsigned module loading is restricted; "
                 "see man kernel_lockdown.7")


def target(**kw: object) -> KernelTarget:
    symvers = {"module_layout": SymversEntry(0x1111, "module_layout", "vmlinux"),
               "_printk": SymversEntry(0x2222, "_printk", "vmlinux")}
    base = KernelTarget(release="6.1.0-57-amd64", kdir=None, config=DEBIAN, symvers=symvers,
                        vermagic=MAGIC, modversions=True, sig_enforce=False,
                        version=(6, 1, 192), package_id=" Debian 6.1.192-3",
                        this_module_size=896)
    return replace(base, **kw)  # type: ignore[arg-type]


def module(**kw: object) -> ModuleFile:
    base = ModuleFile(path=Path("m.ko"), name="m", vermagic=MAGIC, depends=(), license="GPL",
                      srcversion=None, intree=False,
                      versions={"module_layout": 0x1111, "_printk": 0x2222},
                      undefined=("_printk",), exports=(), signature=None, has_versions=True,
                      modinfo_name="m", this_module_size=896, this_module_count=1)
    return replace(base, **kw)  # type: ignore[arg-type]


def test_secure_boot_on_debian_config(tmp_path: Path) -> None:
    enf = detect(target(), root=tmp_path, secure_boot=True)
    assert enf.sig_enforce and enf.lockdown == "integrity" and enf.secure_boot
    assert "IMA arch policy" in enf.sources["sig_enforce"]
    off = detect(target(), root=tmp_path, secure_boot=False)
    assert not off.sig_enforce and off.lockdown == "none"
    # without CONFIG_IMA_ARCH_POLICY only lockdown follows Secure Boot
    cfg = {k: v for k, v in DEBIAN.items() if k != "CONFIG_IMA_ARCH_POLICY"}
    lock_only = detect(target(config=cfg), root=tmp_path, secure_boot=True)
    assert not lock_only.sig_enforce and lock_only.lockdown == "integrity"
    forced = detect(target(config={**DEBIAN, "CONFIG_MODULE_SIG_FORCE": "y"}), root=tmp_path)
    assert forced.sig_enforce
    flags = detect(target(), root=tmp_path, secure_boot=True, sig_enforce=False,
                   lockdown="none")
    assert not flags.sig_enforce and flags.lockdown == "none"


def _first(mod: ModuleFile, enf: Enforcement, trust: Trust | None = None) -> str | None:
    verdict = check_module(mod, target(), enforcement=enf, trust=trust)
    first = verdict.first_error
    assert verdict.will_load == (first is None)
    return first.message if first else None


def test_unsigned_module_verdicts() -> None:
    mod = module()
    assert _first(mod, Enforcement(True)) == "Loading of unsigned module is rejected"
    assert _first(mod, Enforcement(False, "integrity")) == LOCKDOWN_LINE
    assert _first(mod, Enforcement(False, "confidentiality")) == LOCKDOWN_LINE
    v = check_module(mod, target(), enforcement=Enforcement(False, "none"))
    assert v.will_load and v.taints == "OE"
    notes = [f.message for f in check_module(mod, target(),
                                             enforcement=Enforcement(True)).findings]
    assert "insmod: ERROR: could not insert module m.ko: Key was rejected by service" in notes
    notes = [f.message for f in check_module(mod, target(),
                                             enforcement=Enforcement(False, "integrity")).findings]
    assert "insmod: ERROR: could not insert module m.ko: Operation not permitted" in notes


def test_verified_signatures(tmp_path: Path) -> None:
    """Real signatures over real bytes (the module file is re-read for verification)."""
    one = create_key(tmp_path / "one", common_name="one")
    two = create_key(tmp_path / "two", common_name="two")
    body = b"\x7fELF" + b"\0" * 4000
    signed, _ = sign_bytes(body, one.key, one.cert)
    ko = tmp_path / "m.ko"
    ko.write_bytes(signed)
    _b, sig = split_signature(signed)
    mod = module(path=ko, signature=sig)
    trust_one = Trust(tuple(load_certs([one.cert])), ("one",))
    trust_two = Trust(tuple(load_certs([two.cert])), ("two",))
    assert _first(mod, Enforcement(True), trust_one) is None
    v = check_module(mod, target(), enforcement=Enforcement(True), trust=trust_one)
    assert v.taints == "O" and v.signature_check is not None
    assert v.signature_check.result == "ok"
    assert _first(mod, Enforcement(True), trust_two) == (
        "Loading of module with unavailable key is rejected")
    assert _first(mod, Enforcement(False, "integrity"), trust_two) == LOCKDOWN_LINE
    # a trusted key whose signature does not match: fatal even when nothing is enforced,
    # and the kernel prints nothing about it
    ko.write_bytes(signed.replace(b"\0" * 10, b"\1" * 10, 1))
    v = check_module(mod, target(), enforcement=Enforcement(False), trust=trust_one)
    assert not v.will_load
    assert not [f for f in v.findings if f.kernel and f.severity == "error"]
    assert any("Key was rejected by service" in f.message for f in v.findings)


def test_refusal_lines_are_recognised_in_dmesg() -> None:
    assert first_error(["m: loading out-of-tree module taints kernel.", LOCKDOWN_LINE]) == (
        LOCKDOWN_LINE)
    assert first_error(["Loading of module with unavailable key is rejected"]) is not None
    assert first_error(["PKCS7: Invalid module sig (has authattrs)"]) is not None



def _openssl_cert(directory: Path, cn: str) -> tuple[Path, Path, str]:
    """A key and a self-signed certificate made by openssl, and openssl's own text of it."""
    key, pem = directory / f"{cn}.key", directory / f"{cn}.pem"
    proc.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={cn}",
              "-days", "2", "-keyout", key, "-out", pem], timeout=120)
    text = proc.run(["openssl", "x509", "-in", pem, "-noout", "-serial", "-ext",
                     "subjectKeyIdentifier"], timeout=60).stdout
    return key, pem, text


def test_certificate_identities_as_openssl_reads_them(tmp_path: Path) -> None:
    """Serial number and subject key id read without the X.509 library, from PEM and DER,
    are the ones openssl prints."""
    key, pem, text = _openssl_cert(tmp_path, "one")
    _k2, pem2, text2 = _openssl_cert(tmp_path, "two")
    der = tmp_path / "one.der"
    proc.run(["openssl", "x509", "-in", pem, "-outform", "DER", "-out", der], timeout=60)

    def facts(txt: str) -> tuple[int, bytes]:
        serial = re.search(r"serial=([0-9A-F]+)", txt)
        skid = re.search(r"Key Identifier:\s*\n\s*([0-9A-F:]+)", txt)
        assert serial and skid, txt
        return int(serial[1], 16), bytes.fromhex(skid[1].replace(":", ""))

    for data in (pem.read_bytes(), der.read_bytes()):
        ids = cert_identities(data)
        assert ids is not None and [(i.serial, i.skid) for i in ids] == [facts(text)]
        assert b"one" in ids[0].issuer_der
    both = cert_identities(pem.read_bytes() + pem2.read_bytes())
    assert both is not None and [(i.serial, i.skid) for i in both] == [facts(text),
                                                                        facts(text2)]
    assert cert_identities(key.read_bytes()) is None  # a private key: not a certificate
    assert cert_identities(der.read_bytes()[:-5]) is None  # truncated DER


def test_default_certificates_loaded_only_for_their_signer(tmp_path: Path) -> None:
    """With DKMS's certificate as the only trusted one (read on demand), a module signed by
    another key is -ENOKEY without loading it, and one signed by its key verifies."""
    key, pem, _ = _openssl_cert(tmp_path, "one")
    key2, pem2, _ = _openssl_cert(tmp_path, "two")
    signed, _ = sign_bytes(b"\x7fELF" + b"\0" * 4000, key, pem)
    ko = tmp_path / "m.ko"
    ko.write_bytes(signed)
    _b, sig = split_signature(signed)
    mod = module(path=ko, signature=sig)
    info = parse_pkcs7(split_raw(signed)[1] or b"")
    assert info is not None
    other = Trust(later=[(pem2, "DKMS key two")])
    assert not other.may_match(info)
    assert _first(mod, Enforcement(True), other) == (
        "Loading of module with unavailable key is rejected")
    mine = Trust(later=[(pem, "DKMS key one")])
    assert mine.may_match(info)
    v = check_module(mod, target(), enforcement=Enforcement(True), trust=mine)
    assert v.will_load and v.signature_check is not None and v.signature_check.result == "ok"
    # a file only the X.509 library could read is left to it (here: not a certificate)
    odd = Trust(later=[(key2, "not a certificate")])
    assert odd.may_match(info)
    assert _first(mod, Enforcement(True), odd) == (
        "Loading of module with unavailable key is rejected")
