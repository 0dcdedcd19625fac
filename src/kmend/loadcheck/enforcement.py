"""Signature enforcement on the target, and the certificates it trusts.

What decides whether a kernel refuses a module over its signature (kernel/module/
signing.c ``module_sig_check``): ``sig_enforce`` (CONFIG_MODULE_SIG_FORCE, the
``module.sig_enforce=1`` parameter, or — under UEFI Secure Boot with
CONFIG_IMA_ARCH_POLICY and CONFIG_MODULE_SIG — the IMA arch policy's
``set_module_sig_enforced()``, which is how Debian's kernels enforce under Secure Boot)
and, when that is off, lockdown (``security_locked_down(LOCKDOWN_MODULE_SIGNATURE)``:
locked down to ``integrity`` or more, e.g. by CONFIG_LOCK_DOWN_IN_EFI_SECURE_BOOT under
Secure Boot, an unverifiable module is refused with -EPERM).

Sources, by precedence: the command line's flags, then the live system when the target
is the running kernel (``/sys/module/module/parameters/sig_enforce``,
``/sys/kernel/security/lockdown``, ``mokutil --sb-state``), then the target's config.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kmend import proc
from kmend.errors import KmendError
from kmend.kernel.kconfig import enabled
from kmend.kernel.paths import resolve_in_root
from kmend.kernel.target import KernelTarget
from kmend.ko.signature import (
    CertIdentity,
    SignerInfo,
    cert_identities,
    load_certs,
    read_small,
    x509_module,
)

if TYPE_CHECKING:  # a fleet host may lack cryptography: imported where certificates are read
    from cryptography import x509

LOCKDOWN_LEVELS = ("none", "integrity", "confidentiality")
SIG_ENFORCE = Path("/sys/module/module/parameters/sig_enforce")
LOCKDOWN = Path("/sys/kernel/security/lockdown")
#: the EFI global variable SecureBoot (4 attribute bytes, then one value byte)
SECUREBOOT_VAR = Path(
    "/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c")
DKMS_CERT = "/var/lib/dkms/mok.pub"
_BRACKET = re.compile(r"\[(\w+)\]")


@dataclass(frozen=True)
class Enforcement:
    """How the target treats a module whose signature it cannot verify."""

    sig_enforce: bool
    lockdown: str = "none"  # "none", "integrity" or "confidentiality"
    secure_boot: bool | None = None  # None: unknown
    #: where each fact came from ("sig_enforce": "IMA arch policy under Secure Boot")
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def locked_down(self) -> bool:
        return self.lockdown in {"integrity", "confidentiality"}


class Trust:
    """The certificates the target's keyrings hold, as far as kmend can know them.

    Certificate files found by default (DKMS's) are read on first use: a module without a
    signature never needs them, and reading them is what imports the X.509 library.  A
    module signed by a key none of them names (a distribution's own modules) needs only
    the certificates' serial numbers and key ids, which :meth:`may_match` reads without
    that library."""

    def __init__(self, certs: Sequence[x509.Certificate] = (), sources: Sequence[str] = (),
                 *, later: Sequence[tuple[Path, str]] = ()) -> None:
        self._certs = list(certs)
        self._sources = list(sources)  # one description per certificate
        self._later = list(later)  # (file, description), read when first needed
        self._identities: list[CertIdentity] | None = None

    def may_match(self, info: SignerInfo) -> bool:
        """False when no trusted certificate can be *info*'s signer (told without loading
        the certificates not yet loaded, when their files are plain PEM or DER)."""
        if self._certs:
            return True
        if self._identities is None:
            found: list[CertIdentity] = []
            for path, _name in self._later:
                try:
                    ids = cert_identities(read_small(path, "certificate"))
                except KmendError:
                    continue  # _load skips it too: no trusted key
                if ids is None:
                    return True  # only the X.509 library can read it
                found += ids
            self._identities = found
        return any(i.may_sign(info) for i in self._identities)

    def _load(self) -> None:
        later, self._later = self._later, []
        loaded: list[x509.Certificate] = []
        names: list[str] = []
        for path, name in later:
            try:
                found = _certs_of(path)
            except KmendError:
                continue  # an unreadable default file is no trusted key
            loaded += found
            names += [name] * len(found)
        # default files come first, as the order they were found in
        self._certs = loaded + self._certs
        self._sources = names + self._sources

    @property
    def certs(self) -> tuple[x509.Certificate, ...]:
        self._load()
        return tuple(self._certs)

    @property
    def sources(self) -> tuple[str, ...]:
        self._load()
        return tuple(self._sources)

    def describe(self) -> str:
        return ", ".join(self.sources) if self.sources else "none known"


def _read(path: Path) -> str | None:
    try:
        return path.read_text(errors="replace").strip()
    except OSError:
        return None


def live_secure_boot() -> tuple[bool | None, str]:
    """This machine's Secure Boot state: mokutil --sb-state, else the EFI variable."""
    try:
        res = proc.run(["mokutil", "--sb-state"], timeout=20, check=False)
        text = (res.stdout + res.stderr).lower()
        if "secureboot enabled" in text:
            return True, "mokutil --sb-state"
        if "secureboot disabled" in text or "not supported" in text:
            return False, "mokutil --sb-state"
    except KmendError:
        pass
    try:
        raw = SECUREBOOT_VAR.read_bytes()
    except OSError:
        return None, ""
    if len(raw) >= 5:
        return raw[4] == 1, str(SECUREBOOT_VAR)
    return None, ""


def is_live(target: KernelTarget, root: Path) -> bool:
    return str(root) == "/" and bool(target.release) and os.uname().release == target.release


def detect(target: KernelTarget, *, root: Path = Path("/"), secure_boot: bool | None = None,
           sig_enforce: bool | None = None, lockdown: str | None = None) -> Enforcement:
    """Enforcement for *target*: flags first, then the live system, then the config."""
    config = target.config
    sources: dict[str, str] = {}
    enforce = enabled(config, "CONFIG_MODULE_SIG_FORCE")
    sources["sig_enforce"] = "CONFIG_MODULE_SIG_FORCE" if enforce else "kernel config"
    level = "none"
    for lvl, opt in (("integrity", "CONFIG_LOCK_DOWN_KERNEL_FORCE_INTEGRITY"),
                     ("confidentiality", "CONFIG_LOCK_DOWN_KERNEL_FORCE_CONFIDENTIALITY")):
        if enabled(config, opt):
            level = lvl
            sources["lockdown"] = opt
    sb = secure_boot
    if sb is not None:
        sources["secure_boot"] = "--secure-boot"
    live = is_live(target, root)
    if live:
        if sb is None:
            sb, where = live_secure_boot()
            if where:
                sources["secure_boot"] = where
        param = _read(SIG_ENFORCE)
        if param in {"Y", "N"}:
            enforce = param == "Y"
            sources["sig_enforce"] = str(SIG_ENFORCE)
        lock = _read(LOCKDOWN)
        found = _BRACKET.search(lock or "")
        if found and found[1] in LOCKDOWN_LEVELS:
            level = found[1]
            sources["lockdown"] = str(LOCKDOWN)
    if sb and not (live and secure_boot is None):
        # what the kernel does at boot under Secure Boot (not yet visible in /sys)
        if enabled(config, "CONFIG_IMA_ARCH_POLICY") and enabled(config, "CONFIG_MODULE_SIG"):
            enforce = True
            sources["sig_enforce"] = ("IMA arch policy under Secure Boot (CONFIG_IMA_ARCH_POLICY"
                                      " + CONFIG_MODULE_SIG: set_module_sig_enforced)")
        if enabled(config, "CONFIG_LOCK_DOWN_IN_EFI_SECURE_BOOT") and level == "none":
            level = "integrity"
            sources["lockdown"] = "CONFIG_LOCK_DOWN_IN_EFI_SECURE_BOOT under Secure Boot"
    if sig_enforce is not None:
        enforce = sig_enforce
        sources["sig_enforce"] = "--sig-enforce"
    if lockdown is not None:
        level = lockdown
        sources["lockdown"] = "--lockdown"
    return Enforcement(enforce, level, sb, sources)


def _certs_of(path: Path) -> list[x509.Certificate]:
    return load_certs([path])


def _mok_export() -> tuple[list[x509.Certificate], list[str]]:
    """The enrolled MOKs of this machine (``mokutil --export`` writes MOK-NNNN.der)."""
    with tempfile.TemporaryDirectory(prefix="kmend-mok-") as tmp:
        try:
            res = proc.run(["mokutil", "--export"], cwd=tmp, timeout=30, check=False)
        except KmendError:
            return [], []
        if res.returncode != 0:
            return [], []
        certs, names = [], []
        for der in sorted(Path(tmp).glob("MOK-*.der")):
            try:
                certs.append(x509_module().load_der_x509_certificate(der.read_bytes()))
                names.append(f"enrolled MOK {der.stem} (mokutil --export)")
            except ValueError:
                continue
        return certs, names


def trusted(cert_paths: Sequence[Path], *, target: KernelTarget | None = None,
            root: Path = Path("/")) -> Trust:
    """The given certificates; without any, DKMS's MOK certificate under *root* and, on
    the live system, the enrolled MOKs."""
    certs: list[x509.Certificate] = []
    names: list[str] = []
    if cert_paths:
        for path in cert_paths:
            found = _certs_of(path)
            certs += found
            names += [str(path)] * len(found)
        return Trust(tuple(certs), tuple(names))
    dkms = resolve_in_root(root, DKMS_CERT)
    later = [(dkms, f"DKMS key {dkms}")] if dkms is not None and dkms.is_file() else []
    if target is not None and is_live(target, root):
        more, more_names = _mok_export()
        certs += more
        names += more_names
    return Trust(tuple(certs), tuple(names), later=later)
