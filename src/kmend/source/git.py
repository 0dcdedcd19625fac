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


# -- additions for the fix search (kmend.fixes) -------------------------------------------
_BLAME_HEADER = re.compile(r"^([0-9a-f]{40}) (\d+) (\d+)(?: \d+)?$")


def blame_lines(repo: GitRepo, rev: str, path: str, first: int, last: int) -> dict[int, str]:
    """Line number (at *rev*) → sha of the commit that last changed it (``git blame``)."""
    out = repo.git("blame", "--porcelain", "-L", f"{first},{last}", repo.resolve(rev),
                   "--", path).stdout
    result: dict[int, str] = {}
    for line in out.splitlines():
        m = _BLAME_HEADER.match(line)
        if m:
            result[int(m[3])] = m[1]
    return result


def resolve_many(repo: GitRepo, names: Sequence[str]) -> dict[str, str | None]:
    """Resolve abbreviated commit ids in one ``git cat-file --batch-check`` run.

    Missing or ambiguous names map to None.
    """
    unique = list(dict.fromkeys(n for n in names if re.fullmatch(r"[0-9a-fA-F]{4,40}", n)))
    if not unique:
        return {}
    out = repo.git("cat-file", "--batch-check=%(objectname) %(objecttype)",
                   input="".join(f"{n}^{{commit}}\n" for n in unique)).stdout.splitlines()
    result: dict[str, str | None] = {}
    for name, line in zip(unique, out, strict=False):
        parts = line.split()
        ok = len(parts) == 2 and parts[1] == "commit" and len(parts[0]) == 40
        result[name] = parts[0] if ok else None
    return result


def find_refs(repo: GitRepo, patterns: Sequence[str]) -> list[str]:
    """Full ref names matching *patterns* (``for-each-ref`` globs)."""
    out = repo.git("for-each-ref", "--format=%(refname)", "--", *patterns).stdout
    return [r for r in out.splitlines() if r]


def read_blobs(repo: GitRepo, specs: Sequence[str]) -> dict[str, str | None]:
    """Contents of ``rev:path`` *specs* in one ``git cat-file --batch`` run (None: absent).

    The output goes through a temporary file so object sizes can be honoured in bytes.
    """
    import tempfile  # local: only this helper needs it

    unique = list(dict.fromkeys(specs))
    if not unique:
        return {}
    with tempfile.TemporaryDirectory(prefix="kmend-blobs-") as tmp:
        out_path = Path(tmp) / "out"
        proc.run(["git", "-C", str(repo.path), "cat-file", "--batch"],
                 input="".join(f"{s}\n" for s in unique), stdout_path=out_path,
                 timeout=GIT_TIMEOUT, extra_env={"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"})
        data = out_path.read_bytes()
    result: dict[str, str | None] = {}
    pos = 0
    for spec in unique:
        end = data.find(b"\n", pos)
        if end < 0:
            break
        header = data[pos:end].split()
        pos = end + 1
        if len(header) == 3 and header[1] in (b"blob", b"commit", b"tree", b"tag"):
            size = int(header[2])
            result[spec] = data[pos:pos + size].decode("utf-8", "replace")
            pos += size + 1
        else:
            result[spec] = None
    return result


def promisor_remote(repo: GitRepo) -> str | None:
    """The remote a partial clone fetches missing objects from (None: a full repository)."""
    res = repo.git("config", "--get-regexp", r"^remote\..*\.promisor$", check=False)
    for line in res.stdout.splitlines():
        key, _, value = line.partition(" ")
        if value.strip().lower() == "true":
            return key[len("remote."):-len(".promisor")]
    return None


def prefetch_path_blobs(repo: GitRepo, revisions: Sequence[str], path: str) -> int:
    """In a partial clone, fetch every version of *path* reachable from *revisions* at once.

    Without this, ``git log -p`` and ``git blame`` fetch the missing blobs one commit at a
    time, a network round trip each.  Returns the number of blob ids requested (0 in a
    full repository).  A server that refuses is not an error: git still fetches lazily.
    """
    remote = promisor_remote(repo)
    if remote is None:
        return 0
    out = repo.git("log", "--format=", "--raw", "--no-abbrev", "--no-renames", *revisions,
                   "--", path).stdout
    oids: set[str] = set()
    for line in out.splitlines():
        if line.startswith(":"):
            fields = line.split("\t", 1)[0].split()
            oids.update(o for o in fields[2:4] if o.strip("0"))
    if not oids:
        return 0
    repo.git("-c", "fetch.negotiationAlgorithm=noop", "fetch", "--quiet", "--no-tags",
             "--no-write-fetch-head", "--recurse-submodules=no", "--filter=blob:none",
             "--stdin", remote, input="".join(f"{o}\n" for o in sorted(oids)),
             timeout=CLONE_TIMEOUT, check=False)
    return len(oids)
