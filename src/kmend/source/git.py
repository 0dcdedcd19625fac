"""A local kernel git repository, read through ``git`` with NUL-separated output.

Every call goes through :func:`kmend.proc.run`.  Revisions and paths are passed as separate
argv items after ``--end-of-options``/``--`` where git allows it, so text taken from logs can
never become an option.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from kmend import proc
from kmend.errors import CommandFailed, InputError, UsageError

#: A URL kmend clones rather than opens in place.
_URL_RE = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|[\w.-]+@[\w.-]+:)", re.IGNORECASE)

GIT_TIMEOUT = 600.0
CLONE_TIMEOUT = 3600.0


def is_url(spec: str) -> bool:
    return bool(_URL_RE.match(spec))


@dataclass(frozen=True, slots=True)
class Commit:
    sha: str
    subject: str
    author_date: int  # seconds since the epoch
    parents: tuple[str, ...]
    body: str = ""


class GitRepo:
    """A git repository on disk (a work tree or a bare repository)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    # -- plumbing -----------------------------------------------------------------
    def git(
        self, *args: str, timeout: float = GIT_TIMEOUT, check: bool = True, input: str | None = None
    ) -> proc.Result:
        return proc.run(
            ["git", "-C", str(self.path), *args],
            timeout=timeout,
            check=check,
            input=input,
            extra_env={"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"},
        )

    @classmethod
    def open(cls, path: Path) -> GitRepo:
        """Open an existing repository; InputError when *path* is not one."""
        if not Path(path).exists():
            raise InputError(f"{path}: no such directory", "give a kernel git repository")
        repo = cls(path)
        res = repo.git("rev-parse", "--git-dir", check=False)
        if not res.ok:
            raise InputError(
                f"{path}: not a git repository",
                "give a kernel git repository (or an unpacked tree where one is accepted)",
            )
        return repo

    @classmethod
    def clone_blobless(cls, url: str, dest: Path, *, timeout: float = CLONE_TIMEOUT) -> GitRepo:
        """Clone *url* into *dest* as a blobless partial clone (history now, blobs on demand)."""
        if not is_url(url):
            raise UsageError(f"{url}: not a URL", "give a git URL or a local repository path")
        proc.run(
            [
                "git",
                "clone",
                "--filter=blob:none",
                "--no-checkout",
                "--quiet",
                "--",
                url,
                str(dest),
            ],
            timeout=timeout,
            extra_env={"GIT_TERMINAL_PROMPT": "0"},
        )
        return cls(dest)

    # -- queries ------------------------------------------------------------------
    def resolve(self, rev: str) -> str:
        """Full SHA of *rev*; InputError naming the revision when it does not exist."""
        res = self.git(
            "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}", check=False
        )
        if not res.ok or not res.stdout.strip():
            raise InputError(
                f"revision {rev!r} not found in {self.path}",
                "check the name (git tag -l / git log) or fetch it",
            )
        return res.stdout.strip()

    def has_revision(self, rev: str) -> bool:
        try:
            self.resolve(rev)
        except InputError:
            return False
        return True

    def show_file(self, rev: str, path: str) -> str:
        """Contents of *path* at *rev* (text, undecodable bytes replaced)."""
        res = self.git("show", f"{self.resolve(rev)}:{path}", check=False)
        if not res.ok:
            raise InputError(f"{path} does not exist at {rev}", "check the path and the revision")
        return res.stdout

    def file_exists(self, rev: str, path: str) -> bool:
        res = self.git("cat-file", "-e", f"{self.resolve(rev)}:{path}", check=False)
        return res.ok

    def list_files(self, rev: str, directory: str = "") -> list[str]:
        """Paths of the files under *directory* at *rev* (NUL-separated ls-tree)."""
        args = ["ls-tree", "-r", "-z", "--name-only", self.resolve(rev)]
        if directory:
            args += ["--", directory.rstrip("/") + "/"]
        out = self.git(*args).stdout
        return [p for p in out.split("\0") if p]

    def log(
        self,
        revisions: Sequence[str],
        paths: Sequence[str] = (),
        *,
        extra: Sequence[str] = (),
        with_body: bool = False,
    ) -> Iterator[Commit]:
        """Commits reachable per *revisions* (e.g. ``["v6.1..v6.12"]``), NUL-separated records.

        Records are ``sha\\x1fparents\\x1fdate\\x1fsubject[\\x1fbody]`` terminated by NUL.
        """
        fmt = "%H%x1f%P%x1f%at%x1f%s" + ("%x1f%B" if with_body else "")
        args = ["log", "-z", f"--format={fmt}", *extra, *revisions, "--", *paths]
        out = self.git(*args).stdout
        for record in out.split("\0"):
            record = record.strip("\n")
            if not record:
                continue
            parts = record.split("\x1f")
            if len(parts) < 4:
                continue
            yield Commit(
                sha=parts[0],
                parents=tuple(parts[1].split()),
                author_date=int(parts[2] or 0),
                subject=parts[3],
                body=parts[4] if len(parts) > 4 else "",
            )

    def tags(self, pattern: str = "v*") -> list[str]:
        out = self.git("tag", "-l", pattern).stdout
        return [t for t in out.splitlines() if t]

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        res = self.git(
            "merge-base",
            "--is-ancestor",
            self.resolve(ancestor),
            self.resolve(descendant),
            check=False,
        )
        if res.returncode not in (0, 1):
            raise CommandFailed(f"git merge-base failed: {res.stderr.strip()}")
        return res.returncode == 0

    def ensure_commit_graph(self) -> bool:
        """Write a commit-graph with changed-path Bloom filters when the repository lacks one.

        Path-limited history (``git log -- FILE``) then skips most commits without opening
        their trees.  Returns True when a graph was written.
        """
        git_dir = Path(self.git("rev-parse", "--git-common-dir").stdout.strip())
        if not git_dir.is_absolute():
            git_dir = self.path / git_dir
        info = git_dir / "objects" / "info"
        if (info / "commit-graph").exists() or (info / "commit-graphs").exists():
            return False
        self.git("commit-graph", "write", "--reachable", "--changed-paths", timeout=CLONE_TIMEOUT)
        return True
