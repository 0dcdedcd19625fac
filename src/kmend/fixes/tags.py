"""Release containment: which release tag first contains a commit.

Kernel tags are ``vX.Y-rcN`` and ``vX.Y`` on mainline and ``vX.Y.Z`` on the stable
branches.  ``git tag --contains`` walks the whole graph once per commit; instead
:func:`first_tags` makes one topological pass over the tags in version order: for each tag
``git rev-list TAG --not <earlier tags> <base>`` lists exactly the commits that tag adds,
so the first tag a commit appears under is the first release containing it.  The pass
stops as soon as every commit asked about has been placed, so only the tags up to the
newest candidate are walked.
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


def mainline_after(tags: Iterable[TagVersion], base: TagVersion | None) -> list[TagVersion]:
    """Mainline tags (-rc and final) newer than the mainline release *base* builds on."""
    floor = (base.key[0], base.key[1], 0, 1, 0) if base and base.is_stable else (
        base.key if base else (0, 0, 0, 0, 0))
    return [t for t in tags if not t.is_stable and t.key > floor]


def stable_after(tags: Iterable[TagVersion], base: TagVersion | None,
                 series: tuple[int, int]) -> list[TagVersion]:
    """Stable tags of *series* newer than *base*."""
    floor = base.key if base else (series[0], series[1], 0, 1, 0)
    return [t for t in tags if t.is_stable and t.series == series and t.key > floor]


def first_tags(repo: GitRepo, commits: Iterable[str], tags: Sequence[TagVersion],
               exclude: Sequence[str] = ()) -> dict[str, str]:
    """Map each commit (full sha) to the first of *tags* (in the given order) containing it.

    *exclude* are revisions whose history is known not to matter (the base).
    """
    remaining = set(commits)
    found: dict[str, str] = {}
    previous: list[str] = []
    for tag in tags:
        if not remaining:
            break
        revs = [f"refs/tags/{tag.name}"]
        revs += [f"^refs/tags/{p}" for p in previous] + [f"^{e}" for e in exclude]
        out = repo.git("rev-list", "--stdin", input="\n".join(revs) + "\n").stdout
        added = remaining.intersection(out.split())
        for sha in added:
            found[sha] = tag.name
        remaining -= added
        previous.append(tag.name)
    return found


def first_final(repo: GitRepo, commit: str, first: str,
                tags: Sequence[TagVersion]) -> str | None:
    """The first final (non -rc) tag at or after *first* that contains *commit*."""
    start = parse_tag(first)
    if start is None:
        return None
    if not start.is_rc:
        return first
    for tag in tags:
        if tag.key > start.key and not tag.is_rc and not tag.is_stable:
            return tag.name if repo.is_ancestor(commit, f"refs/tags/{tag.name}") else None
    return None
