"""The releases that carry a fix: the first tag containing the commit (``git name-rev``
through :mod:`kmend.fixes.tags`) and the first stable tag of each backport whose message
names it (``commit X upstream.``, :func:`kmend.fixes.history.upstream_refs`).

What ``kmend rebuild`` compares a new kernel's version against.  Best effort: a
repository without version tags leaves the release keys out.
"""

from __future__ import annotations

from typing import Any

from kmend.errors import KmendError
from kmend.fixes import history, tags
from kmend.source.git import GitRepo


def fix_facts(repo: GitRepo, fix: str) -> dict[str, Any]:
    """fix_commit (full), fix_subject, fix_first_release, fix_stable_releases."""
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
