"""What each named step does.  Every step is idempotent: it looks at the files as they
are (sha256) before acting, so recovery can simply run it again.

Each function takes the root and the transaction and returns
``(transaction, step state, detail)``; the transaction may gain messages.
"""

from __future__ import annotations

import stat
from collections.abc import Mapping

from kmend import proc
from kmend.errors import StateError
from kmend.install import modtree, reload
from kmend.install.fsops import SafeRoot, sha256_bytes
from kmend.install.journal import txn_dir
from kmend.install.model import (
    STEP_INITRAMFS,
    STEP_PLACE,
    STEP_RELOAD,
    FileChange,
    InstallTransaction,
    StepState,
)

StepResult = tuple[InstallTransaction, StepState, str]

_DEPMOD_CONFIG_DIRS = ("etc/depmod.d", "run/depmod.d", "usr/local/lib/depmod.d",
                       "lib/depmod.d", "usr/lib/depmod.d")


def _mode(root: SafeRoot, rel: str, default: int = 0o644) -> int:
    st = root.lstat(rel)
    return stat.S_IMODE(st.st_mode) if st is not None else default


def _copy_checked(root: SafeRoot, src: str, dst: str, sha: str, *, tag: str,
                  mode: int | None = None) -> None:
    """Copy *src* to *dst* after checking its sha256; without *mode*, the copy keeps
    the source's mode, owner and mtime (backups, and originals restored from them)."""
    like = root.lstat(src) if mode is None else None
    data = root.read_bytes(src)
    if sha256_bytes(data) != sha:
        raise StateError(f"{root.host_path(src)} changed (sha256 differs from the journal)",
                         "another tool modified it; inspect it, then run kmend recover")
    root.write_atomic(dst, data, mode=mode if mode is not None else 0o644, tag=tag, like=like)


# -- install steps -------------------------------------------------------------------------

def backup(root: SafeRoot, txn: InstallTransaction, payloads: Mapping[str, bytes]) -> StepResult:
    tdir = txn_dir(txn.id)
    for fc in txn.files:
        if fc.old_sha256 is not None and fc.backup:
            _copy_checked(root, fc.path, f"{tdir}/{fc.backup}", fc.old_sha256, tag="tmp")
        if fc.new_sha256 is not None and fc.staged:
            data = payloads[fc.path]
            if sha256_bytes(data) != fc.new_sha256:
                raise StateError(f"the module to install changed while planning ({fc.path})")
            root.write_atomic(f"{tdir}/{fc.staged}", data, mode=0o600, tag="tmp")
    for sf in txn.saved:
        _copy_checked(root, sf.path, f"{tdir}/{sf.backup}", sf.sha256, tag="tmp")
    n = sum(1 for fc in txn.files if fc.backup) + len(txn.saved)
    return txn, StepState.DONE, f"saved {n} files with their sha256 in {root.host_path(tdir)}"


def keep_sources(root: SafeRoot, txn: InstallTransaction, sources: Mapping[str, str]) -> None:
    """Write the module's source files under the transaction's ``sources/`` (read back
    by ``kmend rebuild``); they are not part of the module tree and stay after rollback."""
    tdir = txn_dir(txn.id)
    for rel, text in sorted(sources.items()):
        root.write_atomic(f"{tdir}/sources/{rel}", text.encode("utf-8", "surrogateescape"),
                          mode=0o600, tag="tmp")


def _apply(root: SafeRoot, txn: InstallTransaction, fc: FileChange, forward: bool) -> str:
    want, other = ((fc.new_sha256, fc.old_sha256) if forward else (fc.old_sha256, fc.new_sha256))
    cur = root.sha256(fc.path)
    if cur == want:
        return "already"
    if cur != other:
        raise StateError(f"{root.host_path(fc.path)} changed since transaction {txn.id} "
                         f"(sha256 {cur or 'missing'}); refusing to overwrite it",
                         "roll back later transactions first, or restore it by hand")
    if want is None:
        root.remove(fc.path)
        return "removed"
    src = fc.staged if forward else fc.backup
    if src is None:
        raise StateError(f"journal of {txn.id} has no copy for {fc.path}")
    tdir = txn_dir(txn.id)
    if forward:  # the new module: a fresh mtime, the mode of the file it replaces
        mode = _mode(root, fc.path) if cur is not None else 0o644
        _copy_checked(root, f"{tdir}/{src}", fc.path, want, tag=txn.id, mode=mode)
    else:  # the original: its mode, owner and mtime come back with it
        _copy_checked(root, f"{tdir}/{src}", fc.path, want, tag=txn.id)
    return "written"


def place(root: SafeRoot, txn: InstallTransaction) -> StepResult:
    done = [f"{_apply(root, txn, fc, True)} {fc.path}" for fc in txn.files]
    return txn, StepState.DONE, "; ".join(done)


def depmod_argv(root: SafeRoot, release: str) -> list[str]:
    if root.is_host:
        return ["depmod", release]
    argv = ["depmod", "-b", str(root.path)]
    # depmod -b reads the HOST's depmod.d (kmod 30), not the image's: point it at the
    # image's own.  With none, a -C naming the absent ROOT/etc/depmod.d keeps the host's
    # configuration out and leaves depmod's built-in order ("updates", then the rest).
    configs = [rel for rel in _DEPMOD_CONFIG_DIRS if root.is_dir(rel)] or ["etc/depmod.d"]
    for rel in configs:
        argv += ["-C", str(root.host_path(rel))]
    return [*argv, release]


