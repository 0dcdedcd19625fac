#!/usr/bin/env python3
"""Benchmark: `kmend check` against kmod's `depmod -e -E Module.symvers`, same modules, same run.

The module set: kmend's test modules and doctored variants built for KERNEL (see
tests/data/testmods, scripts/make_ko_variants.py), the same hello built for the other
test kernels, and COUNT of Debian's own modules from a FOREIGN kernel ABI.  Both tools
check them all against KERNEL's Module.symvers:

  depmod -b TMP -e -E KDIR/Module.symvers -n KERNEL   (one process, the reference)
  kmend: KernelTarget.from_kdir(KDIR) + read_module + check_module for each module

Then a whole installed kernel tree, one process each, wall and CPU (user+sys) time:

  kmend check --kernel-tree R          vs  depmod -e -E R's Module.symvers -n R
                                          (the goal: within 3x)

kmend runs as installed (its bytecode compiled: PYTHONDONTWRITEBYTECODE is dropped from
its environment, after one warm-up run), once with its default --jobs (the CPUs) and once
with --jobs 1 (one process, like depmod).

Prints the best-of-REPEAT wall time of each and the ratio, then every module on which the
two disagree: what kmend predicts the kernel will print first vs depmod's first warning.
Nothing is asserted.  Usage: bench/check.py [--kernel R] [--foreign R] [--count N] [--repeat N]
[--tree-only]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "src"), str(REPO / "tests")]

from kmend import proc  # noqa: E402
from kmend.kernel.target import KernelTarget  # noqa: E402
from kmend.ko import read_module  # noqa: E402
from kmend.loadcheck import check_module  # noqa: E402
from kmodbuild import build_kernel, kdir_of  # noqa: E402

_WARN = re.compile(r"^depmod: WARNING: (\S+\.ko) (.*)$")


def stage_modules(base: Path, kernel: str, foreign: str, count: int) -> list[Path]:
    extra = base / "lib/modules" / kernel / "extra"
    extra.mkdir(parents=True)
    built = build_kernel(kernel, base / "build")
    for label, ko in built.items():
        shutil.copyfile(ko, extra / f"{label}.ko")
    for other in ("6.1.0-47-amd64", "6.12.117+deb12-amd64", "6.1.0-57-amd64"):
        if other != kernel and (kdir_of(other) / "Module.symvers").is_file():
            ko = build_kernel(other, base / "build-other")["hello"]
            safe = other.replace(".", "_").replace("+", "_")  # depmod: name ends at the first "."
            shutil.copyfile(ko, extra / f"hello-built-for-{safe}.ko")
    taken = 0
    for dirpath, dirnames, filenames in os.walk(Path("/lib/modules") / foreign / "kernel/drivers"):
        dirnames.sort()
        for name in sorted(filenames):
            if name.endswith(".ko") and taken < count:
                prefix = foreign.replace(".", "_").replace("+", "_")
                shutil.copyfile(Path(dirpath) / name, extra / f"{prefix}-{name}")
                taken += 1
    return sorted(extra.glob("*.ko"))


def run_depmod(base: Path, kernel: str, symvers: Path) -> tuple[float, dict[str, list[str]]]:
    start = time.perf_counter()
    res = proc.run(["depmod", "-b", str(base), "-e", "-E", str(symvers), "-n", kernel],
                   timeout=300)
    elapsed = time.perf_counter() - start
    warnings: dict[str, list[str]] = {}
    for line in res.stderr.splitlines():
        m = _WARN.match(line)
        if m:
            warnings.setdefault(Path(m[1]).name, []).append(m[2])
    return elapsed, warnings


def run_kmend(kdir: Path, modules: list[Path]) -> tuple[float, dict[str, str | None]]:
    start = time.perf_counter()
    target = KernelTarget.from_kdir(kdir)
    verdicts = {}
    for ko in modules:
        v = check_module(read_module(ko), target, modules_tree=ko.parent)
        verdicts[ko.name] = v.first_error.message if v.first_error else None
    return time.perf_counter() - start, verdicts


def single_module(base: Path, modules: list[Path], kernel: str, kdir: Path,
                  repeat: int) -> tuple[float, float]:
    """Best-of wall time of one `kmend check` process and one depmod over a 1-module tree."""
    hello = next(m for m in modules if m.name == "hello.ko")
    one = base / "one"
    (one / "lib/modules" / kernel / "extra").mkdir(parents=True)
    shutil.copyfile(hello, one / "lib/modules" / kernel / "extra/hello.ko")
    env = kmend_env()
    k_best = d_best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        proc.run([sys.executable, "-m", "kmend", "check", str(hello), "--kdir", str(kdir)],
                 timeout=120, extra_env=env)
        k_best = min(k_best, time.perf_counter() - start)
        start = time.perf_counter()
        proc.run(["depmod", "-b", str(one), "-e", "-E", str(kdir / "Module.symvers"), "-n",
                  kernel], timeout=120)
        d_best = min(d_best, time.perf_counter() - start)
    return k_best, d_best


def _timed(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """(wall, CPU user+sys) seconds of one process (and its children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
                   env=env, timeout=1800)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return elapsed, (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)


