"""`kmend sign` against the real tools: kmod's modinfo reads the signer, key and hash it
wrote; the kernel's own scripts/sign-file makes the same RSA signature; OpenSSL's CMS
verifier accepts kmend's PKCS#7 over the module bytes; a .ko.xz stays xz; and `kmend
check --secure-boot/--lockdown/--cert` on a real module against Debian's headers says what
the kernel's module_sig_check() does (the vm tier boots the kernel to prove it:
tests/vm/test_secureboot_matrix.py)."""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import pytest

from kmend import proc
from kmend.cli import main
from kmend.ko.compressed import compression_of
from kmodbuild import TESTMODS, build, kdir_of, need

pytestmark = pytest.mark.integration

K47, K612 = "6.1.0-47-amd64", "6.12.117+deb12-amd64"
MAGIC = b"~Module signature appended~\n"


def _openssl_key(base: Path, cn: str) -> tuple[Path, Path]:
    """A key and certificate made by openssl itself (as DKMS makes its mok.key/mok.pub)."""
    key, cert = base / f"{cn}.key", base / f"{cn}.der"
    proc.run(["openssl", "req", "-new", "-x509", "-nodes", "-days", "365", "-subj",
              f"/CN={cn}", "-newkey", "rsa:2048", "-keyout", str(key), "-outform", "DER",
              "-out", str(cert)], timeout=60)
    return key, cert


@pytest.fixture(scope="module")
def hello(tmp_path_factory: pytest.TempPathFactory) -> Path:
    need(shutil.which("make") and shutil.which("gcc"), "make/gcc not installed")
    need((kdir_of(K47) / "Module.symvers").is_file(), f"linux-headers-{K47} not installed")
    src = tmp_path_factory.mktemp("signmod") / "hello"
    shutil.copytree(TESTMODS / "hello", src)
    build(src, K47)
    return src / "hello.ko"


def _modinfo(ko: Path, field: str) -> str:
    return proc.run(["modinfo", "-F", field, str(ko)], timeout=30).stdout.strip()


def _serial(cert: Path) -> str:
    out = proc.run(["openssl", "x509", "-inform", "DER", "-in", str(cert), "-noout",
                    "-serial"], timeout=30).stdout.strip()
    hexdigits = out.split("=", 1)[1]
    return ":".join(hexdigits[i : i + 2] for i in range(0, len(hexdigits), 2))


def _parts(ko: Path) -> tuple[bytes, bytes]:
    data = ko.read_bytes()
    assert data.endswith(MAGIC)
    (sig_len,) = struct.unpack(">I", data[-len(MAGIC) - 4 : -len(MAGIC)])
    end = len(data) - len(MAGIC) - 12
    return data[: end - sig_len], data[end - sig_len : end]


def test_modinfo_shows_what_kmend_signed(hello: Path, tmp_path: Path) -> None:
    need(shutil.which("modinfo"), "kmod not installed")
    key, cert = _openssl_key(tmp_path, "kmend integration signer")
    ko = tmp_path / "hello.ko"
    shutil.copyfile(hello, ko)
    assert main(["sign", str(ko), "--key", str(key), "--cert", str(cert), "--kernel", K47]) == 0
    assert _modinfo(ko, "signer") == "kmend integration signer"
    assert _modinfo(ko, "sig_key") == _serial(cert)
    config = Path(f"/boot/config-{K47}").read_text()
    assert 'CONFIG_MODULE_SIG_HASH="sha256"' in config
    assert _modinfo(ko, "sig_hashalgo") == "sha256"
    assert _modinfo(ko, "sig_id") == "PKCS#7"
    # the module itself is untouched before the signature
    assert _parts(ko)[0] == hello.read_bytes()


def test_same_signature_as_sign_file_and_openssl_verifies(hello: Path, tmp_path: Path) -> None:
    sign_file = kdir_of(K47) / "scripts/sign-file"
    need(sign_file.is_file(), f"{sign_file} missing")
    key, cert = _openssl_key(tmp_path, "kmend cross check")
    ours, theirs = tmp_path / "ours.ko", tmp_path / "theirs.ko"
    shutil.copyfile(hello, ours)
    shutil.copyfile(hello, theirs)
    assert main(["sign", str(ours), "--key", str(key), "--cert", str(cert), "--hash",
                 "sha512"]) == 0
    proc.run([str(sign_file), "sha512", str(key), str(cert), str(theirs)], timeout=60)
    body, our_sig = _parts(ours)
    body2, their_sig = _parts(theirs)
    assert body == body2
    # PKCS#1 v1.5 is deterministic: the signature value (the last 256 bytes of the DER,
    # the OCTET STRING of a 2048-bit key) is the same bytes
    assert our_sig[-256:] == their_sig[-256:]
    (tmp_path / "body").write_bytes(body)
    (tmp_path / "sig.p7").write_bytes(our_sig)
    pem = tmp_path / "cert.pem"
    proc.run(["openssl", "x509", "-inform", "DER", "-in", str(cert), "-out", str(pem)],
             timeout=30)
    verify = ["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in",
              str(tmp_path / "sig.p7"), "-content", str(tmp_path / "body"), "-certfile",
              str(pem), "-nointern", "-noverify", "-out", "/dev/null"]
    assert proc.run(verify, timeout=30, check=False).returncode == 0
    (tmp_path / "body").write_bytes(body[:-1] + bytes([body[-1] ^ 1]))
    assert proc.run(verify, timeout=30, check=False).returncode != 0


