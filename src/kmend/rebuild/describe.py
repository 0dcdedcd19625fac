"""Fill a provenance from the sources: the git commit a directory is at, the full fix
commit, and the releases with the fix (kmend.fixes.tags: the first tag containing it,
and the first stable tag of each backport that names it as ``commit X upstream``).

Best effort: a source that is not a git repository, or has no version tags, simply
leaves those keys out (``kmend rebuild`` then cannot retire the fix by version).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from kmend.errors import KmendError
from kmend.rebuild import provenance as pv
from kmend.source.git import GitRepo


def git_repo(path: Path) -> GitRepo | None:
    """*path* as a git repository, or None when it is not one."""
    try:
        if not path.is_dir():
            return None
        return GitRepo.open(path)
    except KmendError:
        return None


def fix_facts(repo: GitRepo, fix: str) -> dict[str, Any]:
    """fix_commit (full), fix_subject, fix_first_release, fix_stable_releases."""
    from kmend.fixes import history, tags

    try:
        full = repo.resolve(fix)
    except KmendError:
        return {"fix_commit": fix}
    out: dict[str, Any] = {"fix_commit": full}
    try:
        out["fix_subject"] = repo.git("show", "-s", "--format=%s", full).stdout.strip()
        known = tags.release_tags(repo)
        first = tags.first_tags(repo, [full]).get(full)
        if first:
            out["fix_first_release"] = tags.first_final(first, known) or first
        # backports are committed after the fix: the walk stops at the fix's date (a day
        # of slack for clock skew) instead of reading the whole history
        stamp = repo.git("show", "-s", "--format=%ct", full).stdout.strip() or "0"
        since = max(0, int(stamp) - 86400)
        log = repo.git("log", "--all", "-z", "--format=%H%x1f%B", f"--since=@{since}",
                       f"--grep={full[:12]}", check=False).stdout
        backports = []
        for record in log.split("\0"):
            sha, _, body = record.strip("\n").partition("\x1f")
            if sha and sha != full and any(full.startswith(u) or u.startswith(full[:12])
                                           for u in history.upstream_refs(body)):
                backports.append(sha)
        stable = []
        for tag in tags.first_tags(repo, backports).values():
            parsed = tags.parse_tag(tag)
            if parsed is not None and parsed.is_stable:
                stable.append(tag)
        if stable:
            out["fix_stable_releases"] = sorted(set(stable), key=lambda t: tags.parse_tag(t)
                                                or tags.TagVersion((0, 0, 0, 0, 0), t))
    except KmendError:
        pass
    return out


def _differs_from(repo: GitRepo, rev: str, kbuild_dir: str, files: dict[str, str]) -> bool:
    """Whether any source file is not what the commit *rev* has (edited or untracked)."""
    for rel, text in files.items():
        path = f"{kbuild_dir}/{rel}" if kbuild_dir else rel
        if not repo.file_exists(rev, path) or repo.show_file(rev, path) != text:
            return True
    return False


def for_directory(directory: Path, files: dict[str, str], *, module: str, kernel: str,
                  fix: str | None = None) -> dict[str, Any]:
    """Provenance for a module directory built by ``kmend build`` (no earlier record)."""
    directory = directory.resolve()
    repo = git_repo(directory)
    fields: dict[str, Any] = {"module": module, "kernel": kernel}
    kbuild_dir = ""
    if repo is not None:
        top = repo.git("rev-parse", "--show-toplevel", check=False).stdout.strip()
        head = repo.git("rev-parse", "--verify", "--quiet", "HEAD^{commit}",
                        check=False).stdout.strip()
        if top and pv.is_commit(head):
            kbuild_dir = os.path.relpath(directory, top)
            kbuild_dir = "" if kbuild_dir == "." else kbuild_dir
            fields.update(source=top, source_kind="git", revision=head, revision_commit=head)
            if _differs_from(repo, head, kbuild_dir, files):
                fields["revision_note"] = "the directory had uncommitted changes when built"
    if "source" not in fields:
        fields.update(source=str(directory), source_kind="dir")
    if fix:
        fields.update(fix_facts(repo, fix) if repo is not None else {"fix_commit": fix})
    fields["recipe"] = {"module": module, "kbuild_dir": kbuild_dir,
                        "make_args": list(pv.MAKE_ARGS), "files": sorted(files)}
    fields["sources"] = pv.sources_entry(directory, files)
    return pv.make(**fields)


def updated(prov: dict[str, Any], directory: Path, files: dict[str, str], *,
            kernel: str, fix: str | None = None) -> dict[str, Any]:
    """An existing PROVENANCE (from ``kmend backport``) after a ``kmend build`` of its
    directory: the kernel built for and the sources as built now."""
    out = dict(prov)
    out["kernel"] = kernel
    entry = pv.sources_entry(directory, files)
    before = (prov.get("sources") or {}).get("files")
    if isinstance(before, dict) and before != entry["files"]:
        out["sources_note"] = "the sources were edited after kmend wrote them"
    out["sources"] = entry
    if fix and not prov.get("fix_commit"):
        out["fix_commit"] = fix
    return out


def write(directory: Path, prov: dict[str, Any]) -> Path:
    """Write ``directory/PROVENANCE`` atomically."""
    dest = directory / pv.FILENAME
    fd, tmp = tempfile.mkstemp(prefix=".PROVENANCE.kmend-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(pv.dumps(prov))
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest


def source_files(directory: Path) -> dict[str, str]:
    """The module directory's source files as ``kmend build`` compiles them (no PROVENANCE,
    no build products)."""
    from kmend.build.runner import read_dir

    files = read_dir(directory)
    files.pop(pv.FILENAME, None)
    return files
