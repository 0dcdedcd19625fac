#!/usr/bin/env python3
"""Benchmark: kmend's log scan against ``grep -c -E 'BUG|WARNING|Oops|panic'``.

Generates (deterministically) syslogs of RFC3164 lines from 50 hosts — ordinary daemon
and kernel noise plus a few hundred kernel crash reports of several kinds — then times
grep and kmend over the same file in the same run and prints bytes, seconds, MB/s, the
throughput ratio kmend/grep, and kmend's peak RSS (``/usr/bin/time``).

kmend is measured twice when possible:
* ``logs-only``: a child process that drains ``kmend.logs.read_paths(prefilter=True)``;
* ``scan``: ``python -m kmend scan --json FILE`` (skipped while that verb is not there).

grep and ``kmend scan`` are run ``--repeat`` times (default 3), alternately, and the
median of each is reported (the table's times; every run's ratio is printed too): on a
shared machine one run says little.  The target: ``x ref`` of ``kmend scan``
>= 0.5 on both logs, with peak RSS < 200 MB.

    python bench/scan.py                 # both logs: 1 GiB sparse, 256 MiB dense
    python bench/scan.py --density dense # only the 256 MiB log with 300 crashes
    python bench/scan.py --size 64M      # one log of that size (~300 crashes/GiB)
    python bench/scan.py --out /tmp/b.log --keep   # reuse generated files (.sparse/.dense)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(HERE))

from crashes import KINDS  # noqa: E402

from kmend import proc  # noqa: E402

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
HOSTS = [f"{prefix}{i:02d}" for prefix in ("web-", "db-", "kvm-", "edge-", "stor-")
         for i in range(1, 11)]  # fmt: skip
USERS = ("root", "deploy", "backup", "alice", "bob", "nagios", "ansible")


def _ip(rng: random.Random) -> str:
    return f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def noise_line(rng: random.Random) -> str:
    """One ordinary syslog message (tag and text) that is not a kernel crash."""
    r = rng.random()
    pid = rng.randrange(300, 99999)
    if r < 0.22:
        user = rng.choice(USERS)
        return (f"sshd[{pid}]: Accepted publickey for {user} from {_ip(rng)} port "
                f"{rng.randrange(1024, 65535)} ssh2: ED25519 SHA256:{rng.getrandbits(128):032x}")  # fmt: skip
    if r < 0.30:
        return f"sshd[{pid}]: pam_unix(sshd:session): session closed for user {rng.choice(USERS)}"
    if r < 0.36:
        return (f"sshd[{pid}]: Invalid user admin from {_ip(rng)} port "
                f"{rng.randrange(1024, 65535)}")  # fmt: skip
    if r < 0.46:
        return (f"CRON[{pid}]: (root) CMD (   cd / && run-parts --report /etc/cron.hourly)")
    if r < 0.52:
        return f"CRON[{pid}]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)"
    if r < 0.62:
        unit = rng.choice(("logrotate.service", "apt-daily.service", "sysstat-collect.service",
                           "man-db.service", "fstrim.service"))  # fmt: skip
        verb = rng.choice(("Starting", "Started", "Finished", "Deactivated successfully."))
        return f"systemd[1]: {verb} {unit}" if not verb.endswith(".") else f"systemd[1]: {unit}: {verb}"
    if r < 0.68:
        return f"systemd-logind[812]: New session {rng.randrange(1, 99999)} of user {rng.choice(USERS)}."
    if r < 0.76:
        qid = f"{rng.getrandbits(40):010X}"
        return rng.choice((
            f"postfix/smtpd[{pid}]: connect from unknown[{_ip(rng)}]",
            f"postfix/qmgr[1342]: {qid}: from=<noreply@example.org>, size={rng.randrange(900, 90000)}, nrcpt=1 (queue active)",
            f"postfix/smtp[{pid}]: {qid}: to=<ops@example.org>, relay=mx.example.org[{_ip(rng)}]:25, delay=0.4, status=sent (250 2.0.0 Ok)",
        ))  # fmt: skip
    if r < 0.84:
        return (f"kernel: [UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:{rng.getrandbits(24):06x} "
                f"SRC={_ip(rng)} DST={_ip(rng)} LEN=40 TOS=0x00 PREC=0x00 TTL=243 ID={rng.randrange(65535)} "
                f"PROTO=TCP SPT={rng.randrange(1024, 65535)} DPT={rng.choice((22, 23, 3389, 8080))} "
                "WINDOW=1024 RES=0x00 SYN URGP=0")  # fmt: skip
    if r < 0.88:
        return (f"kernel: audit: type=1400 audit({rng.randrange(1700000000, 1800000000)}.{rng.randrange(1000):03d}:"
                f"{rng.randrange(9999)}): apparmor=\"DENIED\" operation=\"open\" profile=\"/usr/sbin/ntpd\" "
                f"name=\"/proc/{pid}/status\" pid={pid} comm=\"ntpd\" requested_mask=\"r\" denied_mask=\"r\"")  # fmt: skip
    if r < 0.91:
        up = f"[{rng.randrange(100, 9999999)}.{rng.randrange(10**6):06d}]"
        return rng.choice((
            f"kernel: {up} i40e 0000:3b:00.0 eth0: NIC Link is Up, 10 Gbps Full Duplex, Flow Control: None",
            f"kernel: {up} i40e 0000:3b:00.1 eth1: NIC Link is Down",
            f"kernel: {up} IPv6: ADDRCONF(NETDEV_CHANGE): eth1: link becomes ready",
            f"kernel: {up} br0: port 2(vnet{rng.randrange(40)}) entered forwarding state",
            f"kernel: {up} nf_conntrack: nf_conntrack: table full, dropping packet",
        ))  # fmt: skip
    if r < 0.96:
        return (f"ntpd[{pid}]: adjusting local clock by {rng.uniform(-0.5, 0.5):.6f}s")
    if r < 0.99999:
        return (f"dockerd[{pid}]: time=\"2026-11-28T03:04:05.{rng.randrange(10**9):09d}Z\" level=info "
                f"msg=\"ignoring event\" container={rng.getrandbits(128):032x} module=libcontainerd "
                "namespace=moby topic=/tasks/delete type=\"*events.TaskDelete\"")  # fmt: skip
    # rare benign lines that do contain a crash needle (windows for nothing)
    return rng.choice((
        f"smartd[{pid}]: Device: /dev/sdb [SAT], WARNING: ATA error count increased from 3 to 4",
        "kernel: [    0.000000] Kernel command line: BOOT_IMAGE=/boot/vmlinuz-6.1.0-47-amd64 root=/dev/mapper/vg0-root ro quiet panic=10",
    ))  # fmt: skip


def generate(path: Path, size: int, crashes: int, seed: int = 2026) -> dict[str, int]:
    """Write the benchmark log to *path*; return counts of what it holds."""
    rng = random.Random(seed)
    lines_total = 0
    est_lines = size // 150
    crash_at = sorted(rng.randrange(est_lines) for _ in range(crashes))
    kinds: dict[str, int] = {}
    t = 1_764_300_000  # seconds; turned into "Mon DD HH:MM:SS"
    written = 0
    next_crash = 0
    buf: list[str] = []
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        while written < size:
            for _ in range(2000):
                t += rng.random() < 0.05
                stamp = time.gmtime(t)
                prefix = (f"{MONTHS[stamp.tm_mon - 1]} {stamp.tm_mday:2d} "
                          f"{stamp.tm_hour:02d}:{stamp.tm_min:02d}:{stamp.tm_sec:02d}")  # fmt: skip
                host = rng.choice(HOSTS)
                if next_crash < len(crash_at) and lines_total >= crash_at[next_crash]:
                    next_crash += 1
                    make = rng.choice(KINDS)
                    kinds[make.__name__] = kinds.get(make.__name__, 0) + 1
                    up = rng.uniform(100, 9_000_000)
                    with_stamp = rng.random() < 0.5
                    for text in make(rng):
                        up += rng.random() * 0.0001
                        body = f"[{up:12.6f}] {text}" if with_stamp else text
                        buf.append(f"{prefix} {host} kernel: {body}\n")
                        lines_total += 1
                        if rng.random() < 0.1:  # another host logs in between
                            buf.append(f"{prefix} {rng.choice(HOSTS)} {noise_line(rng)}\n")
                            lines_total += 1
                else:
                    buf.append(f"{prefix} {host} {noise_line(rng)}\n")
                    lines_total += 1
            chunk = "".join(buf)
            buf.clear()
            fh.write(chunk)
            written += len(chunk.encode("utf-8"))
    return {"lines": lines_total, "crashes": next_crash, **kinds}


def _parse_size(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    text = text.strip().upper().removesuffix("IB").removesuffix("B")
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def kmend_env() -> dict[str, str]:
    """The environment kmend runs in here: this tree's sources, bytecode written (as an
    installed kmend has it: without, every run compiles each module it imports)."""
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


class Run:
    """One timed command: wall and CPU seconds, peak RSS, its output."""

    def __init__(self, wall: float, cpu: float, rss_kib: int, stdout: str) -> None:
        self.wall, self.cpu, self.rss_kib, self.stdout = wall, cpu, rss_kib, stdout


def _timed(argv: list[str], timeout: float, outfile: Path) -> Run:
    """Run *argv* under /usr/bin/time (wall, user+sys CPU of it and its children, max RSS)."""
    tfile = outfile.with_suffix(".time")
    start = time.perf_counter()
    # this checkout's kmend, not whichever one the venv has installed
    res = proc.run(["/usr/bin/time", "-o", str(tfile), "-f", "%M %U %S", *argv],
                   timeout=timeout, check=False, env=kmend_env())  # fmt: skip
    wall = time.perf_counter() - start
    if res.returncode not in (0, 1):
        raise SystemExit(f"{argv[0]} failed ({res.returncode}): {res.stderr.strip()[-500:]}")
    rss, user, sys_ = tfile.read_text().strip().splitlines()[-1].split()
    return Run(wall, float(user) + float(sys_), int(rss), res.stdout)


def _median(runs: list[Run]) -> Run:
    """The run of median wall time (its CPU time and RSS with it; RSS is the largest)."""
    ordered = sorted(runs, key=lambda r: r.wall)
    mid = ordered[len(ordered) // 2]
    return Run(mid.wall, mid.cpu, max(r.rss_kib for r in runs), mid.stdout)


def _drain(path: str) -> None:
    """Child mode: drain read_paths(prefilter=True), print counts as JSON."""
    import resource

    from kmend.logs import read_paths

    n = 0
    last = 0
    for line in read_paths([path], prefilter=True):
        n += 1
        last = line.lineno
    me = resource.getrusage(resource.RUSAGE_SELF)
    worker = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({
        "lines_yielded": n, "last_lineno": last,
        "cpu_s": {"reader": round(me.ru_utime + me.ru_stime, 2),
                  "worker": round(worker.ru_utime + worker.ru_stime, 2)},
        "rss_mb": {"reader": me.ru_maxrss // 1024, "worker": worker.ru_maxrss // 1024},
    }))  # fmt: skip


def _scan_works(python: str) -> bool:
    example = REPO / "examples" / "w-xen09-messages.log"
    # (also the warm-up run: kmend's bytecode is written before the timed runs)
    res = proc.run([python, "-m", "kmend", "scan", "--json", str(example)], timeout=120,
                   check=False, env=kmend_env())  # fmt: skip
    if res.returncode != 0:
        return False
    try:
        doc = json.loads(res.stdout)
    except ValueError:
        return False
    return bool(doc)


#: The two logs measured by default: (name, size, crashes).  The sparse one is a big
#: fleet log with few crashes; the dense one has the same crashes in a quarter of the
#: bytes, so that a crash is in flight on some host most of the time.
DENSITIES = {"sparse": ("1G", 300), "dense": ("256M", 300)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--density", choices=("sparse", "dense", "both"), default="both",
                    help="which log: sparse (1 GiB, 300 crashes), dense (256 MiB, 300 "
                         "crashes) or both (default)")  # fmt: skip
    ap.add_argument("--size", help="log size instead (e.g. 64M, 1G)")
    ap.add_argument("--crashes", type=int, default=0, help="crash count (default ~300/GiB)")
    ap.add_argument("--out", help="write the log here (default: a temp dir)")
    ap.add_argument("--keep", action="store_true", help="reuse --out if it exists")
    ap.add_argument("--logs-only", action="store_true", help="measure only the log reader")
    ap.add_argument("--gzip", action="store_true", help="also time a gzip -1 copy vs zgrep")
    ap.add_argument("--repeat", type=int, default=3, help="runs of grep and scan (median)")
    ap.add_argument("--drain", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.drain:
        _drain(args.drain)
        return 0
    if args.size or args.crashes:
        size = _parse_size(args.size or "1G")
        runs = [("custom", size, args.crashes or max(8, round(300 * size / (1 << 30))))]
    else:
        names = ("sparse", "dense") if args.density == "both" else (args.density,)
        runs = [(n, _parse_size(DENSITIES[n][0]), DENSITIES[n][1]) for n in names]
    for name, size, crashes in runs:
        out = args.out
        if out and len(runs) > 1:
            out = f"{out}.{name}"
        print(f"\n=== {name}: {size / (1 << 20):.0f} MiB, {crashes} crashes ===")
        _bench(args, size, crashes, out)
    return 0


def _bench(args: argparse.Namespace, size: int, crashes: int, out: str | None) -> None:
    python = sys.executable
    with tempfile.TemporaryDirectory(prefix="kmend-bench-") as tmp:
        path = Path(out) if out else Path(tmp) / "messages"
        if not (args.keep and path.exists()):
            t0 = time.perf_counter()
            counts = generate(path, size, crashes)
            print(f"generated {path} in {time.perf_counter() - t0:.1f} s: {counts}")
        nbytes = path.stat().st_size
        path.read_bytes() if nbytes < (256 << 20) else None  # warm the page cache
        scratch = Path(tmp) / "m"
        rows: list[tuple[str, Run, str]] = []
        grep_argv = ["grep", "-c", "-E", "BUG|WARNING|Oops|panic", str(path)]
        scan_argv = [python, "-m", "kmend", "scan", "--json", str(path)]
        scans = not args.logs_only and _scan_works(python)
        greps: list[Run] = []
        scan_runs: list[Run] = []
        for _ in range(max(1, args.repeat)):  # alternately: both see the same load
            greps.append(_timed(grep_argv, 600, scratch))
            if scans:
                scan_runs.append(_timed(scan_argv, 1800, scratch))
        grep = _median(greps)
        rows.append(("grep -c -E", grep, grep.stdout.strip() + " matching lines"))
        drain = [python, str(Path(__file__).resolve()), "--drain", str(path)]
        logs = _timed(drain, 1800, scratch)
        rows.append(("kmend logs-only", logs, logs.stdout.strip()))
        if scans:
            scan = _median(scan_runs)
            ratios = sorted(g.wall / s.wall for g, s in zip(greps, scan_runs, strict=True))
            print(f"kmend scan / grep throughput, each of {len(ratios)} run(s): "
                  + " ".join(f"{r:.2f}" for r in ratios))  # fmt: skip
            try:
                doc = json.loads(scan.stdout)
                note = (f"{len(doc['reports'])} reports in {len(doc['groups'])} groups "
                        f"({crashes} crashes generated)")  # fmt: skip
            except (ValueError, TypeError, KeyError):
                note = "output not the expected JSON"
            rows.append(("kmend scan --json", scan, note))
        elif not args.logs_only:
            print("kmend scan --json does not work yet: measuring the log reader only")
        if len(greps) > 1:
            print(f"grep and kmend scan: medians of {len(greps)} alternating runs")
        _table(f"plain file: {nbytes} bytes ({nbytes / (1 << 20):.0f} MiB)", nbytes, rows)
        if args.gzip:
            gz = Path(tmp) / "messages.gz"
            proc.run(["gzip", "-1", "-c", str(path)], timeout=1800, stdout_path=gz)
            zrows: list[tuple[str, Run, str]] = []
            zgrep = _timed(["zgrep", "-c", "-E", "BUG|WARNING|Oops|panic", str(gz)], 1200, scratch)
            zrows.append(("zgrep -c -E", zgrep, zgrep.stdout.strip() + " matching lines"))
            zlogs = _timed([*drain[:-1], str(gz)], 1800, scratch)
            zrows.append(("kmend logs-only", zlogs, zlogs.stdout.strip()))
            _table(f"gzip -1 of it: {gz.stat().st_size} bytes; rates per uncompressed byte",
                   nbytes, zrows)  # fmt: skip


def _table(title: str, nbytes: int, rows: list[tuple[str, Run, str]]) -> None:
    """Print *rows*; the first row is the reference the ratios are taken against."""
    ref = rows[0][1]
    print(f"\n{title}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'tool':<19}{'wall s':>8}{'MB/s':>7}{'x ref':>7}{'CPU s':>8}{'x ref':>7}"
          f"{'max RSS':>9}  notes")  # fmt: skip
    for name, run, note in rows:
        print(f"{name:<19}{run.wall:8.2f}{nbytes / run.wall / 1e6:7.0f}"
              f"{ref.wall / run.wall:7.2f}{run.cpu:8.2f}{ref.cpu / max(run.cpu, 1e-3):7.2f}"
              f"{run.rss_kib / 1024:7.0f}MB  {note}")  # fmt: skip
    print("x ref = the first row's time / this row's time (a throughput ratio; 1.0 = as fast)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
