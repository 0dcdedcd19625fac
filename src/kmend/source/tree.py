"""Unpacked kernel source trees, including Debian's ``linux-source-X.Y`` tarballs.

A tarball is never unpacked whole: kmend first extracts only the Kbuild Makefiles (to find
which directory declares a module), then only the directories it needs, with
``tar --wildcards`` into a cache (``$KMEND_CACHE`` or ``~/.cache/kmend/trees``) keyed by the
tarball's path, size and modification time.  Each extraction goes to a temporary directory
first and is renamed into place, so an interrupted unpack leaves nothing half-written.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from kmend import proc, progress
from kmend.errors import InputError
from kmend.source.view import TreeView, clean_relpath

TAR_SUFFIXES = (".tar.xz", ".tar.gz", ".tgz", ".tar.bz2", ".tar.zst", ".tar")
UNPACK_TIMEOUT = 900.0


def is_tarball(path: Path) -> bool:
    return path.is_file() and path.name.endswith(TAR_SUFFIXES)


#: Cache entries (an unpacked tarball, a cloned repository) not touched for this long are
#: removed the first time the cache is used in a process; they are made again on demand.
CACHE_MAX_AGE = 30 * 24 * 3600
_PRUNED: set[Path] = set()


def prune_cache(path: Path, now: float | None = None) -> list[Path]:
    """Remove the entries of the cache directory *path* older than CACHE_MAX_AGE (by their
    own modification time; links are never followed); return what was removed."""
    now = time.time() if now is None else now
    gone: list[Path] = []
    try:
        entries = list(path.iterdir())
    except OSError:
        return gone
    for entry in entries:
        try:
            st = entry.lstat()
        except OSError:
            continue
        if now - st.st_mtime <= CACHE_MAX_AGE:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        gone.append(entry)
    return gone


def cache_dir(name: str) -> Path:
    """kmend's cache directory *name*: ``$KMEND_CACHE/NAME``, else
    ``$XDG_CACHE_HOME/kmend/NAME`` (``~/.cache`` by default).  Old entries are pruned once
    per process (see CACHE_MAX_AGE)."""
    env = os.environ.get("KMEND_CACHE")
    if env:
        path = Path(env) / name
    else:
        xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        path = Path(xdg) / "kmend" / name
    if path not in _PRUNED:
        _PRUNED.add(path)
        prune_cache(path)
    return path


def cache_root() -> Path:
    """Where unpacked source trees are kept."""
    return cache_dir("trees")


def _key(tarball: Path) -> str:
    st = tarball.stat()
    raw = f"{tarball.resolve()}\0{st.st_size}\0{int(st.st_mtime)}"
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


class Tarball:
    """A kernel source tarball whose parts are unpacked on demand into a cache."""

    def __init__(self, path: Path, cache: Path | None = None,
                 notify: Callable[[str], None] | None = None) -> None:
        self.path = Path(path)
        self.notify = notify
        if not self.path.is_file():
            raise InputError(f"{path}: no such file", "give a kernel source tarball or tree")
        stem = self.path.name
        for suffix in TAR_SUFFIXES:
            stem = stem.removesuffix(suffix)
        self.top = stem  # Debian's tarballs hold one top directory named like the file
        self.dir = (cache or cache_root()) / f"{stem}-{_key(self.path)}"
        self.tree = self.dir / "tree"
        self.makefiles_tree = self.dir / "makefiles"

    def _extract(self, patterns: list[str], dest: Path, marker: str) -> None:
        done = self.dir / f".done-{hashlib.sha256(marker.encode()).hexdigest()[:12]}"
        if done.exists():
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        if self.notify:
            what = "the Kbuild Makefiles" if marker == "makefiles" else marker.replace("\n", ", ")
            self.notify(f"unpacking {what} from {self.path} into {self.dir} "
                        "(the whole archive is decompressed: ~10 s)")
        tmp = Path(tempfile.mkdtemp(prefix=".unpack-", dir=self.dir))
        try:
            with progress.task(f"unpacking from {self.path.name}"):
                res = proc.run(
                    ["tar", "-x", "-f", str(self.path), "-C", str(tmp), "--no-same-owner",
                     "--no-same-permissions", "--wildcards", *patterns],
                    timeout=UNPACK_TIMEOUT, check=False,
                )
            top = tmp / self.top
            if not top.is_dir():
                raise InputError(
                    f"{self.path.name}: nothing matching {' '.join(patterns)} "
                    f"under {self.top}/ ({res.stderr.strip().splitlines()[-1:]})",
                    "give a kernel source tarball (e.g. /usr/src/linux-source-6.12.tar.xz)",
                )
            dest.mkdir(parents=True, exist_ok=True)
            for dirpath, _dirnames, filenames in os.walk(top):
                rel = Path(dirpath).relative_to(top)
                (dest / rel).mkdir(parents=True, exist_ok=True)
                for name in filenames:
                    src = Path(dirpath) / name
                    if src.is_symlink():
                        continue  # never let a tarball plant a link in the cache
                    os.replace(src, dest / rel / name)
            done.write_text(marker + "\n")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def makefiles_view(self) -> TreeView:
        """A view holding only the tarball's Kbuild Makefiles (to locate a module)."""
        self._extract([f"{self.top}/*Makefile", f"{self.top}/*Kbuild"], self.makefiles_tree,
                      "makefiles")
        return TreeView(self.makefiles_tree, label=str(self.path))

    def unpack_dirs(self, directories: list[str]) -> TreeView:
        """Unpack *directories* (tree-relative) and return a view of the cached tree."""
        wanted = sorted({clean_relpath(d) for d in directories if d})
        if wanted:
            self._extract([f"{self.top}/{d}/*" for d in wanted], self.tree, "\n".join(wanted))
        self.tree.mkdir(parents=True, exist_ok=True)
        return TreeView(self.tree, label=str(self.path))


def open_tree(path: Path) -> TreeView:
    """A view of an unpacked tree directory (InputError when it is not a directory)."""
    path = Path(path)
    if not path.is_dir():
        raise InputError(f"{path}: not a directory", "give an unpacked kernel source tree")
    return TreeView(path)
