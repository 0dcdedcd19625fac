"""Who exports each symbol: the target's Module.symvers plus modules found in a tree."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from kmend.errors import KmendError
from kmend.kernel.symvers import SymversTable
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


@functools.lru_cache(maxsize=8)
def _tree_index(tree: Path, _mtime_ns: int) -> dict[str, Path]:
    """Module name → first .ko* file under *tree* (sorted walk); cached per tree state."""
    index: dict[str, Path] = {}
    for dirpath, dirnames, filenames in os.walk(tree):
        dirnames.sort()
        for fname in sorted(filenames):
            if ".ko" in fname:
                index.setdefault(normalize(fname.split(".ko", 1)[0]), Path(dirpath) / fname)
    return index


@functools.lru_cache(maxsize=256)
def _read_cached(path: Path, _mtime_ns: int, _size: int) -> ModuleFile:
    return read_module(path)


def find_modules(tree: Path, names: Iterable[str]) -> dict[str, Path]:
    """Map each wanted module name to a .ko* file under *tree*."""
    wanted = {normalize(n) for n in names}
    if not wanted or not tree.is_dir():
        return {}
    index = _tree_index(tree, tree.stat().st_mtime_ns)
    return {name: index[name] for name in wanted if name in index}


#: Providers from a target's Module.symvers (or None: not there), remembered per target
#: while it is in use: checking a kernel tree looks up the same few thousand symbols
#: 200,000 times.  Only for a :class:`SymversTable`, which nothing changes.
_MEMO: dict[int, tuple[KernelTarget, dict[str, Provider | None]]] = {}


_UNSEEN = Provider("", "", None, False)


def _memo_for(target: KernelTarget) -> dict[str, Provider | None] | None:
    if not isinstance(target.symvers, SymversTable):
        return None
    found = _MEMO.get(id(target))
    if found is None or found[0] is not target:
        if len(_MEMO) >= 4:
            _MEMO.clear()
        found = _MEMO[id(target)] = (target, {})
    return found[1]


class ProviderIndex:
    """Symbol → provider lookups for one check."""

    def __init__(self, target: KernelTarget) -> None:
        self._target = target
        self._extra: dict[str, Provider] = {}
        self.tree_modules: dict[str, ModuleFile] = {}
        self._memo = _memo_for(target)

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
                st = path.stat()
                self.add_module(_read_cached(path, st.st_mtime_ns, st.st_size))
            except KmendError:
                missing.append(name)
        return missing

    def lookup(self, symbol: str) -> Provider | None:
        memo = self._memo
        if memo is None:
            found = self._from_symvers(symbol)
        else:
            found = memo.get(symbol, _UNSEEN)
            if found is _UNSEEN:
                found = memo[symbol] = self._from_symvers(symbol)
        return found if found is not None else self._extra.get(symbol)

    def _from_symvers(self, symbol: str) -> Provider | None:
        entry = self._target.symvers.get(symbol)
        if entry is not None:
            owner = "vmlinux" if entry.module == "vmlinux" else entry.module_name
            crc = entry.crc if self._target.modversions else None
            return Provider(symbol, owner, crc, entry.gpl_only, entry.namespace)
        return None
