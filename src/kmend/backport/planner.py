"""Plan a backport: gather candidates, probe them, choose per policy, explain the outcome."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kmend.backport import model
from kmend.backport.candidates import CandidateSet, git_candidates, tree_candidates
from kmend.backport.model import BackportPlan, Candidate, Probe
from kmend.backport.search import (
    ProbeCallback,
    Prober,
    SearchOutcome,
    search_minimal,
    search_newest,
)
from kmend.build.kdir import Kdir, require_compiler
from kmend.errors import InputError, UsageError
from kmend.source.git import GitRepo, is_url
from kmend.source.kbuild import find_module
from kmend.source.tree import Tarball, is_tarball, open_tree
from kmend.source.view import SourceView

POLICIES = ("newest", "minimal")


@dataclass(frozen=True)
class PlanResult:
    plan: BackportPlan
    candidates: CandidateSet
    chosen: Candidate | None


def open_view(spec: Path, module_spec: str, hint: str | None = None,
              notify: Callable[[str], None] | None = None) -> SourceView:
    """A view of a source tree or tarball (unpacking only the module's directory).

    For a tarball, the module's directory comes from the source path, from *hint* (the
    directory another version keeps it in) when the module is declared there, or else
    from a first pass that unpacks only the Kbuild Makefiles.
    """
    if is_tarball(spec):
        tb = Tarball(spec, notify=notify)
        if module_spec.endswith((".c", ".S")) or "/" in module_spec:
            return tb.unpack_dirs([module_spec.rsplit("/", 1)[0]])
        if hint:
            view = tb.unpack_dirs([hint])
            try:
                if find_module(view, module_spec).directory == hint:
                    return view
            except InputError:
                pass
        directory = find_module(tb.makefiles_view(), module_spec).directory
        return tb.unpack_dirs([directory])
    return open_tree(spec)


def _is_git(path: Path) -> bool:
    return (path / ".git").exists() or ((path / "HEAD").is_file() and (path / "objects").is_dir())


def gather(source: Path | str, module_spec: str, kdir: Kdir, *, fix: str | None,
           base: str | None, newest: str, base_source: Path | None,
           notify: Callable[[str], None] | None = None) -> CandidateSet:
    if isinstance(source, str) and is_url(source):
        from kmend.fixes.repo import open_repo

        repo = open_repo(source, progress=notify or (lambda _m: None))
        return git_candidates(repo, module_spec, newest=newest, fix=fix, base=base,
                              target_version=kdir.version)
    source = Path(source)
    if not source.exists():
        raise InputError(f"{source}: no such file or directory",
                         "give a kernel git repository, source tree or tarball")
    if source.is_dir() and _is_git(source):
        if base_source is not None:
            raise UsageError("--base-source is for source trees",
                             "with a git repository give --base REV")
        repo = GitRepo.open(source)
        repo.ensure_commit_graph()
        return git_candidates(repo, module_spec, newest=newest, fix=fix, base=base,
                              target_version=kdir.version)
    if base is not None:
        raise UsageError("--base REV needs a git --source", "give --base-source TREE instead")
    fix_text = None
    fix_name = "fix"
    if fix is not None:
        fpath = Path(fix)
        if fpath.is_file():
            fix_text = fpath.read_text(errors="replace")
            fix_name = fpath.name
        else:
            fix_text = fix
    view = open_view(source, module_spec, notify=notify)
    hint = find_module(view, module_spec).directory
    base_view = (open_view(base_source, module_spec, hint, notify)
                 if base_source is not None else None)
    return tree_candidates(view, module_spec, base_view=base_view, fix_patch=fix_text,
                           fix_name=fix_name)


def _advice(cs: CandidateSet, policy: str, outcome: SearchOutcome, prober: Prober,
            fix: str | None) -> list[str]:
    out: list[str] = list(cs.notes)
    major, minor, _ = prober.kdir.version
    own = f"/usr/src/linux-source-{major}.{minor}.tar.xz from linux-source-{major}.{minor}"
    if outcome.chosen is None:
        failing = [p for p in prober.results.values() if not p.ok]
        needs = list(dict.fromkeys(n for p in failing for n in p.needs))
        if needs:
            out.append("the target kernel lacks: " + "; ".join(needs[:8]))
        fob = cs.fix_on_base
        if policy == "newest":
            if fob is not None:
                res = prober.batch([fob])[0]
                if res.ok:
                    out.append("the fix applied on the target's own version builds: "
                               "run again with --policy minimal")
                else:
                    out.append("the fix applied on the target's own version fails too: "
                               f"{res.first_diagnostic}")
            elif fix:
                out.append("no revision containing the fix builds against the target; give "
                           "the target's own version (--base REV, or --base-source TREE for "
                           "a source tree) so kmend can apply the fix on top of it "
                           "(--policy minimal)")
            elif cs.revisions and cs.revisions[0].kind == model.TREE:
                out.append("a source tree is one version with no history: give the target's "
                           f"own sources (--base-source TREE, e.g. Debian's {own}) and the "
                           "fix as a patch (--fix FILE) with --policy minimal, or a git "
                           "repository (--source GIT --fix SHA) so kmend can probe the "
                           "revisions in between")
            else:
                out.append("no revision builds; give --fix SHA and the target's own "
                           "version (--base REV), then use --policy minimal")
        if cs.base is not None:
            base_probe = prober.batch([cs.base])[0]
            if not base_probe.ok:
                out.append("the target's own version does not build either: the build "
                           f"environment is at fault ({base_probe.first_diagnostic})")
        out.append("or port the failing code to the target's APIs by hand (the diagnostics "
                   "above name each one)")
    else:
        newer = [p for p in prober.results.values()
                 if not p.ok and p.kind in (model.REVISION, model.TREE)]
        if newer:
            needs = list(dict.fromkeys(n for p in newer for n in p.needs))
            if needs:
                out.append("newer revisions fail because the target lacks: "
                           + "; ".join(needs[:8]))
    return out


def plan_backport(source: Path | str, module_spec: str, kdir: Kdir, *, policy: str = "newest",
                  fix: str | None = None, base: str | None = None, newest: str = "HEAD",
                  base_source: Path | None = None, jobs: int = 1, exhaustive: bool = False,
                  on_probe: ProbeCallback | None = None,
                  notify: Callable[[str], None] | None = None) -> PlanResult:
    """Probe the candidates of *module_spec* in *source* against *kdir* and choose one."""
    if policy not in POLICIES:
        raise UsageError(f"unknown policy {policy!r}", "use newest or minimal")
    require_compiler(kdir)
    cs = gather(source, module_spec, kdir, fix=fix, base=base, newest=newest,
                base_source=base_source, notify=notify)
    prober = Prober(cs.module, kdir, jobs, on_probe)
    if policy == "newest":
        revs: Sequence[Candidate] = cs.revisions
        if fix is not None:
            revs = [c for c in revs if c.contains_fix is not False]
        outcome = search_newest(revs, prober, exhaustive=exhaustive)
    else:
        if fix is None:
            raise UsageError("--policy minimal needs --fix", "give the fix commit (or patch)")
        # The target's own version itself when it already carries the fix (change size 0).
        own = [cs.base] if cs.base is not None and cs.base.contains_fix else []
        pool = [*own, *([cs.fix_on_base] if cs.fix_on_base else []), *cs.revisions]
        outcome = search_minimal(pool, prober)
    explanation = _advice(cs, policy, outcome, prober, fix)
    chosen = outcome.chosen
    probes: list[Probe] = sorted(prober.results.values(), key=_probe_order(cs))
    plan = BackportPlan(
        module=cs.module.name,
        files=cs.paths,
        base_rev=cs.base.rev if cs.base else None,
        chosen_rev=chosen.rev if chosen else None,
        probes=tuple(probes),
        policy=policy,
        chosen_label=chosen.label if chosen else "",
        chosen_kind=chosen.kind if chosen else "",
        fix=fix,
        source=str(source),
        target=kdir.release,
        kdir=str(kdir.path),
        search=outcome.description,
        candidates=len(cs.revisions) + (cs.fix_on_base is not None) + (cs.base is not None),
        explanation=tuple(explanation),
    )
    return PlanResult(plan=plan, candidates=cs, chosen=chosen)


def _probe_order(cs: CandidateSet) -> Callable[[Probe], int]:
    order = {c.rev: i for i, c in enumerate(cs.revisions)}
    extra = len(order)
    def key(p: Probe) -> int:
        if p.kind == model.BASE:
            return -2
        if p.kind == model.FIX_ON_BASE:
            return -1
        return order.get(p.rev, extra)
    return key