def kmend_env() -> dict[str, str]:
    """The environment kmend runs in here: this tree's sources, bytecode written (as an
    installed kmend has it: without, every run compiles each module it imports)."""
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def kernel_tree(kernel: str, repeat: int) -> None:
    """`kmend check --kernel-tree` against `depmod -e -E` on the same installed tree."""
    symvers = kdir_of(kernel) / "Module.symvers"
    count = sum(1 for p in (Path("/lib/modules") / kernel).rglob("*.ko*") if p.is_file())
    env = kmend_env()
    kmend = [sys.executable, "-m", "kmend", "check", "--kernel-tree", kernel]
    cases = {"kmend check --kernel-tree": kmend, "  ... --jobs 1": [*kmend, "--jobs", "1"],
             "depmod -e -E -n": ["depmod", "-e", "-E", str(symvers), "-n", kernel]}
    _timed(kmend, env)  # warm-up: bytecode written, files in the page cache
    runs: dict[str, list[tuple[float, float]]] = {k: [] for k in cases}
    for _ in range(repeat):
        for name, argv in cases.items():
            runs[name].append(_timed(argv, env if argv is not cases["depmod -e -E -n"] else None))
    best = {k: (min(w for w, _ in v), min(c for _, c in v)) for k, v in runs.items()}
    print(f"\nthe whole tree of {kernel} ({count} modules), one process each "
          f"(kmend: default --jobs = {os.cpu_count()} CPUs), best of {repeat}:")
    for name, (w, c) in best.items():
        print(f"  {name:26s}: {w:6.2f} s wall, {c:6.2f} s CPU")
    dw, dc = best["depmod -e -E -n"]
    for name in ("kmend check --kernel-tree", "  ... --jobs 1"):
        w, c = best[name]
        print(f"  ratio {name.strip()}/depmod: {w / dw:.1f}x wall, {c / dc:.1f}x CPU "
              "(goal <= 3x)")
    print(f"  load average: {os.getloadavg()[0]:.2f}")


def _last_word(text: str) -> str:
    return text.rsplit(" ", 1)[-1]


def report(verdicts: dict[str, str | None], warnings: dict[str, list[str]]) -> None:
    """Group the modules by how the two tools' findings compare."""
    groups: dict[str, list[str]] = {"same": [], "depmod names another symbol first": [],
                                     "only kmend": [], "only depmod": []}
    for name in sorted(verdicts):
        kmsg, dmsgs = verdicts[name], warnings.get(name, [])
        if not kmsg and not dmsgs:
            groups["same"].append(name)
        elif kmsg and not dmsgs:
            groups["only kmend"].append(name)
        elif dmsgs and not kmsg:
            groups["only depmod"].append(name)
        elif _last_word(dmsgs[0]) == _last_word(kmsg or ""):
            groups["same"].append(name)
        else:
            groups["depmod names another symbol first"].append(name)
    print("\nHow the findings compare (kmend: the kernel's first message; depmod: its warnings):")
    for label, names in groups.items():
        print(f"  {label:36s} {len(names):4d}")
    for label in ("only kmend", "only depmod", "depmod names another symbol first"):
        names = groups[label]
        if not names:
            continue
        print(f"\n{label}:" + (" (first 5)" if len(names) > 5 else ""))
        for name in names[:5]:
            dmsgs = warnings.get(name, [])
            shown = "; ".join(dmsgs[:2]) + (f" (+{len(dmsgs) - 2} more)" if len(dmsgs) > 2 else "")
            print(f"  {name}\n    kmend : {verdicts[name] or 'loads'}\n"
                  f"    depmod: {shown or '(nothing)'}")


def main() -> int:
    ap = argparse.ArgumentParser(description="kmend check vs depmod -e -E")
    ap.add_argument("--kernel", default="6.1.0-57-amd64")
    ap.add_argument("--foreign", default="6.1.0-47-amd64")
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--tree-only", action="store_true",
                    help="only the whole-tree comparison (no modules are built)")
    args = ap.parse_args()
    if args.tree_only:
        kernel_tree(args.kernel, args.repeat)
        return 0
    kdir = kdir_of(args.kernel)
    with tempfile.TemporaryDirectory(prefix="kmend-bench-") as tmp:
        base = Path(tmp)
        modules = stage_modules(base, args.kernel, args.foreign, args.count)
        d_times, k_times = [], []
        for _ in range(args.repeat):
            d_t, warnings = run_depmod(base, args.kernel, kdir / "Module.symvers")
            k_t, verdicts = run_kmend(kdir, modules)
            d_times.append(d_t)
            k_times.append(k_t)
        d_best, k_best = min(d_times), min(k_times)
        print(f"{len(modules)} modules against {args.kernel} "
              f"({args.count} of them Debian {args.foreign} modules)")
        print(f"  depmod -e -E : {d_best * 1000:8.1f} ms  (best of {args.repeat})")
        print(f"  kmend check  : {k_best * 1000:8.1f} ms  (library, incl. reading Module.symvers)")
        print(f"  ratio kmend/depmod: {k_best / d_best:.1f}x")
        one_kmend, one_depmod = single_module(base, modules, args.kernel, kdir, args.repeat)
        print(f"  one module, end to end: `kmend check` process {one_kmend * 1000:.0f} ms, "
              f"`depmod -e -E` process {one_depmod * 1000:.0f} ms "
              f"(ratio {one_kmend / one_depmod:.1f}x)")
        refused = {n for n, e in verdicts.items() if e}
        flagged = set(warnings)
        print(f"  kmend predicts {len(refused)} refusals; depmod warns about {len(flagged)} modules")
        report(verdicts, warnings)
    kernel_tree(args.kernel, args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
