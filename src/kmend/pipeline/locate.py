"""The helpers of ``kmend run`` that talk to the source and the lab: where the crashed
module lives in the source (its Kbuild module), the fix search, the preflight boot."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kmend.errors import EnvironmentMissing, InputError, NotInSource
from kmend.oops import CrashReport
from kmend.source.git import GitRepo, is_url
from kmend.source.kbuild import KbuildModule, find_module
from kmend.source.view import GitView, SourceView

if TYPE_CHECKING:
    from kmend.fixes.model import FixCandidate
    from kmend.loadcheck.preflight import PreflightResult

Say = Callable[[str], None]


def _norm(name: str) -> str:
    return name.replace("-", "_")


@dataclass(frozen=True)
class Location:
    """The crashed module in the source."""

    file: str  # the source file the crash names ("" when it names none)
    file_in_source: bool
    module: KbuildModule | None  # None: the file is there but no Kbuild builds a module of it
    crash_module: str  # the module name the crash printed ("xen_evtchn")
    xen: bool  # a Xen module: preflight boots it as a Xen PV dom0
    git: bool  # the source has history (a git repository)
    local: str  # where the later stages read it: the source, or a URL's clone in the cache

    def require_module(self, source: str) -> KbuildModule:
        if self.module is None:
            raise NotInSource(f"{source} has {self.file} but no Kbuild Makefile builds it into "
                              f"module {self.crash_module}, so there is nothing to backport",
                              "give a full kernel source (git repository or tree) of the "
                              "crashed module")
        return self.module


def is_git(source: str) -> bool:
    if is_url(source):
        return True
    path = Path(source)
    return path.is_dir() and ((path / ".git").exists() or (
        (path / "HEAD").is_file() and (path / "objects").is_dir()))


def open_source(source: str, spec: str, say: Say) -> tuple[SourceView, GitRepo | None]:
    """A view of the newest version of *source*, and its repository when it has history
    (a URL is cloned into kmend's cache once, here, for every stage)."""
    from kmend.backport.planner import open_view
    from kmend.fixes.repo import open_repo

    if is_git(source):
        repo: GitRepo = open_repo(source, progress=say)
        return GitView(repo, "HEAD"), repo
    path = Path(source)
    if not path.exists():
        raise InputError(f"{source}: no such file or directory",
                         "give a kernel git repository, source tree or tarball with --source")
    return open_view(path, spec), None


def locate(report: CrashReport, source: str, say: Say) -> Location:
    """Find the crashed module's source file and its Kbuild module in *source*."""
    if report.module is None:
        raise InputError(f"the crash {report.title!r} is in built-in kernel code (no [module] "
                         "on the faulting line): a module fix cannot replace it",
                         "such a fix needs a new kernel; kmend fixes can still find it")
    file = report.location.file if report.location else ""
    view, repo = open_source(source, file or report.module, say)
    git = repo is not None
    in_source = bool(file) and view.read(file) is not None
    module: KbuildModule | None = None
    for spec in ((file,) if in_source else ()) + (report.module,):
        try:
            module = find_module(view, spec)
            break
        except InputError:
            continue
    if module is None and not in_source:
        where = f" ({file})" if file else ""
        raise NotInSource(f"module {report.module}{where} is not in {source}",
                          "give the kernel source the crashed module comes from (--source)")
    if git:
        say(f"source: {source} (git repository, newest revision {view.label})")
    else:
        say(f"source: {source} (a source tree or tarball: one version, no history)")
    if file:
        say(f"{file}: {'present' if in_source else 'NOT present'} in the source")
    if module is not None:
        say(f"Kbuild: {module.makefile} builds {module.name} ({module.kernel_name}) from "
            f"{', '.join(module.sources)}" + (f" [{module.config}]" if module.config else ""))
        if _norm(module.kernel_name) != _norm(report.module):
            say(f"note: the crash names module {report.module}, the source builds "
                f"{module.kernel_name} from {file}")
    else:
        say(f"no Kbuild Makefile in the source builds {file} into a module: the fix search "
            "can run, a backport cannot")
    xen = _norm(report.module).startswith("xen")
    if xen:
        say(f"{report.module} is a Xen module: a preflight boots it in a Xen PV dom0")
    local = str(repo.path) if repo is not None and is_url(source) else source
    return Location(file, in_source, module, report.module, xen, git, local)


def search_fixes(report: CrashReport, source: str, base: str | None, say: Say,
                 label: str | None = None) -> FixCandidate | None:
    """The best-ranked upstream fix for the crash in the history of *source* (named
    *label* to the user: the URL a cached clone came from)."""
    from kmend.fixes.base import resolve_range
    from kmend.fixes.crash import site_from_report
    from kmend.fixes.repo import open_repo
    from kmend.fixes.search import find_fixes

    site, release = site_from_report(report)
    repo = open_repo(source)
    rng = resolve_range(repo, base or release)
    found = find_fixes(repo, rng, site, limit=5)
    say(f"searched {label or source}: base {found.base} ({found.base_commit[:12]}"
        f"{', from the crashed kernel ' + release if release and not base else ''}); "
        f"{found.touching_commits} commits up to {found.head} change {found.file}")
    src = found.source
    if src is not None and src.text is not None:
        say(f"crash line {found.file}:{found.line}: {src.text.strip()}"
            + (f"  ({src.assertion} of: {src.condition})" if src.assertion else ""))
    for warning in found.warnings:
        say(f"warning: {warning}")
    for rank, cand in enumerate(found.candidates[:3], 1):
        release_text = cand.first_release or cand.first_tag or "unreleased"
        ports = [f"stable {p.commit[:12]} in {p.first_release or p.branch}"
                 + (" (in the base)" if p.in_base else "") for p in cand.stable_backports]
        say(f"#{rank} score {cand.score} {cand.commit[:12]} {cand.subject!r}, first release "
            f"{release_text}" + (f"; {'; '.join(ports)}" if ports else ""))
        for ev in cand.evidence:
            if ev.kind != "touches-file":
                say(f"     {ev.detail}")
    best = found.candidates[0] if found.candidates else None
    if best is None or best.score <= 0:
        say("no candidate with positive evidence: the backport takes the newest revision")
        return None
    say(f"chosen fix: {best.commit[:12]} (the best-ranked candidate)")
    return best


def pick_ko(modules: Sequence[Path], where: Location) -> Path:
    """The built .ko of the crashed module (a Kbuild directory can build several)."""
    want = _norm(where.module.kernel_name if where.module else where.crash_module)
    for ko in modules:
        if _norm(ko.name.removesuffix(".ko")) == want:
            return ko
    return modules[0]


def boot_and_load(ko: Path, release: str, xen: bool) -> tuple[PreflightResult, str]:
    """Boot *release* in QEMU (as a Xen PV dom0 for a Xen module) and load *ko* for real."""
    from kmend.lab import kernel_image
    from kmend.lab.xen import XEN_GZ
    from kmend.loadcheck.preflight import preflight

    hypervisor = None
    if xen:
        if not XEN_GZ.is_file():
            raise EnvironmentMissing(f"{XEN_GZ} is missing: a Xen module is preflighted "
                                     "under Xen", "apt-get install xen-hypervisor-4.17-amd64")
        hypervisor = XEN_GZ
    tree = Path("/lib/modules") / release
    res = preflight(ko, kernel_image(release),
                    modules_dir=tree if (tree / "modules.dep").is_file() else None,
                    xen=hypervisor)
    return res, (" as a Xen PV dom0" if xen else "")


def next_step(reload_detail: str) -> str:
    """What the operator must do for the new module to be used, from the reload step."""
    text = reload_detail or "load the module to use it"
    if text.startswith("reloaded"):
        return f"no reboot needed, the module was {text}"
    if "reboot needed" in text:
        return f"REBOOT NEEDED — {text}"
    return f"no reload done — {text}"
