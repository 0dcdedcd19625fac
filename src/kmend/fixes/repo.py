"""Open a kernel git repository (the ``--source`` of ``kmend fixes`` and of ``kmend
backport`` and ``kmend run``): a local repository, or a URL cloned blobless.

A URL is cloned once into ``$KMEND_CACHE/repos/<hash>`` or
``$XDG_CACHE_HOME/kmend/repos/<hash>`` (``~/.cache`` by default) as a partial clone
without blobs: the fix search needs every commit and tree but only the blobs of the crash
file, and a backport the module's files, which git fetches on demand.  The clone is built
under a temporary name and renamed into place, so an interrupted clone never leaves a
half-made cache entry.  Later runs fetch new commits and tags into the cached clone.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from kmend.errors import CommandFailed, InputError
from kmend.source.git import CLONE_TIMEOUT, GitRepo, is_url
from kmend.source.tree import cache_dir


def cache_root() -> Path:
    """Where cloned repositories are kept (``repos`` in kmend's cache)."""
    return cache_dir("repos")


def cache_path(url: str, root: Path | None = None) -> Path:
    digest = hashlib.sha256(url.encode()).hexdigest()[:16]
    return (root or cache_root()) / digest


def open_repo(spec: str, *, cache: Path | None = None,
              progress: Callable[[str], None] = lambda _m: None) -> GitRepo:
    """A GitRepo for *spec*: opened in place, or cloned/updated in the cache for a URL."""
    if not is_url(spec):
        path = Path(spec)
        if not path.exists():
            raise InputError(f"{spec}: no such repository",
                             "give a kernel git repository path or a git URL")
        return GitRepo.open(path)
    dest = cache_path(spec, cache)
    if dest.exists():
        repo = GitRepo(dest)
        progress(f"updating the cached clone of {spec}")
        try:
            repo.git("fetch", "--quiet", "--tags", "--force", "origin",
                     "+refs/heads/*:refs/remotes/origin/*", timeout=CLONE_TIMEOUT)
        except CommandFailed as err:
            progress(f"could not update {spec} ({err.message}); using the cached clone")
        return repo
    dest.parent.mkdir(parents=True, exist_ok=True)
    progress(f"cloning {spec} (blobless) into {dest}")
    tmp = Path(tempfile.mkdtemp(prefix=".clone-", dir=dest.parent))
    try:
        try:
            GitRepo.clone_blobless(spec, tmp / "repo")
        except CommandFailed as err:
            detail = (err.stderr.strip().splitlines() or [err.message])[-1]
            raise CommandFailed(f"cannot clone {spec}: {detail}",
                                "check the URL and the network, or give a local repository",
                                argv=err.argv, returncode=err.returncode) from err
        repo = GitRepo(tmp / "repo")
        repo.ensure_commit_graph()
        (tmp / "repo").rename(dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return GitRepo(dest)
