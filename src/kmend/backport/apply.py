"""Putting a fix on top of another version: 3-way merges and patch application.

``git merge-file`` merges file contents without any repository (ours = the target's own
version, base = the fix's parent, theirs = the fix); ``git apply`` applies a patch file to
copies of the files inside a private, freshly initialised repository (so it can fall back
to a 3-way merge when the patch names blobs it has).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from kmend import proc
from kmend.build.runner import write_files
from kmend.errors import CommandFailed


@dataclass(frozen=True, slots=True)
class Merge:
    text: str
    conflicts: int


def merge3(ours: str, base: str, theirs: str) -> Merge:
    """Merge the change base→theirs into ours; ``conflicts`` counts conflict hunks."""
    tmp = Path(tempfile.mkdtemp(prefix="kmend-merge-"))
    try:
        names = []
        for name, text in (("ours", ours), ("base", base), ("theirs", theirs)):
            (tmp / name).write_text(text)
            names.append(str(tmp / name))
        res = proc.run(["git", "merge-file", "-p", "-L", "target", "-L", "fix^", "-L", "fix",
                        *names], timeout=60, check=False)
        if res.returncode < 0 or res.returncode > 127:
            raise CommandFailed(f"git merge-file failed: {res.stderr.strip()}")
        return Merge(text=res.stdout, conflicts=res.returncode)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@dataclass(frozen=True, slots=True)
class PatchResult:
    files: dict[str, str]  # tree-relative path → new text (the files given, plus new ones)
    ok: bool
    message: str


def _git(cwd: Path, *args: str, input: str | None = None) -> proc.Result:
    return proc.run(["git", "-c", "user.name=kmend", "-c", "user.email=kmend@localhost",
                     "-c", "init.defaultBranch=main", *args], cwd=cwd, timeout=120,
                    check=False, input=input,
                    extra_env={"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null",
                               "GIT_CEILING_DIRECTORIES": str(cwd.parent)})


def apply_patch(files: Mapping[str, str], patch: str, *, reverse: bool = False,
                check_only: bool = False) -> PatchResult:
    """Apply *patch* (a ``-p1`` unified diff) to *files*; ok False with git's message."""
    tmp = Path(tempfile.mkdtemp(prefix="kmend-apply-"))
    try:
        _git(tmp, "init", "-q")
        write_files(tmp, files)
        _git(tmp, "add", "-A")
        _git(tmp, "commit", "-q", "-m", "target")
        args = ["apply", "--whitespace=nowarn"]
        if reverse:
            args.append("-R")
        if check_only:
            args.append("--check")
        res = _git(tmp, *args, "-3", "-", input=patch) if not check_only else \
            _git(tmp, *args, "-", input=patch)
        if not res.ok and not check_only:
            _git(tmp, "reset", "-q", "--hard")
            res = _git(tmp, *args, "-C1", "-", input=patch)
        if not res.ok:
            msg = (res.stderr.strip().splitlines() or ["patch does not apply"])[-1]
            return PatchResult(files=dict(files), ok=False, message=msg)
        out = {
            f.relative_to(tmp).as_posix(): f.read_text(errors="replace")
            for f in sorted(tmp.rglob("*"))
            if f.is_file() and not f.is_symlink() and ".git" not in f.relative_to(tmp).parts
        }
        conflicted = [rel for rel, text in out.items() if "<<<<<<< " in text]
        if conflicted:
            return PatchResult(files=out, ok=False,
                               message=f"conflicts in {', '.join(conflicted)}")
        return PatchResult(files=out, ok=True, message="applied")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
