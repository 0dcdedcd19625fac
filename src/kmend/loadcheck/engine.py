"""Replay load_module()'s checks statically, in the kernel's order.

Order (kernel/module/main.c, 6.1 and 6.12): module_sig_check (signing.c: verify the
appended PKCS#7 against the trusted keys; refuse when enforced or locked down) → ELF
validity (.modinfo, .gnu.linkonce.this_module, .symtab) → check_modstruct_version
(module_layout CRC) → check_modinfo (vermagic) → taints (out-of-tree, retpoline, staging, livepatch,
license, test, unsigned) → exports without CRCs → simplify_symbols (every SHN_UNDEF
symbol in .symtab order: find_symbol, check_version, namespace) → duplicate exports.
Messages are the kernel's printk formats, word for word.  The kernel is assumed freshly
booted: "once" messages are printed, no taint set yet.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kmend.kernel.kconfig import enabled
from kmend.kernel.target import KernelTarget
from kmend.ko.model import ModuleFile
from kmend.ko.reader import open_image
from kmend.ko.signature import (
    BADMSG,
    NODATA,
    NOKEY,
    NOPKG,
    OK,
    REJECTED,
    Verification,
    verify,
)
from kmend.loadcheck.advice import advice
from kmend.loadcheck.enforcement import Enforcement, Trust
from kmend.loadcheck.era import GPL_COMPATIBLE, Era, era_of
from kmend.loadcheck.model import ERROR, TAINT, WARNING, Finding, LoadVerdict
from kmend.loadcheck.providers import ProviderIndex, normalize

if TYPE_CHECKING:
    from cryptography import x509

NO_NAME = "(missing .modinfo section or name field)"
#: kernel/panic.c taint_flags order, for printing the letters
TAINT_ORDER = "PFSRMBUDAWCIOELKXTN"
_LOCKDEP_LINE = "Disabling lock debugging due to kernel taint"


class Refused(Exception):
    """Internal: the kernel stops here."""


@dataclass
class _State:
    module: ModuleFile
    target: KernelTarget
    era: Era
    findings: list[Finding] = field(default_factory=list)
    taints: set[str] = field(default_factory=set)
    lockdep_off: bool = False
    warned_once: set[str] = field(default_factory=set)
    needs: list[str] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)
    enforcement: Enforcement = field(default_factory=lambda: Enforcement(False))
    trust: Trust | None = None
    verification: Verification | None = None
    unexplained: list[str] = field(default_factory=list)  # unknown symbols without a hint

    @property
    def info_name(self) -> str:
        return self.module.modinfo_name or self.module.name

    @property
    def mod_name(self) -> str:
        return self.module.name

    def add(self, check: str, severity: str, message: str, kernel: bool = True) -> None:
        self.findings.append(Finding(check, severity, message, kernel))

    def refuse(self, check: str, message: str, kernel: bool = True) -> None:
        self.add(check, ERROR, message, kernel)
        raise Refused

    def taint(self, letter: str, check: str, message: str | None, unreliable: bool) -> None:
        if message is not None:
            self.add(check, TAINT, message)
        self.taints.add(letter)
        if unreliable and not self.lockdep_off:
            self.lockdep_off = True
            self.add(check, TAINT, _LOCKDEP_LINE)

    def force_load(self, reason: str) -> None:
        """try_to_force_load(): F taint with CONFIG_MODULE_FORCE_LOAD, else -ENOEXEC."""
        if not self.target.force_load and self.target.config:
            self.refuse(reason, f"{self.mod_name}: refused without a message ({reason} needs "
                        "a forced load, and the kernel lacks CONFIG_MODULE_FORCE_LOAD)",
                        kernel=False)
        msg = None if "F" in self.taints else f"{self.mod_name}: {reason}: kernel tainted."
        self.taint("F", "force", msg, unreliable=True)


#: kmod's insmod/modprobe report the errno of a refused load as strerror
_INSMOD = "insmod: ERROR: could not insert module {name}: {error}"
_EKEYREJECTED = "Key was rejected by service"
_EPERM = "Operation not permitted"
_EBADMSG = "Bad message"


def _errno_note(st: _State, error: str) -> None:
    st.add("signature", ERROR, _INSMOD.format(name=st.module.path.name, error=error),
           kernel=False)


def _signature_state(st: _State) -> tuple[str, str]:
    """(verdict, detail) of the appended signature; see kmend.ko.signature.verify."""
    sig = st.module.signature
    if sig is None:
        return NODATA, "no signature"
    ver = st.verification
    if ver is not None and ver.result != NOKEY:
        return ver.result, ver.detail
    built_for = (st.module.vermagic or "").split(" ")[0]
    if st.module.intree and built_for == st.target.release:
        st.add("signature", WARNING, f"{st.mod_name}: signed by '{sig.signer}' (key "
               f"{sig.key_id}); assumed to be the kernel's own key (not verifiable offline)",
               kernel=False)
        return OK, "the kernel's own build"
    if ver is not None:
        return ver.result, ver.detail
    return NOKEY, "signer not among the certificates kmend knows (give --cert)"


def _check_signature(st: _State) -> bool:
    """module_sig_check(); returns sig_ok.

    -ENODATA (unsigned), -ENOKEY (no trusted key) and -ENOPKG (unsupported crypto) are
    refused only when enforced (sig_enforce) or, failing that, under lockdown; every other
    error (a signature that does not verify, unparseable PKCS#7) is always fatal.
    """
    if not st.target.module_sig:
        return True
    result, detail = _signature_state(st)
    said = st.verification.kernel_message if st.verification is not None else ""
    if said and result != OK:
        st.add("signature", ERROR if result in {BADMSG, REJECTED} else WARNING, said)
    if result == OK:
        if st.verification is not None and st.verification.result == OK:
            st.add("signature", WARNING, f"{st.mod_name}: {detail}", kernel=False)
        return True
    reasons = {NODATA: "unsigned module", NOKEY: "module with unavailable key",
               NOPKG: "module with unsupported crypto"}
    reason = reasons.get(result)
    if reason is None:
        if not said:
            st.add("signature", ERROR, f"{st.mod_name}: the signature is refused "
                   f"({detail}); the kernel prints nothing", kernel=False)
        _errno_note(st, _EBADMSG if result == BADMSG else _EKEYREJECTED)
        raise Refused
    if result == NOKEY and st.trust is not None:
        st.add("signature", WARNING, f"{st.mod_name}: {detail}; trusted: "
               f"{st.trust.describe()}", kernel=False)
    if st.enforcement.sig_enforce:
        st.add("signature", ERROR, f"Loading of {reason} is rejected")
        _errno_note(st, _EKEYREJECTED)
        raise Refused
    if st.enforcement.locked_down:
        st.add("signature", ERROR, "Lockdown: insmod: unsigned module loading is restricted; "
               "see man kernel_lockdown.7")
        _errno_note(st, _EPERM)
        raise Refused
    return False


def _check_elf(st: _State) -> None:
    mod, name = st.module, st.module.modinfo_name or NO_NAME

    def symtab() -> None:
        if not mod.has_symtab:
            st.refuse("elf", f"{name}: module has no symbols (stripped?)")

    def this_module() -> None:
        if st.era.this_module_size_check:
            if mod.this_module_count != 1:
                st.refuse("elf", f"module {name}: Exactly one .gnu.linkonce.this_module "
                          "section must exist.")
            size = st.target.this_module_size
            if size is not None and mod.this_module_size != size:
                st.refuse("this_module", f"module {name}: .gnu.linkonce.this_module section "
                          "size must match the kernel's built struct module size at run time")
        elif mod.this_module_count == 0:
            st.refuse("elf", f"{name}: No module found in object")

    if st.era.this_module_before_symtab:
        this_module()
        symtab()
    else:
        symtab()
        this_module()
    if st.target.this_module_size is None and st.era.this_module_size_check:
        st.add("this_module", WARNING, "struct module size of the target unknown (its modules "
               "are not installed here): size check skipped", kernel=False)


def _check_version(st: _State, symbol: str, crc: int | None) -> bool:
    """check_version() in kernel/module/version.c."""
    if crc is None:
        return True
    if not st.module.has_versions:
        st.force_load(symbol)
        return True
    have = st.module.versions.get(symbol)
    if have is None:
        if st.era.missing_crc_fatal:
            st.add("modversions", ERROR, f"{st.info_name}: no symbol version for {symbol}")
            return False
        if "no_version" not in st.warned_once:
            st.warned_once.add("no_version")
            st.add("modversions", WARNING, f"{st.info_name}: no symbol version for {symbol}")
            if not st.target.distro:
                st.add("modversions", WARNING, "mainline kernels only warn about a missing "
                       "CRC; Debian and Ubuntu kernels refuse the module here", kernel=False)
        return True
    if have == crc & 0xFFFFFFFF:
        return True
    st.add("modversions", ERROR, f"{st.info_name}: disagrees about version of symbol {symbol}")
    return False


def _check_modstruct(st: _State, index: ProviderIndex) -> None:
    if not st.target.modversions:
        return
    prov = index.lookup("module_layout")
    if prov is None:
        st.add("module_layout", WARNING, "module_layout is not in the target's Module.symvers: "
               "check skipped", kernel=False)
        return
    if not _check_version(st, "module_layout", prov.crc):
        raise Refused


def same_magic(a: str, b: str, has_crcs: bool) -> bool:
    """kernel/module/version.c same_magic(): skip the release word when CRCs exist."""
    if has_crcs:
        a = a[len(a.split(" ", 1)[0]):]
        b = b[len(b.split(" ", 1)[0]):]
    return a == b


def _check_livepatch(st: _State) -> None:
    if not st.module.modinfo.get("livepatch"):
        return
    if not enabled(st.target.config, "CONFIG_LIVEPATCH"):
        st.refuse("livepatch", f"{st.mod_name}: module is marked as livepatch module, "
                  "but livepatch support is disabled")
    st.taint("K", "livepatch", f"{st.mod_name}: tainting kernel with TAINT_LIVEPATCH", False)


def _check_modinfo(st: _State) -> None:
    magic = st.module.vermagic
    if magic is None:
        st.force_load("bad vermagic")
    elif st.target.vermagic is None:
        st.add("vermagic", WARNING, "vermagic not checked: the target's kernel config is "
               "unknown (give --kdir or --kernel)", kernel=False)
    elif not same_magic(magic, st.target.vermagic, st.module.has_versions):
        st.refuse("vermagic", f"{st.info_name}: version magic '{magic}' should be "
                  f"'{st.target.vermagic}'")
    if st.era.license_taints_line:
        _check_livepatch(st)


def _taints(st: _State, sig_ok: bool) -> None:
    mod, name = st.module, st.mod_name
    had_p = "P" in st.taints
    if not mod.intree:
        st.taint("O", "out-of-tree", f"{name}: loading out-of-tree module taints kernel.", False)
    retpoline_kernel = enabled(st.target.config, "CONFIG_RETPOLINE") or enabled(
        st.target.config, "CONFIG_MITIGATION_RETPOLINE")
    if retpoline_kernel and not mod.retpoline:
        st.add("retpoline", WARNING, f"{name}: loading module not compiled with retpoline "
               "compiler.")
    if mod.modinfo.get("staging"):
        st.taint("C", "staging", f"{name}: module is from the staging directory, the quality "
                 "is unknown, you have been warned.", False)
    if not st.era.license_taints_line:
        _check_livepatch(st)
    license = mod.license or "unspecified"
    if license not in GPL_COMPATIBLE:
        st.taint("P", "license", f"{name}: module license '{license}' taints kernel.", True)
    if mod.modinfo.get("test"):
        st.taint("N", "test", f"{name}: loading test module taints kernel.", False)
    if st.target.module_sig and not sig_ok:
        st.taint("E", "signature", f"{name}: module verification failed: signature and/or "
                 "required key missing - tainting kernel", False)
    if st.era.license_taints_line and not had_p and "P" in st.taints:
        st.add("license", TAINT, f"{name}: module license taints kernel.")


def _check_exports_crcs(st: _State) -> None:
    if st.target.modversions and any(e.crc is None for e in st.module.exports):
        st.force_load("no versions for exported symbols")


def _resolve_symbols(st: _State, index: ProviderIndex) -> None:
    gplok = "P" not in st.taints
    err_notfound = -2 if st.era.unknown_err_enoent else 0
    refused = False
    missing_ns = enabled(st.target.config, "CONFIG_MODULE_ALLOW_MISSING_NAMESPACE_IMPORTS")
    # (hoisted: this loop runs for every undefined symbol of every module of a tree)
    lookup, mod_name, needs = index.lookup, st.mod_name, st.needs
    versions = st.module.versions if st.module.has_versions else None
    for symbol in st.module.undefined:
        prov = lookup(symbol)
        if prov is not None and prov.gpl_only and not gplok:
            st.hints.append(f"{symbol} is exported GPL-only and the module's license "
                            f"'{st.module.license}' is not GPL-compatible: declare a "
                            "GPL-compatible MODULE_LICENSE or stop using it")
            prov = None
        elif prov is None and symbol != "_GLOBAL_OFFSET_TABLE_":
            st.unexplained.append(symbol)
        if prov is None:
            if symbol == "_GLOBAL_OFFSET_TABLE_":
                continue
            st.add("symbol", ERROR, f"{st.mod_name}: Unknown symbol {symbol} (err {err_notfound})")
            refused = True
            continue
        crc = prov.crc
        # the common case inline (the CRCs agree), every other one as check_version() says
        if not (crc is None or (versions is not None
                                and versions.get(symbol) == crc & 0xFFFFFFFF)) \
                and not _check_version(st, symbol, crc):
            st.add("symbol", ERROR, f"{st.mod_name}: Unknown symbol {symbol} (err -22)")
            refused = True
            continue
        if prov.namespace and prov.namespace not in st.module.import_ns:
            msg = (f"{st.mod_name}: module uses symbol ({symbol}) from namespace "
                   f"{prov.namespace}, but does not import it.")
            if missing_ns:
                st.add("namespace", WARNING, msg)
            else:
                st.add("namespace", ERROR, msg)
                st.hints.append(f"add MODULE_IMPORT_NS({prov.namespace}) to the module source "
                                "and rebuild")
                st.add("symbol", ERROR, f"{st.mod_name}: Unknown symbol {symbol} (err -22)")
                refused = True
                continue
        owner = prov.owner
        if owner not in ("vmlinux", mod_name) and owner not in needs:
            needs.append(owner)
    if refused:
        raise Refused


def _check_duplicates(st: _State, index: ProviderIndex) -> None:
    for exp in st.module.exports:
        prov = index.lookup(exp.name)
        if prov is None or prov.owner == st.mod_name:
            continue
        if prov.owner == "vmlinux":
            st.refuse("exports", f"{st.mod_name}: exports duplicate symbol {exp.name} "
                      "(owned by kernel)")
        st.add("exports", WARNING, f"{st.mod_name}: exports {exp.name}, which {prov.owner} "
               f"also exports: loading fails while {prov.owner} is loaded", kernel=False)


def verify_file(module: ModuleFile, trust: Trust) -> Verification:
    """Verify *module*'s signature (re-reading its file) against *trust*'s certificates."""
    def certs() -> Iterator[x509.Certificate]:  # loaded only when one may be the signer
        yield from trust.certs

    with open_image(module.path) as image:  # (only its end is read unless a key matches)
        return verify(image, certs(), may_match=trust.may_match)


def check_module(
    module: ModuleFile, target: KernelTarget, *, modules_tree: Path | None = None,
    enforcement: Enforcement | None = None, trust: Trust | None = None,
) -> LoadVerdict:
    """Predict the target kernel's verdict on *module* (see the module docstring).

    ``depends=`` modules and other providers are looked up in the target's Module.symvers
    and, for modules that are not part of the kernel build (e.g. other out-of-tree
    modules), in *modules_tree*.  Providers that are modules must be loaded first; they
    are listed in ``needs_loaded`` (modprobe does that, insmod does not).

    *enforcement* says whether an unverifiable signature is refused (default: the
    target's ``sig_enforce``, no lockdown); with *trust* the signature is verified
    cryptographically against those certificates (without it, only the kernel's own
    in-tree build counts as trusted).
    """
    enf = enforcement if enforcement is not None else Enforcement(target.sig_enforce)
    st = _State(module, target, era_of(target), enforcement=enf, trust=trust)
    if trust is not None and module.signature is not None and target.module_sig:
        st.verification = verify_file(module, trust)
    index = ProviderIndex(target)
    # Modules of the kernel build export through its Module.symvers, which lookups read
    # first: only the others (out-of-tree providers) are read from the tree.
    outside = [d for d in module.depends if normalize(d) not in target.module_owners]
    if modules_tree is not None and outside:
        for name in index.add_tree(modules_tree, outside):
            st.hints.append(f"depends on {name}, which is not in {modules_tree}")
    will_load = True
    try:
        sig_ok = _check_signature(st)
        _check_elf(st)
        _check_modstruct(st, index)
        _check_modinfo(st)
        _taints(st, sig_ok)
        _check_exports_crcs(st)
        _resolve_symbols(st, index)
        _check_duplicates(st, index)
    except Refused:
        will_load = False
    for need in st.needs:
        st.add("depends", WARNING, f"{module.name}: needs {need} loaded first "
               "(modprobe does this; insmod does not)", kernel=False)
    letters = "".join(c for c in TAINT_ORDER if c in st.taints)
    return LoadVerdict(
        will_load=will_load,
        findings=tuple(st.findings),
        taints=letters,
        module=module.name,
        release=target.release,
        needs_loaded=tuple(st.needs),
        hints=tuple(st.hints) + tuple(advice(module, target, st.findings, will_load,
                                             st.unexplained)),
        enforcement=enf,
        signature_check=st.verification,
    )
