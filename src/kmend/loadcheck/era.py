"""Kernel-era and distro differences in load_module(), decided from what the target says.

Each flag names where the difference was seen.  Verified against the load_module() code
of Debian's linux-source-6.1 (6.1.170) and linux-source-6.12 (6.12.117) and against the
kernels booted in tests/vm; boundaries between those two are marked (unverified).
"""

from __future__ import annotations

from dataclasses import dataclass

from kmend.kernel.target import KernelTarget

#: include/linux/license.h license_is_gpl_compatible()
GPL_COMPATIBLE = frozenset(
    {"GPL", "GPL v2", "GPL and additional rights", "Dual BSD/GPL", "Dual MIT/GPL", "Dual MPL/GPL"}
)


@dataclass(frozen=True)
class Era:
    #: elf_validity_cache_index_mod(): ".gnu.linkonce.this_module section size must match
    #: the kernel's built struct module size" — in 6.12's main.c, absent from 6.1's
    #: (Luis Chamberlain's 2023 ELF-validation rework; v6.5 boundary unverified).
    this_module_size_check: bool
    #: 6.12 validates .modinfo / this_module before looking for .symtab; 6.1 the reverse.
    this_module_before_symtab: bool
    #: module_augment_kernel_taints() (6.12) adds "%s: module license taints kernel."
    #: after the signature taint for every newly proprietary module; 6.1 prints it only
    #: for ndiswrapper/driverloader/lve (check_module_license_and_versions).
    license_taints_line: bool
    #: check_version() with no CRC entry for a symbol: Debian's patch "module: Disable
    #: matching missing version CRC" (Ben Hutchings, partly reverting cd3caefb4663) makes
    #: it "no symbol version for %s" + refusal (seen in both Debian sources); mainline
    #: warns once and loads.
    missing_crc_fatal: bool
    #: "Unknown symbol %s (err %d)" prints -ENOENT (-2) for a symbol that is not found in
    #: 6.x; ~v4.0 printed PTR_ERR(NULL) = 0 (boundary unverified, taken as v5.0).
    unknown_err_enoent: bool


def era_of(target: KernelTarget) -> Era:
    version = target.version
    modern = version is None or version >= (6, 5)
    unknown_symbol_new = version is None or version >= (5, 0)
    debian = target.distro in {"debian", "ubuntu"}
    old_mainline = version is not None and version < (4, 4)
    return Era(
        this_module_size_check=modern,
        this_module_before_symtab=modern,
        license_taints_line=version is None or version >= (6, 4),
        missing_crc_fatal=debian or old_mainline,
        unknown_err_enoent=unknown_symbol_new,
    )
