"""Backport for an out-of-tree module project: which revision with the fix builds.

Candidates, all containing the fix: the crashed version with the fix merged in
(``git merge-file`` of every project file the fix changes: the smallest change), the fix
commit itself, every release tag that contains it (the project's own version order),
the tips of its release branches that contain it, and the default branch's tip.  With
``--policy minimal`` they are compiled smallest change first (lines added + removed against
the crashed version, ``git diff --numstat``); with ``newest``, newest first.  The first
that builds wins.  Each probe exports the revision (``git archive``) and runs the
project's own Kbuild through make against the target headers (kmend.build.project): the
module declared in the Makefile in old revisions and in Kbuild in new ones is the same
module, because make reads whichever the revision has.  A probe counts as built when make
succeeds and the crashed module's ``.ko`` is among the modules built.
"""

from __future__ import annotations

import difflib
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kmend.backport.apply import merge3
from kmend.build import diagnostics
from kmend.build.kdir import Kdir
from kmend.build.project import build_tree, export, ko_named
from kmend.errors import CommandTimeout
from kmend.fixes.project import release_branches
from kmend.source.git import GitRepo
from kmend.source.project import Project, project_at
from kmend.source.versions import project_tags

FIX_ON_BASE = "fix-on-base"
FIX = "fix"
RELEASE = "release"
BRANCH = "release-branch"
HEAD = "head"
BASE = "base"


@dataclass(frozen=True)
class PCandidate:
    rev: str  # sha, or "BASE+FIX" for the fix merged onto the base
    git_rev: str  # the commit exported
    label: str
    kind: str
    change_size: int
    overlay: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PProbe:
    rev: str
    label: str
    kind: str
    ok: bool
    first_diagnostic: str
    needs: tuple[str, ...]
    seconds: float
    change_size: int
    modules: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProjectPlan:
    chosen: PCandidate | None
    probes: tuple[PProbe, ...]
    search: str
    notes: tuple[str, ...]
    needs: tuple[str, ...]  # what the target lacks, from the failing probes


def _numstat(repo: GitRepo, a: str, b: str, root: str) -> int:
    out = repo.git("diff", "--numstat", "-z", "--no-renames", a, b,
                   *(["--", root] if root else [])).stdout
    total = 0
    for rec in out.split("\0"):
        parts = rec.split("\t")
        if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit():
            total += int(parts[0]) + int(parts[1])
    return total


def _fix_on_base(repo: GitRepo, project: Project, base: str, fix: str) -> PCandidate | str:
    files = repo.git("diff-tree", "--no-commit-id", "-r", "-z", "--name-only", f"{fix}^",
                     fix).stdout.split("\0")
    touched = [p for p in files if p and project.under(p)]
    merged: dict[str, str] = {}
    size = 0
    for p in touched:
        theirs = repo.git("cat-file", "blob", f"{fix}:{p}", check=False)
        if not theirs.ok:
            continue
        ours = repo.git("cat-file", "blob", f"{base}:{p}", check=False)
        anc = repo.git("cat-file", "blob", f"{fix}^:{p}", check=False)
        if not ours.ok or not anc.ok:
            merged[p] = theirs.stdout
        else:
            m = merge3(ours.stdout, anc.stdout, theirs.stdout)
            if m.conflicts:
                return (f"the fix {fix[:12]} does not merge onto the base {base[:12]} "
                        f"({m.conflicts} conflicting hunk(s) in {p})")
            merged[p] = m.text
        before = ours.stdout.splitlines() if ours.ok else []
        ops = difflib.SequenceMatcher(None, before, merged[p].splitlines(),
                                      autojunk=False).get_opcodes()
        size += sum((i2 - i1) + (j2 - j1) for t, i1, i2, j1, j2 in ops if t != "equal")
    if not merged:
        return f"the fix {fix[:12]} changes none of the project's files"
    return PCandidate(rev=f"{base[:12]}+{fix[:12]}", git_rev=base,
                      label="the crashed version with the fix merged in (git merge-file of "
                      + ", ".join(merged) + ")", kind=FIX_ON_BASE, change_size=size,
                      overlay=merged)


