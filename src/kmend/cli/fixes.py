"""`kmend fixes`: ranked upstream fix candidates for a crash, with evidence.

Exit codes: 0 done (even with no candidate); 2 bad arguments or an unparseable release;
3 git missing or log decoding unavailable; 4 a file or line not at the base, a log without
a crash; 5 a git command failed (e.g. a clone); 7 the base tag is not in the repository.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from kmend.cli import options
from kmend.cli.common import console_for, emit_json, err_console
from kmend.errors import InputError, UsageError
from kmend.fixes.base import resolve_range
from kmend.fixes.crash import site_from_log
from kmend.fixes.model import CrashSite, FixReport
from kmend.fixes.repo import open_repo
from kmend.fixes.search import find_fixes
from kmend.source.git import GitRepo
from kmend.source.project import Project


def _render(report: FixReport, json_mode: bool) -> None:
    # The shared console: piped output gets room (not rich's 80 columns), and a reader
    # that goes away (`kmend fixes … | head -1`) costs nothing but the output.  Every
    # text here comes from the repository or the log (untrusted): printed, never markup.
    con = console_for(json_mode)
    src = report.source
    con.print(f"base {report.base} ({report.base_commit[:12]}): {report.touching_commits} "
              f"commits up to {report.head} change {report.file}", markup=False)
    if src is not None:
        where = f"{report.file}:{report.line}" if report.line else report.file
        span = (f" (lines {src.function_start}-{src.function_end})"
                if src.function_start else "")
        con.print(f"crash site {where} in {report.function or '?'}(){span}", markup=False)
        for number, text in src.context or (((report.line or 0), src.text or ""),):
            mark = ">" if number == report.line else " "
            con.print(f" {mark}{number:>5} | {text.expandtabs(8).rstrip()}", markup=False,
                      soft_wrap=True)
        if src.assertion:
            con.print(f"  {src.assertion} condition: {src.condition or '?'}", markup=False)
    for warning in report.warnings:
        con.print(f"warning: {warning}", markup=False)
    if not report.candidates:
        con.print(f"no commit after {report.base} touches {report.file}", markup=False)
        return
    table = Table(show_lines=False)
    for col in ("rank", "score", "commit", "subject", "first release", "evidence"):
        table.add_column(col, overflow="fold")
    for rank, c in enumerate(report.candidates, 1):
        release = c.first_release or c.first_tag or "unreleased"
        if c.first_tag and c.first_tag != c.first_release:
            release += f" ({c.first_tag})"
        for port in c.stable_backports:
            state = "in base" if port.in_base else port.first_release or port.branch
            release += f"\nstable {port.commit[:12]}: {state}"
        evidence = "\n".join(e.detail for e in c.evidence if e.kind != "touches-file")
        table.add_row(str(rank), str(c.score), c.commit[:12], Text(c.subject), Text(release),
                      Text(evidence or "changes the file"))
    con.print(table)
    if report.checks:
        con.print(f"whether {report.release} already carries a candidate (distro backport):",
                  markup=False)
        for cmd in report.checks:
            con.print(f"  {cmd}", markup=False, soft_wrap=True)


def _project_fixes(git: GitRepo, project: Project, logs: list[Path], index: int | None, *,
                   function: str | None, file: str | None, base: str | None,
                   head: str | None, issue: str | None, limit: int, json_mode: bool) -> None:
    """``kmend fixes`` on an out-of-tree module project (kmend.fixes.project)."""
    from kmend.fixes.project import ProjectCrash, describe, find_project_fixes, issue_number
    from kmend.logs import read_paths
    from kmend.oops.culprit import header_site
    from kmend.source.versions import kernel_version, resolve_version, version_from_log
    from kmend.triage.choose import choose
    from kmend.triage.scan import dated

    con = console_for(json_mode)

    def say(text: str) -> None:
        con.print(text, markup=False, highlight=False, soft_wrap=True)

    say(f"{git.path} is an out-of-tree module project: {project.why}")
    rep = None
    if logs:
        reports = list(dated(read_paths([str(p) for p in logs])))
        if not reports:
            raise InputError(f"no kernel crash found in {', '.join(map(str, logs))}",
                             "check the log (kmend scan) or give --function")
        rep = reports[choose(reports, index)[0]]
    if base is None and rep is not None:
        module = rep.culprit_module or rep.module or project.name
        base = version_from_log((ln.text for ln in read_paths([str(p) for p in logs])),
                                module)
    if base is None:
        raise UsageError("no base: the version of the module that crashed",
                         "give --base VERSION (a tag, a version such as 0.12.2, or a commit)")
    res = resolve_version(git, base)
    say(f"base {base}: {res.how} ({res.sha[:12]})")
    names: list[str | None] = [function]
    if rep is not None:
        names += [rep.function, rep.pc.function if rep.pc else None,
                  header_site(rep.header)[0]]
    crash = ProjectCrash(
        functions=tuple(dict.fromkeys(n for n in names if n)),
        trace=tuple(f.function for f in rep.frames if f.reliable) if rep else (),
        texts=tuple(t for t in ((rep.title, rep.header) if rep else ()) if t),
        kernel=kernel_version(rep.kernel_release) if rep else None,
        issue=issue_number(issue), file=file)
    head_rev = head or "HEAD"
    found = find_project_fixes(git, project, (res.name, res.sha),
                               (head_rev, git.resolve(head_rev)), crash, limit=limit)
    say(f"{found.touching_commits} commit(s) in {res.name}..{head_rev} change the project's "
        "sources")
    describe(found, say, shown=limit or len(found.candidates))
    if json_mode:
        emit_json(found)


def register(app: typer.Typer) -> None:
    @app.command("fixes")
    def _cmd(  # noqa: PLR0917 - typer options
        logs: Annotated[list[Path] | None, typer.Argument(
            help="log files, directories or - for stdin, with the crash")] = None,
        source: options.Source = None,
        log: Annotated[list[Path] | None, typer.Option(
            "--log", hidden=True, help="the same as a LOGS argument (older form)")] = None,
        index: options.Index = None,
        file: Annotated[str | None, typer.Option("--file", help="crash source file")] = None,
        function: Annotated[str | None, typer.Option("--function",
                                                     help="crash function")] = None,
        line: Annotated[int | None, typer.Option("--line", help="crash line")] = None,
        base: options.Base = None,
        head: options.Head = None,
        title: Annotated[str | None, typer.Option("--title", help="crash title to look "
                                                  "for in commit messages")] = None,
        limit: Annotated[int, typer.Option("--limit", help="candidates to report "
                                           "(0: all)")] = 20,
        line_log: Annotated[bool, typer.Option(
            "--line-log", help="decide 'changes the function' with git log -L (slower)")] = False,
        wide: Annotated[bool, typer.Option(
            "--wide", help="also search every commit message of the range (Fixes: naming "
            "the crash function's commits, the function's name); slower")] = False,
        json_mode: options.Json = False,
        issue: Annotated[str | None, typer.Option(
            "--issue", help="module project: the issue the crash was reported in (N or "
            "URL)")] = None,
    ) -> int:
        """Find and rank the upstream commits that fix a crash, with evidence."""
        if source is None:
            raise UsageError("no --source given", "--source ~/linux (a kernel history, a module "
                             "project's repository, a path or a URL)")
        repo = source
        log = [*(logs or []), *(log or [])]
        show = err_console.is_terminal

        def progress(msg: str) -> None:
            if show:
                err_console.print(f"{msg}…", style="dim", markup=False)

        if log or function:
            from kmend.source.project import project_at

            git = open_repo(repo, progress=progress)
            project = project_at(git, head or "HEAD")
            if project is not None:
                _project_fixes(git, project, log or [], index, function=function, file=file,
                               base=base, head=head, issue=issue, limit=limit,
                               json_mode=json_mode)
                return 0
        if log and file:
            raise UsageError("give either a log or --file, not both",
                             "LOGS [--index N] or --file F --function FN [--line L]")
        if not log and not (file and (function or line)):
            raise UsageError("no crash given",
                             "give the log (LOGS), or --file F with --function FN and/or --line L")
        release: str | None = None
        if log:
            site, release = site_from_log(log, index)
            if title:
                site = replace(site, title=title, alt_titles=(
                    *((site.title,) if site.title else ()), *site.alt_titles))
        else:
            assert file is not None
            site = CrashSite(file=file.removeprefix("./"), function=function, line=line,
                             title=title)
        git = open_repo(repo, progress=progress)
        rng = resolve_range(git, base or release, head=head)
        report = find_fixes(git, rng, site, limit=limit, line_log=line_log,
                            wide=wide, progress=progress)
        if json_mode:
            emit_json(report)
        _render(report, json_mode)
        return 0
