"""Find and rank the upstream commits that fix a crash.

:func:`find_fixes` reads, in order: the crash file at the base (the crashing line, its
function, its BUG/WARN condition); ``git blame`` of the function at the base (which
commits wrote the crashing lines); the file's history from the base to the head with
patches; which of them change the function (its span in each parent, or ``git log -L``
with ``line_log``); the base's stable branch (backports after the
base, and backports already inside it).  Each commit touching the file becomes a
candidate with the evidence listed in :mod:`kmend.fixes.score`; the first release and the
first stable release of every reported candidate come from :mod:`kmend.fixes.tags`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from kmend.errors import InputError
from kmend.fixes import history, tags
from kmend.fixes.base import SearchRange
from kmend.fixes.history import FileCommit
from kmend.fixes.model import (
    CrashSite,
    Evidence,
    FixCandidate,
    FixReport,
    SourceAtCrash,
    StableBackport,
)
from kmend.fixes.score import weight
from kmend.fixes.source import source_at_crash
from kmend.source.git import GitRepo, blame_lines, prefetch_path_blobs, resolve_many

Progress = Callable[[str], None]
_ASSERT_RE = re.compile(r"\b(?:BUG_ON|BUG|WARN_ON_ONCE|WARN_ON|WARN_ONCE|WARN|VM_BUG_ON)\s*\(")


def _norm(text: str) -> str:
    return " ".join(text.split())


@dataclass
class _Facts:
    """What the search learned about the base, shared by every candidate's scoring."""

    site: CrashSite
    source: SourceAtCrash
    blamed_line: set[str] = field(default_factory=set)
    blamed_function: set[str] = field(default_factory=set)
    function_commits: set[str] | None = None
    fixes_targets: dict[str, str | None] = field(default_factory=dict)
    reachable: dict[str, bool] = field(default_factory=dict)
    reverted_by: dict[str, str] = field(default_factory=dict)
    line_texts: set[str] = field(default_factory=set)
    function_how: str = ""
    file_commits: set[str] = field(default_factory=set)
    blamed_subjects: dict[str, str] = field(default_factory=dict)
    spans: dict[str, tuple[int, int] | None] = field(default_factory=dict)


def _quote_evidence(c: FileCommit, f: _Facts) -> list[Evidence]:
    out: list[Evidence] = []
    message = f"{c.subject}\n{c.body}"
    site = f.site
    quoted = next((t for t in (site.title, *site.alt_titles)
                   if t and history.message_quotes(t, message)), None)
    if quoted:
        out.append(Evidence("quotes-title", f'message quotes the crash: "{quoted}"',
                            weight("quotes-title")))
    elif f.source.function and f"{site.file}:" in message and f.source.function in message:
        out.append(Evidence("quotes-site", f"message quotes a crash report at {site.file} "
                            f"in {f.source.function}()", weight("quotes-site")))
    fn = f.source.function or site.function
    if fn and re.search(rf"\b{re.escape(fn)}\b", message):
        out.append(Evidence("names-function", f"message names {fn}()", weight("names-function")))
    callers = [t for t in site.trace_functions if t != fn
               and re.search(rf"\b{re.escape(t)}\b", message)]
    for name in callers[:2]:
        out.append(Evidence("names-caller", f"message names {name}() from the call trace",
                            weight("names-caller")))
    return out


def _assertion_evidence(c: FileCommit, f: _Facts) -> list[Evidence]:
    """Without a crash line: the commit deletes a BUG/WARN assertion inside the function."""
    span = f.spans.get(c.sha)
    fn = f.source.function
    if span is None or not fn:
        return []
    added = {_norm(a) for a in c.added}
    for h in c.hunks:
        for i, text in enumerate(h.removed):
            m = _ASSERT_RE.search(text)
            if m and span[0] <= h.old_start + i <= span[1] and _norm(text) not in added:
                return [Evidence("removes-assertion", f"removes {_norm(text)} from {fn}()",
                                 weight("removes-assertion"))]
    return []


def _line_evidence(c: FileCommit, f: _Facts) -> list[Evidence]:
    src = f.source
    if src.line is None:
        return _assertion_evidence(c, f)
    if src.text is None:
        return []
    removed = {_norm(r) for r in c.removed}
    hit = f.line_texts & removed
    if not hit:
        return []
    added = [a for a in c.added if a.strip()]
    if any(_norm(a) in f.line_texts for a in added):
        return [Evidence("moves-line", f"moves the crashing line {src.line} unchanged",
                         weight("moves-line"))]
    where = f"line {src.line}"
    if src.assertion:
        macro = src.assertion
        rewritten = [a for a in added if re.search(rf"\b{macro}\s*\(", a)]
        if rewritten:
            f.line_texts.update(_norm(a) for a in rewritten)
            return [Evidence("changes-condition",
                             f"changes the {macro} condition at {where}: "
                             f"{_norm(next(iter(hit)))} → {_norm(rewritten[0])}",
                             weight("changes-condition"))]
        return [Evidence("removes-line", f"removes the {macro} at {where}",
                         weight("removes-line"))]
    return [Evidence("rewrites-line", f"removes or rewrites the crashing {where}: "
                     f"{_norm(src.text)}", weight("rewrites-line"))]


