"""Candidate versions of a module: upstream revisions, the target's own version, base+fix.

For a git repository the candidates are the commits that change the module's files
(its Makefile, sources and local headers, at the newest revision and at the base),
oldest first: from the fix commit (every descendant of it, ``--ancestry-path``) or from
the base when no fix is given, up to the newest revision; a merge whose module files are
those of a parent that is a candidate too is left out.  The "fix on base" candidate is
the target's own version with the fix merged in, file by file, with ``git merge-file``.

For an unpacked tree (or tarball) there is one candidate, the tree itself; with
``--base-source`` (the target's own tree) and a fix patch, base+fix is added.
"""

from __future__ import annotations

import difflib
import posixpath
import re
from dataclasses import dataclass

from kmend.backport import model
from kmend.backport.apply import apply_patch, merge3
from kmend.backport.model import Candidate
from kmend.build.kbuildfile import kbuild_text
from kmend.errors import InputError, UsageError
from kmend.source.git import Commit, GitRepo
from kmend.source.kbuild import KbuildModule, find_module, module_in_makefile
from kmend.source.view import GitView, OverlayView, SourceView

MAX_REVISIONS = 500


@dataclass(frozen=True)
class CandidateSet:
    module: KbuildModule  # as the newest version declares it
    revisions: tuple[Candidate, ...]  # oldest first
    base: Candidate | None
    fix_on_base: Candidate | None
    paths: tuple[str, ...]  # tree-relative paths of the module's files (all versions)
    notes: tuple[str, ...] = ()


def module_at(view: SourceView, like: KbuildModule) -> KbuildModule | None:
    return module_in_makefile(view, like.makefile, like.name)


def module_files(view: SourceView, module: KbuildModule) -> dict[str, str]:
    """The module's files (relative to its directory) plus the generated Kbuild."""
    files: dict[str, str] = {}
    for rel in module.files:
        text = view.read(posixpath.join(module.directory, rel))
        if text is not None:
            files[rel] = text
    files["Kbuild"] = kbuild_text(module)
    return files


def change_size(view: SourceView, base: SourceView | None, paths: tuple[str, ...]) -> int:
    """Lines added plus removed between *base* and *view* over *paths* (-1 without a base).

    Measured like ``git diff --numstat`` measures the revisions (git_change_size), so the
    two can be compared: difflib's "autojunk" heuristic is off, since it treats lines that
    are common in a long C file (blank lines, ``}``) as junk and then reports a diff
    larger than git's for the same change.
    """
    if base is None:
        return -1
    total = 0
    for p in paths:
        a = (base.read(p) or "").splitlines()
        b = (view.read(p) or "").splitlines()
        if a == b:
            continue
        ops = difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
        total += sum((i2 - i1) + (j2 - j1) for tag, i1, i2, j1, j2 in ops if tag != "equal")
    return total


def git_change_size(repo: GitRepo, base: str | None, rev: str, paths: tuple[str, ...]) -> int:
    """Lines added plus removed between *base* and *rev* over *paths* (``git diff --numstat``)."""
    if base is None:
        return -1
    out = repo.git("diff", "--numstat", "-z", "--no-renames", base, rev, "--", *paths).stdout
    total = 0
    for record in out.split("\0"):
        fields = record.split("\t")
        if len(fields) >= 2 and fields[0].isdigit() and fields[1].isdigit():
            total += int(fields[0]) + int(fields[1])
    return total


def base_tags(version: tuple[int, int, int]) -> list[str]:
    """Tags that name the upstream release a target kernel is built from, most exact first."""
    major, minor, sub = version
    tags = [f"v{major}.{minor}.{sub}"] if sub else []
    return [*tags, f"v{major}.{minor}"]


def _resolve_base(repo: GitRepo, base: str | None,
                  version: tuple[int, int, int] | None) -> str | None:
    if base:
        return repo.resolve(base)
    for tag in base_tags(version) if version else []:
        if repo.has_revision(tag):
            return repo.resolve(tag)
    return None


