"""What kmend knows about one kernel module file (the ``ModuleFile`` contract type)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class ExportedSymbol:
    """One symbol the module exports (``EXPORT_SYMBOL*`` → ``__ksymtab*``)."""

    name: str
    export: str  # "EXPORT_SYMBOL" or "EXPORT_SYMBOL_GPL" (as Module.symvers writes it)
    namespace: str = ""
    crc: int | None = None

    @property
    def gpl_only(self) -> bool:
        return self.export.endswith("_GPL")


@dataclass(frozen=True)
class UndefinedSymbol:
    """One ``SHN_UNDEF`` symbol, in the order of ``.symtab`` (the kernel resolves in that order)."""

    name: str
    weak: bool = False


@dataclass(frozen=True)
class ModuleSignature:
    """The appended signature trailer (``~Module signature appended~``)."""

    id_type: str  # "PKCS#7", "X509", "PGP" or "unknown(N)"
    sig_len: int
    signer: str = ""
    key_id: str = ""  # colon-separated hex, as modinfo prints sig_key
    hash_algo: str = ""


@dataclass(frozen=True)
class ModuleFile:
    """A parsed .ko: modinfo, modversions, symbols, exports, signature.

    ``versions`` maps a symbol name to the CRC recorded in ``__versions`` (or the extended
    ``__version_ext_*`` tables); ``has_versions`` tells an empty table from an absent one
    (the kernel's ``info->index.vers``).  ``undefined`` lists the strong ``SHN_UNDEF``
    symbols in symbol-table order; weak ones are in ``weak_undefined``.
    """

    path: Path
    name: str
    vermagic: str | None
    depends: tuple[str, ...]
    license: str | None
    srcversion: str | None
    intree: bool
    versions: Mapping[str, int]
    undefined: tuple[str, ...]
    exports: tuple[ExportedSymbol, ...]
    signature: ModuleSignature | None
    has_versions: bool = False
    versions_source: str = ""  # "__versions", "__version_ext" or ""
    weak_undefined: tuple[str, ...] = ()
    import_ns: tuple[str, ...] = ()
    retpoline: bool = False
    modinfo: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    modinfo_name: str | None = None  # the .modinfo name= (None on old kbuild)
    this_module_size: int | None = None
    this_module_count: int = 0
    has_symtab: bool = True
    modinfo_count: int = 0
    machine: str = "EM_X86_64"
    compression: str = ""  # "", "xz", "zst" or "gz"
    size: int = 0  # bytes of the (decompressed) ELF, signature included
