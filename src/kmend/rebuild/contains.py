"""Does a kernel release already contain a fix?  Decided from versions alone.

A fix first released upstream in ``v6.2`` is in every kernel at or past 6.2; a stable
backport first released in ``v6.1.77`` is in every 6.1 kernel at or past 6.1.77.  The
kernel's upstream version comes from :mod:`kmend.kernel.release` (Debian's
``6.1.0-57-amd64`` is upstream 6.1.192: its package version, or the SUBLEVEL of its
headers' Makefile).  Pure functions over the version text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kmend.fixes.tags import TagVersion, parse_tag
from kmend.kernel.release import KernelRelease


@dataclass(frozen=True)
class Containment:
    """``contains`` is None when the versions cannot tell; ``reason`` says why in words."""

    contains: bool | None
    reason: str
    release: str = ""  # the tag that decided it (v6.2, v6.1.77)


def version_text(rel: KernelRelease) -> str:
    v = ".".join(str(n) for n in rel.upstream)
    return f"{v}-rc{rel.rc}" if rel.rc is not None else v


def _key(rel: KernelRelease) -> tuple[int, int, int, int, int]:
    up = (*rel.upstream, 0, 0, 0)
    return (up[0], up[1], up[2], 0 if rel.rc is not None else 1, rel.rc or 0)


def contains_fix(rel: KernelRelease, first_release: str | None,
                 stable_releases: Sequence[str] = ()) -> Containment:
    """Whether kernel *rel* contains a fix first released in *first_release* (an upstream
    tag) or backported in the stable releases *stable_releases*."""
    first = parse_tag(first_release) if first_release else None
    stables = [t for t in (parse_tag(s) for s in stable_releases) if t is not None]
    if first is None and not stables:
        return Containment(None, "the fix's upstream release is not known")
    if not rel.exact:
        return Containment(None, f"{rel.raw} names the ABI series {rel.series[0]}."
                                 f"{rel.series[1]}, not its upstream version")
    have = _key(rel)
    shown = version_text(rel)
    if first is not None and not first.is_stable and have >= first.key:
        return Containment(True, f"{rel.raw} is upstream {shown}, at or past {first.name}, "
                                 "the first release with the fix", first.name)
    same: list[TagVersion] = [t for t in stables if t.series == rel.series]
    if first is not None and first.is_stable and first.series == rel.series:
        same.append(first)
    for tag in sorted(same):
        if have >= tag.key:
            return Containment(True, f"{rel.raw} is upstream {shown}, at or past {tag.name}, "
                                     f"the {tag.series[0]}.{tag.series[1]}.y stable release "
                                     "with the fix", tag.name)
    names = ([first.name] if first is not None else []) + [t.name for t in stables]
    known = ", ".join(dict.fromkeys(names))
    note = (" (a distribution kernel may carry it as a backport all the same)"
            if rel.heavy_backports else "")
    return Containment(False, f"{rel.raw} is upstream {shown}, before the releases with "
                              f"the fix ({known}){note}")
