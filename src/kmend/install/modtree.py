"""Questions about a kernel's module tree ``ROOT/lib/modules/R`` and about a .ko file.

Which in-tree file carries a module name, whether the name is built in, what depmod's
``modules.dep`` resolves it to, and the ``.modinfo`` of a candidate module (through the
real ``modinfo``).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from kmend import proc
from kmend.errors import EnvironmentMissing, InputError, UsageError
from kmend.install.fsops import SafeRoot

SUFFIXES: tuple[str, ...] = (".ko.xz", ".ko.zst", ".ko.gz", ".ko")

#: Files ``depmod`` (kmod 30..34) writes into lib/modules/R.  modules.order, modules.builtin
#: and modules.builtin.modinfo come from the kernel build and are only read.
DEPMOD_OUTPUTS: tuple[str, ...] = (
    "modules.dep", "modules.dep.bin", "modules.alias", "modules.alias.bin",
    "modules.softdep", "modules.weakdep", "modules.symbols", "modules.symbols.bin",
    "modules.builtin.bin", "modules.builtin.alias.bin", "modules.devname",
)


def check_release(release: str) -> str:
    if not release or "/" in release or release in (".", "..") or "\0" in release:
        raise UsageError(f"not a kernel release: {release!r}", "give it like 6.1.0-47-amd64")
    return release


def modules_dir(release: str) -> str:
    return f"lib/modules/{check_release(release)}"


def module_name(filename: str) -> str:
    """``xen-evtchn.ko.xz`` → ``xen_evtchn`` (the kernel treats - and _ alike)."""
    base = filename.rsplit("/", 1)[-1]
    for suffix in SUFFIXES:
        if base.endswith(suffix):
            base = base[: -len(suffix)]
            break
    return base.replace("-", "_")


def compression(filename: str) -> str | None:
    for kind in ("xz", "zst", "gz"):
        if filename.endswith(f".ko.{kind}"):
            return kind
    return None


def require_tree(root: SafeRoot, release: str) -> str:
    mdir = modules_dir(release)
    if not root.is_dir(mdir):
        have = [n for n in root.listdir("lib/modules") if root.is_dir(f"lib/modules/{n}")]
        raise EnvironmentMissing(
            f"no module tree for kernel {release} at {root.host_path(mdir)}",
            f"install that kernel's image package or pass --kernel (found: {', '.join(have)})"
            if have else "install that kernel's image package or pass the right --root",
        )
    return mdir


def dep_entries(root: SafeRoot, release: str) -> list[str]:
    """Module paths (relative to lib/modules/R) listed in modules.dep, in file order."""
    try:
        text = root.read_bytes(f"{modules_dir(release)}/modules.dep").decode("utf-8", "replace")
    except FileNotFoundError:
        return []
    return [line.split(":", 1)[0].strip() for line in text.splitlines() if ":" in line]


def resolves_to(root: SafeRoot, release: str, name: str) -> str | None:
    """The file depmod chose for *name* (relative to lib/modules/R), or None."""
    for path in dep_entries(root, release):
        if module_name(path) == name:
            return path
    return None


def _walk_kernel(root: SafeRoot, rel: str, out: list[str], depth: int = 0) -> None:
    if depth > 12:
        return
    for name in root.listdir(rel):
        sub = f"{rel}/{name}"
        st = root.lstat(sub)
        if st is None:
            continue
        if root.is_dir(sub) and not name.startswith("."):
            _walk_kernel(root, sub, out, depth + 1)
        elif any(name.endswith(s) for s in SUFFIXES):
            out.append(sub)


def find_intree(root: SafeRoot, release: str, name: str) -> list[str]:
    """In-tree files (under kernel/) whose module name is *name*, relative to the root."""
    mdir = modules_dir(release)
    found: list[str] = []
    _walk_kernel(root, f"{mdir}/kernel", found)
    return sorted(p for p in found if module_name(p) == name)


def is_builtin(root: SafeRoot, release: str, name: str) -> bool:
    try:
        text = root.read_bytes(f"{modules_dir(release)}/modules.builtin").decode("utf-8", "replace")
    except FileNotFoundError:
        return False
    return any(module_name(line.strip()) == name for line in text.splitlines() if line.strip())


@dataclass(frozen=True)
class ModInfo:
    path: Path
    name: str
    vermagic: str
    version: str
    srcversion: str

    @property
    def release(self) -> str:
        return self.vermagic.split(" ", 1)[0] if self.vermagic else ""


def module_bytes(path: Path) -> tuple[bytes, str]:
    """The ELF image of the module at *path*: a .ko as it is, a .ko.xz / .ko.zst / .ko.gz
    decompressed (by its magic bytes, with a size cap); anything else is refused."""
    from kmend.ko.compressed import decompress

    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}", "check the path") from exc
    data, kind = decompress(raw, str(path))
    if not data.startswith(b"\x7fELF"):
        raise InputError(f"{path} is not an ELF file", "give the .ko that the build produced "
                         "(.ko, .ko.xz, .ko.zst or .ko.gz)")
    return data, kind


def read_modinfo(path: Path) -> ModInfo:
    """Read a .ko's .modinfo through the real ``modinfo``; refuse what is not a module.
    A compressed module is decompressed first (kmod reads .ko.gz only when built with zlib,
    which Debian's is not), and ``modinfo`` reads the plain copy."""
    data, kind = module_bytes(path)
    if not kind:
        return _modinfo_of(path, path)
    with tempfile.TemporaryDirectory(prefix="kmend-modinfo-") as tmp:
        plain = Path(tmp) / "module.ko"
        plain.write_bytes(data)
        return _modinfo_of(plain, path)


def _modinfo_of(plain: Path, path: Path) -> ModInfo:
    res = proc.run(["modinfo", str(plain)], timeout=60, check=False)
    if res.returncode != 0:
        raise InputError(f"{path} is not a kernel module: {res.stderr.strip()}",
                         "give the .ko that the build produced")
    fields: dict[str, str] = {}
    for line in res.stdout.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() not in fields:
            fields[key.strip()] = value.strip()
    name = fields.get("name") or module_name(path.name)
    return ModInfo(path=path, name=name.replace("-", "_"), vermagic=fields.get("vermagic", ""),
                   version=fields.get("version", ""), srcversion=fields.get("srcversion", ""))
