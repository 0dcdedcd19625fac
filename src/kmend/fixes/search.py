"""Find and rank the upstream commits that fix a crash.

:func:`find_fixes` reads, in order: the crash file at the base (the crashing line, its
function, its BUG/WARN condition); ``git blame`` of the function at the base (which
commits wrote the crashing lines); the file's history from the base to the head with
patches; which of them change the function (its span in each parent, or ``git log -L``
with ``line_log``); the base's stable branch (backports after the base, and backports
already inside it).  Each commit touching the file becomes a candidate with the evidence
of :mod:`kmend.fixes.evidence`, weighted by :mod:`kmend.fixes.score`; the first release and the
first stable release of every reported candidate come from :mod:`kmend.fixes.tags`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

from kmend.errors import InputError
from kmend.fixes import history, tags
from kmend.fixes.base import SearchRange
from kmend.fixes.evidence import Facts, evidence, norm
from kmend.fixes.history import FileCommit
from kmend.fixes.model import CrashSite, Evidence, FixCandidate, FixReport, StableBackport
from kmend.fixes.score import weight
from kmend.fixes.source import source_at_crash
from kmend.kernel.release import changelog_check
from kmend.source.git import GitRepo, blame_lines, prefetch_path_blobs, resolve_many

Progress = Callable[[str], None]


def _match(prefix: str, shas: Iterable[str]) -> str | None:
    hits = [s for s in shas if s.startswith(prefix)]
    return hits[0] if len(hits) == 1 else None


def _stable(repo: GitRepo, rng: SearchRange, path: str, shas: list[str], *,
            place: dict[str, str | None], progress: Progress,
            ) -> dict[str, list[StableBackport]]:
    """Backports of *shas* on the base's stable branch, after and inside the base.

    The first release of every backport is looked up together with the commits in
    *place*, whose values are filled in with their first tags.
    """
    found: dict[str, list[StableBackport]] = {}
    if rng.stable_ref is None or rng.stable_branch is None or rng.base_tag is None:
        first = tags.first_tags(repo, list(place))
        place.update({sha: tag for sha, tag in first.items() if sha in place})
        return found
    progress(f"reading {rng.stable_branch} for backports")
    fork = repo.git("merge-base", rng.base_sha, rng.head_sha, check=False).stdout.strip()
    after = history.log_messages(repo, f"{rng.base_sha}..{rng.stable_ref}", path)
    inside = history.log_messages(repo, f"{fork}..{rng.base_sha}", path) if fork else []
    pairs = [(up, c, in_base) for commits, in_base in ((after, False), (inside, True))
             for c in commits for up in history.upstream_refs(c.body)]
    matched = [(target, c, in_base) for up, c, in_base in pairs
               if (target := _match(up, shas)) is not None]
    # One name-rev run places the backports and the mainline candidates together.
    first = tags.first_tags(repo, [c.sha for _, c, _ in matched] + list(place))
    for target, c, in_base in matched:
        found.setdefault(target, []).append(StableBackport(
            commit=c.sha, branch=rng.stable_branch, first_release=first.get(c.sha),
            in_base=in_base))
    place.update({sha: tag for sha, tag in first.items() if sha in place})
    return found


def _backports_of(repo: GitRepo, blamed: list[str]) -> dict[str, str]:
    """Upstream commit → the blamed commit of the base that is its stable backport.

    A stable kernel's crashing line is often written by a backport ("commit X upstream.")
    while the fix's ``Fixes:`` names the upstream commit X, which the base does not
    contain; without this map such a fix would look like one for a bug the crashed
    kernel cannot have.
    """
    if not blamed:
        return {}
    out = repo.git("show", "-s", "-z", "--format=%H%x1f%B", *blamed).stdout
    refs: dict[str, list[str]] = {}
    for record in out.split("\0"):
        sha, _, body = record.strip("\n").partition("\x1f")
        if sha and body:
            refs[sha] = history.upstream_refs(body)
    resolved = resolve_many(repo, [r for rs in refs.values() for r in rs])
    return {full: sha for sha, rs in refs.items() for r in rs
            if (full := resolved.get(r)) is not None and full != sha}


def find_fixes(repo: GitRepo, rng: SearchRange, site: CrashSite, *, limit: int = 20,
               line_log: bool = False, wide: bool = False,
               progress: Progress = lambda _msg: None) -> FixReport:
    """Rank the commits after the base that may fix the crash at *site*.

    Whether a commit changes the crash function is decided from its hunks and the
    function's span in its parent's version of the file (one ``cat-file --batch`` over
    blobs the patch log already fetched); with *line_log* git's own ``git log -L``
    tracking is used instead (slower on big histories: it walks the range without the
    changed-path Bloom filters).  With *wide*, commits anywhere in the range whose message
    has a ``Fixes:`` naming a commit that wrote the crash function, or names the function,
    become candidates too (one unlimited ``git log --grep``).
    """
    revs = [r for r in (rng.head_sha, rng.base_sha, rng.stable_ref) if r]
    if prefetch_path_blobs(repo, revs, site.file):
        progress(f"fetched the versions of {site.file}")
    progress(f"reading {site.file} at {rng.base}")
    if not repo.file_exists(rng.base_sha, site.file):
        raise InputError(f"{site.file} does not exist at {rng.base}",
                         f"check the path (git ls-tree {rng.base} -- DIR) and the base")
    text = repo.show_file(rng.base_sha, site.file)
    nlines = len(text.splitlines())
    if site.line is not None and not 1 <= site.line <= nlines:
        raise InputError(f"line {site.line} is past the end of {site.file} at {rng.base} "
                         f"({nlines} lines)", "check --line and --base")
    source = source_at_crash(text, site.file, rng.base, site.line, site.function)
    warnings = list(rng.warnings)
    if site.function and source.function and site.function != source.function:
        warnings.append(f"line {site.line} is in {source.function}() at {rng.base}, not in "
                        f"{site.function}(): the base may not be the crashed kernel's source")
    facts = Facts(site=site, source=source)
    if source.text is not None:
        facts.line_texts = {norm(source.text)}
    if source.function_start and source.function_end:
        blame = blame_lines(repo, rng.base_sha, site.file, source.function_start,
                            source.function_end)
        facts.blamed_function = set(blame.values())
        if source.line in blame:
            facts.blamed_line = {blame[source.line]}
    elif source.line:
        facts.blamed_line = set(blame_lines(repo, rng.base_sha, site.file, source.line,
                                            source.line).values())

    progress(f"searching {rng.base}..{rng.head} for commits touching {site.file}")
    paths = [site.file]
    if not repo.file_exists(rng.head_sha, site.file):
        paths += history.later_names(repo, rng.base_sha, rng.head_sha, site.file)
        for later in paths[1:]:
            prefetch_path_blobs(repo, [rng.head_sha], later)
        if len(paths) > 1:
            warnings.append(f"{site.file} was renamed after {rng.base}: also searched "
                            + ", ".join(paths[1:]))
    commits = history.file_history(repo, rng.base_sha, rng.head_sha, paths)
    fn = source.function or site.function
    facts.parent_lines = history.parent_texts(repo, commits, site.file)
    if fn and (source.line is None or not line_log):
        facts.spans = history.function_spans(repo, commits, site.file, fn,
                                             facts.parent_lines)
    if fn and line_log:
        found = history.function_history(repo, rng.base_sha, rng.head_sha, site.file, fn)
        facts.function_commits = set(found) if found is not None else None
        facts.function_how = "git log -L"
    elif fn and any(facts.spans.values()):
        facts.function_commits = {c.sha for c in commits
                                  if (span := facts.spans.get(c.sha)) is not None
                                  and history.touches_span(c, span)}

    facts.file_commits = {c.sha for c in commits}
    if wide:
        progress(f"searching every message in {rng.base}..{rng.head}")
        blamed = sorted(facts.blamed_line | facts.blamed_function)
        patterns = [f"^fixes: *{b[:12]}" for b in blamed]
        if fn:
            patterns.append(rf"(^|[^a-z0-9_]){fn}([^a-z0-9_]|$)")
        extra = history.grep_messages(repo, rng.base_sha, rng.head_sha, patterns)
        commits += [c for c in extra if c.sha not in facts.file_commits]
    abbrevs = [a for c in commits for a, _ in history.fixes_tags(c.body)]
    facts.fixes_targets = resolve_many(repo, abbrevs)
    blamed_all = sorted(facts.blamed_line | facts.blamed_function)
    facts.backported_as = _backports_of(repo, blamed_all)
    if blamed_all and any(facts.fixes_targets.get(a) is None for a in abbrevs):
        out = repo.git("show", "-s", "--format=%H%x1f%s", *blamed_all).stdout
        facts.blamed_subjects = {subj: h for h, _, subj in
                                 (ln.partition("\x1f") for ln in out.splitlines()) if subj}
    for target in {t for t in facts.fixes_targets.values() if t}:
        facts.reachable[target] = (target in facts.backported_as
                                   or repo.is_ancestor(target, rng.base_sha))
    shas = [c.sha for c in commits]
    for c in commits:
        for ref in history.reverted(c.body):
            hit = _match(ref, shas)
            if hit:
                facts.reverted_by[hit] = c.sha

    scored: list[tuple[FileCommit, list[Evidence]]] = []
    for c in reversed(commits):  # oldest first, so a rewritten condition is followed
        scored.append((c, evidence(c, facts)))
    # Commits likely to be reported get their first tag in the same name-rev run as the
    # backports; _with_releases places any others.
    ranked = sorted(scored, key=lambda p: -sum(e.weight for e in p[1]))
    place: dict[str, str | None] = {c.sha: None for c, _ in ranked[:max(limit, 0) or None]}
    backports = _stable(repo, rng, site.file, shas, place=place, progress=progress)
    candidates: list[FixCandidate] = []
    for c, ev in scored:
        ports = tuple(backports.get(c.sha, ()))
        if any(p.in_base for p in ports):
            where = next(p for p in ports if p.in_base)
            ev.append(Evidence("in-base", f"already in the base: backported as "
                               f"{where.commit[:12]} ({where.first_release or where.branch})",
                               weight("in-base")))
        elif ports:
            ev.append(Evidence("stable-backport", f"backported to {ports[0].branch} as "
                               f"{ports[0].commit[:12]} ({ports[0].first_release or 'untagged'})",
                               weight("stable-backport")))
        candidates.append(FixCandidate(
            commit=c.sha, subject=c.subject, score=sum(e.weight for e in ev),
            evidence=tuple(sorted(ev, key=lambda e: -e.weight)), first_release=None,
            stable_backports=ports, author_date=c.author_date))
    candidates.sort(key=lambda k: (-k.score, k.author_date))
    top = candidates[:limit] if limit > 0 else candidates
    top = _with_releases(repo, rng, top, place, progress)
    checks: list[str] = []
    rel = rng.release
    if rel is not None and (rel.heavy_backports or not rel.exact or rel.distro == "debian"):
        checks = [cmd for c in top[:3] if (cmd := changelog_check(rel, c.subject))]
    return FixReport(
        base=rng.base, file=site.file, function=source.function or site.function,
        line=source.line, source_line=source.text, candidates=tuple(top), head=rng.head,
        base_commit=rng.base_sha, release=rng.release.raw if rng.release else None,
        source=source, stable_branch=rng.stable_branch, touching_commits=len(facts.file_commits),
        warnings=tuple(warnings), checks=tuple(checks),
    )


def _with_releases(repo: GitRepo, rng: SearchRange, top: list[FixCandidate],
                   known: dict[str, str | None], progress: Progress) -> list[FixCandidate]:
    if not top:
        return top
    progress("placing candidates in releases")
    first = {sha: tag for sha, tag in known.items() if tag}
    missing = [c.commit for c in top if c.commit not in known]
    if missing:
        first.update(tags.first_tags(repo, missing))
    out = []
    for c in top:
        tag = first.get(c.commit)
        final = tags.first_final(tag, rng.tags) if tag else None
        out.append(replace(c, first_tag=tag, first_release=final))
    order = {t.name: t.key for t in rng.tags}
    never = (10**6, 0, 0, 0, 0)
    out.sort(key=lambda k: (-k.score, order.get(k.first_tag or "", never), k.author_date))
    return out
