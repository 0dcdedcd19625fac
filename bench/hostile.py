#!/usr/bin/env python3
"""Measure kmend on hostile inputs: exit code, wall time and peak RSS of each command.

Each input is made here from a real crash log or a real Debian module (tests/hostile.py)
and given to the real CLI under ``/usr/bin/time -v``; a row per command:

  input  command  exit  seconds  peak RSS (MB)  first line of stderr

The promise: every command ends (a 60 s bound here), with a documented exit code (never
70), under 200 MB.  ``--big-mib`` sets the size of the repeated-crash and NUL-stream inputs
(the rate in MB/s is printed for the repeated crashes, next to ``zcat | grep -c`` on the
same file as a reference).

  bench/hostile.py [--work DIR] [--big-mib 64] [--timeout 60] [--only NAME]
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "src"), str(REPO / "tests")]

import hostile  # noqa: E402

#: this tree's sources, bytecode written (as an installed kmend has it)
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV["PYTHONPATH"] = str(REPO / "src")
KMEND = [sys.executable, "-m", "kmend"]


def make_inputs(
    work: Path, big_mib: int, only: str | None = None
) -> Iterator[tuple[str, list[str], str | None]]:
    """(name, kmend arguments, stdin file or None) for every hostile input (the big ones
    are only made when they are wanted)."""
    crash = hostile.crash_log()
    for name, data in sorted(hostile.big_number_logs().items()):
        (work / f"{name}.log").write_bytes(data)
        yield name, ["scan", "--json", str(work / f"{name}.log")], None
    (work / "spaces.log").write_bytes(hostile.spaces_log(20000))
    yield "20k spaces near a crash", ["scan", str(work / "spaces.log")], None
    (work / "spaces70k.log").write_bytes(hostile.spaces_log(17000, 4)[:72000])
    yield "70 KB of space runs", ["scan", str(work / "spaces70k.log")], None
    corrupt = work / "corrupt.xz"
    corrupt.write_bytes(hostile.corrupt_middle(hostile.compress(crash * 50, "xz")))
    for verb in ("scan", "show"):
        yield "corrupt .xz", [verb, str(corrupt)], None
    logdir = work / "logdir"
    logdir.mkdir(exist_ok=True)
    (logdir / "messages").write_bytes(crash)
    (logdir / "messages.1.xz").write_bytes(corrupt.read_bytes())
    yield "dir with a corrupt .xz", ["scan", str(logdir)], None
    blob = hostile.compress(crash * 50, "zst")
    (work / "trunc.zst").write_bytes(blob[: len(blob) // 2])
    yield "truncated .zst", ["scan", str(work / "trunc.zst")], None
    (work / "magic.zst").write_bytes(blob[:4])
    yield "zstd magic only", ["scan", str(work / "magic.zst")], None
    yield "/dev/zero", ["scan", "/dev/zero"], None
    yield "stdin < /dev/zero", ["scan", "-"], "/dev/zero"
    yield "/dev/zero", ["show", "/dev/zero"], None
    fifo = work / "fifo"
    if not fifo.exists():
        os.mkfifo(fifo)
    yield "FIFO, no writer", ["scan", str(fifo)], None
    nul_lines = work / "nul-lines.log"
    with nul_lines.open("wb") as fh:
        fh.write(crash)
        for _ in range(9):
            fh.write((b"\0" * 1023 + b"\n") * 1024)  # 9 MB of NUL lines
        fh.write(crash)
    yield "9 MB of NUL lines", ["scan", "--json", str(nul_lines)], None
    nul = work / f"nul-{big_mib}m.bin"
    with nul.open("wb") as fh:
        fh.truncate(big_mib << 20)  # sparse: reads as NULs, no newline at all
    yield f"{big_mib} MiB of NULs, no newline (stdin)", ["scan", "-"], str(nul)
    rep = work / f"repeated-{big_mib}m.log.gz"
    if only and only not in f"{big_mib} MiB of repeated real crashes (.gz)":
        pass
    elif not rep.exists():
        unit = b"".join(p.read_bytes() for p in sorted(hostile.CRASHES.rglob("*.syslog.log")))
        with gzip.open(rep, "wb", compresslevel=6) as fh:
            for _ in range((big_mib << 20) // len(unit) + 1):
                fh.write(unit)
    yield f"{big_mib} MiB of repeated real crashes (.gz)", ["scan", "--json", str(rep)], None
    if hostile.DEBIAN_MODULES.is_dir():
        ko = hostile.small_debian_module().read_bytes()
        cases = {
            "badzlib.ko": hostile.bad_zlib_section(ko),
            "nobits-1TiB.ko": hostile.nobits_modinfo(ko),
            "nobits-1GiB.ko": hostile.nobits_modinfo(ko, 1 << 30),
            "bomb-400MiB.ko": hostile.zlib_bomb_section(ko),
            "truncated.ko.zst": hostile.compress(ko, "zst")[:3000],
        }
        for name, data in cases.items():
            (work / name).write_bytes(data)
            yield name, ["check", str(work / name), "--kernel", "6.1.0-47-amd64"], None


def measure(args: list[str], stdin: str | None, timeout: float) -> tuple[str, float, float, str]:
    start = time.monotonic()
    inp = open(stdin, "rb") if stdin else subprocess.DEVNULL  # noqa: SIM115
    try:
        res = subprocess.run(["/usr/bin/time", "-v", *KMEND, *args], stdin=inp,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                             env=ENV, timeout=timeout, check=False)  # fmt: skip
    except subprocess.TimeoutExpired:
        return "TIMEOUT", time.monotonic() - start, 0.0, ""
    finally:
        if stdin:
            inp.close()  # type: ignore[union-attr]
    took = time.monotonic() - start
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", res.stderr)
    code = re.search(r"Exit status: (\d+)", res.stderr)
    said = next((line for line in res.stderr.splitlines() if line.startswith("kmend: ")), "")
    exit_code = code.group(1) if code else str(res.returncode)
    return exit_code, took, int(rss.group(1)) / 1024 if rss else 0.0, said


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path)
    ap.add_argument("--big-mib", type=int, default=64)
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--only", help="run only the inputs whose name contains this")
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="kmend-hostile-"))
    work.mkdir(parents=True, exist_ok=True)
    bad = 0
    print(f"{'input':42} {'command':6} {'exit':>4} {'s':>7} {'RSS MB':>7}  stderr")
    for name, argv, stdin in make_inputs(work, args.big_mib, args.only):
        if args.only and args.only not in name:
            continue
        code, took, rss, said = measure(argv, stdin, args.timeout)
        bad += code in ("70", "TIMEOUT") or rss >= 200
        print(f"{name:42} {argv[0]:6} {code:>4} {took:7.1f} {rss:7.0f}  {said[:110]}")
        if "repeated" in name and code == "0":
            path = argv[-1]
            start = time.monotonic()
            subprocess.run(f"zcat {path} | grep -c -E 'BUG|WARNING|Oops|panic'", shell=True,
                           stdout=subprocess.DEVNULL, check=False)  # fmt: skip
            ref = time.monotonic() - start
            print(f"{'':42} rate {args.big_mib / took:.1f} MiB/s; zcat|grep -c: "
                  f"{args.big_mib / ref:.0f} MiB/s")  # fmt: skip
    print(f"broken promises: {bad}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
