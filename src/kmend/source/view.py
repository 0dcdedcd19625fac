"""Read-only views of kernel source at one version: a directory, a git revision, an overlay.

The Kbuild parser and the backport planner read sources only through :class:`SourceView`,
so the same code serves an unpacked tarball, any revision of a git repository, and a
"base plus fix" candidate that exists only in memory.  Paths are POSIX, relative to the
top of the kernel tree, and never escape it.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

from kmend.errors import InputError
from kmend.revs import short_rev
from kmend.source.git import GitRepo

MAKEFILE_NAMES = ("Kbuild", "Makefile")


def clean_relpath(path: str) -> str:
    """Normalise a tree-relative path; InputError when it is absolute or climbs out."""
    norm = posixpath.normpath(path.replace("\\", "/"))
    if norm.startswith("/") or norm == ".." or norm.startswith("../"):
        raise InputError(f"path {path!r} leaves the source tree", "use a path inside the tree")
    return "" if norm == "." else norm


class SourceView(Protocol):
    """One version of a kernel source tree."""

    @property
    def label(self) -> str: ...

    def read(self, path: str) -> str | None:
        """The text of *path*, or None when it does not exist (or is not a regular file)."""
        ...

    def makefiles_mentioning(self, words: Sequence[str]) -> list[str]:
        """Kbuild/Makefile paths whose text contains any of *words* (fixed strings)."""
        ...


class TreeView:
    """A kernel source tree unpacked in a directory."""

    def __init__(self, root: Path, label: str | None = None) -> None:
        self.root = Path(root)
        self._label = label or str(self.root)

    @property
    def label(self) -> str:
        return self._label

    def _file(self, path: str) -> Path | None:
        rel = clean_relpath(path)
        full = self.root / rel
        # Never follow a symlink out of the tree.
        try:
            real = full.resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        if not real.is_relative_to(self.root.resolve()) or not real.is_file():
            return None
        return full

    def read(self, path: str) -> str | None:
        full = self._file(path)
        if full is None:
            return None
        return full.read_text(encoding="utf-8", errors="replace")

    def makefiles(self) -> list[str]:
        found: list[str] = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for name in filenames:
                if name in MAKEFILE_NAMES:
                    rel = os.path.relpath(os.path.join(dirpath, name), self.root)
                    found.append(rel.replace(os.sep, "/"))
        return sorted(found)

    def makefiles_mentioning(self, words: Sequence[str]) -> list[str]:
        hits = []
        for rel in self.makefiles():
            text = self.read(rel) or ""
            if any(w in text for w in words):
                hits.append(rel)
        return hits


class GitView:
    """The tree of one commit of a git repository."""

    def __init__(self, repo: GitRepo, rev: str) -> None:
        self.repo = repo
        self.rev = repo.resolve(rev)

    @property
    def label(self) -> str:
        return short_rev(self.rev)

    def read(self, path: str) -> str | None:
        rel = clean_relpath(path)
        res = self.repo.git("cat-file", "blob", f"{self.rev}:{rel}", check=False)
        return res.stdout if res.ok else None

    def makefiles_mentioning(self, words: Sequence[str]) -> list[str]:
        args = ["grep", "-z", "-l", "-F"]
        for w in words:
            args += ["-e", w]
        args += [self.rev, "--", "*Makefile", "*Kbuild"]
        res = self.repo.git(*args, check=False)
        out = []
        for item in res.stdout.split("\0"):
            if not item:
                continue
            path = item.split(":", 1)[1] if item.startswith(self.rev) else item
            if posixpath.basename(path) in MAKEFILE_NAMES:
                out.append(path)
        return sorted(out)


class OverlayView:
    """*base* with some files replaced (a candidate that exists only in memory)."""

    def __init__(self, base: SourceView, overrides: Mapping[str, str], label: str) -> None:
        self.base = base
        self.overrides = {clean_relpath(k): v for k, v in overrides.items()}
        self._label = label

    @property
    def label(self) -> str:
        return self._label

    def read(self, path: str) -> str | None:
        rel = clean_relpath(path)
        if rel in self.overrides:
            return self.overrides[rel]
        return self.base.read(rel)

    def makefiles_mentioning(self, words: Sequence[str]) -> list[str]:
        found = set(self.base.makefiles_mentioning(words))
        for rel, text in self.overrides.items():
            if posixpath.basename(rel) in MAKEFILE_NAMES and any(w in text for w in words):
                found.add(rel)
        return sorted(found)
