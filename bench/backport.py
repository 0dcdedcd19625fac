#!/usr/bin/env python3
"""Benchmark: compile-probing N backport candidates in parallel vs N sequential builds.

The candidates are real: the revisions of kmend-demo in the history made by
scripts/make-backport-history.py (plus the target's own version and base+fix), repeated
until there are N, each compiled against KDIR with `make -C KDIR M=… modules` in its own
temp dir — exactly what `kmend backport` does.  In the same run:

  reference   N × one `make M=` build, one after another (kmend's probe, jobs=1)
  parallel    the same N probes through kmend's Prober with a pool of JOBS (default: CPUs)
  ideal       reference / JOBS

Prints best-of-REPEAT wall times (runs interleaved: sequential, parallel, sequential, …)
and parallel / ideal (target: ≤ 1.3).  Nothing is asserted.  The machine may be shared:
other processes take cores from the parallel run more than from the sequential one, so
look at the load average and every run's pair printed alongside.
Usage: bench/backport.py [--kdir DIR] [-n N] [--jobs J] [--repeat R]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from kmend import proc  # noqa: E402
from kmend.backport.candidates import git_candidates  # noqa: E402
from kmend.backport.model import Candidate  # noqa: E402
from kmend.backport.search import Prober  # noqa: E402
from kmend.build.kdir import find_kdir  # noqa: E402
from kmend.source.git import GitRepo  # noqa: E402


def candidates(repo: Path, n: int) -> tuple[list[Candidate], Prober]:
    shas = dict(line.split() for line in proc.run(
        [sys.executable, str(REPO / "scripts/make-backport-history.py"), str(repo)],
        timeout=120).stdout.splitlines())
    cs = git_candidates(GitRepo(repo), "kmend-demo", fix=shas["fix"], base="v6.1")
    pool = [*cs.revisions, *(c for c in (cs.base, cs.fix_on_base) if c is not None)]
    out = [replace(pool[i % len(pool)], rev=f"{pool[i % len(pool)].rev}#{i}") for i in range(n)]
    return out, Prober(cs.module, find_kdir(Path(ARGS.kdir)), 1)


def timed(cands: list[Candidate], like: Prober, jobs: int) -> tuple[float, int]:
    prober = Prober(like.like, like.kdir, jobs)
    start = time.monotonic()
    results = prober.batch(cands)
    return time.monotonic() - start, sum(r.ok for r in results)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="kmend-bench-") as tmp:
        cands, like = candidates(Path(tmp) / "repo", ARGS.n)
        jobs = ARGS.jobs or (os.cpu_count() or 1)
        seq: list[float] = []
        par: list[float] = []
        for _ in range(ARGS.repeat):
            t, ok_seq = timed(cands, like, 1)
            seq.append(t)
            t, ok_par = timed(cands, like, jobs)
            par.append(t)
            assert ok_seq == ok_par, "parallel and sequential probes disagree"
        s, p = min(seq), min(par)
        ideal = s / jobs
        print(f"kdir            {like.kdir.path} ({like.kdir.release})")
        print(f"candidates      {len(cands)} ({ok_seq} build, {len(cands) - ok_seq} fail)")
        print(f"jobs            {jobs}   (os.cpu_count() = {os.cpu_count()})")
        print(f"load average    {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(f"sequential      {s:7.2f} s  (N x one make M= build; {s / len(cands):.2f} s each)")
        print(f"parallel        {p:7.2f} s")
        print(f"ideal N/cores   {ideal:7.2f} s")
        print(f"parallel/ideal  {p / ideal:7.2f}   (target <= 1.3)")
        print(f"speed-up        {s / p:7.2f}x")
        print("runs (seq/par)  " + "  ".join(f"{a:.2f}/{b:.2f}" for a, b in zip(seq, par, strict=True)))
    return 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kdir", default="/lib/modules/6.1.0-47-amd64/build")
    ap.add_argument("-n", type=int, default=8)
    ap.add_argument("--jobs", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=2)
    ARGS = ap.parse_args()
    sys.exit(main())