def git_candidates(repo: GitRepo, spec: str, *, newest: str = "HEAD", fix: str | None = None,
                   base: str | None = None,
                   target_version: tuple[int, int, int] | None = None) -> CandidateSet:
    newest_sha = repo.resolve(newest)
    newest_view = GitView(repo, newest_sha)
    module = find_module(newest_view, spec)
    base_sha = _resolve_base(repo, base, target_version)
    base_view = GitView(repo, base_sha) if base_sha else None
    base_module = module_at(base_view, module) if base_view else None
    paths = tuple(dict.fromkeys([*module.tree_paths(),
                                 *(base_module.tree_paths() if base_module else ())]))
    notes: list[str] = []
    fix_sha = repo.resolve(fix) if fix else None
    if fix_sha:
        if not repo.is_ancestor(fix_sha, newest_sha):
            raise InputError(f"fix {fix} is not in the history of {newest}",
                             "give a fix commit that the newest revision contains")
        rng = ["--ancestry-path", f"{fix_sha}..{newest_sha}"]
    elif base_sha:
        rng = [f"{base_sha}..{newest_sha}"]
    else:
        rng = [newest_sha]
    commits = list(repo.log(rng, paths, extra=[f"--max-count={MAX_REVISIONS}"]))
    commits.reverse()
    commits, merges = _drop_merges_like_a_parent(repo, commits, paths)
    if merges:
        notes.append(f"{merges} merge commit(s) not probed: their module files are those of "
                     "a parent that is probed")
    if fix_sha:
        commits.insert(0, next(repo.log([fix_sha], extra=["--max-count=1"])))
    revisions = []
    for c in commits:
        revisions.append(Candidate(
            rev=c.sha, label=c.subject, kind=model.REVISION, view=GitView(repo, c.sha),
            contains_fix=True if fix_sha else None,
            change_size=git_change_size(repo, base_sha, c.sha, paths)))
    base_cand = None
    if base_view is not None and base_sha is not None:
        subject = next(repo.log([base_sha], extra=["--max-count=1"])).subject
        base_cand = Candidate(rev=base_sha, label=f"target's own version ({subject})",
                              kind=model.BASE, view=base_view,
                              contains_fix=repo.is_ancestor(fix_sha, base_sha) if fix_sha else None,
                              change_size=0)
    elif fix_sha or base:
        notes.append("no base revision: no tag names the target's version; give --base REV "
                     "(the target's own version) to get the fix-on-base candidate")
    fob: Candidate | None = None
    if fix_sha and base_view is not None and base_sha is not None and base_cand is not None:
        if base_cand.contains_fix:
            notes.append(f"the base {base_sha[:12]} already contains the fix")
        else:
            made = _fix_on_base(repo, fix_sha, base_sha, base_view, paths)
            if isinstance(made, str):
                notes.append(made)
            else:
                fob = made
    return CandidateSet(module=module, revisions=tuple(revisions), base=base_cand,
                        fix_on_base=fob, paths=paths, notes=tuple(notes))


def _drop_merges_like_a_parent(repo: GitRepo, commits: list[Commit],
                               paths: tuple[str, ...]) -> tuple[list[Commit], int]:
    """*commits* without the merges whose module files equal a parent's that is itself in
    *commits* (they build exactly like it), and how many were dropped.

    ``git log --ancestry-path FIX..`` lists such a merge when both its parents descend from
    the fix: the merge of a topic branch (a maintainer's "for-linus" tag) after the fix."""
    shas = {c.sha for c in commits}
    kept: list[Commit] = []
    for c in commits:
        if len(c.parents) > 1 and any(
                p in shas and not repo.git("diff", "--name-only", "-z", p, c.sha, "--",
                                           *paths).stdout
                for p in c.parents):
            continue
        kept.append(c)
    return kept, len(commits) - len(kept)


def changed_paths(repo: GitRepo, sha: str) -> list[str]:
    out = repo.git("diff-tree", "--no-commit-id", "-r", "-z", "--name-only", "--root",
                   "-m", "--first-parent", sha).stdout
    return [p for p in out.split("\0") if p]


