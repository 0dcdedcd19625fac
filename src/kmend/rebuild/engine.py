"""``kmend rebuild --kernel R``: carry every active fix over to kernel R, or retire it.

For each module with an active kmend fix (a committed install transaction whose file is
still on disk as installed) on another kernel:

* a fix for this module already active on R → nothing to do;
* R's upstream version is at or past the fix's first release or a stable release with it
  (:mod:`kmend.rebuild.contains`), or R's package changelog lists the fix's subject
  (:mod:`kmend.rebuild.changelog`) → *retired*: no override is carried to R;
* the fix was installed as a DKMS tree with ``AUTOINSTALL=yes`` → DKMS builds it for R
  (its own kernel hook, or ``dkms install`` here on a live root); kmend verifies the
  result (modules.dep resolves to it, the load check accepts it);
* otherwise the sources are found again (:mod:`kmend.rebuild.sources`), built against R's
  headers, signed when a key is configured, checked (:mod:`kmend.loadcheck`) and installed
  for R as an install transaction of its own (so ``kmend rollback`` undoes exactly it);
* sources nowhere to be found → *sources-unknown*, reported (exit 1), never skipped.

Every decision is recorded in ``ROOT/var/lib/kmend/rebuild/R.json`` for ``kmend status``.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from kmend import provenance as pv
from kmend.build.kdir import Kdir, find_kdir
from kmend.errors import EnvironmentMissing, KmendError, UsageError
from kmend.install import decisions, journal, modtree
from kmend.install.decisions import Decision
from kmend.install.fsops import SafeRoot
from kmend.install.lock import TransactionLock
from kmend.install.model import InstallTransaction, TxnState
from kmend.kernel.paths import resolve_in_root
from kmend.kernel.release import KernelRelease, parse_release, system_package_version
from kmend.rebuild import changelog, contains, sources
from kmend.rebuild.signing import sign_rebuilt

Say = Callable[[str], None]


@dataclass(frozen=True)
class RebuildOptions:
    kernel: str
    dry_run: bool = False
    sign: bool = True
    key: Path | None = None
    cert: Path | None = None
    kdir: Path | None = None  # R's headers (default: found under the root, then the host)
    package_version: str | None = None  # R's package version (default: the root's dpkg data)


@dataclass(frozen=True)
class RebuildReport:
    kernel: str
    root: str
    upstream: str  # R's upstream version, as far as known
    version_from: str  # where that came from
    kdir: str
    dry_run: bool
    decisions: tuple[Decision, ...]
    seconds: float = 0.0
    notes: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not any(d.action in decisions.NEGATIVE for d in self.decisions)


def find_headers(root: SafeRoot, release: str, given: Path | None) -> tuple[Path | None, str]:
    """R's headers: --kdir, else ROOT/lib/modules/R/build or ROOT/usr/src/linux-headers-R,
    else the host's (for an image root that carries none)."""
    if given is not None:
        return given, "--kdir"
    cands: list[tuple[Path | None, str]] = []
    for where in (f"/lib/modules/{release}/build", f"/usr/src/linux-headers-{release}"):
        cands.append((resolve_in_root(root.path, where), "the root"))
    if not root.is_host:
        for where in (f"/lib/modules/{release}/build", f"/usr/src/linux-headers-{release}"):
            cands.append((Path(where), "this machine (none under the root)"))
    for path, how in cands:
        if path is not None and (path / "Makefile").is_file():
            return path, how
    return None, ""


def kernel_version(root: SafeRoot, release: str, package_version: str | None,
                   kdir_version: tuple[int, int, int] | None) -> tuple[KernelRelease, str]:
    """R's upstream version: from the release string when it says, else its package
    version (given, or the root's dpkg data / changelog), else its headers' Makefile."""
    rel = parse_release(release)
    if rel.exact:
        return rel, "the release string"
    tries: list[tuple[str | None, str]] = [(package_version, "--package-version")]
    tries.append((system_package_version(release, root.path), "the package version"))
    if kdir_version is not None and kdir_version[2]:
        tries.append((".".join(map(str, kdir_version)), "the headers' Makefile"))
    for text, how in tries:
        if not text:
            continue
        try:
            return rel.with_package_version(text), f"{how} {text}"
        except KmendError:
            continue
    return rel, "unknown (only the ABI series)"


def _active(root: SafeRoot, t: InstallTransaction) -> bool:
    return t.state is TxnState.COMMITTED and all(
        root.sha256(fc.path) == fc.new_sha256 for fc in t.files if fc.new_sha256)


def active_fixes(root: SafeRoot) -> list[InstallTransaction]:
    """Committed transactions whose files are still as installed, oldest first."""
    return [t for t in journal.load_all(root) if _active(root, t)]


