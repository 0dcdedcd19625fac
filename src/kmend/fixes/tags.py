"""Release containment: which release tag first contains a commit.

Kernel tags are ``vX.Y-rcN`` and ``vX.Y`` on mainline and ``vX.Y.Z`` on the stable
branches.  ``git tag --contains`` answers for one commit per run; :func:`first_tags`
names every candidate in one ``git name-rev --tags`` run instead (measured by
bench/fixes.py: a topological ``rev-list`` pass over every tag took ~1.7 s on 200,000
commits, name-rev ~0.2 s).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from kmend.source.git import GitRepo

_TAG_RE = re.compile(r"^v(\d+)\.(\d+)(?:\.(\d+))?(?:-rc(\d+))?$")


@dataclass(frozen=True, slots=True, order=True)
class TagVersion:
    key: tuple[int, int, int, int, int]
    name: str

    @property
    def is_rc(self) -> bool:
        return self.key[3] == 0

    @property
    def is_stable(self) -> bool:
        return self.key[2] > 0

    @property
    def series(self) -> tuple[int, int]:
        return (self.key[0], self.key[1])


def parse_tag(name: str) -> TagVersion | None:
    """``v3.18-rc1`` < ``v3.18`` < ``v3.18.1``; None for other tag names."""
    m = _TAG_RE.match(name)
    if m is None:
        return None
    major, minor, sub, rc = int(m[1]), int(m[2]), int(m[3] or 0), m[4]
    if sub and rc is not None:
        return None
    return TagVersion((major, minor, sub, 0 if rc is not None else 1, int(rc or 0)), name)


def release_tags(repo: GitRepo) -> list[TagVersion]:
    """Every kernel-style tag of *repo*, in version order."""
    found = (parse_tag(t) for t in repo.tags("v*"))
    return sorted(t for t in found if t is not None)


def first_tags(repo: GitRepo, commits: Iterable[str]) -> dict[str, str]:
    """Map each commit (full sha) to the oldest release tag containing it.

    One ``git name-rev --tags`` run names every commit at once; among tags that contain a
    commit, name-rev prefers the one with the oldest tagger date, which on kernel history
    is the first release containing it (``v3.18-rc1`` for ``v3.18-rc1^2~2``).  Commits no
    tag contains are left out.
    """
    shas = list(dict.fromkeys(commits))
    if not shas:
        return {}
    out = repo.git("name-rev", "--tags", "--name-only", "--always",
                   *shas).stdout.splitlines()
    found: dict[str, str] = {}
    for sha, name in zip(shas, out, strict=False):
        tag = re.split(r"[~^]", name.removeprefix("tags/"), maxsplit=1)[0]
        if parse_tag(tag) is not None:
            found[sha] = tag
    return found


def first_final(first: str, tags: Sequence[TagVersion]) -> str | None:
    """The final release of the -rc tag *first* (``v3.18`` for ``v3.18-rc1``), if tagged.

    Mainline tags are nested (every release contains its -rc tags), so no walk is needed.
    """
    start = parse_tag(first)
    if start is None or not start.is_rc:
        return first if start is not None else None
    final = f"v{start.key[0]}.{start.key[1]}"
    return final if any(t.name == final for t in tags) else None
