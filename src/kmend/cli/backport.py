"""`kmend backport`: choose the module revision that contains the fix and builds on the target."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from kmend.backport.candidates import module_at, module_files
from kmend.backport.checkhook import check_built
from kmend.backport.model import BackportPlan, Probe
from kmend.backport.output import write_output
from kmend.backport.planner import plan_backport
from kmend.backport.search import default_jobs
from kmend.build.kdir import Kdir, find_kdir
from kmend.build.runner import build_dir
from kmend.cli import options
from kmend.cli.common import console_for, emit_json, err_console
from kmend.errors import UsageError
from kmend.revs import short_rev
from kmend.sign.keys import KeyPair
from kmend.sign.step import describe, key_for_build, sign_built
from kmend.source.git import GitRepo
from kmend.source.project import Project


def _probe_line(p: Probe) -> str:
    mark = "builds" if p.ok else "fails "
    line = f"  {short_rev(p.rev):<25} {mark} {p.seconds:5.1f}s  {p.label[:60]}"
    if not p.ok:
        line += f"\n      first: {p.first_diagnostic}"
        if p.needs:
            line += f"\n      needs: {'; '.join(p.needs)}"
    return line


def render(plan: BackportPlan, console: Console) -> None:
    _say(console, f"module {plan.module}: {len(plan.probes)} probe(s) of {plan.candidates} "
                  f"candidate(s) against {plan.target} (policy {plan.policy})")
    _say(console, f"search: {plan.search}")
    if plan.chosen_rev:
        _say(console, f"chosen: {short_rev(plan.chosen_rev or '')} ({plan.chosen_kind}: "
                      f"{plan.chosen_label})")
    else:
        _say(console, "chosen: none — no candidate builds against the target")
    for line in plan.explanation:
        _say(console, f"  - {line}")


def _say(console: Console, text: str) -> None:
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    @app.command("backport")
    def _cmd(  # noqa: PLR0917 (typer maps options to parameters)
        source: Annotated[str, typer.Option("--source", help=options.HELP["--source"])],
        module: Annotated[str, typer.Option("--module", help="module name or source file")],
        output: options.Output = None,
        kdir: options.Kdir = None,
        kernel: options.Kernel = None,
        fix: Annotated[str | None, typer.Option("--fix", help="fix commit (or patch file)")] = None,
        policy: Annotated[str | None, typer.Option("--policy", help=options.HELP["--policy"])
                          ] = None,
        base: options.Base = None,
        base_source: Annotated[Path | None, typer.Option(
            "--base-source", help="the target's own source tree (tree sources)")] = None,
        head: options.Head = None,
        jobs: options.Jobs = None,
        exhaustive: Annotated[bool, typer.Option(
            "--exhaustive", help="probe every candidate revision, not only until the first "
            "that builds (to see what each one lacks)")] = False,
        force: Annotated[bool, typer.Option("--force", help="replace a non-empty -o DIR")] = False,
        sign: options.Sign = False,
        key: options.Key = None,
        cert: options.Cert = None,
        json_mode: options.Json = False,
    ) -> int:
        """Pick and prepare a revision of MODULE that builds against the target headers."""
        console = console_for(json_mode)
        if output is None:
            raise UsageError("no -o/--output directory given", "-o DIR: where the tree goes")
        # the same default as kmend run: the smallest change with a fix, else the newest
        policy = options.check_policy(policy or ("minimal" if fix else "newest"))
        newest = head or "HEAD"
        if output.exists() and not force and (
                not output.is_dir() or any(output.iterdir())):
            raise UsageError(f"{output} exists and is not an empty directory",
                             "choose a new or empty -o DIR (or --force)")
        kd = find_kdir(kdir, kernel)
        pair = key_for_build(sign, key, cert)
        project = _project_of(source, module)
        if project is not None:
            return _project_backport(project[0], project[1], module, kd, output, fix=fix,
                                     base=base, newest=newest, policy=policy,
                                     console=console, json_mode=json_mode, pair=pair)
        result = plan_backport(
            source, module, kd, policy=policy, fix=fix, base=base, newest=newest,
            base_source=base_source, jobs=jobs or default_jobs(), exhaustive=exhaustive,
            on_probe=lambda p: _say(console, _probe_line(p)),
            notify=lambda text: _say(err_console, text))
        plan = result.plan
        render(plan, console)
        doc: dict[str, Any] = {**_plan_dict(plan), "output": None, "modules": [], "check": []}
        code = 1
        if result.chosen is not None:
            mod = module_at(result.chosen.view, result.candidates.module)
            assert mod is not None  # the probe of the chosen candidate found it
            dest = write_output(output, module_files(result.chosen.view, mod), mod, plan,
                                force=force)
            built = build_dir(dest, kd)
            doc["output"] = str(dest)
            doc["modules"] = [str(m) for m in built.modules]
            _say(console, f"output: {dest}")
            if built.ok:
                code = 0
                signed = sign_built(built.modules, pair, kd.path) if pair else []
                for res in signed:
                    _say(console, describe(res))
                doc["signed"] = signed
                for ko in built.modules:
                    _say(console, f"built: {ko}")
                    summary = check_built(ko, kd.path)
                    doc["check"].append(summary.doc)
                    _say(console, "check: " + "\n".join(summary.lines))
                    if not summary.will_load:
                        code = 1
            else:
                first = built.first_error
                _say(console, f"build of the output failed: {first.one_line() if first else ''}")
        if json_mode:
            emit_json(doc)
        return code


def _project_of(source: str, module: str) -> tuple[GitRepo, Project] | None:
    """The repository and module project *source* is (None: a kernel history or tree)."""
    from kmend.fixes.repo import open_repo
    from kmend.pipeline.locate import is_git
    from kmend.source.project import project_at

    if not is_git(source):
        return None
    repo = open_repo(source)
    project = project_at(repo, "HEAD", module=module)
    return (repo, project) if project is not None else None


def _project_backport(repo: GitRepo, project: Project, module: str, kd: Kdir, output: Path,
                      *, fix: str | None, base: str | None, newest: str, policy: str,
                      console: Console, json_mode: bool, pair: KeyPair | None) -> int:
    """``kmend backport`` of an out-of-tree module project (kmend.backport.project)."""
    from kmend.backport.project import plan as project_plan
    from kmend.backport.project import write_project_output
    from kmend.build.project import build_copy, ko_named
    from kmend.source.versions import resolve_version

    _say(console, f"{source_label(repo)} is an out-of-tree module project: {project.why}")
    if base is None:
        raise UsageError("a module project needs --base (the version that crashed)",
                         "give --base as a tag, a version such as 0.12.2, or a commit")
    res = resolve_version(repo, base)
    _say(console, f"base {base}: {res.how} ({res.sha[:12]})")
    fix_sha = repo.resolve(fix) if fix else None
    if policy == "minimal" and fix_sha is None:
        raise UsageError("--policy minimal needs --fix", "give the fix commit")
    result = project_plan(repo, project, module, kd, base=res.sha, fix=fix_sha, head=newest,
                          policy=policy, on_probe=lambda p: _say(
                              console, f"  {short_rev(p.rev):<25} {'builds' if p.ok else 'fails '} "
                              f"{p.seconds:5.1f}s  {p.label[:60]}"
                              + ("" if p.ok else f"\n      first: {p.first_diagnostic}")))
    _say(console, f"search: {result.search}")
    doc: dict[str, Any] = {"project": project.name, "why": project.why, "base": res.sha,
                           "fix": fix_sha, "search": result.search,
                           "probes": [vars(p) for p in result.probes],
                           "needs": list(result.needs), "output": None, "check": None}
    if result.chosen is None:
        _say(console, "chosen: none — the target lacks: " + "; ".join(result.needs[:8]))
        if json_mode:
            emit_json(doc)
        return 1
    prov = f"# kmend backport\nrevision: {result.chosen.rev} ({result.chosen.label})\n"
    dest, _, version = write_project_output(repo, result.chosen, output, provenance=prov,
                                            module=module)
    _say(console, f"chosen: {result.chosen.rev} ({result.chosen.kind}: {result.chosen.label});"
                  f" output {dest} (dkms.conf PACKAGE_VERSION {version})")
    rel = project.build_dir[len(project.root):].lstrip("/") if project.root else \
        project.build_dir
    built = build_copy(dest, rel, kd)
    ko = ko_named(built.modules, module) if built.ok else None
    doc["output"] = str(dest)
    if ko is None:
        _say(console, f"build of the output failed: {built.first_error}")
        if json_mode:
            emit_json(doc)
        return 1
    if pair is not None:
        signed = sign_built(built.modules, pair, kd.path)
        for res_sign in signed:
            _say(console, describe(res_sign))
        doc["signed"] = signed
    summary = check_built(ko, kd.path, siblings=dest)
    doc["check"] = summary.doc
    _say(console, "check: " + "\n".join(summary.lines))
    if json_mode:
        emit_json(doc)
    return 0 if summary.will_load else 1


def source_label(repo: GitRepo) -> str:
    return str(repo.path)


def _plan_dict(plan: BackportPlan) -> dict[str, Any]:
    from kmend.jsonout import to_jsonable

    out = to_jsonable(plan)
    assert isinstance(out, dict)
    return out