class _Rebuild:
    def __init__(self, root: SafeRoot, opts: RebuildOptions, say: Say) -> None:
        self.root = root
        self.opts = opts
        self.say = say
        self.kernel = opts.kernel
        self.notes: list[str] = []
        kdir_path, how = find_headers(root, opts.kernel, opts.kdir)
        self.kdir_path = kdir_path
        self.kdir_how = how
        self.kd: Kdir | None = None
        self.kd_error = ""
        if kdir_path is not None:
            try:
                self.kd = find_kdir(kdir_path)
            except KmendError as exc:
                self.kd_error = exc.message
        else:
            self.kd_error = (f"no headers for {opts.kernel} under {root.path}"
                             + ("" if root.is_host else " or on this machine"))
        self.rel, self.version_from = kernel_version(
            root, opts.kernel, opts.package_version, self.kd.version if self.kd else None)

    # -- one fix ------------------------------------------------------------------------
    def decide(self, origin: InstallTransaction) -> Decision:
        prov = origin.provenance or {}
        base = Decision(module=origin.module, action="", reason="", origin=origin.id,
                        origin_kernel=origin.kernel, fix_commit=str(prov.get("fix_commit") or ""))
        verdict = contains.contains_fix(self.rel, prov.get("fix_first_release"),
                                        pv.stable_releases(prov))
        if verdict.contains:
            return replace(base, action=decisions.RETIRED, release=verdict.release,
                           reason=f"{verdict.reason}: the override is not carried to "
                                  f"{self.kernel}")
        subject = str(prov.get("fix_subject") or "")
        listed = changelog.listed_in(self.root.path, self.kernel, subject) if subject else None
        if listed is not None:
            return replace(base, action=decisions.RETIRED, reason=(
                f"{self.kernel}'s package changelog ({listed}) lists the fix \"{subject}\": "
                f"the override is not carried to {self.kernel}"))
        why_build = f"{verdict.reason}; rebuilding" if verdict.contains is False else (
            f"cannot tell whether {self.kernel} has the fix ({verdict.reason}); rebuilding")
        dkms = self._dkms(origin, prov, base, why_build)
        if dkms is not None:
            return dkms
        found = sources.find(self.root, origin.id, prov)
        if found.files is None:
            return replace(base, action=decisions.UNKNOWN, reason=(
                f"{why_build} is impossible: the fix's sources are unknown ({found.where}); "
                f"build it for {self.kernel} by hand and kmend install it"))
        if self.kd is None:
            return replace(base, action=decisions.FAILED, reason=f"{why_build} is impossible: "
                            f"{self.kd_error}")
        if self.opts.dry_run:
            return replace(base, action=decisions.PLANNED, reason=(
                f"{why_build}: would build the sources from {found.where} against "
                f"{self.kd.path}, sign, check and install for {self.kernel}"))
        return self._build_install(origin, prov, found, base, why_build)

    def _build_install(self, origin: InstallTransaction, prov: dict[str, Any],
                       found: sources.Found, base: Decision, why: str) -> Decision:
        from kmend.backport.checkhook import check_built
        from kmend.build.runner import compile_files
        from kmend.install import install, plan_install
        from kmend.install.precheck import summarize

        assert found.files is not None and self.kd is not None
        kd = self.kd
        name = pv.module_name(prov) or origin.module
        self.say(f"{origin.module}: {why}: building from {found.where} against {kd.path}")
        result, tmp = compile_files(found.files, kd)
        try:
            if not result.ok:
                first = result.first_error
                return replace(base, action=decisions.FAILED, reason=(
                    f"{why}: the build against {self.kernel} failed: "
                    f"{first.one_line() if first else 'no module'}"))
            kos = [k for k in result.modules if modtree.module_name(k.name) == name]
            if not kos:
                return replace(base, action=decisions.FAILED, reason=(
                    f"{why}: the build made no {name}.ko "
                    f"({', '.join(k.name for k in result.modules)})"))
            ko = kos[0]
            signed = sign_rebuilt(ko, enabled=self.opts.sign, key=self.opts.key,
                                  cert=self.opts.cert, root=self.root.path, kdir=kd.path)
            self.say(f"{origin.module}: {signed.text}")
            summary = check_built(ko, kd.path)
            check = ("will load" if summary.will_load else f"refused: {summary.first_error}")
            self.say(f"{origin.module}: check against {self.kernel}: {check}")
            if not summary.will_load:
                return replace(base, action=decisions.FAILED, signed=signed.text, check=check,
                                reason=f"{why}: kernel {self.kernel} would refuse the rebuilt "
                                       f"module: {summary.first_error}")
            new_prov = {k: v for k, v in prov.items() if k != "sources_kept"}
            new_prov.update(kernel=self.kernel, rebuilt_from=origin.id,
                            rebuilt_sources=found.where, signed=signed.text,
                            check=f"{check} ({self.kernel})")
            plan = plan_install(self.root, ko, kernel=self.kernel, mode=origin.mode,
                                provenance=new_prov, sources=found.files,
                                checker=lambda *_: summarize(summary.verdict))
            txn = install(self.root, plan)
        except KmendError as exc:
            return replace(base, action=decisions.FAILED, reason=f"{why}: {exc}")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return replace(base, action=decisions.REBUILT, transaction=txn.id, signed=signed.text,
                        check=check, reason=(f"{why}: rebuilt from {found.where}, installed "
                                             f"as transaction {txn.id}"))

    def _dkms(self, origin: InstallTransaction, prov: dict[str, Any], base: Decision,
              why: str) -> Decision | None:
        """DKMS's own result for R when the fix is a DKMS tree with AUTOINSTALL=yes."""
        from kmend.install.precheck import default_checker
        from kmend.rebuild import dkms

        tree = dkms.tree_of(prov)
        if tree is None or not tree.autoinstall:
            return None
        name = f"{tree.package}/{tree.version}"
        if not dkms.registered(self.root, tree):
            self.notes.append(f"{origin.module}: its DKMS tree {name} (AUTOINSTALL=yes) is "
                              "not registered with DKMS under the root; kmend rebuilds it")
            return None
        got = dkms.built_for(self.root, self.kernel, origin.module)
        if got is None and self.opts.dry_run:
            return replace(base, action=decisions.PLANNED, reason=(
                f"{why}: DKMS (AUTOINSTALL) would build {name} for {self.kernel}"))
        if got is None:
            if self.kd is None:
                return replace(base, action=decisions.FAILED, reason=(
                    f"{why} with DKMS is impossible: {self.kd_error}"))
            self.say(f"{origin.module}: dkms install -m {tree.package} -v {tree.version} "
                     f"-k {self.kernel}")
            try:
                res = dkms.run_install(self.root, tree, self.kernel, self.kd.path)
            except KmendError as exc:
                return replace(base, action=decisions.FAILED,
                               reason=f"{why} with DKMS: {exc}")
            if not res.ok:
                last = (res.stderr or res.stdout).strip().splitlines()[-1:] or [""]
                return replace(base, action=decisions.FAILED, reason=(
                    f"{why} with DKMS: dkms install {name} failed: {last[0]}"))
            got = dkms.built_for(self.root, self.kernel, origin.module)
            if got is None:
                return replace(base, action=decisions.FAILED, reason=(
                    f"{why} with DKMS: after dkms install {name}, modules.dep does not "
                    f"resolve {origin.module} to DKMS's module"))
        path = self.root.host_path(f"{modtree.modules_dir(self.kernel)}/{got}")
        check = default_checker(path, self.kernel, self.root.path)
        verdict = ("will load" if check.will_load else f"refused: {check.first_error}"
                   if check.available else check.note)
        return replace(base, action=decisions.DKMS if check.will_load else decisions.FAILED,
                       check=verdict, reason=(
                           f"{why}: DKMS built {name} for {self.kernel} ({got}); modules.dep "
                           f"resolves {origin.module} to it; check: {verdict}"))

    # -- all fixes ----------------------------------------------------------------------
    def run(self) -> RebuildReport:
        start = time.monotonic()
        modtree.require_tree(self.root, self.kernel)
        if self.kd is None:
            self.notes.append(f"no usable headers for {self.kernel}: {self.kd_error}")
        elif self.kdir_how not in {"the root", "--kdir"}:
            self.notes.append(f"headers of {self.kernel} from {self.kdir_how}: {self.kd.path}")
        active = active_fixes(self.root)
        on_r = {t.module: t for t in active if t.kernel == self.kernel}
        origins: dict[str, InstallTransaction] = {}
        for t in active:
            if t.kernel != self.kernel and t.module not in on_r:
                origins[t.module] = t  # the newest wins (oldest first)
        out: list[Decision] = []
        for module, t in sorted(on_r.items()):
            out.append(Decision(module=module, action=decisions.ALREADY, transaction=t.id,
                                origin_kernel=t.kernel,
                                reason=f"already active on {self.kernel} (transaction {t.id})"))
        for module in sorted(origins):
            t0 = time.monotonic()
            d = self.decide(origins[module])
            d = replace(d, seconds=round(time.monotonic() - t0, 3))
            out.append(d)
        keep = [d for d in out if d.action != decisions.ALREADY]
        if not self.opts.dry_run and keep:
            with TransactionLock(self.root):
                decisions.save(self.root, self.kernel, keep)
        return RebuildReport(
            kernel=self.kernel, root=str(self.root.path), upstream=contains.version_text(
                self.rel) if self.rel.exact else f"{self.rel.series[0]}.{self.rel.series[1]}.?",
            version_from=self.version_from, kdir=str(self.kd.path) if self.kd else "",
            dry_run=self.opts.dry_run, decisions=tuple(out),
            seconds=round(time.monotonic() - start, 3), notes=tuple(self.notes))


def rebuild(root: SafeRoot, opts: RebuildOptions, say: Say = lambda _t: None) -> RebuildReport:
    """Carry every active fix over to ``opts.kernel`` (or retire it); see the module doc."""
    modtree.check_release(opts.kernel)
    if (opts.key is None) != (opts.cert is None):
        raise UsageError("give --key and --cert together",
                         "e.g. --key /var/lib/dkms/mok.key --cert /var/lib/dkms/mok.pub")
    if opts.kdir is not None and not opts.kdir.exists():
        raise EnvironmentMissing(f"{opts.kdir}: no such kernel build directory",
                                 "give the headers tree of the target kernel")
    return _Rebuild(root, opts, say).run()
