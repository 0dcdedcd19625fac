"""load_module() rules on hand-made modules and targets (no toolchain): each expected
message is the kernel's printk format from kernel/module/{main,version,signing}.c."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from kmend.kernel.symvers import SymversEntry
from kmend.kernel.target import KernelTarget
from kmend.ko.model import ExportedSymbol, ModuleFile, ModuleSignature
from kmend.loadcheck import check_module

MAGIC = "6.1.0-57-amd64 SMP preempt mod_unload modversions "
CONFIG = {"CONFIG_SMP": "y", "CONFIG_PREEMPT_BUILD": "y", "CONFIG_MODULE_UNLOAD": "y",
          "CONFIG_MODVERSIONS": "y", "CONFIG_MODULE_SIG": "y", "CONFIG_MODULE_FORCE_LOAD": "y"}


def target(**kw: object) -> KernelTarget:
    symvers = {
        "module_layout": SymversEntry(0x1111, "module_layout", "vmlinux"),
        "_printk": SymversEntry(0x2222, "_printk", "vmlinux"),
        "gpl_thing": SymversEntry(0x3333, "gpl_thing", "vmlinux", "EXPORT_SYMBOL_GPL"),
        "ns_thing": SymversEntry(0x4444, "ns_thing", "vmlinux", "EXPORT_SYMBOL_GPL", "SOME_NS"),
        "from_mod": SymversEntry(0x5555, "from_mod", "drivers/x/other-mod"),
    }
    base = KernelTarget(release="6.1.0-57-amd64", kdir=None, config=CONFIG, symvers=symvers,
                        vermagic=MAGIC, modversions=True, sig_enforce=False, version=(6, 1, 192),
                        package_id=" Debian 6.1.192-3", this_module_size=896,
                        module_owners=frozenset({"other_mod"}))
    return replace(base, **kw)  # type: ignore[arg-type]


def module(**kw: object) -> ModuleFile:
    base = ModuleFile(path=Path("m.ko"), name="m", vermagic=MAGIC, depends=(), license="GPL",
                      srcversion=None, intree=False,
                      versions={"module_layout": 0x1111, "_printk": 0x2222},
                      undefined=("_printk",), exports=(), signature=None, has_versions=True,
                      modinfo_name="m", this_module_size=896, this_module_count=1)
    return replace(base, **kw)  # type: ignore[arg-type]


def first(mod: ModuleFile, tgt: KernelTarget | None = None) -> str | None:
    v = check_module(mod, tgt or target())
    return v.first_error.message if v.first_error else None


def test_clean_module_loads_with_oe() -> None:
    v = check_module(module(), target())
    assert v.will_load and v.taints == "OE"


def test_missing_crc_debian_refuses_mainline_warns() -> None:
    mod = module(versions={"module_layout": 0x1111})
    assert first(mod) == "m: no symbol version for _printk"
    mainline = target(package_id="")
    v = check_module(mod, mainline)
    assert v.will_load and "m: no symbol version for _printk" in v.kernel_messages


def test_gpl_only_from_proprietary() -> None:
    mod = module(license="Proprietary", undefined=("gpl_thing",), versions={
        "module_layout": 0x1111, "gpl_thing": 0x3333})
    v = check_module(mod, target())
    assert v.first_error is not None and v.first_error.message == "m: Unknown symbol gpl_thing (err -2)"
    assert "P" in v.taints and "m: module license 'Proprietary' taints kernel." in v.kernel_messages
    assert "m: module license taints kernel." not in v.kernel_messages  # 6.1 prints it only for ndiswrapper & co
    six12 = target(version=(6, 12, 117))
    assert "m: module license taints kernel." in check_module(mod, six12).kernel_messages


def test_namespace_not_imported_and_allowed() -> None:
    mod = module(undefined=("ns_thing",), versions={"module_layout": 0x1111, "ns_thing": 0x4444})
    assert first(mod) == "m: module uses symbol (ns_thing) from namespace SOME_NS, but does not import it."
    assert first(replace(mod, import_ns=("SOME_NS",))) is None
    lax = target(config={**CONFIG, "CONFIG_MODULE_ALLOW_MISSING_NAMESPACE_IMPORTS": "y"})
    assert check_module(mod, lax).will_load


def test_symbol_from_a_module_needs_it_loaded() -> None:
    mod = module(undefined=("from_mod",), versions={"module_layout": 0x1111, "from_mod": 0x5555})
    v = check_module(mod, target())
    assert v.will_load and v.needs_loaded == ("other_mod",)


def test_duplicate_export_of_a_vmlinux_symbol() -> None:
    mod = module(exports=(ExportedSymbol("_printk", "EXPORT_SYMBOL", "", 0x2222),))
    assert first(mod) == "m: exports duplicate symbol _printk (owned by kernel)"


def test_exports_without_crcs_force_load() -> None:
    mod = module(exports=(ExportedSymbol("mine", "EXPORT_SYMBOL", "", None),))
    v = check_module(mod, target())
    assert v.will_load and "F" in v.taints
    assert "m: no versions for exported symbols: kernel tainted." in v.kernel_messages
    assert not check_module(mod, target(config={**CONFIG, "CONFIG_MODULE_FORCE_LOAD": ""})).will_load


def test_signature_enforced() -> None:
    assert first(module(), target(sig_enforce=True)) == "Loading of unsigned module is rejected"
    signed = module(signature=ModuleSignature("PKCS#7", 100, "someone", "AB", "sha256"))
    assert first(signed, target(sig_enforce=True)) == "Loading of module with unavailable key is rejected"
    own = replace(signed, intree=True)
    v = check_module(own, target(sig_enforce=True))
    assert v.will_load and v.taints == ""


def test_no_vermagic_is_a_forced_load() -> None:
    v = check_module(module(vermagic=None), target())
    assert v.will_load and "m: bad vermagic: kernel tainted." in v.kernel_messages


def test_livepatch_needs_livepatch_support() -> None:
    mod = module(modinfo={"livepatch": ("Y",)})
    assert first(mod) == ("m: module is marked as livepatch module, but livepatch support "
                          "is disabled")
    v = check_module(mod, target(config={**CONFIG, "CONFIG_LIVEPATCH": "y"}))
    assert v.will_load and "K" in v.taints


def test_this_module_size_only_on_new_kernels() -> None:
    small = module(this_module_size=512)
    assert first(small) is None  # 6.1 has no size check (module_layout guards it)
    assert first(small, target(version=(6, 12, 117))) == (
        "module m: .gnu.linkonce.this_module section size must match the kernel's built "
        "struct module size at run time")


def test_no_modversions_kernel_compares_full_vermagic() -> None:
    tgt = target(modversions=False, vermagic="6.1.0-57-amd64 SMP preempt mod_unload ",
                 config={k: v for k, v in CONFIG.items() if k != "CONFIG_MODVERSIONS"})
    mod = module(vermagic="6.1.0-99-amd64 SMP preempt mod_unload ", has_versions=False, versions={})
    assert first(mod, tgt) == ("m: version magic '6.1.0-99-amd64 SMP preempt mod_unload ' should "
                               "be '6.1.0-57-amd64 SMP preempt mod_unload '")
