#!/usr/bin/env python3
"""Benchmark: `kmend sign` (in process, kmend.sign.sign_module) against the kernel's own
scripts/sign-file (one process per module, as DKMS and kbuild run it), same modules, same
key, same run.

The modules: COUNT of Debian's own modules of KERNEL, their signature removed (sign-file
would append a second one; kmend replaces an old signature).  The
key: a new RSA-2048 key made by openssl (as DKMS makes its MOK key).  Prints the best-of-
REPEAT wall time of each, the ratio, and whether the RSA signature values are the same
bytes (PKCS#1 v1.5 is deterministic).  Nothing is asserted.
Usage: bench/sign.py [--kernel R] [--count N] [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "src")]

from kmend import proc  # noqa: E402
from kmend.ko.signature import split_raw  # noqa: E402
from kmend.sign import sign_module  # noqa: E402


def pick(kernel: str, count: int) -> list[Path]:
    out: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(Path("/lib/modules") / kernel / "kernel"):
        dirnames.sort()
        for name in sorted(filenames):
            if name.endswith(".ko") and len(out) < count:
                out.append(Path(dirpath) / name)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kernel", default="6.1.0-47-amd64")
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    kdir = Path("/lib/modules") / args.kernel / "build"
    sign_file = kdir / "scripts/sign-file"
    mods = pick(args.kernel, args.count)
    if not sign_file.is_file() or not mods:
        print(f"need linux-headers-{args.kernel} and its plain .ko modules", file=sys.stderr)
        return 3
    with tempfile.TemporaryDirectory(prefix="kmend-bench-sign-") as tmp:
        base = Path(tmp)
        key, cert = base / "k.pem", base / "c.der"
        proc.run(["openssl", "req", "-new", "-x509", "-nodes", "-days", "30", "-subj",
                  "/CN=bench", "-newkey", "rsa:2048", "-keyout", str(key), "-outform", "DER",
                  "-out", str(cert)], timeout=60)
        ours_dir, theirs_dir = base / "ours", base / "theirs"
        best_ours = best_theirs = float("inf")
        for _ in range(args.repeat):
            for d in (ours_dir, theirs_dir):
                shutil.rmtree(d, ignore_errors=True)
                d.mkdir()
                for i, m in enumerate(mods):
                    # unsigned copies: sign-file would stack a second signature on the old
                    (d / f"{i}-{m.name}").write_bytes(split_raw(m.read_bytes())[0])
            start = time.perf_counter()
            for ko in sorted(ours_dir.iterdir()):
                sign_module(ko, key, cert, kdir=kdir)
            best_ours = min(best_ours, time.perf_counter() - start)
            start = time.perf_counter()
            for ko in sorted(theirs_dir.iterdir()):
                proc.run([str(sign_file), "sha256", str(key), str(cert), str(ko)], timeout=60)
            best_theirs = min(best_theirs, time.perf_counter() - start)
        same = 0
        for ko in sorted(ours_dir.iterdir()):
            _b1, s1, _ = split_raw(ko.read_bytes())
            _b2, s2, _ = split_raw((theirs_dir / ko.name).read_bytes())
            same += s1 is not None and s2 is not None and s1[-256:] == s2[-256:]
    n = len(mods)
    print(f"{n} modules of {args.kernel}, best of {args.repeat}:")
    print(f"  kmend sign_module : {best_ours:7.3f} s ({best_ours / n * 1000:6.1f} ms/module)")
    print(f"  scripts/sign-file : {best_theirs:7.3f} s ({best_theirs / n * 1000:6.1f} ms/module)")
    print(f"  ratio kmend/sign-file: {best_ours / best_theirs:.2f}")
    print(f"  identical RSA signature values: {same}/{n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
