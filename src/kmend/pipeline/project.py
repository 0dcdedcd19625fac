"""The stages of ``kmend run`` for an out-of-tree module project (a DKMS package).

locate: the culprit module (``--module`` overrides) must be one the project declares;
fixes: the base is the version that crashed (``--base`` as users write it, else the
version the log says the module loaded as), the head the default branch's tip, and the
search starts from the crash's functions (kmend.fixes.project); backport: the candidates
with the fix are built with the project's own Kbuild (kmend.backport.project) and the
first in policy order that builds is written out with its dkms.conf; build and check:
the whole project built again in the output directory, the culprit's ``.ko`` checked
with its sibling modules as providers.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kmend.backport.project import PCandidate, PProbe, plan, write_project_output
from kmend.build.kdir import Kdir
from kmend.errors import KmendError, NotInSource, UsageError
from kmend.fixes.project import ProjectCrash, describe, find_project_fixes, issue_number
from kmend.oops import CrashReport
from kmend.oops.culprit import header_site
from kmend.revs import short_rev
from kmend.source.git import GitRepo
from kmend.source.project import Project
from kmend.source.versions import kernel_version, resolve_version, version_from_log

Say = Callable[[str], None]
MAX_LOG_LINES = 2_000_000
#: The least score a fix must have to be chosen (kmend.fixes.project's weights: one
#: message naming the crash's function, a changed caller, a port to the crashed kernel).
MIN_SCORE = 10


@dataclass
class ProjectRun:
    repo: GitRepo
    project: Project
    module: str
    base: str = ""
    base_sha: str = ""
    fix: str | None = None
    chosen: PCandidate | None = None
    build_rel: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def crash_module(report: CrashReport, override: str | None, say: Say) -> str:
    if override:
        say(f"module {override} (--module)")
        return override
    if report.culprit_module:
        say(f"culprit {report.culprit_module}: {report.culprit_reason}")
        return report.culprit_module
    _, mod = header_site(report.header)
    if report.module or mod:
        return str(report.module or mod)
    raise UsageError(f"the crash {report.title!r} names no module",
                     "give --module NAME (the module to fix)")


def locate_project(repo: GitRepo, project: Project, report: CrashReport, *,
                   override: str | None, source: str, say: Say) -> ProjectRun:
    say(f"source: {source} is an out-of-tree module project: {project.why}")
    module = crash_module(report, override, say)
    if project.modules and not project.declares(module) and project.named_by_make:
        say(f"{project.name} declares {', '.join(project.modules)} and names others through "
            f"make variables: the build will show whether it makes {module}")
    elif project.modules and not project.declares(module):
        raise NotInSource(f"module {module} is not one of {project.name}'s modules "
                          f"({', '.join(project.modules)})",
                          "give --module NAME, or the project that builds it (--source)")
    if project.declares(module):
        say(f"{project.name} declares {', '.join(project.modules)}; {module} is one of them")
    elif not project.modules:
        say(f"{project.name} names its modules through make variables: the build will "
            f"show whether it makes {module}")
    build_rel = project.build_dir[len(project.root):].lstrip("/") if project.root else \
        project.build_dir
    return ProjectRun(repo, project, module, build_rel=build_rel)


def _log_lines(logs: Sequence[Path]) -> list[str]:
    from kmend.logs import read_paths

    out: list[str] = []
    for ln in read_paths([str(p) for p in logs]):
        out.append(ln.text)
        if len(out) >= MAX_LOG_LINES:
            break
    return out


def installed_version(module: str, release: str | None) -> str | None:
    """``modinfo -F version`` of *module* installed for the crashed kernel *release* on this
    host (a DKMS package installs its version there), else the version ``dkms status``
    names; None when it is not installed."""
    from kmend import proc

    if not release or not Path("/lib/modules", release).is_dir():
        return None
    res = proc.run(["modinfo", "-k", release, "-F", "version", module], timeout=30,
                   check=False)
    version = res.stdout.strip().splitlines()[0] if res.ok and res.stdout.strip() else ""
    return version or dkms_version(module, release)


def dkms_version(package: str, release: str) -> str | None:
    """The version ``dkms status`` says *package* is installed as for *release*
    (``v4l2loopback/0.12.7, 6.1.0-47-amd64, x86_64: installed``)."""
    import shutil

    from kmend import proc

    if shutil.which("dkms") is None:
        return None
    res = proc.run(["dkms", "status", "-m", package, "-k", release], timeout=60, check=False)
    return parse_dkms_status(res.stdout, package, release)


def parse_dkms_status(text: str, package: str, release: str) -> str | None:
    """The installed version of *package* for *release* in ``dkms status`` output (dkms 3
    writes ``name/version, kernel, arch: installed``; dkms 2 ``name, version, ...``)."""
    import re

    for line in text.splitlines():
        m = re.match(rf"^{re.escape(package)}[/,]\s*([^,\s]+),\s*{re.escape(release)}\b.*"
                     r":\s*installed", line.strip())
        if m:
            return m.group(1)
    return None


def search(run: ProjectRun, report: CrashReport, logs: Sequence[Path], *, base: str | None,
           fix: str | None, function: str | None, file: str | None, issue: str | None,
           say: Say) -> dict[str, Any]:
    repo = run.repo
    if base:
        res = resolve_version(repo, base)
        say(f"base {base} (--base): {res.how} ({res.sha[:12]})")
    else:
        lines = _log_lines(logs)
        seen = version_from_log(lines, run.module) or version_from_log(lines, run.project.name)
        where = f"the version the log says {run.module} loaded as"
        if seen is None:
            seen = installed_version(run.module, report.kernel_release)
            where = f"modinfo of the {run.module} installed for {report.kernel_release}"
        if seen is None:
            raise UsageError(f"the log does not say which version of {run.module} crashed "
                             "(and it is not installed here for the crashed kernel)",
                             "give --base VERSION (a tag, a version such as 0.12.2, or a "
                             "commit)")
        res = resolve_version(repo, seen)
        say(f"base {seen} ({where}): {res.how}")
    run.base, run.base_sha = res.name, res.sha
    head_sha = repo.resolve("HEAD")
    if fix:
        run.fix = repo.resolve(fix)
        say(f"fix given with --fix: {run.fix[:12]}; no search")
        return {"fix": run.fix, "base": run.base}
    header_fn = header_site(report.header)[0]
    pc_fn = report.pc.function if report.pc is not None else None
    functions = tuple(dict.fromkeys(f for f in (function, report.function, pc_fn, header_fn)
                                    if f))
    trace = tuple(f.function for f in report.frames if f.reliable)
    crash = ProjectCrash(functions=functions, trace=trace,
                         texts=tuple(t for t in (report.title, report.header) if t),
                         kernel=kernel_version(report.kernel_release),
                         issue=issue_number(issue), file=file)
    if issue and crash.issue is None:
        raise UsageError(f"--issue {issue!r} names no issue number", "give --issue N or URL")
    found = find_project_fixes(repo, run.project, (run.base, run.base_sha),
                               ("HEAD", head_sha), crash)
    say(f"searched {run.base}..HEAD ({head_sha[:12]}, the default branch's tip): "
        f"{found.touching_commits} commit(s) change the project's sources"
        + (f"; release branches {', '.join(found.release_branches)}"
           if found.release_branches else ""))
    describe(found, say)
    best = found.candidates[0] if found.candidates else None
    data: dict[str, Any] = {"base": run.base, "base_commit": run.base_sha,
                            "functions": {k: v[0] for k, v in found.targets.items()},
                            "candidates": [{"commit": c.commit, "subject": c.subject,
                                            "score": c.score,
                                            "first_release": c.first_release,
                                            "evidence": [e.detail for e in c.evidence]}
                                           for c in found.candidates[:5]]}
    if best is None or best.score < MIN_SCORE:
        say(f"no candidate scores {MIN_SCORE} or more (one strong piece of evidence): the "
            "backport takes the newest revision that builds; give --fix, --issue or "
            "--function if you know better")
        return data
    run.fix = best.commit
    say(f"chosen fix: {best.commit[:12]} (rank 1, score {best.score})")
    data.update(commit=best.commit, subject=best.subject, score=best.score,
                first_release=best.first_release,
                evidence=[e.detail for e in best.evidence])
    return data


def backport(run: ProjectRun, kd: Kdir, out: Path, policy: str, say: Say) -> dict[str, Any]:
    def show(p: PProbe) -> None:
        state = "builds" if p.ok else f"fails: {p.first_diagnostic}"
        say(f"probe {short_rev(p.rev):<27} {p.kind:<14} {state}  ({p.label[:60]}; "
            f"{p.seconds:.1f} s)")

    result = plan(run.repo, run.project, run.module, kd, base=run.base_sha, fix=run.fix,
                  policy=policy, on_probe=show)
    for note in result.notes:
        say(f"note: {note}")
    say(f"search: {result.search}")
    if result.chosen is None:
        lacks = "; ".join(result.needs[:8]) or "see the probes above"
        raise KmendError(f"no revision of {run.project.name} with the fix builds against "
                         f"{kd.release}: the target kernel lacks {lacks}",
                         "the project does not support this kernel at any revision with the "
                         "fix; port the failing code by hand")
    chosen = result.chosen
    run.chosen = chosen
    now = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    prov = "\n".join([
        f"# kmend run, {now}", f"project: {run.project.name} ({run.project.why})",
        f"module: {run.module}", f"base: {run.base} ({run.base_sha})",
        f"fix: {run.fix or '-'}", f"revision: {chosen.rev} ({chosen.kind}: {chosen.label})",
        f"policy: {policy}", f"target_kernel: {kd.release}", f"kdir: {kd.path}",
        f"search: {result.search}", "probes:",
        *(f"  {short_rev(p.rev):<25} {'builds' if p.ok else 'FAILS '} {p.kind:<14} "
          f"{p.seconds:.1f}s {p.first_diagnostic}" for p in result.probes)]) + "\n"
    _, _, version = write_project_output(run.repo, chosen, out, provenance=prov,
                                         module=run.module)
    say(f"chosen: {chosen.rev} ({chosen.kind}: {chosen.label}); dkms.conf PACKAGE_VERSION "
        f"{version}, AUTOINSTALL=yes")
    say(f"sources of the chosen revision written to {out}")
    return {"policy": policy, "chosen_rev": chosen.rev, "chosen_kind": chosen.kind,
            "chosen_label": chosen.label, "base_rev": run.base_sha,
            "package_version": version, "search": result.search,
            "probes": [{"rev": p.rev, "kind": p.kind, "ok": p.ok, "seconds": round(p.seconds, 2),
                        "change_size": p.change_size, "first_diagnostic": p.first_diagnostic}
                       for p in result.probes],
            "needs": list(result.needs), "output": str(out)}
