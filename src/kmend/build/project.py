"""Build an out-of-tree module project the way it builds itself.

The project's own ``Kbuild``/``Makefile`` is read by make (``make -C KDIR M=DIR
modules``): its variables, conditionals and ``$(shell …)`` are evaluated by make, and all
of its modules are built in one run, so symbols one module exports to its siblings
resolve.  A revision is exported from git (``git archive``) into a fresh temporary
directory; the archive is untrusted, so only regular files, directories and symlinks that
stay inside the directory are unpacked.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import tarfile
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from kmend import proc
from kmend.build import diagnostics
from kmend.build.diagnostics import Diagnostic
from kmend.build.kdir import Kdir, require_compiler
from kmend.build.runner import MAKE_ENV, place_modules, write_files
from kmend.errors import InputError
from kmend.source.git import GIT_TIMEOUT, GitRepo

BUILD_TIMEOUT = 900.0


@dataclass(frozen=True, slots=True)
class ProjectBuild:
    ok: bool
    modules: tuple[Path, ...]  # every .ko built
    diagnostics: tuple[Diagnostic, ...]
    log: str
    seconds: float
    returncode: int

    @property
    def first_error(self) -> Diagnostic | None:
        errs = diagnostics.errors(list(self.diagnostics))
        return errs[0] if errs else None


def _inside(root: str, name: str) -> bool:
    norm = posixpath.normpath(name)
    return not (norm.startswith(("/", "../")) or norm == "..") and (
        not root or norm == root or norm.startswith(root + "/"))


def export(repo: GitRepo, rev: str, root: str, dest: Path,
           overlay: Mapping[str, str] | None = None) -> Path:
    """Unpack *root* of *rev* into *dest* (which must not exist) with its files at the top;
    *overlay* (repository paths → text) replaces files.  Returns *dest*."""
    dest.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="kmend-archive-") as tmp:
        tar_path = Path(tmp) / "tree.tar"
        repo.git("archive", "--format=tar", "-o", str(tar_path), rev,
                 *(["--", root] if root else []), timeout=GIT_TIMEOUT)
        with tarfile.open(tar_path) as tar:
            for m in tar.getmembers():
                if not _inside(root, m.name):
                    continue
                rel = posixpath.relpath(posixpath.normpath(m.name), root or ".")
                if rel == ".":
                    continue
                if m.issym():
                    target = posixpath.normpath(posixpath.join(posixpath.dirname(rel),
                                                               m.linkname))
                    if target == ".." or target.startswith("../") or \
                            m.linkname.startswith("/"):
                        continue
                elif not (m.isfile() or m.isdir()):
                    continue
                m.name = rel
                tar.extract(m, dest, set_attrs=False)
    if overlay:
        write_files(dest, {posixpath.relpath(p, root or "."): t for p, t in overlay.items()
                           if _inside(root, p)})
    return dest


def build_tree(src: Path, build_dir: str, kdir: Kdir, *, jobs: int | None = None,
               timeout: float = BUILD_TIMEOUT) -> ProjectBuild:
    """``make -C KDIR M=src/build_dir modules`` in *src* itself (a throwaway copy)."""
    require_compiler(kdir)
    where = (src / build_dir) if build_dir else src
    if not (where / "Kbuild").is_file() and not (where / "Makefile").is_file():
        raise InputError(f"{where} has neither a Kbuild nor a Makefile",
                         "give the directory of the module project")
    start = time.monotonic()
    res = proc.run(["make", "-C", str(kdir.path), f"M={where}",
                    f"-j{max(1, jobs or (os.cpu_count() or 1))}", "modules"],
                   timeout=timeout, check=False,
                   extra_env=MAKE_ENV)
    seconds = time.monotonic() - start
    log = res.stdout + res.stderr
    diags = diagnostics.parse(log, str(where))
    kos = tuple(sorted(src.rglob("*.ko")))
    ok = res.ok and bool(kos)
    if res.ok and not kos:
        diags.append(Diagnostic(kind="error", severity="error", file="", line=0, column=0,
                                message="make succeeded but produced no .ko"))
    return ProjectBuild(ok=ok, modules=kos, diagnostics=tuple(diags), log=log,
                        seconds=seconds, returncode=res.returncode)


def build_copy(src: Path, build_dir: str, kdir: Kdir, *, jobs: int | None = None,
               timeout: float = BUILD_TIMEOUT) -> ProjectBuild:
    """Build a copy of the project directory *src*; the .ko files land in *src* (at the
    same relative places) only when the build succeeds."""
    with tempfile.TemporaryDirectory(prefix="kmend-pbuild-") as tmp:
        work = Path(tmp) / "p"
        shutil.copytree(src, work, symlinks=True,
                        ignore=shutil.ignore_patterns(".git", "*.ko", "*.o", ".*.cmd"))
        res = build_tree(work, build_dir, kdir, jobs=jobs, timeout=timeout)
        placed = place_modules(res.modules, work, src) if res.ok else ()
        return ProjectBuild(ok=res.ok, modules=placed, diagnostics=res.diagnostics,
                            log=res.log.replace(str(work), str(src)), seconds=res.seconds,
                            returncode=res.returncode)


def ko_named(modules: tuple[Path, ...], name: str) -> Path | None:
    want = name.replace("-", "_")
    return next((k for k in modules if k.name.removesuffix(".ko").replace("-", "_") == want),
                None)
