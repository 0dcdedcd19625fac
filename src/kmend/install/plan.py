"""Plan an install: where the module goes, what is saved, which steps run.

Planning reads only; it writes nothing.  It refuses, with one clear line, what cannot be
installed safely: no module tree for the release, a built-in module name, an ambiguous
in-tree module, a symlink at the destination, a module the load check says the target
kernel will refuse (unless ``force``).
"""

from __future__ import annotations

import os
import shlex
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from kmend import provenance as prov_mod
from kmend.errors import InputError, KmendError, StateError, UsageError
from kmend.install import compress, initramfs, modtree
from kmend.install.fsops import SafeRoot, UnsafePath, sha256_bytes, split_rel
from kmend.install.journal import new_id, now
from kmend.install.model import (
    INSTALL_STEPS,
    STEP_BACKUP,
    STEP_DEPMOD,
    STEP_INITRAMFS,
    STEP_PLACE,
    STEP_RELOAD,
    FileChange,
    InstallTransaction,
    Mode,
    SavedFile,
    Step,
    TxnState,
)
from kmend.install.precheck import Checker, default_checker
from kmend.install.steps import depmod_argv

OVERRIDE_SUBDIR = "updates/kmend"
#: Where in a transaction's directory the module's sources are kept.
SOURCES_DIR = "sources"


class ModuleRefused(KmendError):
    """The load check says the target kernel would refuse the module: a negative verdict
    (exit 1, as ``kmend check`` says REFUSED with 1)."""

    exit_code = 1


@dataclass(frozen=True)
class Plan:
    txn: InstallTransaction
    #: bytes to stage for each FileChange.path (already compressed like the in-tree file)
    payloads: dict[str, bytes] = field(default_factory=dict)
    #: the module's source files (relative path → text) kept in the transaction's
    #: directory, so ``kmend rebuild`` can build the fix again for another kernel
    sources: dict[str, str] = field(default_factory=dict)


def _missing_dirs(root: SafeRoot, rel_dir: str) -> tuple[str, ...]:
    parts = split_rel(rel_dir)
    missing: list[str] = []
    for i in range(len(parts), 0, -1):
        sub = "/".join(parts[:i])
        if root.is_dir(sub):
            break
        missing.append(sub)
    return tuple(reversed(missing))


def _refuse_symlink(root: SafeRoot, rel: str) -> None:
    st = root.lstat(rel)
    if st is not None and stat.S_ISLNK(st.st_mode):
        target = root.readlink(rel)
        raise UnsafePath(
            f"{root.host_path(rel)} is a symlink (to {target}); kmend will not write through it",
            "remove the symlink (it may point outside the root) and retry",
        )