def _fixes_evidence(c: FileCommit, f: _Facts) -> list[Evidence]:
    out: list[Evidence] = []
    newer: list[str] = []
    for abbrev, subject in history.fixes_tags(c.body):
        target = f.fixes_targets.get(abbrev)
        label = f'{abbrev[:12]} ("{subject}")' if subject else abbrev[:12]
        if target is None and subject and subject in f.blamed_subjects:
            # The id is from another tree (a distro or a rebased branch): the subject
            # names one of the commits that wrote the crash function.
            target = f.blamed_subjects[subject]
            label += " (matched by subject)"
        if target is None:
            continue
        if target in f.blamed_line:
            out.append(Evidence("fixes-blamed", f"Fixes: {label}, the commit that last changed "
                                f"line {f.source.line} at the base", weight("fixes-blamed")))
        elif target in f.blamed_function:
            out.append(Evidence("fixes-function", f"Fixes: {label}, which wrote part of "
                                f"{f.source.function}() at the base", weight("fixes-function")))
        elif f.reachable.get(target):
            out.append(Evidence("fixes-base", f"Fixes: {label}, a commit the base contains",
                                weight("fixes-base")))
        else:
            newer.append(label)
    if newer and not out:
        out.append(Evidence("fixes-newer", f"Fixes: {', '.join(newer)}, not in the base: it "
                            "fixes a bug the crashed kernel cannot have", weight("fixes-newer")))
    return out


def _evidence(c: FileCommit, f: _Facts) -> list[Evidence]:
    ev = _line_evidence(c, f)
    ev += _fixes_evidence(c, f)
    fn = f.source.function
    if f.function_commits is not None and c.sha in f.function_commits and fn:
        how = f" ({f.function_how})" if f.function_how else ""
        ev.append(Evidence("changes-function", f"changes {fn}(){how}",
                           weight("changes-function")))
    elif f.function_commits is None and fn and any(fn in h.context or
                                                   any(fn in x for x in h.removed + h.added)
                                                   for h in c.hunks):
        ev.append(Evidence("changes-function", f"changes {fn}() (hunk context)",
                           weight("changes-function")))
    ev += _quote_evidence(c, f)
    if history.cc_stable(c.body):
        ev.append(Evidence("cc-stable", "Cc: stable (asked for backports)", weight("cc-stable")))
    if c.sha in f.reverted_by:
        ev.append(Evidence("reverted", f"reverted by {f.reverted_by[c.sha][:12]}",
                           weight("reverted")))
    if c.sha in f.file_commits:
        ev.append(Evidence("touches-file", f"changes {f.site.file}", weight("touches-file")))
    return ev


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
    facts = _Facts(site=site, source=source)
    if source.text is not None:
        facts.line_texts = {_norm(source.text)}
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
    if fn and (source.line is None or not line_log):
        facts.spans = history.function_spans(repo, commits, site.file, fn)
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
    if blamed_all and any(facts.fixes_targets.get(a) is None for a in abbrevs):
        out = repo.git("show", "-s", "--format=%H%x1f%s", *blamed_all).stdout
        facts.blamed_subjects = {subj: h for h, _, subj in
                                 (ln.partition("\x1f") for ln in out.splitlines()) if subj}
    for target in {t for t in facts.fixes_targets.values() if t}:
        facts.reachable[target] = repo.is_ancestor(target, rng.base_sha)
    shas = [c.sha for c in commits]
    for c in commits:
        for ref in history.reverted(c.body):
            hit = _match(ref, shas)
            if hit:
                facts.reverted_by[hit] = c.sha

    scored: list[tuple[FileCommit, list[Evidence]]] = []
    for c in reversed(commits):  # oldest first, so a rewritten condition is followed
        scored.append((c, _evidence(c, facts)))
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
    return FixReport(
        base=rng.base, file=site.file, function=source.function or site.function,
        line=source.line, source_line=source.text, candidates=tuple(top), head=rng.head,
        base_commit=rng.base_sha, release=rng.release.raw if rng.release else None,
        source=source, stable_branch=rng.stable_branch, touching_commits=len(facts.file_commits),
        warnings=tuple(warnings),
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
