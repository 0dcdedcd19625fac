"""Compile probes and the two selection policies.

How the search decides (this text is also what kmend prints):

* Every probe compiles one candidate against the target headers with ``make M=`` in its
  own temp dir; probes run in parallel in batches of ``jobs`` (default: one per CPU).
* ``newest``: a revision that builds says nothing about later ones (kernel APIs come and
  go), so there is no monotonic boundary to trust.  With at most ``SCAN_ALL`` revisions
  (or ``--exhaustive``), kmend compiles them newest first, batch by batch, and stops at the
  first batch that contains a success: the choice is the newest revision that builds, and
  every newer one was compiled and failed.  With more revisions it k-ary bisects (``jobs``
  probes per round) between the newest failing revision and the oldest, moving towards
  the newest success it sees, until it has a revision that builds next to one that fails;
  revisions that were skipped are counted in the report, since one of them could build.
* ``minimal``: candidates that contain the fix are ordered by how much they change the
  target's own version (lines added + removed); the fix applied on the base comes first.
  They are compiled in that order, batch by batch; the first that builds wins.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from kmend.backport.candidates import module_at, module_files
from kmend.backport.model import Candidate, Probe
from kmend.build import diagnostics
from kmend.build.diagnostics import Diagnostic
from kmend.build.kdir import Kdir
from kmend.build.runner import compile_files
from kmend.errors import CommandTimeout
from kmend.source.kbuild import KbuildModule

SCAN_ALL = 16
PROBE_TIMEOUT = 600.0
ProbeCallback = Callable[[Probe], None]


def default_jobs() -> int:
    return max(1, os.cpu_count() or 1)


def probe(cand: Candidate, like: KbuildModule, kdir: Kdir) -> Probe:
    """Compile *cand* against *kdir* and summarise the outcome."""
    module = module_at(cand.view, like)
    if module is None:
        d = Diagnostic(kind="error", severity="error", file=like.makefile, line=0, column=0,
                       message=f"{like.makefile} does not declare {like.name} at this version")
        return Probe(rev=cand.rev, label=cand.label, kind=cand.kind, ok=False,
                     diagnostics=(d,), first_diagnostic=d.one_line(), needs=(), seconds=0.0,
                     change_size=cand.change_size)
    start = time.monotonic()
    try:
        result, tmp = compile_files(module_files(cand.view, module), kdir, timeout=PROBE_TIMEOUT)
    except CommandTimeout:
        d = Diagnostic(kind="error", severity="error", file="", line=0, column=0,
                       message=f"the build did not finish within {PROBE_TIMEOUT:g} s")
        return Probe(rev=cand.rev, label=cand.label, kind=cand.kind, ok=False,
                     diagnostics=(d,), first_diagnostic=d.one_line(), needs=(),
                     seconds=time.monotonic() - start, change_size=cand.change_size)
    shutil.rmtree(tmp, ignore_errors=True)
    errs = diagnostics.errors(list(result.diagnostics))
    ordered = tuple(errs + [d for d in result.diagnostics if d.severity != "error"])
    first = errs[0].one_line() if errs else ""
    if not result.ok and not first:
        tail = [ln for ln in result.log.splitlines() if ln.strip()][-1:]
        first = tail[0] if tail else f"make exited {result.returncode}"
    return Probe(rev=cand.rev, label=cand.label, kind=cand.kind, ok=result.ok,
                 diagnostics=ordered, first_diagnostic=first,
                 needs=tuple(diagnostics.needed_apis(errs)),
                 seconds=time.monotonic() - start, change_size=cand.change_size)


class Prober:
    """Runs probes in parallel batches and remembers every result."""

    def __init__(self, like: KbuildModule, kdir: Kdir, jobs: int,
                 on_probe: ProbeCallback | None = None,
                 probe_fn: Callable[[Candidate], Probe] | None = None) -> None:
        self.like, self.kdir, self.jobs = like, kdir, max(1, jobs)
        self.on_probe = on_probe
        self.results: dict[str, Probe] = {}
        self._probe = probe_fn or (lambda c: probe(c, self.like, self.kdir))

    def batch(self, cands: Sequence[Candidate]) -> list[Probe]:
        todo = [c for c in cands if c.rev not in self.results]
        if todo:
            with ThreadPoolExecutor(max_workers=min(self.jobs, len(todo))) as pool:
                for p in pool.map(self._probe, todo):
                    self.results[p.rev] = p
                    if self.on_probe:
                        self.on_probe(p)
        return [self.results[c.rev] for c in cands]


@dataclass(frozen=True)
class SearchOutcome:
    chosen: Candidate | None
    description: str


def search_newest(revisions: Sequence[Candidate], prober: Prober, *,
                  exhaustive: bool = False) -> SearchOutcome:
    """Newest revision (of *revisions*, oldest first) that builds; see the module text."""
    n, j = len(revisions), prober.jobs
    if n == 0:
        return SearchOutcome(None, "no candidate revisions")
    if exhaustive or n <= SCAN_ALL:
        compiled = 0
        for hi in range(n, 0, -j):
            group = list(revisions[max(0, hi - j):hi])[::-1]
            results = prober.batch(group)
            compiled += len(group)
            for cand, res in zip(group, results, strict=True):
                if res.ok:
                    return SearchOutcome(cand, (
                        f"newest-first scan of {n} revision(s), {j} in parallel: compiled "
                        f"{compiled}; every revision newer than the choice was compiled and "
                        "failed"))
        return SearchOutcome(None, f"newest-first scan: all {n} revision(s) compiled, none "
                                   "builds")
    top = list(revisions[-j:])[::-1]
    for cand, res in zip(top, prober.batch(top), strict=True):
        if res.ok:
            return SearchOutcome(cand, f"the newest {j} revision(s) were compiled first and "
                                       "this one builds")
    lo, hi = -1, n - j  # revisions[hi] is known to fail; lo builds (or -1: none found)
    while hi - lo > 1:
        span = hi - lo - 1
        k = min(j, span)
        points = sorted({lo + 1 + (span * (i + 1)) // (k + 1) for i in range(k)} - {hi})
        points = [p for p in points if lo < p < hi] or [lo + 1]
        results = prober.batch([revisions[p] for p in points])
        built = [p for p, r in zip(points, results, strict=True) if r.ok]
        if built:
            lo = max(built)
            above = [p for p in points if p > lo]
            hi = min(above) if above else hi
        else:
            hi = min(points)
    compiled = sum(1 for c in revisions if c.rev in prober.results)
    skipped = n - compiled
    if lo < 0:
        return SearchOutcome(None, (
            f"bisect over {n} revisions ({j} probes per round): compiled {compiled}, none "
            f"builds; {skipped} were skipped — use --exhaustive to compile them all"))
    return SearchOutcome(revisions[lo], (
        f"bisect over {n} revisions ({j} probes per round): compiled {compiled}; the choice "
        f"builds and the next revision fails; {skipped} revision(s) were not compiled and "
        "one newer than the choice could still build (APIs come and go) — use --exhaustive "
        "to compile them all"))


def search_minimal(cands: Sequence[Candidate], prober: Prober) -> SearchOutcome:
    """The candidate with the fix that changes the base least and builds."""
    pool = [c for c in cands if c.contains_fix]
    pool.sort(key=lambda c: (c.change_size < 0, c.change_size, 0 if c.kind == "fix-on-base" else 1))
    if not pool:
        return SearchOutcome(None, "no candidate contains the fix")
    compiled = 0
    for i in range(0, len(pool), prober.jobs):
        group = pool[i:i + prober.jobs]
        results = prober.batch(group)
        compiled += len(group)
        for rank, (cand, res) in enumerate(zip(group, results, strict=True), start=i):
            if res.ok:
                order = (f"ordered by lines changed against the target's own version "
                         f"({cand.change_size} for the choice)" if cand.change_size >= 0 else
                         "in history order, oldest first (no target version to count the "
                         "lines changed against)")
                return SearchOutcome(cand, (
                    f"smallest change first: {len(pool)} candidate(s) with the fix, {order}; "
                    f"compiled {compiled}, {prober.jobs} in parallel; the choice is the first "
                    f"in that order that builds ({rank} before it failed)"))
    return SearchOutcome(None, f"smallest change first: all {len(pool)} candidate(s) with the "
                               "fix compiled, none builds")