def _fix_on_base(repo: GitRepo, fix_sha: str, base_sha: str, base_view: SourceView,
                 paths: tuple[str, ...]) -> Candidate | str:
    touched = [p for p in changed_paths(repo, fix_sha) if p in paths]
    if not touched:
        return (f"the fix {fix_sha[:12]} changes none of the module's files; "
                "no fix-on-base candidate")
    parent = f"{fix_sha}^"
    fix_view, parent_view = GitView(repo, fix_sha), GitView(repo, parent)
    merged: dict[str, str] = {}
    conflicts = 0
    for p in touched:
        ours, anc, theirs = base_view.read(p), parent_view.read(p), fix_view.read(p)
        if theirs is None:
            continue
        if ours is None or anc is None:
            merged[p] = theirs
            continue
        m = merge3(ours, anc, theirs)
        conflicts += m.conflicts
        merged[p] = m.text
    if conflicts:
        return (f"the fix {fix_sha[:12]} does not apply to the base {base_sha[:12]} "
                f"({conflicts} conflicting hunk(s)); no fix-on-base candidate")
    view = OverlayView(base_view, merged, f"{base_sha[:12]}+{fix_sha[:12]}")
    return Candidate(rev=f"{base_sha[:12]}+{fix_sha[:12]}",
                     label="the target's own version with the fix applied (3-way merge)",
                     kind=model.FIX_ON_BASE, view=view, contains_fix=True,
                     change_size=change_size(view, base_view, paths),
                     note=f"git merge-file of {', '.join(touched)}")


_SHA_RE = re.compile(r"^[0-9a-f]{7,40}$")


def tree_candidates(view: SourceView, spec: str, *, base_view: SourceView | None = None,
                    fix_patch: str | None = None, fix_name: str = "fix") -> CandidateSet:
    """Candidates from unpacked trees: the tree, the base tree, and base + the fix patch."""
    if fix_patch is not None and _SHA_RE.match(fix_patch.strip()):
        raise UsageError("--fix SHA needs a git --source",
                         "with a source tree, give the fix as a patch file")
    module = find_module(view, spec)
    base_module = module_at(base_view, module) if base_view is not None else None
    if base_view is not None and base_module is None:
        raise InputError(f"{base_view.label} does not declare module {module.name} "
                         f"in {module.makefile}", "give the target's own source tree")
    paths = tuple(dict.fromkeys([*module.tree_paths(),
                                 *(base_module.tree_paths() if base_module else ())]))
    notes: list[str] = []
    contains: bool | None = None
    if fix_patch is not None:
        tree_files = {p: t for p in paths if (t := view.read(p)) is not None}
        if apply_patch(tree_files, fix_patch, reverse=True, check_only=True).ok:
            contains = True
        elif apply_patch(tree_files, fix_patch, check_only=True).ok:
            contains = False
    tree = Candidate(rev="tree", label=f"the source tree {view.label}", kind=model.TREE,
                     view=view, contains_fix=contains,
                     change_size=change_size(view, base_view, paths))
    base_cand = fob = None
    if base_view is not None:
        base_cand = Candidate(rev="base", label=f"the target's own version {base_view.label}",
                              kind=model.BASE, view=base_view, change_size=0)
        if fix_patch is not None:
            base_files = {p: t for p in paths if (t := base_view.read(p)) is not None}
            res = apply_patch(base_files, fix_patch)
            if res.ok:
                ov = OverlayView(base_view, res.files, f"base+{fix_name}")
                fob = Candidate(rev=f"base+{fix_name}",
                                label=f"the target's own version with {fix_name} applied",
                                kind=model.FIX_ON_BASE, view=ov, contains_fix=True,
                                change_size=change_size(ov, base_view, paths),
                                note="git apply -3")
            else:
                notes.append(f"{fix_name} does not apply to the base tree: {res.message}")
    elif fix_patch is not None:
        notes.append("a fix patch without --base-source: kmend has no target version to "
                     "apply it to")
    return CandidateSet(module=module, revisions=(tree,), base=base_cand, fix_on_base=fob,
                        paths=paths, notes=tuple(notes))
