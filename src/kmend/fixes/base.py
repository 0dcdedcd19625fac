"""Which upstream revision the crashed kernel is: the base tag, the head, the stable branch."""

from __future__ import annotations

from dataclasses import dataclass

from kmend.errors import InputError, StateError, UsageError
from kmend.fixes.tags import TagVersion, parse_tag, release_tags
from kmend.kernel.release import (
    KernelRelease,
    parse_release,
    resolve_release,
    stable_branch,
    upstream_tag,
    warnings_for,
)
from kmend.source.git import GitRepo, find_refs


class BaseMissing(StateError):
    """The base tag of the crashed kernel is not in the repository (exit 7)."""


@dataclass(frozen=True, slots=True)
class SearchRange:
    base: str  # tag name or revision as given
    base_sha: str
    base_tag: TagVersion | None
    head: str
    head_sha: str
    release: KernelRelease | None
    stable_branch: str | None  # e.g. linux-3.10.y
    stable_ref: str | None  # the ref (or newest stable tag) of that branch
    tags: tuple[TagVersion, ...]
    warnings: tuple[str, ...]


def resolve_range(repo: GitRepo, spec: str | None, *, head: str | None = None,
                  package_version: str | None = None) -> SearchRange:
    """Resolve *spec* (a kernel release, an upstream version or tag, or a revision)."""
    if not spec:
        raise UsageError("no base kernel release",
                         "give --base (e.g. --base 3.10.20-11.el6.x86_64 or --base v3.10.20)")
    warnings: list[str] = []
    release: KernelRelease | None
    try:
        release = resolve_release(spec, package_version=package_version)
    except UsageError:
        if not repo.has_revision(spec):
            raise  # neither a release string nor a revision: say how releases look
        release = None
    if release is not None:
        base = upstream_tag(release)
        warnings += warnings_for(release)
        if not repo.has_revision(f"refs/tags/{base}"):
            mainline = f"v{release.series[0]}.{release.series[1]}"
            near = (f", or --base {mainline} to compare with the mainline release"
                    if base != mainline and repo.has_revision(f"refs/tags/{mainline}") else "")
            raise BaseMissing(
                f"tag {base} (the upstream base of {release.raw}) is not in {repo.path}",
                "fetch the linux-stable tags (git fetch --tags "
                "https://git.kernel.org/pub/scm/linux/kernel/git/stable/linux.git)" + near,
            )
        base_sha = repo.resolve(f"refs/tags/{base}")
    else:
        base, base_sha = spec, repo.resolve(spec)
    tags = tuple(release_tags(repo))
    base_tag = parse_tag(base)
    head_rev, head_sha = _choose_head(repo, tags, head)
    if not repo.is_ancestor(base_sha, head_sha) and base_tag is not None \
            and not base_tag.is_stable:
        warnings.append(f"{base} is not an ancestor of {head_rev}")
    branch = ref = None
    if base_tag is not None:
        rel = release or parse_release(base)
        branch = stable_branch(rel)
        refs = find_refs(repo, [f"refs/heads/{branch}", f"refs/remotes/*/{branch}"])
        if refs:
            ref = refs[0]
        else:
            newest = [t for t in tags if t.is_stable and t.series == base_tag.series]
            ref = f"refs/tags/{newest[-1].name}" if newest else None
    return SearchRange(base=base, base_sha=base_sha, base_tag=base_tag, head=head_rev,
                       head_sha=head_sha, release=release, stable_branch=branch,
                       stable_ref=ref, tags=tags, warnings=tuple(warnings))


def _choose_head(repo: GitRepo, tags: tuple[TagVersion, ...],
                 head: str | None) -> tuple[str, str]:
    """The explicit head, else HEAD when it contains the newest mainline tag, else that tag."""
    if head:
        if not repo.has_revision(head):
            raise InputError(f"revision {head!r} not found in {repo.path}",
                             "give --head a branch, tag or commit of the repository")
        return head, repo.resolve(head)
    mainline = [t for t in tags if not t.is_stable]
    if not mainline:
        return "HEAD", repo.resolve("HEAD")
    newest = mainline[-1].name
    newest_sha = repo.resolve(f"refs/tags/{newest}")
    if repo.has_revision("HEAD") and repo.is_ancestor(newest_sha, "HEAD"):
        return "HEAD", repo.resolve("HEAD")
    return newest, newest_sha