def plan_install(
    root: SafeRoot,
    module_path: Path,
    *,
    kernel: str | None = None,
    mode: Mode = Mode.OVERRIDE,
    force: bool = False,
    provenance: dict[str, Any] | None = None,
    checker: Checker = default_checker,
    sources: Mapping[str, str] | None = None,
) -> Plan:
    """Plan installing *module_path* for *kernel*.  The module's sources are kept with the
    transaction: *sources* when given, else the files the provenance's ``sources`` names
    (when they still have the recorded sha256)."""
    info = modtree.read_modinfo(module_path)
    data, _kind = modtree.module_bytes(module_path)  # a .ko.xz/.zst/.gz is installed plain
    release = kernel or info.release
    if not release:
        raise UsageError(f"{module_path} has no vermagic to tell its kernel",
                         "pass --kernel RELEASE")
    modtree.check_release(release)
    mdir = modtree.require_tree(root, release)
    messages: list[str] = []
    if info.release and info.release != release:
        messages.append(f"the module was built for {info.release} (vermagic) but the target "
                        f"is {release}")
    if root.is_host and release != os.uname().release:
        messages.append(f"{release} is not the running kernel ({os.uname().release}); the "
                        f"module takes effect when {release} boots")
    name = info.name
    if modtree.is_builtin(root, release, name):
        raise InputError(f"{name} is built into kernel {release}; a module file would never "
                         "be loaded", "rebuild the kernel instead, or pick another module")
    intree = modtree.find_intree(root, release, name)
    txn_id = new_id()
    files: list[FileChange] = []
    payloads: dict[str, bytes] = {}
    if mode is Mode.REPLACE:
        if not intree:
            raise StateError(f"{name} has no in-tree module in {root.host_path(mdir)} to "
                             "replace", "use --mode override to add a new module")
        if len(intree) > 1:
            raise StateError(f"{name} has several in-tree files: {', '.join(intree)}",
                             "remove the stray one, or use --mode override")
        dest = intree[0]
        _refuse_symlink(root, dest)
        kind = modtree.compression(dest)
        payload = compress.compress(data, kind) if kind else data
        if kind:
            messages.append(f"the in-tree module is {kind}-compressed; the new one is "
                            f"compressed the same way and takes its exact name")
    else:
        stem = (intree[0].rsplit("/", 1)[-1] if intree else module_path.name)
        for suffix in modtree.SUFFIXES:
            if stem.endswith(suffix):
                stem = stem[: -len(suffix)]
                break
        dest = f"{mdir}/{OVERRIDE_SUBDIR}/{stem}.ko"
        _refuse_symlink(root, dest)
        payload = data
        other = modtree.resolves_to(root, release, name)
        if other and not other.startswith("kernel/") and f"{mdir}/{other}" != dest:
            messages.append(f"{name} is already overridden by {other}; depmod must prefer "
                            f"{OVERRIDE_SUBDIR} (checked after depmod)")
    old = root.sha256(dest)
    files.append(FileChange(dest, old, sha256_bytes(payload),
                            f"backup/{dest}" if old is not None else None, f"new/{dest}"))
    payloads[dest] = payload
    created_dirs = _missing_dirs(root, dest.rsplit("/", 1)[0])

    saved = [SavedFile(f"{mdir}/{out}", sha, f"saved/{mdir}/{out}")
             for out in modtree.DEPMOD_OUTPUTS
             if (sha := root.sha256(f"{mdir}/{out}")) is not None]
    ini = initramfs.plan_initramfs(root, release, name)
    if ini.action == "run" and ini.image:
        sha = root.sha256(ini.image)
        if sha:
            saved.append(SavedFile(ini.image, sha, f"saved/{ini.image}"))
    if ini.action == "manual":
        messages.append(f"initramfs: {ini.reason}; run: {' '.join(ini.command) or '(rebuild)'}")

    check = checker(module_path, release, root.path)
    if check.available and check.will_load is False:
        if not force:
            raise ModuleRefused(
                f"kernel {release} would refuse {module_path.name}: {check.first_error}",
                "run `kmend check` for the details, or pass --force to install anyway")
        messages.append(f"WARNING: --force: kernel {release} will refuse this module "
                        f"({check.first_error}); installing it anyway")
    if check.note:
        messages.append(check.note)

    verb = "replace" if old is not None else "create"
    details = {
        STEP_BACKUP: f"save {len(saved)} depmod/initramfs files"
                     + (f" and the original {dest}" if old is not None else "")
                     + ", stage the new module",
        STEP_PLACE: f"{verb} {dest}",
        STEP_DEPMOD: shlex.join(depmod_argv(root, release)),  # exactly what the step runs
        STEP_INITRAMFS: f"{ini.action}: {ini.reason}",
        STEP_RELOAD: "decided when the step runs",
    }
    txn = InstallTransaction(
        id=txn_id, kernel=release, root=str(root.path),
        steps=tuple(Step(n, detail=details[n]) for n in INSTALL_STEPS),
        state=TxnState.PLANNED, module=name, mode=mode, source=str(module_path),
        source_sha256=sha256_bytes(data), files=tuple(files), saved=tuple(saved),
        created_dirs=created_dirs, initramfs=ini, check=check, forced=force and
        check.will_load is False, provenance=provenance, messages=tuple(messages),
        created=now(),
    )
    kept: dict[str, str] = dict(sources or {})
    if kept and provenance is not None:
        txn = replace(txn, provenance={**provenance, "sources_kept": SOURCES_DIR})
    elif provenance is not None and provenance.get("sources"):
        loaded, why = prov_mod.load_sources(provenance)
        if loaded is None:
            txn = txn.add_message(f"the module's sources are not kept with the fix: {why}")
        else:
            kept = loaded
            txn = replace(txn, provenance={**provenance, "sources_kept": SOURCES_DIR})
    return Plan(replace(txn, updated=txn.created), payloads, kept)
