"""Kernel images and module trees on the host: find them, resolve dependencies, decompress.

``modules.dep`` lines look like ``kernel/drivers/xen/xen-evtchn.ko: dep1.ko dep2.ko``
(paths relative to ``/lib/modules/<release>``).  Module names compare with ``-`` and ``_``
as equals, as the kernel and kmod do.
"""

from __future__ import annotations

import gzip
import lzma
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import zstandard

from kmend import proc
from kmend.errors import EnvironmentMissing, InputError

MODULES_ROOT = Path("/lib/modules")
BOOT = Path("/boot")
_KO = re.compile(r"\.ko(\.(xz|zst|gz))?\Z")

#: The module tree index files copied with a subset of modules (kmod reads the .bin ones).
INDEX_FILES = (
    "modules.dep",
    "modules.dep.bin",
    "modules.alias",
    "modules.alias.bin",
    "modules.symbols",
    "modules.symbols.bin",
    "modules.builtin",
    "modules.builtin.bin",
    "modules.builtin.alias.bin",
    "modules.builtin.modinfo",
    "modules.order",
    "modules.softdep",
    "modules.devname",
)


def normalize(name: str) -> str:
    return name.replace("-", "_")


def module_name(path: str | Path) -> str:
    """``kernel/drivers/xen/xen-evtchn.ko.xz`` -> ``xen_evtchn``."""
    return normalize(_KO.sub("", Path(path).name))


def kernel_image(release_or_path: str | Path) -> Path:
    """A vmlinuz path, or /boot/vmlinuz-<release>; InputError when it does not exist."""
    text = str(release_or_path)
    path = Path(text) if "/" in text else BOOT / f"vmlinuz-{text}"
    if not path.is_file():
        raise InputError(
            f"kernel image {path} not found",
            "install the kernel image package (apt-get install linux-image-<release>) "
            "or give the path of a vmlinuz",
        )
    return path


def modules_dir(release: str) -> Path:
    path = MODULES_ROOT / release
    if not (path / "modules.dep").is_file():
        raise EnvironmentMissing(
            f"module tree {path} (with modules.dep) not found",
            f"install linux-image-{release}",
        )
    return path


def reduced_tree(release: str, root: Path,
                 subdirs: tuple[str, ...] = ("kernel/drivers/xen",)) -> Path:
    """A small copy of the host's module tree of *release* under *root*: *subdirs*, the
    build's metadata (modules.order, modules.builtin*) and depmod's indexes regenerated for
    exactly that copy by the real depmod.  Returns ``root/lib/modules/<release>``."""
    src = modules_dir(release)
    tree = root / "lib/modules" / release
    tree.mkdir(parents=True)
    for sub in subdirs:
        shutil.copytree(src / sub, tree / sub, symlinks=True)
    for name in ("modules.order", "modules.builtin", "modules.builtin.modinfo"):
        shutil.copy2(src / name, tree / name)
    proc.run(["depmod", "-b", str(root), release], timeout=120)
    return tree


def read_modules_dep(tree: Path) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Map module name -> (relative path, relative paths of its dependencies)."""
    dep_file = tree / "modules.dep"
    try:
        text = dep_file.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InputError(f"cannot read {dep_file}: {exc}") from exc
    result: dict[str, tuple[str, tuple[str, ...]]] = {}
    for line in text.splitlines():
        if ":" not in line:
            continue
        path, _, deps = line.partition(":")
        path = path.strip()
        result[module_name(path)] = (path, tuple(deps.split()))
    return result


def resolve_modules(tree: Path, names: tuple[str, ...]) -> tuple[str, ...]:
    """Relative paths of *names* and all their dependencies (modules.dep order kept)."""
    deps = read_modules_dep(tree)
    by_path = {path: name for name, (path, _) in deps.items()}
    wanted: list[str] = []
    for name in names:
        entry = deps.get(normalize(name))
        if entry is None:
            raise InputError(
                f"module {name} is not in {tree}/modules.dep",
                "check the module name (modinfo -k RELEASE NAME)",
            )
        for path in (entry[0], *entry[1]):
            if path not in wanted:
                wanted.append(path)
            # modules.dep already lists the full transitive closure; follow it anyway
            sub = deps.get(by_path.get(path, ""))
            if sub:
                wanted.extend(p for p in sub[1] if p not in wanted)
    return tuple(wanted)


def find_module(tree: Path, name: str) -> Path:
    """Host path of module *name* in *tree*."""
    entry = read_modules_dep(tree).get(normalize(name))
    if entry is None:
        raise InputError(f"module {name} is not in {tree}/modules.dep")
    return tree / entry[0]


def read_module_bytes(path: Path) -> bytes:
    """The uncompressed bytes of a .ko / .ko.xz / .ko.zst / .ko.gz."""
    try:
        data = path.read_bytes()
        if path.name.endswith(".xz"):
            return lzma.decompress(data)
        if path.name.endswith(".zst"):
            return zstandard.ZstdDecompressor().decompressobj().decompress(data)
        if path.name.endswith(".gz"):
            return gzip.decompress(data)
    except OSError as exc:
        raise InputError(f"cannot read module {path}: {exc}") from exc
    except (lzma.LZMAError, zstandard.ZstdError, gzip.BadGzipFile, EOFError) as exc:
        raise InputError(f"cannot decompress module {path}: {exc}") from exc
    return data


@dataclass(frozen=True)
class ModuleTree:
    """A module tree to put in the guest at ``/lib/modules/<release>``.

    ``root`` is a host directory laid out like ``/lib/modules/<release>`` (an installed
    tree or one prepared by a test).  ``only`` selects module names, whose dependencies
    are resolved with modules.dep; ``None`` takes every regular file of the tree
    (symlinks such as ``build``/``source`` are skipped).
    """

    root: Path
    release: str | None = None
    only: tuple[str, ...] | None = None

    @property
    def guest_release(self) -> str:
        return self.release or self.root.name

    def files(self) -> list[tuple[str, Path]]:
        """(path relative to the tree, host path) for every file to copy."""
        if not self.root.is_dir():
            raise InputError(f"module tree {self.root} not found")
        if self.only is None:
            found: list[tuple[str, Path]] = []
            for dirpath, dirnames, filenames in os.walk(self.root, followlinks=False):
                dirnames.sort()
                for name in sorted(filenames):
                    path = Path(dirpath) / name
                    if path.is_symlink() or not path.is_file():
                        continue
                    found.append((path.relative_to(self.root).as_posix(), path))
            return found
        wanted = [(rel, self.root / rel) for rel in resolve_modules(self.root, self.only)]
        wanted += [(name, self.root / name) for name in INDEX_FILES if (self.root / name).is_file()]
        return wanted