def candidates(repo: GitRepo, project: Project, base: str, fix: str | None,
               head: str) -> tuple[list[PCandidate], list[str]]:
    """The candidates containing the fix (or, without a fix, the releases after the base
    and the head), and notes on what was left out."""
    notes: list[str] = []
    out: list[PCandidate] = []
    anchor = fix or base
    if fix is not None:
        if repo.is_ancestor(fix, base):
            notes.append(f"the base {base[:12]} already contains the fix {fix[:12]}")
            out.append(PCandidate(base, base, "the crashed version (it has the fix)", BASE, 0))
        else:
            made = _fix_on_base(repo, project, base, fix)
            if isinstance(made, str):
                notes.append(made)
            else:
                out.append(made)
            subject = repo.git("log", "-1", "--format=%s", fix).stdout.strip()
            out.append(PCandidate(fix, fix, f"the fix commit ({subject})", FIX,
                                  _numstat(repo, base, fix, project.root)))
    contains = set(repo.git("tag", "--contains", anchor).stdout.split())
    for tag in project_tags(repo):
        if tag.name in contains:
            sha = repo.resolve(f"refs/tags/{tag.name}^{{commit}}")
            if sha != base:
                out.append(PCandidate(sha, sha, f"release {tag.name}", RELEASE,
                                      _numstat(repo, base, sha, project.root)))
    for branch in release_branches(repo):
        sha = repo.resolve(branch)
        if repo.is_ancestor(anchor, sha):
            out.append(PCandidate(sha, sha, f"release branch {branch}", BRANCH,
                                  _numstat(repo, base, sha, project.root)))
    head_sha = repo.resolve(head)
    if repo.is_ancestor(anchor, head_sha):
        out.append(PCandidate(head_sha, head_sha, f"{head}, the default branch's tip", HEAD,
                              _numstat(repo, base, head_sha, project.root)))
    seen: set[str] = set()
    unique = []
    for c in out:
        if c.rev not in seen:
            seen.add(c.rev)
            unique.append(c)
    return unique, notes


def probe(repo: GitRepo, cand: PCandidate, module: str, kdir: Kdir,
          timeout: float = 600.0) -> PProbe:
    """Export *cand*, build it with the project's own Kbuild, and summarise."""
    project = project_at(repo, cand.git_rev, module=module)
    start = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="kmend-probe-"))
    try:
        if project is None:
            return PProbe(cand.rev, cand.label, cand.kind, False,
                          "no module project (Makefile/Kbuild with obj-m) at this revision",
                          (), 0.0, cand.change_size)
        src = export(repo, cand.git_rev, project.root, tmp / "src", cand.overlay)
        rel = project.build_dir[len(project.root):].lstrip("/") if project.root else \
            project.build_dir
        try:
            res = build_tree(src, rel, kdir, timeout=timeout)
        except CommandTimeout:
            return PProbe(cand.rev, cand.label, cand.kind, False,
                          f"the build did not finish within {timeout:g} s", (),
                          time.monotonic() - start, cand.change_size)
        names = tuple(k.name.removesuffix(".ko") for k in res.modules)
        has = ko_named(res.modules, module) is not None
        errs = diagnostics.errors(list(res.diagnostics))
        first = errs[0].one_line() if errs else ""
        if res.ok and not has:
            first = f"built {', '.join(names)} but no {module}.ko"
        elif not res.ok and not first:
            tail = [ln for ln in res.log.splitlines() if ln.strip()][-1:]
            first = tail[0] if tail else f"make exited {res.returncode}"
        return PProbe(cand.rev, cand.label, cand.kind, res.ok and has, first,
                      tuple(diagnostics.needed_apis(errs)), time.monotonic() - start,
                      cand.change_size, names)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def plan(repo: GitRepo, project: Project, module: str, kdir: Kdir, *, base: str,
         fix: str | None, head: str = "HEAD", policy: str = "minimal",
         on_probe: Callable[[PProbe], None] | None = None) -> ProjectPlan:
    cands, notes = candidates(repo, project, base, fix, head)
    if policy == "newest":
        order = {FIX_ON_BASE: 0, FIX: 1, BASE: 1, RELEASE: 2, BRANCH: 3, HEAD: 4}
        cands.sort(key=lambda c: (-order[c.kind], -c.change_size))
        how = "newest first (head, release branches, releases newest first, the fix)"
    else:
        cands.sort(key=lambda c: (c.change_size, c.kind != FIX_ON_BASE))
        how = ("smallest change first: lines added + removed against the crashed version "
               "(git diff --numstat)")
    probes: list[PProbe] = []
    chosen = None
    for cand in cands:
        p = probe(repo, cand, module, kdir)
        probes.append(p)
        if on_probe:
            on_probe(p)
        if p.ok:
            chosen = cand
            break
    needs = tuple(dict.fromkeys(n for p in probes if not p.ok for n in p.needs))
    if chosen is not None:
        search = (f"{len(cands)} candidate(s) with the fix, {how}; compiled {len(probes)}; "
                  f"the choice is the first in that order that builds "
                  f"({len(probes) - 1} before it failed)")
    else:
        search = f"{len(cands)} candidate(s) with the fix, {how}; all compiled, none builds"
    return ProjectPlan(chosen, tuple(probes), search, tuple(notes), needs)


