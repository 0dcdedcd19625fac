#!/usr/bin/env python3
"""Benchmark: kmend's start-up, as ratios against references measured in the same run.

  kmend --version / kmend --help   vs  python3 -c pass  +  python3 -c 'import typer'
                                      (a bare interpreter plus the CLI library's import;
                                      the goal is within 3x of that sum)
  kmend check ONE.ko --kernel R    vs  modinfo ONE.ko   (the goal: 0.25 s wall)

Each command runs REPEAT times, alternating, and the median wall time is reported.
kmend runs as installed (its bytecode compiled: PYTHONDONTWRITEBYTECODE is dropped from its
environment, after one warm-up run; without bytecode every run compiles each module it
imports, about 60 ms more).
Usage: bench/startup.py [--kernel R] [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PY = sys.executable


#: CPU seconds (user + sys) of each case's runs: on a loaded machine wall time is mostly
#: waiting, CPU time is what the program costs.
CPU: dict[str, list[float]] = {}


def wall(argv: list[str], env: dict[str, str], name: str = "") -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                   check=False)
    elapsed = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.setdefault(name, []).append(after.ru_utime - before.ru_utime
                                    + after.ru_stime - before.ru_stime)
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kernel", default="6.1.0-47-amd64")
    ap.add_argument("--repeat", type=int, default=9)
    args = ap.parse_args()
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    ko = next((Path("/lib/modules") / args.kernel / "kernel" / "drivers" / "xen").glob(
        "xen-evtchn.ko*"))
    kmend = [PY, "-m", "kmend"]
    cases = {
        "python -c pass": [PY, "-c", "pass"],
        "python -c 'import typer'": [PY, "-c", "import typer"],
        "kmend --version": [*kmend, "--version"],
        "kmend --help": [*kmend, "--help"],
        "modinfo ONE.ko": ["modinfo", str(ko)],
        "kmend check ONE.ko": [*kmend, "check", str(ko), "--kernel", args.kernel],
    }
    wall(cases["kmend check ONE.ko"], env)  # warm-up: bytecode written
    CPU.clear()
    times: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(args.repeat):
        for name, argv in cases.items():
            times[name].append(wall(argv, env, name))
    med = {k: statistics.median(v) for k, v in times.items()}
    for name, t in med.items():
        print(f"{name:28s} {t * 1000:8.1f} ms wall, "
              f"{statistics.median(CPU[name]) * 1000:8.1f} ms CPU (user+sys)")
    ref = med["python -c pass"] + med["python -c 'import typer'"]
    print(f"reference (bare python + typer import): {ref * 1000:.1f} ms")
    for name in ("kmend --version", "kmend --help"):
        print(f"{name}: {med[name] / ref:.2f}x the reference (goal <= 3x)")
    print(f"kmend check ONE.ko: {med['kmend check ONE.ko'] * 1000:.0f} ms (goal <= 250 ms), "
          f"{med['kmend check ONE.ko'] / med['modinfo ONE.ko']:.1f}x modinfo")
    print(f"load average: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
