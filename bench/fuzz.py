#!/usr/bin/env python3
"""The long fuzzing run: mutated real logs and modules against kmend's error model.

The targets, seeds and mutator are those of the CI fuzz tests (tests/fuzzing.py); this
script runs them for longer with a seeded ``random.Random`` and prints, per target, the
executions, the executions per second and the findings (an exception outside the error
model, over a second per KiB, the process over its memory bound).  Each finding's input
is written to OUT/ for a regression test.

Besides the four whole-stage targets, the ``lines`` target feeds single mutated lines to
the per-line functions of the log reader and the decoder (containers, flattening, the
field parsers): the same code, at a far higher rate, which is how a run reaches a million
executions.

  bench/fuzz.py                    # a short run: 2,000 executions
  bench/fuzz.py --long             # at least 1,000,000 executions across targets
  bench/fuzz.py --executions N --seconds T --seed S --out DIR
"""

from __future__ import annotations

import argparse
import bisect
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "src"), str(REPO / "tests")]

from fuzzing import (  # noqa: E402
    CONTAINERS,
    TARGETS,
    Finding,
    RandomChooser,
    log_seeds,
    module_seeds,
    mutate,
    rss_mb,
    run_guarded,
    wrap,
)


def target_lines(data: bytes) -> int:
    """One mutated line through every per-line function of the reader and the decoder."""
    from kmend.logs.containers import parse_console, parse_outer
    from kmend.logs.flatten import split_escapes, split_landmarks, split_prefixes, split_stamps
    from kmend.oops import fields
    from kmend.oops.headers import find_header

    text = data.decode("utf-8", "replace")
    n = 0
    for seg in split_prefixes(text):
        outer = parse_outer(seg)
        for frag in split_escapes(outer.body):
            for stamped in split_stamps(frag):
                for line in split_landmarks(parse_console(stamped).text):
                    find_header(line)
                    lines = [line]
                    fields.identity(lines)
                    fields.location(lines)
                    fields.die_counter(lines)
                    fields.program_counter(lines)
                    fields.call_trace(["Call Trace:", *lines])
                    fields.registers(lines)
                    n += 1
    return n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--long", action="store_true", help="at least a million executions")
    ap.add_argument("--executions", type=int, help="total executions (default 2000)")
    ap.add_argument("--seconds", type=float, help="stop after this long (figures so far)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=Path("fuzz-findings"))
    args = ap.parse_args()
    total = args.executions or (1_000_000 if args.long else 2000)
    # the targets take turns by weight (so a run cut short has exercised all of them): the
    # whole-stage targets are 100-1000x slower than the per-line one
    weights = {"lines": 0.98, "log-reader": 0.005, "report-parser": 0.005, "json": 0.005,
               "ko": 0.005}  # fmt: skip
    rng = random.Random(args.seed)
    pick = RandomChooser(rng)
    logs, modules = log_seeds(), module_seeds()
    if not modules:
        print("ko: no Debian modules installed, skipped")
        del weights["ko"]
    lines = [line for seed in logs for line in seed.split(b"\n") if line.strip()]
    targets: dict[str, Callable[[bytes], object]] = {"lines": target_lines, **TARGETS}
    print(f"seeds: {len(logs)} logs ({len(lines)} lines), {len(modules)} Debian modules; "
          f"{total} executions, seed {args.seed}", flush=True)  # fmt: skip
    findings: list[Finding] = []
    kinds: Counter[str] = Counter()
    runs: Counter[str] = Counter()
    spent: Counter[str] = Counter()
    names = list(weights)
    cum = [sum(list(weights.values())[: i + 1]) for i in range(len(names))]
    begin = last_report = time.monotonic()

    def report() -> None:
        done = sum(runs.values())
        print(f"-- {done} executions in {time.monotonic() - begin:.0f} s, "
              f"peak RSS {rss_mb():.0f} MB", flush=True)  # fmt: skip
        for name in names:
            rate = runs[name] / spent[name] if spent[name] else 0.0
            print(f"   {name:14} {runs[name]:9d} executions ({rate:8.0f}/s)", flush=True)

    for _ in range(total):
        name = names[min(bisect.bisect(cum, rng.random() * cum[-1]), len(names) - 1)]
        if name == "lines":
            data = mutate(lines[rng.randrange(len(lines))], pick, lines, max_ops=3)
        elif name == "ko":
            data = mutate(modules[rng.randrange(len(modules))], pick, max_ops=3)
        else:
            data = mutate(logs[rng.randrange(len(logs))], pick, logs)
            if name == "log-reader":
                data = wrap(data, CONTAINERS[rng.randrange(len(CONTAINERS))], pick)
        start = time.perf_counter()
        finding = run_guarded(name, targets[name], data)
        spent[name] += time.perf_counter() - start
        runs[name] += 1
        if finding is not None:
            findings.append(finding)
            kinds[f"{name}/{finding.kind}"] += 1
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / f"{name}-{len(findings)}.bin").write_bytes(data)
            print(f"FINDING {name} {finding.kind}: {finding.detail.splitlines()[0]}", flush=True)
        now = time.monotonic()
        if now - last_report > 120:
            last_report = now
            report()
        if args.seconds and now - begin > args.seconds:
            print(f"time budget of {args.seconds:.0f} s reached", flush=True)
            break
    report()
    print(f"findings: {len(findings)} " + (str(dict(kinds)) if kinds else ""), flush=True)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
