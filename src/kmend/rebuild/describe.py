"""The provenance ``kmend build`` writes for a module directory: the git commit the
directory is at (and whether its sources differ from it), the fix and its releases
(:func:`kmend.fixes.releases.fix_facts`), the recipe and the sources' sha256.

Best effort: a directory outside git, or a repository without version tags, simply
leaves those keys out (``kmend rebuild`` then cannot retire the fix by version).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from kmend import provenance as pv
from kmend.errors import KmendError
from kmend.fixes.releases import fix_facts
from kmend.source.git import GitRepo


def git_repo(path: Path) -> GitRepo | None:
    """*path* as a git repository, or None when it is not one."""
    try:
        if not path.is_dir():
            return None
        return GitRepo.open(path)
    except KmendError:
        return None


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