_VER_TAG_RE = re.compile(r"^v?(?P<v>\d+(?:\.\d+)*)")


def package_version(repo: GitRepo, cand: PCandidate) -> str:
    """``VERSION+SHORTHASH``: the nearest release's version and the exported commit's
    short hash (``0.12.2+fix.b671c91`` for the fix merged onto 0.12.2)."""
    desc = repo.git("describe", "--tags", "--abbrev=0", cand.git_rev, check=False).stdout.strip()
    m = _VER_TAG_RE.match(desc.rsplit("/", 1)[-1].split("-")[-1]) if desc else None
    version = m.group("v") if m else "0"
    if cand.kind == FIX_ON_BASE:
        fix = cand.rev.split("+", 1)[1]
        return f"{version}+fix.{fix[:7]}"
    return f"{version}+{cand.git_rev[:7]}"


def dkms_conf(own: str | None, *, name: str, version: str, modules: list[tuple[str, str]],
              ) -> str:
    """The project's own dkms.conf with ``PACKAGE_VERSION`` naming the revision and
    ``AUTOINSTALL="yes"``; everything else (``MAKE[]``, ``BUILD_EXCLUSIVE_*``, ``POST_*``,
    ``DEST_MODULE_LOCATION[]``, shell logic) kept as the project wrote it.  Without one:
    a dkms.conf for the modules built (*modules*: name, directory relative to the top)."""
    if own is None:
        lines = [f'PACKAGE_NAME="{name}"', f'PACKAGE_VERSION="{version}"']
        for i, (mod, where) in enumerate(modules):
            lines.append(f'BUILT_MODULE_NAME[{i}]="{mod}"')
            if where:
                lines.append(f'BUILT_MODULE_LOCATION[{i}]="{where}"')
            lines.append(f'DEST_MODULE_LOCATION[{i}]="/updates/dkms"')
        subdirs = {w for _, w in modules if w}
        if subdirs:
            sub = sorted(subdirs)[0]
            lines.append('MAKE[0]="make -C ${kernel_source_dir} '
                         'M=${dkms_tree}/${PACKAGE_NAME}/${PACKAGE_VERSION}/build/'
                         f'{sub} modules"')
        lines.append('AUTOINSTALL="yes"')
        return "# Generated by kmend (the project has no dkms.conf)\n" + "\n".join(lines) + "\n"
    text = re.sub(r'^(\s*)PACKAGE_VERSION\s*=.*$', rf'\1PACKAGE_VERSION="{version}"', own,
                  count=1, flags=re.MULTILINE)
    if not re.search(r"^\s*PACKAGE_VERSION\s*=", text, re.MULTILINE):
        text = f'PACKAGE_VERSION="{version}"\n' + text
    if re.search(r"^\s*AUTOINSTALL\s*=", text, re.MULTILINE):
        text = re.sub(r'^(\s*)AUTOINSTALL\s*=.*$', r'\1AUTOINSTALL="yes"', text,
                      flags=re.MULTILINE)
    else:
        text = text.rstrip("\n") + '\nAUTOINSTALL="yes"\n'
    return text


def write_project_output(repo: GitRepo, cand: PCandidate, dest: Path, *,
                         provenance: str, module: str | None = None,
                         ) -> tuple[Path, Project, str]:
    """Export the chosen candidate into *dest* (new or empty) with the DKMS files;
    returns *dest*, the project (holding *module*) at that revision and the package
    version."""
    project = project_at(repo, cand.git_rev, module=module)
    assert project is not None
    if dest.exists():
        dest.rmdir()  # empty (checked by the caller)
    export(repo, cand.git_rev, project.root, dest, cand.overlay)
    version = package_version(repo, cand)
    own = None
    if project.dkms_conf:
        res = repo.git("cat-file", "blob", f"{cand.git_rev}:{project.dkms_conf}", check=False)
        own = res.stdout if res.ok else None
    build_rel = project.build_dir[len(project.root):].lstrip("/") if project.root else \
        project.build_dir
    mods = [(m, build_rel) for m in project.modules]
    conf = dkms_conf(own, name=project.name, version=version, modules=mods)
    (dest / "dkms.conf").write_text(conf)
    (dest / "PROVENANCE").write_text(provenance)
    return dest, project, version
