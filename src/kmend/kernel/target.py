"""``KernelTarget``: what a kernel will accept, read from a headers tree, an installed
release, or a bare Module.symvers.

Sources, by constructor:

- :meth:`KernelTarget.from_kdir` — a build/headers tree: ``include/config/kernel.release``
  (or ``include/generated/utsrelease.h``), ``include/config/auto.conf`` (or ``.config``),
  ``Module.symvers``, ``include/generated/uapi/linux/version.h``,
  ``include/generated/package.h`` (the distro's package id).
- :meth:`KernelTarget.from_release` — ``ROOT/lib/modules/R/build`` plus ``ROOT/boot/config-R``
  and ``ROOT/boot/symvers-R.gz`` (RHEL/SUSE) when the tree lacks them.
- :meth:`KernelTarget.from_symvers` — CRCs only: vermagic cannot be checked.

The kernel's ``sizeof(struct module)`` is not in any header; it is read from the
``.gnu.linkonce.this_module`` section of one of the kernel's own modules
(``/lib/modules/R/kernel``) when those are installed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from kmend.errors import EnvironmentMissing, InputError, KmendError
from kmend.kernel.kconfig import compose_vermagic, enabled, parse_config
from kmend.kernel.paths import resolve_in_root
from kmend.kernel.symvers import SymversEntry, load_symvers, module_owners, modversions_in

_DEFINE = re.compile(r'^#define\s+(\w+)\s+(.*)$', re.M)


@dataclass(frozen=True)
class KernelTarget:
    """The kernel a module is checked against: what the load check compares a module with."""

    release: str
    kdir: Path | None
    config: Mapping[str, str]
    symvers: Mapping[str, SymversEntry]
    vermagic: str | None
    modversions: bool
    sig_enforce: bool
    #: LINUX_VERSION_CODE as (major, minor, sublevel) when the tree says; None otherwise.
    version: tuple[int, int, int] | None = None
    #: e.g. " Debian 6.1.192-3" from include/generated/package.h
    package_id: str = ""
    modules_dir: Path | None = None
    this_module_size: int | None = None
    symvers_path: Path | None = None
    #: where each fact came from, for the report ("vermagic": "composed from auto.conf")
    sources: Mapping[str, str] = field(default_factory=dict)
    #: names of the modules (not vmlinux) that export something in Module.symvers
    module_owners: Collection[str] = frozenset()

    # --- facts derived from the config ------------------------------------------------
    @property
    def module_sig(self) -> bool:
        return enabled(self.config, "CONFIG_MODULE_SIG")

    @property
    def force_load(self) -> bool:
        return enabled(self.config, "CONFIG_MODULE_FORCE_LOAD")

    @property
    def distro(self) -> str:
        pid = self.package_id.lower()
        for name in ("debian", "ubuntu", "red hat", "suse"):
            if name in pid:
                return name
        return ""

    # --- constructors ---------------------------------------------------------------
    @classmethod
    def from_kdir(
        cls, path: str | os.PathLike[str], *, modules_dir: Path | None = None
    ) -> KernelTarget:
        kdir = Path(path)
        if not kdir.is_dir():
            raise EnvironmentMissing(
                f"{kdir}: no such kernel headers directory",
                "install the headers (apt-get install linux-headers-RELEASE) or fix --kdir",
            )
        release = _release_of(kdir)
        if release is None:
            raise InputError(
                f"{kdir}: not a kernel build tree (no include/config/kernel.release "
                "or include/generated/utsrelease.h)",
                "give the headers directory, e.g. /lib/modules/RELEASE/build",
            )
        symvers_path = kdir / "Module.symvers"
        if not symvers_path.is_file():
            raise InputError(
                f"{kdir}: headers tree without Module.symvers: symbol CRCs cannot be checked",
                f"install the full headers (apt-get install linux-headers-{release}) "
                "or pass --symvers FILE",
            )
        config, config_src = _config_of(kdir, None)
        if modules_dir is None:
            guess = Path("/lib/modules") / release
            modules_dir = guess if (guess / "kernel").is_dir() else None
        return _assemble(release, kdir, config, config_src, symvers_path, modules_dir)

    @classmethod
    def from_release(cls, release: str, root: str | os.PathLike[str] = "/") -> KernelTarget:
        if not release or "/" in release or release in {".", ".."}:
            raise InputError(f"{release!r} is not a kernel release", "give e.g. 6.1.0-57-amd64")
        rootp = Path(root)
        moddir = resolve_in_root(rootp, f"/lib/modules/{release}")
        build = resolve_in_root(rootp, f"/lib/modules/{release}/build")
        boot_config = resolve_in_root(rootp, f"/boot/config-{release}")
        boot_symvers = resolve_in_root(rootp, f"/boot/symvers-{release}.gz")
        have_build = build is not None and build.is_dir()
        symvers_path: Path | None = None
        if have_build and build is not None and (build / "Module.symvers").is_file():
            symvers_path = build / "Module.symvers"
        elif boot_symvers is not None and boot_symvers.is_file():
            symvers_path = boot_symvers
        if symvers_path is None:
            raise EnvironmentMissing(
                f"no Module.symvers for kernel {release} under {rootp}",
                f"install its headers (apt-get install linux-headers-{release})",
            )
        config, config_src = _config_of(build if have_build else None, boot_config)
        modules = moddir if moddir is not None and (moddir / "kernel").is_dir() else None
        target = _assemble(release, build if have_build else None, config, config_src,
                           symvers_path, modules)
        if str(rootp) == "/" and os.uname().release == release:
            live = Path("/sys/module/module/parameters/sig_enforce")
            try:
                if live.read_text().strip() == "Y":
                    target = replace(target, sig_enforce=True)
            except OSError:
                pass
        return target

    @classmethod
    def from_symvers(cls, path: str | os.PathLike[str], release: str = "") -> KernelTarget:
        p = Path(path)
        symvers = load_symvers(p)
        return cls(
            release=release,
            kdir=None,
            config={},
            symvers=symvers,
            vermagic=None,
            modversions=modversions_in(symvers),
            sig_enforce=False,
            symvers_path=p,
            module_owners=module_owners(symvers),
            sources={"symvers": str(p), "vermagic": "unknown (no kernel config given)"},
        )


def target_in_root(release: str, root: str | os.PathLike[str] = "/") -> tuple[KernelTarget, str]:
    """The target *release* as *root* describes it, and a note ("" or where it came from).

    An image root often carries no headers (no Module.symvers); then this machine's
    headers of the *same release* describe it, and the note says so.  ``check`` and
    ``install`` both use this one rule."""
    try:
        return KernelTarget.from_release(release, root=root), ""
    except EnvironmentMissing:
        if Path(root) == Path("/"):
            raise
    target = KernelTarget.from_release(release, root="/")
    return target, f"checked against this machine's headers for {release} (none under {root})"


# --- helpers --------------------------------------------------------------------------


def _read(path: Path) -> str | None:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return None


def _defines(text: str | None) -> dict[str, str]:
    return {} if text is None else {m[1]: m[2].strip() for m in _DEFINE.finditer(text)}


def _release_of(kdir: Path) -> str | None:
    """UTS_RELEASE first: it is what the kernel compares.  Debian's 6.1 headers ship an
    include/config/kernel.release of "6.1.170" while UTS_RELEASE is "6.1.0-47-amd64"."""
    uts = _defines(_read(kdir / "include/generated/utsrelease.h")).get("UTS_RELEASE")
    if uts:
        return uts.strip('"')
    text = _read(kdir / "include/config/kernel.release")
    return text.strip() if text and text.strip() else None


def _config_of(kdir: Path | None, boot_config: Path | None) -> tuple[dict[str, str], str]:
    candidates = []
    if kdir is not None:
        candidates += [kdir / "include/config/auto.conf", kdir / ".config"]
    if boot_config is not None:
        candidates.append(boot_config)
    for cand in candidates:
        text = _read(cand)
        if text:
            return parse_config(text.splitlines()), str(cand)
    return {}, ""


def _version_of(kdir: Path | None) -> tuple[int, int, int] | None:
    if kdir is None:
        return None
    for rel in ("include/generated/uapi/linux/version.h", "include/linux/version.h"):
        defs = _defines(_read(kdir / rel))
        if {"LINUX_VERSION_MAJOR", "LINUX_VERSION_PATCHLEVEL",
                "LINUX_VERSION_SUBLEVEL"} <= defs.keys():
            return (int(defs["LINUX_VERSION_MAJOR"]), int(defs["LINUX_VERSION_PATCHLEVEL"]),
                    int(defs["LINUX_VERSION_SUBLEVEL"]))
        code = defs.get("LINUX_VERSION_CODE")
        if code and code.isdigit():
            value = int(code)
            return (value >> 16, (value >> 8) & 0xFF, value & 0xFF)
    return None


def _randstruct_seed(kdir: Path | None, config: Mapping[str, str]) -> str:
    if kdir is None or not (enabled(config, "CONFIG_RANDSTRUCT")
                            or enabled(config, "CONFIG_GCC_PLUGIN_RANDSTRUCT")):
        return ""
    seed = _defines(_read(kdir / "include/generated/randstruct_hash.h")).get(
        "RANDSTRUCT_HASHED_SEED", "")
    return seed.strip('"')


def _first_module(modules_dir: Path) -> Path | None:
    for dirpath, dirnames, filenames in os.walk(modules_dir / "kernel"):
        dirnames.sort()
        for name in sorted(filenames):
            if ".ko" in name:
                return Path(dirpath) / name
    return None


def _probe_modules(modules_dir: Path | None) -> tuple[int | None, str | None, str]:
    """(sizeof(struct module), vermagic, source) from one of the kernel's own modules."""
    if modules_dir is None:
        return None, None, ""
    found = _first_module(modules_dir)
    if found is None:
        return None, None, ""
    from kmend.ko.reader import read_module  # here: kmend.ko must not be needed otherwise

    try:
        mod = read_module(found)
    except KmendError:
        return None, None, ""
    return mod.this_module_size, mod.vermagic, str(found)