def depmod(root: SafeRoot, txn: InstallTransaction) -> StepResult:
    argv = depmod_argv(root, txn.kernel)
    proc.run(argv, timeout=600)
    mdir = modtree.modules_dir(txn.kernel)
    for fc in txn.files:
        if fc.new_sha256 is None:
            continue
        got = modtree.resolves_to(root, txn.kernel, txn.module)
        want = fc.path[len(mdir) + 1:]
        if got != want:
            raise StateError(
                f"after depmod, {txn.module} resolves to {got or 'nothing'}, not to {want}",
                "a depmod.d 'search'/'override' line or another updates/ module wins; "
                "fix that configuration")
    return txn, StepState.DONE, f"{' '.join(argv)}; {txn.module} resolves to the new file"


def initramfs(root: SafeRoot, txn: InstallTransaction) -> StepResult:
    ini = txn.initramfs
    if ini.action == "run":
        proc.run(list(ini.command), timeout=1200)
        return txn, StepState.DONE, f"ran {' '.join(ini.command)}"
    if ini.action == "manual":
        cmd = " ".join(ini.command) or "rebuild the initramfs"
        txn = txn.add_message(f"initramfs not rebuilt here; run: {cmd}")
        return txn, StepState.SKIPPED, f"manual: {ini.reason}; run: {cmd}"
    return txn, StepState.SKIPPED, ini.reason


def reload_module(root: SafeRoot, txn: InstallTransaction) -> StepResult:
    decision = reload.decide(root, txn.kernel, txn.module)
    if decision.action == "run":
        reload.reload(txn.module)
        return txn, StepState.DONE, f"reloaded: {decision.reason}"
    if decision.action == "reboot":
        txn = txn.add_message(decision.reason)
    return txn, StepState.SKIPPED, decision.reason


# -- rollback steps ------------------------------------------------------------------------

def restore(root: SafeRoot, txn: InstallTransaction) -> StepResult:
    done = [f"{_apply(root, txn, fc, False)} {fc.path}" for fc in txn.files]
    for rel in reversed(txn.created_dirs):
        if root.rmdir_if_empty(rel):
            done.append(f"removed directory {rel}")
    for fc in txn.files:
        parent = fc.path.rsplit("/", 1)[0]
        if root.is_dir(parent):
            root.remove_temps(parent, txn.id)
    return txn, StepState.DONE, "; ".join(done)


def redepmod(root: SafeRoot, txn: InstallTransaction) -> StepResult:
    place_step = txn.step(STEP_PLACE)
    if place_step is None or place_step.state is StepState.PENDING:
        return txn, StepState.SKIPPED, "the module tree was not changed"
    argv = depmod_argv(root, txn.kernel)
    tdir = txn_dir(txn.id)
    outputs = [sf for sf in txn.saved if sf.path.startswith(modtree.modules_dir(txn.kernel))]
    res = proc.run(argv, timeout=600, check=False)
    if not res.ok:
        for sf in outputs:
            _copy_checked(root, f"{tdir}/{sf.backup}", sf.path, sf.sha256, tag=txn.id)
        txn = txn.add_message(f"depmod failed during rollback ({res.stderr.strip()}); the "
                              "saved depmod outputs were restored instead")
        return txn, StepState.DONE, "depmod failed; restored the saved outputs"
    differ = [sf.path for sf in outputs if root.sha256(sf.path) != sf.sha256]
    if differ:
        return txn, StepState.DONE, (f"{' '.join(argv)}; outputs differ from the saved ones "
                                     f"(tree changed since?): {', '.join(differ)}")
    return txn, StepState.DONE, f"{' '.join(argv)}; outputs identical to before the install"


def reinitramfs(root: SafeRoot, txn: InstallTransaction) -> StepResult:
    step = txn.step(STEP_INITRAMFS)
    ini = txn.initramfs
    if step is not None and step.state is StepState.DONE and ini.action == "run" and ini.image:
        saved = [sf for sf in txn.saved if sf.path == ini.image]
        if saved:
            sf = saved[0]
            _copy_checked(root, f"{txn_dir(txn.id)}/{sf.backup}", sf.path, sf.sha256,
                          tag=txn.id)
            return txn, StepState.DONE, f"restored the saved {ini.image}"
        proc.run(list(ini.command), timeout=1200)
        return txn, StepState.DONE, f"ran {' '.join(ini.command)}"
    if ini.action == "manual" and step is not None and step.state is not StepState.PENDING:
        cmd = " ".join(ini.command) or "rebuild the initramfs"
        txn = txn.add_message(f"initramfs not rebuilt here; run again: {cmd}")
        return txn, StepState.SKIPPED, f"manual: run {cmd}"
    return txn, StepState.SKIPPED, "the initramfs was not changed"


def rereload(root: SafeRoot, txn: InstallTransaction) -> StepResult:
    step = txn.step(STEP_RELOAD)
    if step is not None and step.state is StepState.RUNNING and root.is_host:
        # interrupted between modprobe -r and modprobe: load whatever is installed now
        proc.run(["modprobe", txn.module], timeout=120, check=False)
        return txn, StepState.DONE, f"modprobe {txn.module} after an interrupted reload"
    if step is None or not step.detail.startswith("reloaded"):
        return txn, StepState.SKIPPED, "the module was not reloaded by the install"
    return reload_module(root, txn)
