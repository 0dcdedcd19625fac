"""Who exports each symbol: the target's Module.symvers plus modules found in a tree."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from kmend.errors import KmendError
from kmend.kernel.target import KernelTarget
from kmend.ko.model import ModuleFile
from kmend.ko.reader import read_module


@dataclass(frozen=True)
class Provider:
    symbol: str
    owner: str  # "vmlinux" or a module name (kernel spelling: '-' → '_')
    crc: int | None
    gpl_only: bool
    namespace: str = ""


def normalize(name: str) -> str:
    return name.replace("-", "_")


def find_modules(tree: Path, names: Iterable[str]) -> dict[str, Path]:
    """Map each wanted module name to a .ko* file under *tree* (first found, sorted walk)."""
    wanted = {normalize(n) for n in names}
    found: dict[str, Path] = {}
    if not wanted or not tree.is_dir():
        return found
    for dirpath, dirnames, filenames in os.walk(tree):
        dirnames.sort()
        for fname in sorted(filenames):
            if ".ko" not in fname:
                continue
            stem = normalize(fname.split(".ko", 1)[0])
            if stem in wanted and stem not in found:
                found[stem] = Path(dirpath) / fname
        if len(found) == len(wanted):
            break
    return found


class ProviderIndex:
    """Symbol → provider lookups for one check."""

    def __init__(self, target: KernelTarget) -> None:
        self._target = target
        self._extra: dict[str, Provider] = {}
        self.tree_modules: dict[str, ModuleFile] = {}

    def add_module(self, mod: ModuleFile) -> None:
        self.tree_modules[mod.name] = mod
        for exp in mod.exports:
            self._extra.setdefault(
                exp.name,
                Provider(exp.name, mod.name, exp.crc if self._target.modversions else None,
                         exp.gpl_only, exp.namespace),
            )

    def add_tree(self, tree: Path, names: Iterable[str]) -> list[str]:
        """Read the named modules from *tree*; return the names that were not found/readable."""
        wanted = [normalize(n) for n in names]
        paths = find_modules(tree, wanted)
        missing = []
        for name in wanted:
            path = paths.get(name)
            if path is None:
                missing.append(name)
                continue
            try:
                self.add_module(read_module(path))
            except KmendError:
                missing.append(name)
        return missing

    def lookup(self, symbol: str) -> Provider | None:
        entry = self._target.symvers.get(symbol)
        if entry is not None:
            owner = "vmlinux" if entry.module == "vmlinux" else entry.module_name
            crc = entry.crc if self._target.modversions else None
            return Provider(symbol, owner, crc, entry.gpl_only, entry.namespace)
        return self._extra.get(symbol)
