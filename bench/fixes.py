#!/usr/bin/env python3
"""Benchmark: kmend's fix-candidate search against ``git log --format=%H -- FILE``.

    bench/fixes.py [--commits 200000] [--repo-dir DIR] [--runs 5]

Generates (or reuses, in --repo-dir) a kernel-shaped repository with at least --commits
commits through scripts/make-kernel-history.py (git fast-import; almost every commit
touches files other than the crash file; a commit-graph with changed-path Bloom filters
is written, which both sides below use), then times, in the same run, median of --runs:

* reference — ``git log --format=%H -- drivers/xen/evtchn.c``: the whole history, hashes
  only;
* kmend search — what ``kmend fixes`` does to enumerate candidates: ``git log -p -U0``
  over v3.10.20..HEAD for the file with full messages and zero-context patches, parsed
  into commits, plus one ``git cat-file --batch`` of the parents' versions to decide which
  commits change the crash function;
* for information: a busier file (~100 commits) through the same log -p; the whole
  ``find_fixes`` (adds blame at the base, Fixes: resolution,
  the stable branch, release placement) and the same with ``git log -L`` (--line-log).

Prints the figures and the ratios; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from kmend import proc  # noqa: E402
from kmend.fixes import history  # noqa: E402
from kmend.fixes.base import resolve_range  # noqa: E402
from kmend.fixes.model import CrashSite  # noqa: E402
from kmend.fixes.search import find_fixes  # noqa: E402
from kmend.source.git import GitRepo  # noqa: E402

FILE = "drivers/xen/evtchn.c"
FUNCTION = "evtchn_bind_to_user"


def timed(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm the page cache and git's object caches
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def ensure_repo(repo_dir: Path, commits: int) -> dict[str, object]:
    manifest_path = repo_dir / "manifest.json"
    if manifest_path.exists():
        manifest: dict[str, object] = json.loads(manifest_path.read_text())
        if int(str(manifest["commits"])) >= commits:
            return manifest
    repo_dir.mkdir(parents=True, exist_ok=True)
    print(f"generating a repository with >= {commits} commits in {repo_dir} …", flush=True)
    t0 = time.perf_counter()
    res = proc.run([sys.executable, str(ROOT / "scripts/make-kernel-history.py"),
                    str(repo_dir / "linux.git"), "--unrelated", str(commits)], timeout=7200)
    manifest = json.loads(res.stdout)
    manifest["generation_seconds"] = round(time.perf_counter() - t0, 1)
    manifest_path.write_text(json.dumps(manifest, indent=2))
    return manifest


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--commits", type=int, default=200_000)
    ap.add_argument("--repo-dir", type=Path, default=Path("/tmp/kmend-bench-fixes"))
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    manifest = ensure_repo(args.repo_dir, args.commits)
    repo = GitRepo(Path(str(manifest["repo"])))
    print(f"repository: {manifest['repo']} — {manifest['commits']} commits"
          + (f", generated in {manifest['generation_seconds']} s"
             if "generation_seconds" in manifest else ""))
    rng = resolve_range(repo, "v3.10.20")
    in_range = int(repo.git("rev-list", "--count", f"{rng.base_sha}..{rng.head_sha}").stdout)
    print(f"search range v3.10.20..{rng.head}: {in_range} commits")

    def reference() -> object:
        return repo.git("log", "--format=%H", "--", FILE).stdout

    def search() -> object:
        commits = history.file_history(repo, rng.base_sha, rng.head_sha, FILE)
        return history.function_spans(repo, commits, FILE, FUNCTION)

    site = CrashSite(file=FILE, function=FUNCTION, line=264)

    def full() -> object:
        return find_fixes(repo, rng, site)

    def full_line_log() -> object:
        return find_fixes(repo, rng, site, line_log=True)

    ref = timed(reference, args.runs)
    ours = timed(search, args.runs)
    whole = timed(full, args.runs)
    whole_l = timed(full_line_log, args.runs)
    busy = "drivers/xen/part0/file0.c"
    busy_ref = timed(lambda: repo.git("log", "--format=%H", "--", busy).stdout, args.runs)
    busy_ours = timed(lambda: history.file_history(repo, rng.base_sha, rng.head_sha, busy),
                      args.runs)
    n_busy = len(repo.git("log", "--format=%H", "--", busy).stdout.split())
    n_ref = len(str(reference()).split())
    n_ours = len(history.file_history(repo, rng.base_sha, rng.head_sha, FILE))
    print(f"reference  git log --format=%H -- {FILE}: {ref * 1000:8.1f} ms "
          f"({n_ref} commits, whole history)")
    print(f"kmend      candidate search (log -p + parents' spans): {ours * 1000:8.1f} ms "
          f"({n_ours} candidates)  ratio {ours / ref:.2f}x  (target <= 1.5x)")
    print(f"info       find_fixes, everything:                    {whole * 1000:8.1f} ms  "
          f"ratio {whole / ref:.2f}x")
    print(f"info       find_fixes --line-log (git log -L):        {whole_l * 1000:8.1f} ms  "
          f"ratio {whole_l / ref:.2f}x")
    print(f"info       a busier file ({busy}, {n_busy} commits): reference "
          f"{busy_ref * 1000:.1f} ms, kmend log -p {busy_ours * 1000:.1f} ms  "
          f"ratio {busy_ours / busy_ref:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
