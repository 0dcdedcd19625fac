"""The crash file's history after the base, read from git in a few calls.

* :func:`file_history` — one ``git log -p -U0 BASE..HEAD -- FILE``: every commit touching
  the file with its message and the lines it removed and added (NUL/RS/US-separated
  headers, so messages and patches never get confused).
* :func:`function_history` — ``git log -L :FUNC:FILE BASE..HEAD``: commits that changed
  the function (git resolves the function at HEAD and follows its lines back).
* message parsing — ``Fixes:`` tags, ``Cc: stable``, stable backport lines
  (``commit <sha> upstream.``, ``[ Upstream commit <sha> ]``, ``(cherry picked from
  commit <sha>)``) and reverts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from kmend.errors import CommandFailed
from kmend.source.git import GitRepo

_HEADER_SEP = "\x00"
_FMT = "%x00%H%x1f%P%x1f%at%x1f%s%x1f%B%x1e"
#: The ``git log --format`` that :func:`parse_log_with_patches` reads.
LOG_FORMAT = _FMT
_DIFF_RE = re.compile(r"^diff --git a/(\S+) b/\S+$", re.MULTILINE)
_HUNK_RE = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@ ?(.*)$")

FIXES_RE = re.compile(r"^\s*Fixes:\s*([0-9a-fA-F]{8,40})\b\s*(?:\(\s*\"?(.*?)\"?\s*\)\s*)?$",
                      re.MULTILINE | re.IGNORECASE)
STABLE_CC_RE = re.compile(r"^\s*Cc:.*\bstable@(?:vger\.)?kernel\.org", re.MULTILINE | re.IGNORECASE)
UPSTREAM_RES = (
    re.compile(r"^\s*commit ([0-9a-f]{12,40}) upstream\.?\s*$", re.MULTILINE | re.IGNORECASE),
    re.compile(r"^\s*\[\s*upstream commit ([0-9a-f]{12,40})\s*\]\s*$",
               re.MULTILINE | re.IGNORECASE),
    re.compile(r"\(cherry picked from commit ([0-9a-f]{12,40})\)", re.IGNORECASE),
)
REVERT_RE = re.compile(r"\bThis reverts commit ([0-9a-f]{12,40})", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Hunk:
    old_start: int
    old_count: int
    new_start: int
    new_count: int
    context: str  # git's function-name context of the hunk
    removed: tuple[str, ...]
    added: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FileCommit:
    sha: str
    parents: tuple[str, ...]
    author_date: int
    subject: str
    body: str
    hunks: tuple[Hunk, ...] = ()
    paths: tuple[str, ...] = ()  # the file's path(s) in the parent, from the diff headers

    @property
    def removed(self) -> tuple[str, ...]:
        return tuple(line for h in self.hunks for line in h.removed)

    @property
    def added(self) -> tuple[str, ...]:
        return tuple(line for h in self.hunks for line in h.added)


def _parse_paths(text: str) -> tuple[str, ...]:
    """The old-side paths of the ``diff --git a/X b/Y`` headers of a patch."""
    return tuple(dict.fromkeys(m[1] for m in _DIFF_RE.finditer(text)))


def _parse_patch(text: str) -> tuple[Hunk, ...]:
    hunks: list[Hunk] = []
    cur: tuple[int, int, int, int, str] | None = None
    removed: list[str] = []
    added: list[str] = []

    def close() -> None:
        if cur is not None:
            hunks.append(Hunk(*cur, removed=tuple(removed), added=tuple(added)))

    for line in text.split("\n"):
        m = _HUNK_RE.match(line)
        if m:
            close()
            cur = (int(m[1]), int(m[2] or 1), int(m[3]), int(m[4] or 1), m[5].strip())
            removed, added = [], []
        elif cur is None:
            continue
        elif line.startswith("diff --git"):
            close()
            cur = None  # the ---/+++ header lines follow, then the next hunk
        elif line.startswith("-"):
            removed.append(line[1:])
        elif line.startswith("+"):
            added.append(line[1:])
    close()
    return tuple(hunks)


def parse_log_with_patches(out: str) -> list[FileCommit]:
    commits: list[FileCommit] = []
    for record in out.split(_HEADER_SEP):
        if not record.strip():
            continue
        head, _, patch = record.partition("\x1e")
        parts = head.split("\x1f", 4)
        if len(parts) < 5:
            continue
        sha, parents, date, subject, body = parts
        commits.append(FileCommit(
            sha=sha, parents=tuple(parents.split()), author_date=int(date or 0),
            subject=subject, body=body.strip("\n"), hunks=_parse_patch(patch),
            paths=_parse_paths(patch),
        ))
    return commits


def file_history(repo: GitRepo, base: str, head: str,
                 paths: str | Sequence[str]) -> list[FileCommit]:
    """Commits in ``base..head`` touching *paths*, newest first, with their hunks."""
    names = [paths] if isinstance(paths, str) else list(paths)
    out = repo.git("log", "-p", "-U0", "--no-color", "--no-ext-diff", "--no-renames",
                   f"--format={_FMT}", f"{base}..{head}", "--", *names).stdout
    return parse_log_with_patches(out)


def later_names(repo: GitRepo, base: str, head: str, path: str, *,
                limit: int = 4) -> list[str]:
    """The names *path* was renamed to in ``base..head``, in order (at most *limit*).

    Path-limited logs cannot see renames (the new name is outside the pathspec), so each
    step finds the commit deleting the current name and asks git, on that commit alone,
    where the file went.
    """
    names: list[str] = []
    current = path
    for _ in range(limit):
        gone = repo.git("log", "--diff-filter=D", "--format=%H", f"{base}..{head}", "--",
                        current).stdout.split()
        if not gone:
            break
        status = repo.git("show", "-M", "--name-status", "-z", "--format=", gone[-1]).stdout
        fields = status.split("\0")
        target = next((fields[i + 2] for i in range(len(fields) - 2)
                       if fields[i].startswith("R") and fields[i + 1] == current), None)
        if target is None or target in names or target == path:
            break
        names.append(target)
        current = target
    return names


def log_messages(repo: GitRepo, revrange: str, path: str) -> list[FileCommit]:
    """Commits in *revrange* touching *path* with messages, no patches."""
    out = repo.git("log", f"--format={_FMT}", revrange, "--", path).stdout
    return parse_log_with_patches(out)


def parent_texts(repo: GitRepo, commits: list[FileCommit],
                 path: str) -> dict[str, list[str]]:
    """Each commit's first parent's version of the file, as lines.

    One ``git cat-file --batch`` reads them all (blobs ``git log -p`` already needed, so a
    partial clone fetches nothing more).  Commits whose parent lacks the file are absent.
    """
    from kmend.source.git import read_blobs

    specs = {c.sha: f"{c.parents[0]}:{c.paths[0] if c.paths else path}"
             for c in commits if c.parents}
    texts = read_blobs(repo, list(specs.values()))
    return {sha: text.splitlines() for sha, spec in specs.items()
            if (text := texts.get(spec)) is not None}


def function_spans(repo: GitRepo, commits: list[FileCommit], path: str, function: str,
                   texts: dict[str, list[str]] | None = None,
                   ) -> dict[str, tuple[int, int] | None]:
    """The span of *function* in each commit's parent's version of *path* (None where
    the parent lacks the function or the file)."""
    from kmend.fixes.source import find_function

    if texts is None:
        texts = parent_texts(repo, commits, path)
    return {c.sha: find_function(texts[c.sha], function) if c.sha in texts else None
            for c in commits}


def touches_span(c: FileCommit, span: tuple[int, int]) -> bool:
    """Whether a hunk of *c* (in its parent's line numbers) meets the lines *span*."""
    first, last = span
    for h in c.hunks:
        if h.old_count == 0:  # pure insertion after line old_start
            if first <= h.old_start < last:
                return True
        elif h.old_start <= last and h.old_start + h.old_count - 1 >= first:
            return True
    return False


def grep_messages(repo: GitRepo, base: str, head: str,
                  patterns: list[str]) -> list[FileCommit]:
    """Commits in ``base..head`` whose message matches any extended regex (no path limit).

    This reads every commit message of the range, so it is much slower than the
    path-limited search on big histories; ``kmend fixes --wide`` opts in.
    """
    if not patterns:
        return []
    args = ["log", "-i", "-E", f"--format={_FMT}"]
    args += [f"--grep={p}" for p in patterns]
    out = repo.git(*args, f"{base}..{head}").stdout
    return parse_log_with_patches(out)


def _funcname_regex(function: str) -> str:
    # git compiles -L :<regex>: as a POSIX basic regex (with GNU \| alternation).
    return rf"\(^\|[^A-Za-z0-9_]\){re.escape(function)} *("


def function_history(repo: GitRepo, base: str, head: str, path: str,
                     function: str) -> list[str] | None:
    """Shas of commits in ``base..head`` that changed *function* (``git log -L``).

    None when git cannot find the function at *head* (renamed or removed since).
    """
    try:
        out = repo.git("log", "--no-color", "--format=%x00%H", f"{base}..{head}",
                       f"-L:{_funcname_regex(function)}:{path}").stdout
    except CommandFailed:
        return None
    return [rec[:40] for rec in out.split("\x00") if len(rec) >= 40]


def fixes_tags(body: str) -> list[tuple[str, str | None]]:
    """(abbreviated sha, quoted subject) of every ``Fixes:`` line."""
    return [(m[1].lower(), m[2] or None) for m in FIXES_RE.finditer(body)]


def upstream_refs(body: str) -> list[str]:
    """Upstream commit ids a stable/distro backport names."""
    found: list[str] = []
    for regex in UPSTREAM_RES:
        found += [m.lower() for m in regex.findall(body)]
    return list(dict.fromkeys(found))


def cc_stable(body: str) -> bool:
    return bool(STABLE_CC_RE.search(body))


def _loose(text: str) -> str:
    text = " ".join(text.split()).lower()
    text = re.sub(r"(\.[ch]):\d+", r"\1", text)  # line numbers move between versions
    return re.sub(r"\+0x[0-9a-f]+/0x[0-9a-f]+", "", text).rstrip("!").strip()


def message_quotes(title: str, message: str) -> bool:
    """Whether *message* quotes the crash *title* (or header line), ignoring whitespace,
    case, source line numbers and ``+0xoff/0xsize`` offsets, which differ by version."""
    needle = _loose(title)
    return len(needle) >= 12 and needle in _loose(message)


def reverted(body: str) -> list[str]:
    return [m.lower() for m in REVERT_RE.findall(body)]