def test_compressed_module_is_signed_inside_and_stays_xz(tmp_path: Path) -> None:
    found = sorted(Path(f"/lib/modules/{K612}/kernel/fs/fat").glob("vfat.ko.xz"))
    need(found, f"linux-image-{K612} not installed (Debian ships .ko.xz)")
    key, cert = _openssl_key(tmp_path, "kmend xz signer")
    out = tmp_path / "vfat.ko.xz"
    assert main(["sign", str(found[0]), "--key", str(key), "--cert", str(cert), "--kernel",
                 K612, "-o", str(out)]) == 0
    assert compression_of(out.read_bytes()) == "xz"
    plain = proc.run(["xz", "-d", "-c", str(out)], timeout=60)
    assert plain.stdout.encode("utf-8", "surrogateescape")[:4] == b"\x7fELF"
    assert _modinfo(out, "signer") == "kmend xz signer"
    assert _modinfo(out, "sig_hashalgo") == "sha256"


def _check(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:  # type: ignore[type-arg]
    code = main(["check", *args, "--kernel", K47, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_check_enforcement_on_real_modules(hello: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    need((kdir_of(K47) / "Module.symvers").is_file(), f"linux-headers-{K47} not installed")
    key, cert = _openssl_key(tmp_path, "kmend enrolled")
    _okey, other = _openssl_key(tmp_path, "kmend stranger")
    signed = tmp_path / "signed.ko"
    assert main(["sign", str(hello), "--key", str(key), "--cert", str(cert), "-o",
                 str(signed)]) == 0
    capsys.readouterr()
    # Secure Boot on Debian 6.1: sig_enforce by the IMA arch policy
    code, doc = _check([str(hello), "--secure-boot", "--cert", str(cert)], capsys)
    assert code == 1 and not doc["will_load"]
    assert doc["first_error"] == "Loading of unsigned module is rejected"
    assert doc["enforcement"]["sig_enforce"] and doc["enforcement"]["lockdown"] == "integrity"
    code, doc = _check([str(signed), "--secure-boot", "--cert", str(other)], capsys)
    assert doc["first_error"] == "Loading of module with unavailable key is rejected"
    assert doc["signature_check"]["result"] == "nokey"
    code, doc = _check([str(signed), "--secure-boot", "--cert", str(cert)], capsys)
    assert code == 0 and doc["will_load"] and doc["taints"] == "O"
    assert doc["signature_check"]["result"] == "ok"
    # lockdown without sig_enforce: security_locked_down() refuses with EPERM
    code, doc = _check([str(hello), "--no-secure-boot", "--no-sig-enforce", "--lockdown",
                        "integrity"], capsys)
    assert doc["first_error"] == ("Lockdown: insmod: unsigned module loading is restricted; "
                                  "see man kernel_lockdown.7")
    assert any("Operation not permitted" in f["message"] for f in doc["findings"])
    # nothing enforced: loads, tainted E with the kernel's words
    code, doc = _check([str(signed), "--no-secure-boot", "--no-sig-enforce", "--lockdown",
                        "none", "--cert", str(other)], capsys)
    assert code == 0 and doc["taints"] == "OE"
    assert ("hello: module verification failed: signature and/or required key missing - "
            "tainting kernel") in [f["message"] for f in doc["findings"]]
    # a missing certificate file is a one-line input error
    assert main(["check", str(signed), "--kernel", K47, "--cert",
                 str(tmp_path / "nope.der")]) == 4


def test_check_trusts_the_dkms_key_of_the_root(hello: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """Without --cert, the root's /var/lib/dkms/mok.pub (DER, as DKMS writes it) is trusted."""
    root = tmp_path / "root"
    dkms = root / "var/lib/dkms"
    dkms.mkdir(parents=True)
    key, cert = _openssl_key(dkms, "DKMS module signing key")
    key.rename(dkms / "mok.key")
    cert.rename(dkms / "mok.pub")
    signed = tmp_path / "hello.ko"
    # no --key/--cert: kmend sign finds DKMS's key under --root
    assert main(["sign", str(hello), "-o", str(signed), "--root", str(root)]) == 0
    assert _modinfo(signed, "signer") == "DKMS module signing key"
    capsys.readouterr()
    code = main(["check", str(signed), "--kdir", str(kdir_of(K47)), "--root", str(root),
                 "--secure-boot", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["signature_check"]["result"] == "ok"
    code = main(["check", str(signed), "--kdir", str(kdir_of(K47)), "--root", str(tmp_path),
                 "--secure-boot", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1 and doc["first_error"] == (
        "Loading of module with unavailable key is rejected")