def _assemble(  # noqa: PLR0917
    release: str,
    kdir: Path | None,
    config: dict[str, str],
    config_src: str,
    symvers_path: Path,
    modules_dir: Path | None,
) -> KernelTarget:
    symvers = load_symvers(symvers_path)
    sources = {"release": str(kdir) if kdir else release, "symvers": str(symvers_path)}
    vermagic: str | None = None
    if config:
        vermagic = compose_vermagic(release, config, _randstruct_seed(kdir, config))
        sources["vermagic"] = f"composed from {config_src}"
    else:
        sources["vermagic"] = "unknown (no kernel config found)"
    size, probe_magic, probe_src = _probe_modules(modules_dir)
    if probe_src:
        sources["this_module_size"] = probe_src
        if vermagic is None and probe_magic:
            vermagic = probe_magic
            sources["vermagic"] = f"from {probe_src}"
        elif probe_magic and vermagic != probe_magic:
            sources["vermagic_mismatch"] = f"{probe_src} says {probe_magic!r}"
    modversions = (enabled(config, "CONFIG_MODVERSIONS") if config
                   else modversions_in(symvers))
    package = _defines(_read(kdir / "include/generated/package.h")) if kdir else {}
    return KernelTarget(
        release=release,
        kdir=kdir,
        config=config,
        symvers=symvers,
        vermagic=vermagic,
        modversions=modversions,
        sig_enforce=enabled(config, "CONFIG_MODULE_SIG_FORCE"),
        version=_version_of(kdir),
        package_id=package.get("LINUX_PACKAGE_ID", "").strip('"'),
        modules_dir=modules_dir,
        this_module_size=size,
        symvers_path=symvers_path,
        sources=sources,
        module_owners=module_owners(symvers),
    )
