"""The stages of ``kmend run``, each a call into an existing stage library.

triage (kmend.logs + kmend.oops) → locate (kmend.source.kbuild, kmend.build.kdir) → fixes
(kmend.fixes, when the source is a git repository) → backport (kmend.backport) → build
(kmend.build) → check (kmend.loadcheck) → preflight (kmend.loadcheck.preflight, QEMU;
optional) → install (kmend.install, after a confirmation).  Each stage says what it found
and why it chose; the first failing stage raises a KmendError and nothing after it runs.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TextIO

from kmend.backport.model import Probe
from kmend.build.kdir import Kdir, find_kdir
from kmend.errors import EnvironmentMissing, InputError, KmendError, NotInSource, UsageError
from kmend.logs import read_paths
from kmend.oops import CrashReport
from kmend.pipeline import locate
from kmend.pipeline import project as oot
from kmend.pipeline.project import ProjectRun
from kmend.pipeline.prompt import confirm, require_asker
from kmend.pipeline.record import DONE, FAILED, SKIPPED, STAGES, RunRecord, StageResult, provenance
from kmend.revs import short_rev
from kmend.sign.keys import KeyPair
from kmend.triage.choose import choose
from kmend.triage.scan import dated

#: kmend run's own work directories (no -o given) in the temporary directory.
RUN_DIR_PREFIX = "kmend-run-"
#: Work directories of runs older than this are removed when a new run starts.
RUN_DIR_MAX_AGE = 7 * 24 * 3600


def prune_old_run_dirs(now: float | None = None) -> list[Path]:
    """Remove kmend-run-* directories of the temporary directory not touched for a week
    (dry runs and failed runs leave theirs for inspection); return what was removed."""
    now = time.time() if now is None else now
    gone: list[Path] = []
    for path in Path(tempfile.gettempdir()).glob(RUN_DIR_PREFIX + "*"):
        try:
            st = path.lstat()
        except OSError:
            continue
        if path.is_symlink() or not path.is_dir() or st.st_uid != os.getuid():
            continue
        if now - st.st_mtime > RUN_DIR_MAX_AGE:
            shutil.rmtree(path, ignore_errors=True)
            gone.append(path)
    return gone


@dataclass(frozen=True)
class RunOptions:
    logs: tuple[Path, ...]
    source: str
    kdir: Path | None = None
    kernel: str | None = None
    index: int | None = None  # None: the newest crash
    policy: str | None = None  # None: minimal with a fix, newest without
    fix: str | None = None
    base: str | None = None
    base_source: Path | None = None  # the target's own sources, for a tree --source
    preflight: bool = False
    root: Path = Path("/")
    yes: bool = False
    dry_run: bool = False
    output: Path | None = None
    until: str = "install"
    module: str | None = None  # the module to fix (default: the crash's culprit)
    file: str | None = None  # a module project: only functions of this file
    function: str | None = None  # a module project: the crashing function
    issue: str | None = None  # a module project: the issue the crash was reported in
    #: sign the built module with this key (kmend.sign) before it is checked
    signing_key: KeyPair | None = None


Say = Callable[[str], None]


class _Run:
    def __init__(self, opts: RunOptions, say: Say, stdin: TextIO, prompt_out: TextIO,
                 on_fail: Callable[[RunRecord], None] | None) -> None:
        self.opts = opts
        self.on_fail = on_fail
        self.say = say
        self.stdin = stdin
        self.prompt_out = prompt_out
        self.stages: list[StageResult] = []
        self.prov: dict[str, Any] = {"run": uuid.uuid4().hex[:12]}
        self.report: CrashReport | None = None
        self.kd: Kdir | None = None
        #: the crashed kernel's headers are not here: the error, raised by the first stage
        #: that needs them (the fix search does not)
        self.kd_missing: EnvironmentMissing | None = None
        self.where: locate.Location | None = None
        self.fix: str | None = opts.fix
        self.out_dir: Path | None = None
        self.ko: Path | None = None
        self.txn_id = ""
        self.temp_out: Path | None = None  # the run directory kmend made (no -o given)
        self.outcome = ""
        self.proj: ProjectRun | None = None
        self._lines: list[str] = []

    # -- plumbing ---------------------------------------------------------------------
    def line(self, text: str) -> None:
        self._lines.append(text)
        self.say(f"  {text}")

    def stage(self, name: str, fn: Callable[[], tuple[str, str, str, dict[str, Any]]]) -> None:
        number = STAGES.index(name) + 1
        self.say(f"[{number}/{len(STAGES)}] {name}")
        self._lines = []
        start = time.monotonic()
        try:
            status, summary, source, data = fn()
        except KmendError as err:
            self.stages.append(StageResult(name, FAILED, round(time.monotonic() - start, 3),
                                           str(err), tuple(self._lines)))
            self.outcome = f"stopped at {name}: {err.message}; nothing was changed"
            raise
        seconds = time.monotonic() - start
        self.say(f"  => {summary} ({seconds:.1f} s)")
        self.stages.append(StageResult(name, status, round(seconds, 3), summary,
                                       tuple(self._lines), source, data))

    def wanted(self, name: str) -> bool:
        return STAGES.index(name) <= STAGES.index(self.opts.until)

    # -- stages -----------------------------------------------------------------------
    def triage(self) -> tuple[str, str, str, dict[str, Any]]:
        names = [str(p) for p in self.opts.logs]
        reports = list(dated(read_paths(names)))
        if not reports:
            raise InputError(f"no kernel crash found in {', '.join(names)}",
                             "check the log with kmend scan (is it the right file?)")
        return self._pick(reports, names)

    def _pick(self, reports: list[CrashReport],
              names: list[str]) -> tuple[str, str, str, dict[str, Any]]:
        n = len(reports)
        index, why = choose(reports, self.opts.index)
        rep = reports[index]
        self.report = rep
        self.line(f"{n} crash report(s) in {', '.join(names)}; crash {index} chosen: {why}")
        self.line(f"title: {rep.title}")
        where = f"{rep.location.file}:{rep.location.line}" if rep.location else "(no file:line)"
        self.line(f"at {where} in {rep.function or '?'}() of module "
                  f"{rep.module or '(built-in code)'}")
        if rep.culprit_module and rep.culprit_module != rep.module:
            self.line(f"culprit module {rep.culprit_module}: {rep.culprit_reason}")
        self.line(f"kernel {rep.kernel_release or '?'}; process {rep.comm or '?'} "
                  f"(pid {rep.pid if rep.pid is not None else '?'}); host {rep.host or '?'}"
                  f"{'; it panicked' if rep.panicked else ''}")
        self.line(f"signature {rep.signature}")
        self.prov.update(crash_signature=rep.signature, crash_title=rep.title,
                         crash_log=", ".join(names), crashed_kernel=rep.kernel_release or "")
        data = {"reports": n, "index": index, "title": rep.title, "type": rep.type,
                "signature": rep.signature, "module": rep.module, "function": rep.function,
                "file": rep.location.file if rep.location else None,
                "line": rep.location.line if rep.location else None,
                "kernel_release": rep.kernel_release, "comm": rep.comm, "host": rep.host,
                "culprit_module": rep.culprit_module, "culprit_reason": rep.culprit_reason,
                "modules_flags": dict(rep.modules_flags)}
        return DONE, f"{rep.title} ({rep.module or 'built-in'})", ", ".join(names), data

    def _target(self) -> None:
        assert self.report is not None
        if self.wanted("backport"):
            release = self.opts.kernel or (None if self.opts.kdir else
                                           self.report.kernel_release)
            defaulted = self.opts.kdir is None and self.opts.kernel is None
            if defaulted:
                self.line(f"target: the crashed kernel {release} (no --kdir/--kernel given)")
            try:
                self.kd = find_kdir(self.opts.kdir, release)
            except EnvironmentMissing as err:
                if not defaulted:
                    raise  # a target the operator named: said before any search
                self.kd_missing = err
                self.line(f"no headers for {release} here: the fix search goes on, the "
                          f"backport stops ({err.hint})")
                return
            self.line(f"target headers: {self.kd.path} ({self.kd.release})")
            if (self.report.kernel_release and self.kd.release != self.report.kernel_release):
                self.line(f"note: the crashed kernel is {self.report.kernel_release}; the "
                          f"fix is built for {self.kd.release}")

    def _project(self) -> ProjectRun | None:
        """The module project --source is, or None (a kernel history or tree)."""
        from kmend.fixes.repo import open_repo
        from kmend.source.project import project_at

        if not locate.is_git(self.opts.source):
            return None
        repo = open_repo(self.opts.source, progress=self.line)
        assert self.report is not None
        rep = self.report
        project = project_at(repo, "HEAD", module=self.opts.module or rep.culprit_module
                             or rep.module)
        if project is None:
            return None
        assert self.report is not None
        return oot.locate_project(repo, project, self.report, override=self.opts.module,
                                  source=self.opts.source, say=self.line)

    def locate_stage(self) -> tuple[str, str, str, dict[str, Any]]:
        assert self.report is not None
        self.proj = self._project()
        if self.proj is not None:
            self._target()
            pr = self.proj.project
            data = {"project": pr.name, "kind": "module project", "why": pr.why,
                    "root": pr.root, "build_dir": pr.build_dir, "dkms_conf": pr.dkms_conf,
                    "modules": list(pr.modules), "module": self.proj.module,
                    "git": True, "target": self.kd.release if self.kd else None}
            return (DONE, f"module project {pr.name} → module {self.proj.module}",
                    self.opts.source, data)
        report = self.report
        if self.opts.module:
            report = replace(report, module=self.opts.module)
            self.line(f"module {self.opts.module} (--module)")
        elif report.culprit_module and report.culprit_module != report.module:
            report = replace(report, module=report.culprit_module)
            self.line(f"module {report.culprit_module}: {report.culprit_reason}")
        try:
            where = locate.locate(report, self.opts.source, self.line)
        except NotInSource as err:
            if report.module == self.report.module:
                raise
            raise NotInSource(err.message, f"the crash faulted in {self.report.module}: "
                              f"give --module {self.report.module} to fix that one, or the "
                              f"source of {report.module} (--source)") from err
        self.where = where
        self._target()
        name = where.module.name if where.module else "(no Kbuild module)"
        data = {"file": where.file, "in_source": where.file_in_source, "module": name,
                "directory": where.module.directory if where.module else None,
                "xen": where.xen, "git": where.git, "target": self.kd.release if self.kd else None}
        return DONE, f"{where.file} → module {name}", self.opts.source, data

    def fixes(self) -> tuple[str, str, str, dict[str, Any]]:
        assert self.report is not None
        if self.proj is not None:
            data = oot.search(self.proj, self.report, self.opts.logs, base=self.opts.base,
                              fix=self.fix, function=self.opts.function, file=self.opts.file,
                              issue=self.opts.issue, say=self.line)
            self.fix = self.proj.fix
            if self.fix is None:
                return DONE, "no candidate fix", self.opts.source, data
            self.prov.update(fix_commit=self.fix, fix_subject=data.get("subject", ""),
                             fix_first_release=data.get("first_release") or "")
            summary = f"fix {self.fix[:12]} {data.get('subject', '(--fix)')}"
            return DONE, summary, self.opts.source, data
        assert self.where is not None
        if self.fix is not None:
            patch = Path(self.fix).is_file()
            self.line(f"fix given with --fix: {'patch ' if patch else ''}{self.fix}; no search")
            self.prov["fix_patch" if patch else "fix_commit"] = self.fix
            return SKIPPED, f"--fix {self.fix}", self.opts.source, {"fix": self.fix}
        if not self.where.git:
            self.line(f"{self.opts.source} is a source tree without history: no fix search "
                      "(give a git repository, or --fix)")
            return SKIPPED, "no history to search", self.opts.source, {}
        found = locate.search_fixes(self.report, self.where.local, self.opts.base, self.line,
                                    label=self.opts.source)
        if found is None:
            return DONE, "no candidate fix", self.opts.source, {}
        self.fix = found.commit
        self.prov.update(fix_commit=found.commit, fix_subject=found.subject,
                         fix_first_release=found.first_release or "")
        data = {"commit": found.commit, "subject": found.subject, "score": found.score,
                "first_release": found.first_release,
                "evidence": [e.detail for e in found.evidence]}
        return DONE, f"fix {found.commit[:12]} {found.subject}", self.opts.source, data

    def backport(self) -> tuple[str, str, str, dict[str, Any]]:
        from kmend.backport.candidates import module_at, module_files
        from kmend.backport.output import write_output
        from kmend.backport.planner import plan_backport
        from kmend.backport.search import default_jobs

        if self.kd_missing is not None:
            raise self.kd_missing
        assert self.kd is not None
        if self.proj is not None:
            policy = self.opts.policy or ("minimal" if self.fix else "newest")
            self.line(f"policy {policy}" + (" (--policy)" if self.opts.policy else
                                             ": the smallest change to the crashed version "
                                             "that contains the fix" if self.fix else
                                             ": no fix is known, the newest that builds"))
            out = self._output_dir()
            data = oot.backport(self.proj, self.kd, out, policy, self.line)
            self.out_dir = out
            self.prov.update(source=self.opts.source, policy=policy,
                             revision=data["chosen_rev"], revision_kind=data["chosen_kind"],
                             probes=f"{len(data['probes'])} probed against {self.kd.release}")
            return (DONE, f"{data['chosen_kind']} {short_rev(data['chosen_rev'])} ({policy})",
                    self.opts.source, data)
        assert self.where is not None
        module = self.where.require_module(self.opts.source)
        policy = self.opts.policy or ("minimal" if self.fix else "newest")
        if self.opts.policy:
            self.line(f"policy {policy} (--policy)")
        elif self.fix:
            self.line("policy minimal: the smallest change to the target's own version that "
                      "contains the fix (--policy newest for the newest revision that builds)")
        else:
            self.line("policy newest: no fix commit is known, so the newest revision that "
                      "builds against the target")

        def probe(p: Probe) -> None:
            state = "builds" if p.ok else f"fails: {p.first_diagnostic}"
            self.line(f"probe {short_rev(p.rev):<27} {p.kind:<11} {state}  ({p.label[:60]})")

        result = plan_backport(self.where.local, module.name, self.kd, policy=policy,
                               fix=self.fix, base=self.opts.base,
                               base_source=self.opts.base_source, jobs=default_jobs(),
                               on_probe=probe, notify=self.line)
        plan = result.plan
        self.line(f"search: {plan.search}")
        for text in plan.explanation:
            self.line(f"- {text}")
        ok = sum(p.ok for p in plan.probes)
        self.prov.update(source=self.opts.source, policy=policy,
                         probes=f"{len(plan.probes)} probed, {ok} built, against {plan.target}")
        if result.chosen is None:
            raise KmendError(f"no revision of {module.name} with the fix builds against "
                             f"{self.kd.release}", "see the explanation above")
        self.line(f"chosen: {short_rev(plan.chosen_rev or '')} ({plan.chosen_kind}: "
                  f"{plan.chosen_label})")
        self.prov.update(revision=plan.chosen_rev, revision_kind=plan.chosen_kind)
        mod = module_at(result.chosen.view, result.candidates.module)
        assert mod is not None
        self.out_dir = write_output(self._output_dir(), module_files(result.chosen.view, mod),
                                    mod, plan)
        self.line(f"sources of the chosen revision written to {self.out_dir}")
        data = {"policy": policy, "chosen_rev": plan.chosen_rev, "chosen_kind": plan.chosen_kind,
                "chosen_label": plan.chosen_label, "base_rev": plan.base_rev,
                "probes": [{"rev": p.rev, "kind": p.kind, "ok": p.ok,
                            "first_diagnostic": p.first_diagnostic} for p in plan.probes],
                "explanation": list(plan.explanation), "output": str(self.out_dir)}
        return (DONE, f"{plan.chosen_kind} {short_rev(plan.chosen_rev or '')} ({policy})",
                self.opts.source, data)

    def _output_dir(self) -> Path:
        if self.opts.output is not None:
            return self.opts.output
        prune_old_run_dirs()
        self.temp_out = Path(tempfile.mkdtemp(prefix=RUN_DIR_PREFIX))
        return self.temp_out

    def build(self) -> tuple[str, str, str, dict[str, Any]]:
        from kmend.build.runner import build_dir
        from kmend.errors import CommandFailed

        assert self.out_dir is not None and self.kd is not None
        if self.proj is not None:
            return self._build_project()
        assert self.where is not None
        built = build_dir(self.out_dir, self.kd)
        if not built.ok or not built.modules:
            first = built.first_error
            raise CommandFailed(f"the chosen revision does not build against {self.kd.release}"
                                f": {first.one_line() if first else 'no module was built'}",
                                f"see the build log in {self.out_dir}")
        self.ko = locate.pick_ko(built.modules, self.where)
        self.line(f"built {self.ko} in {built.seconds:.1f} s against {self.kd.path}")
        data: dict[str, Any] = {"module": str(self.ko), "seconds": built.seconds}
        if self.opts.signing_key is not None:
            from kmend.sign import sign_module

            pair = self.opts.signing_key
            res = sign_module(self.ko, pair.key, pair.cert, kdir=self.kd.path)
            self.line(f"signed {self.ko.name}: signer '{res.signer}', key {res.key_id}, "
                      f"{res.hash_algo}")
            self.prov["signed"] = f"{res.signer} ({res.key_id}, {res.hash_algo})"
            data["signed"] = {"signer": res.signer, "key_id": res.key_id,
                              "hash_algo": res.hash_algo}
        return DONE, f"built {self.ko.name}", str(self.kd.path), data

    def _build_project(self) -> tuple[str, str, str, dict[str, Any]]:
        from kmend.build.project import build_copy, ko_named
        from kmend.errors import CommandFailed

        assert self.out_dir is not None and self.kd is not None and self.proj is not None
        built = build_copy(self.out_dir, self.proj.build_rel, self.kd)
        ko = ko_named(built.modules, self.proj.module) if built.ok else None
        if ko is None:
            first = built.first_error
            raise CommandFailed(f"the chosen revision does not build {self.proj.module} "
                                f"against {self.kd.release}: "
                                f"{first.one_line() if first else 'no such module built'}",
                                f"see the build in {self.out_dir}")
        self.ko = ko
        names = ", ".join(k.name for k in built.modules)
        self.line(f"built {len(built.modules)} module(s) in {built.seconds:.1f} s against "
                  f"{self.kd.path}: {names}")
        data: dict[str, Any] = {"module": str(ko), "modules": [str(k) for k in built.modules],
                                "seconds": built.seconds}
        if self.opts.signing_key is not None:  # every module: the siblings load with it
            from kmend.sign.step import describe, sign_built

            signed = sign_built(built.modules, self.opts.signing_key, self.kd.path)
            for res in signed:
                self.line(describe(res))
            mine = next((r for r in signed if ko in (r.path, r.source)), signed[0])
            self.prov["signed"] = f"{mine.signer} ({mine.key_id}, {mine.hash_algo})"
            data["signed"] = {"signer": mine.signer, "key_id": mine.key_id,
                              "hash_algo": mine.hash_algo}
        return DONE, f"built {ko.name}", str(self.kd.path), data

    def check(self) -> tuple[str, str, str, dict[str, Any]]:
        from kmend.backport.checkhook import check_built

        assert self.ko is not None and self.kd is not None
        summary = check_built(self.ko, self.kd.path,
                              siblings=self.out_dir if self.proj is not None else None)
        for text in summary.lines:
            self.line(text)
        verdict = "will load" if summary.will_load else f"refused: {summary.first_error}"
        self.prov["check"] = f"{verdict} ({self.kd.release})"
        if not summary.will_load:
            raise KmendError(f"kernel {self.kd.release} would refuse {self.ko.name}: "
                             f"{summary.first_error}", "see the check above")
        return DONE, f"{self.kd.release} {verdict}", str(self.kd.path), summary.doc

    def preflight(self) -> tuple[str, str, str, dict[str, Any]]:
        if not self.opts.preflight:
            self.line("not asked (--preflight boots the target kernel in QEMU and loads it)")
            return SKIPPED, "not asked", "", {}
        assert self.ko is not None and self.kd is not None
        xen = self.where.xen if self.where is not None else False
        res, how = locate.boot_and_load(self.ko, self.kd.release, xen)
        self.line(f"booted {self.kd.release}{how} in QEMU: "
                  f"{'LOADED' if res.loaded else 'REFUSED'} ({res.seconds:.1f} s)")
        for text in res.messages:
            self.line(f"kernel: {text}")
        verdict = "loaded" if res.loaded else "refused"
        self.prov["preflight"] = f"{verdict} in {self.kd.release}{how}"
        if not res.loaded:
            raise KmendError(f"{self.ko.name} was refused by {self.kd.release} booted in QEMU: "
                             f"{res.first_error}", "see the kernel messages above")
        return DONE, "loaded" + how, self.kd.release, {"loaded": res.loaded,
                                                       "seconds": res.seconds}

    def install(self) -> tuple[str, str, str, dict[str, Any]]:
        from kmend.install import SafeRoot, install, plan_install

        assert self.ko is not None and self.kd is not None
        root = self.opts.root
        if self.opts.dry_run:
            self.line(f"--dry-run: nothing installed; without it kmend would install {self.ko} "
                      f"for {self.kd.release} under {root} (after asking)")
            self.outcome = (f"dry run: the fix is built in {self.out_dir}; nothing on the "
                            "system was changed")
            return SKIPPED, "--dry-run", str(root), {}
        confirm(f"Install {self.ko.name} (revision {self.prov.get('revision', '?')}) for "
                f"{self.kd.release} under {root}?", self.stdin, self.prompt_out,
                assume_yes=self.opts.yes)
        with SafeRoot(root) as r:
            # the run's record plus the PROVENANCE backport wrote (sources, recipe, fix
            # releases), so the install keeps what kmend rebuild needs
            kept = {**provenance(self.prov), **self._dir_provenance()}
            plan = plan_install(r, self.ko, kernel=self.kd.release, provenance=kept)
            self.prov["transaction"] = plan.txn.id
            plan = replace(plan, txn=replace(plan.txn, provenance={
                **(plan.txn.provenance or {}), "transaction": plan.txn.id}))
            txn = install(r, plan)
        self.txn_id = txn.id
        for fc in txn.files:
            self.line(f"file {fc.path}: {fc.old_sha256 or '(new)'} -> {fc.new_sha256}")
        for step in txn.steps:
            self.line(f"{step.name}: {step.state} {step.detail}")
        for msg in txn.messages:
            self.line(f"note: {msg}")
        reload_step = txn.step("reload")
        after = reload_step.detail if reload_step else ""
        self.outcome = (f"installed (transaction {txn.id}; kmend rollback {txn.id} undoes it)"
                        f": {locate.next_step(after)}")
        return DONE, f"transaction {txn.id} {txn.state}", str(root), {
            "transaction": txn.id, "state": str(txn.state), "reload": after}

    def _dir_provenance(self) -> dict[str, Any]:
        from kmend import provenance as pv

        path = (self.out_dir / pv.FILENAME) if self.out_dir else None
        if path is None or not path.is_file():
            return {}
        try:
            return pv.read(path)
        except KmendError:
            return {}

    # -- the whole ------------------------------------------------------------------
    def run(self) -> RunRecord:
        start = time.monotonic()
        order: list[tuple[str, Callable[[], tuple[str, str, str, dict[str, Any]]]]] = [
            ("triage", self.triage), ("locate", self.locate_stage), ("fixes", self.fixes),
            ("backport", self.backport), ("build", self.build), ("check", self.check),
            ("preflight", self.preflight), ("install", self.install)]
        try:
            for name, fn in order:
                if not self.wanted(name):
                    break
                self.stage(name, fn)
        except KmendError:
            if self.on_fail is not None:
                self.on_fail(self.record(start))
            raise
        if not self.outcome:
            self.outcome = f"stopped after {self.opts.until} (--until): nothing was changed"
        if self.txn_id and self.temp_out is not None:
            # installed: the transaction keeps the module and its sources, so kmend's own
            # temporary directory goes (a dry run or a failure keeps it, and says where)
            shutil.rmtree(self.temp_out, ignore_errors=True)
            self.out_dir = None
        self.say(self.outcome)
        return self.record(start)

    def record(self, start: float) -> RunRecord:
        return RunRecord(
            logs=tuple(str(p) for p in self.opts.logs), source=self.opts.source,
            target=self.kd.release if self.kd else "", dry_run=self.opts.dry_run,
            stages=tuple(self.stages), provenance=provenance(self.prov), outcome=self.outcome,
            output=str(self.out_dir or ""), module=str(self.ko or ""),
            transaction=self.txn_id, seconds=round(time.monotonic() - start, 3))


def run_pipeline(opts: RunOptions, say: Say, stdin: TextIO, prompt_out: TextIO,
                 on_fail: Callable[[RunRecord], None] | None = None) -> RunRecord:
    """Run the stages up to ``opts.until``; the KmendError of the first stage that fails
    (after *on_fail* got the record so far, its last stage marked failed)."""
    if opts.until not in STAGES:
        raise UsageError(f"unknown stage {opts.until!r} for --until", ", ".join(STAGES))
    if opts.kdir is not None and opts.kernel is not None:
        raise UsageError("give --kdir or --kernel, not both", "")
    out = opts.output
    if out is not None and (out.is_symlink() or (out.exists() and (
            not out.is_dir() or any(out.iterdir())))):
        raise UsageError(f"{out} exists and is not an empty directory", "choose a new -o DIR")
    if opts.until == "install" and not opts.dry_run:
        require_asker(stdin, assume_yes=opts.yes)
    return _Run(opts, say, stdin, prompt_out, on_fail).run()
