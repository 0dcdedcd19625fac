"""A module project's versions: its tags in its own version order, the base as users write
it, and the version a crash log names.

Projects tag releases ``v0.12.2``, ``0.12.2``, ``release-1.2``, ``xone-0.4.10``: the
version is the dotted number after any prefix, compared number by number (``v0.4.10`` is
newer than ``v0.4.2``; missing parts count as 0, so ``v0.8`` equals ``0.8.0``), and a
pre-release suffix (``-rc1``, ``-beta2``, ``-pre``) sorts before the release.  Kernel
rules (``-rcN`` only on ``vX.Y``, stable ``vX.Y.Z`` on branches) do not apply.

The base is given as users write it — a tag (``v0.12.2``), a bare version (``0.12.2``), a
package version with a git describe suffix (``0.12.2.r0.gd3b198e``, ``v1.2-3-gabc1234``:
the commit after ``g``) or a distribution revision (``1:0.12.7-2``), a package name and
version (``v4l2loopback-dkms 0.12.7``), a branch or a commit — or read from the log:
drivers print their version when they load (``v4l2loopback driver version 0.12.2
loaded``, ``Initialized evdi 1.14.7``, ``xone: version 0.4.1``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from kmend.errors import UsageError
from kmend.source.git import GitRepo

_VERSION_RE = re.compile(
    r"^(?:[A-Za-z][A-Za-z0-9_]*?[-_/])?v?(?P<nums>\d+(?:\.\d+){0,4})"
    r"(?:[-_.~]?(?P<pre>rc|alpha|beta|pre|a|b)[-_.]?(?P<pren>\d*))?$", re.IGNORECASE)
_DESCRIBE_RE = re.compile(r"(?:[-.+_]|^)g(?P<sha>[0-9a-f]{7,40})\b")
_PKG_VERSION_RE = re.compile(r"^(?P<ver>v?\d+(?:\.\d+){1,4})(?:[.+\-~_].*)?$")
_VERSION_IN_TEXT = r"v?(\d+(?:\.\d+){1,4})"


@dataclass(frozen=True, slots=True, order=True)
class Version:
    key: tuple[tuple[int, ...], int, int]
    name: str


def version_key(name: str) -> tuple[tuple[int, ...], int, int] | None:
    """The sort key of a tag or version string, None when it is not one."""
    m = _VERSION_RE.match(name.strip())
    if m is None:
        return None
    nums = [int(n) for n in m.group("nums").split(".")]
    while len(nums) > 1 and nums[-1] == 0:
        nums.pop()
    pre = m.group("pre")
    return (tuple(nums), 0 if pre else 1, int(m.group("pren") or 0))


def project_tags(repo: GitRepo) -> list[Version]:
    """Every tag that is a version, oldest version first."""
    out = []
    for name in repo.tags("*"):
        key = version_key(name)
        if key is not None:
            out.append(Version(key, name))
    return sorted(out)


@dataclass(frozen=True, slots=True)
class Resolved:
    spec: str  # as given
    name: str  # the tag or revision it was matched to
    sha: str
    how: str  # in words


def resolve_version(repo: GitRepo, spec: str, tags: Iterable[Version] | None = None) -> Resolved:
    """The revision *spec* names (see the module docstring); UsageError naming the tags
    when nothing matches."""
    spec = spec.strip()
    tags = list(tags) if tags is not None else project_tags(repo)
    for tag in (spec, f"v{spec}"):
        if repo.has_revision(f"refs/tags/{tag}"):
            how = "the tag" if tag == spec else f"the tag {tag} of version {spec}"
            return Resolved(spec, tag, repo.resolve(f"refs/tags/{tag}^{{commit}}"), how)
    dm = _DESCRIBE_RE.search(spec)
    if dm and repo.has_revision(dm.group("sha")):
        sha = repo.resolve(dm.group("sha"))
        return Resolved(spec, sha[:12], sha, f"the commit g{dm.group('sha')} in the "
                        "version string")
    key = version_key(spec)
    bare = re.sub(r"^\d+:", "", spec)  # a Debian epoch: 1:0.12.7-2
    pm = _PKG_VERSION_RE.match(bare)
    if key is None and pm is not None:
        key = version_key(pm.group("ver"))
    if key is None and (tm := re.search(r"(?<![\w.])v?\d+(?:\.\d+)+", bare)) is not None:
        key = version_key(tm.group(0))  # the version in "v4l2loopback-dkms 0.12.7"
    if key is not None:
        same = [t for t in tags if t.key == key]
        if same:
            tag = same[-1].name
            return Resolved(spec, tag, repo.resolve(f"refs/tags/{tag}^{{commit}}"),
                            f"the tag {tag}, the same version")
    if not re.fullmatch(r"\d+(?:\.\d+)*", spec) and repo.has_revision(spec):
        return Resolved(spec, spec, repo.resolve(spec), "a revision of the repository")
    near = ", ".join(t.name for t in tags[-6:]) or "none"
    raise UsageError(f"{spec!r} names no tag, version or revision of {repo.path}",
                     f"give --base as a tag or commit (newest tags: {near})")


def version_from_log(lines: Iterable[str], module: str) -> str | None:
    """The version the log says *module* (or its project) loaded as, the last one printed."""
    names = {module, module.replace("_", "-"), module.replace("-", "_")}
    alts = "|".join(re.escape(n) for n in sorted(names))
    patterns = (
        re.compile(rf"\b(?:{alts})\b[^\n]{{0,40}}?\bversion[: ]+{_VERSION_IN_TEXT}", re.I),
        re.compile(rf"\bInitialized (?:{alts}) {_VERSION_IN_TEXT}"),
        re.compile(rf"\b(?:{alts})\b[^\n]{{0,20}}?\bv(\d+(?:\.\d+){{1,4}})\b"),
    )
    found = None
    for line in lines:
        if not any(n in line for n in names):
            continue
        for rx in patterns:
            m = rx.search(line)
            if m:
                found = m.group(1)
                break
    return found


def kernel_version(release: str | None) -> tuple[int, int, int] | None:
    """(major, minor, sub) of a kernel release string (``5.4.1-zen2-1-zen`` → 5, 4, 1)."""
    m = re.match(r"^(\d+)\.(\d+)(?:\.(\d+))?", release or "")
    if m is None:
        return None
    return int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
