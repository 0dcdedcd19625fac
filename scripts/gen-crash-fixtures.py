#!/usr/bin/env python3
"""Generate tests/data/crashes/: real crashes printed by real Debian kernels under QEMU.

For every kernel release and every crash kind of tests.labkit.crashcap.KINDS:
build tests/data/crashmod against the release's headers, boot the release's vmlinuz
with crashmod loaded, trigger the crash from a process named ``kmend-trigger`` and
capture the serial console.  Writes

    tests/data/crashes/<release>/<kind>.console.log    the console, first to last kernel line
    tests/data/crashes/<release>/<kind>.<container>    the crash wrapped in log containers
    tests/data/crashes/manifest.json                   facts known without any decoder

Usage: scripts/gen-crash-fixtures.py [--release R ...] [--kind K ...] [--jobs N] [--out DIR]
Needs root-free QEMU, busybox-static, gcc/make and linux-headers + linux-image of each
release.  Re-runnable: outputs are replaced (written to a temp dir, then renamed).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO))  # the test-only lab kit (tests/labkit)

from tests.labkit import containers  # noqa: E402
from tests.labkit.crashcap import (  # noqa: E402
    COMPILED_PATH,
    KIND_BY_NAME,
    KINDS,
    MACRO_PREFIX,
    CrashKind,
    capture_case,
    kernel_has,
    kernel_records,
    plain_console,
    trigger_pid,
    trigger_sites,
)
from tests.labkit.kbuild import build_module, headers_dir  # noqa: E402

from kmend.errors import KmendError  # noqa: E402
from kmend.lab import kernel_image, run_many  # noqa: E402

RELEASES = ("6.1.0-47-amd64", "6.12.117+deb12-amd64")
SOURCE = REPO / "tests" / "data" / "crashmod"
OUT = REPO / "tests" / "data" / "crashes"
#: Host names per release in the wrapped logs (two hosts, as an operator would see).
HOSTS = {"6.1.0-47-amd64": "web-lab01", "6.12.117+deb12-amd64": "db-lab02"}
#: The wrapped variants start this many kernel records before "crashmod: triggering".
CONTEXT_BEFORE = 8

CONTAINERS = {
    "syslog.log": "RFC3164 syslog (imklog style, printk time kept after 'kernel: ')",
    "rsyslog.log": "rsyslog RSYSLOG_FileFormat (RFC3339 time, no printk time)",
    "dmesg.log": "dmesg: [ts] text (no caller ids: Debian kernels lack CONFIG_PRINTK_CALLER)",
    "dmesg-T.log": "dmesg -T: human wall-clock time",
    "levels.log": "<N>[ts] text as /proc/kmsg or console_msg_format=syslog print it",
    "kmsg.log": "/dev/kmsg records level,seq,usec,-;text (one record per console line)",
    "journal.json": "journalctl -o json, one object per line",
    "flat.log": "RFC3164 with the crash folded into one line by #012 escapes",
}


def kernel_config(release: str) -> str:
    """The release's kernel config (/boot/config-R, else the headers' .config)."""
    for path in (
        Path("/boot") / f"config-{release}",
        Path("/lib/modules") / release / "build" / ".config",
    ):
        if path.is_file():
            return path.read_text(errors="replace")
    return ""


def boot_id(release: str, kind: str) -> str:
    return hashlib.sha256(f"{release}/{kind}".encode()).hexdigest()[:32]


def wrap(records: list[containers.Record], release: str, kind: str) -> dict[str, list[str]]:
    host = HOSTS.get(release, "lab-host")
    # a different (fixed) boot time per release, so hosts do not share timestamps
    base = containers.default_base() + timedelta(
        hours=RELEASES.index(release) if release in RELEASES else 0
    )
    start = next((i for i, r in enumerate(records) if r.text.startswith("crashmod: triggering")), 0)
    window = records[max(0, start - CONTEXT_BEFORE) :]
    trigger_at = start - max(0, start - CONTEXT_BEFORE)
    first_seq = max(0, start - CONTEXT_BEFORE)
    return {
        "syslog.log": containers.rfc3164(window, host, base),
        "rsyslog.log": containers.rfc3339(window, host, base),
        "dmesg.log": containers.dmesg(window),
        "dmesg-T.log": containers.dmesg_human(window, base),
        "levels.log": containers.level_prefixed(window),
        "kmsg.log": containers.kmsg(window, first_seq),
        "journal.json": containers.journal_json(window, host, base, boot_id(release, kind)),
        "flat.log": containers.flattened(window, host, base, trigger_at),
    }


def capture(releases: list[str], kinds: list[CrashKind], jobs: int, out: Path) -> int:
    source_text = (SOURCE / "crashmod.c").read_text()
    sites = trigger_sites(source_text)
    missing = [k.name for k in kinds if k.trigger_name not in sites]
    if missing:
        print(f"crashmod.c has no KMEND-TRIGGER marker for {missing}", file=sys.stderr)
        return 1
    work = Path(tempfile.mkdtemp(prefix="kmend-crashgen-"))
    try:
        cases, keys = [], []
        for release in releases:
            kernel = kernel_image(release)
            ko = build_module(
                SOURCE, headers_dir(release), work / "ko" / release, macro_prefix=MACRO_PREFIX
            )[0]
            config = kernel_config(release)
            for kind in kinds:
                if kind.requires and not kernel_has(config, kind.requires):
                    print(f"skip {release}/{kind.name}: kernel lacks {kind.requires}")
                    continue
                raw = work / "raw" / release / f"{kind.name}.log"
                cases.append(capture_case(kernel, ko, kind, console=raw))
                keys.append((release, kind))
        results = run_many(cases, jobs=jobs)
        stage = work / "out"
        manifest_path = out / "manifest.json"
        entries = {}
        if manifest_path.is_file():  # keep entries of releases/kinds not regenerated now
            for item in json.loads(manifest_path.read_text())["captures"]:
                entries[(item["release"], item["kind"])] = item
        failures = 0
        for (release, kind), result in zip(keys, results, strict=True):
            records = kernel_records(result.console)
            triggered = any(r.text.startswith("crashmod: triggering") for r in records)
            if kind.name == "kfence":  # the sampled allocation may never come
                triggered = triggered and any("KFENCE" in r.text for r in records)
            if result.timed_out or not triggered or result.release != release:
                print(
                    f"FAILED {release}/{kind.name}: timed_out={result.timed_out} "
                    f"triggered={triggered} release={result.release}",
                    file=sys.stderr,
                )
                failures += 1
                continue
            folder = stage / release
            folder.mkdir(parents=True, exist_ok=True)
            console_name = f"{kind.name}.console.log"
            (folder / console_name).write_text(plain_console(result.console))
            files = {"console": f"{release}/{console_name}"}
            for suffix, lines in wrap(records, release, kind.name).items():
                name = f"{kind.name}.{suffix}"
                (folder / name).write_text("\n".join(lines) + "\n")
                files[suffix.split(".")[0]] = f"{release}/{name}"
            site = sites[kind.trigger_name]
            taint_before = None if kind.at_load else result.load("crashmod").taint_after
            entries[(release, kind.name)] = {
                "release": release,
                "kind": kind.name,
                "family": kind.family,
                "context": kind.context,
                "panics": kind.panics,
                "oops": kind.oops,
                "module": "crashmod",
                "file": COMPILED_PATH,
                "line": site.line,
                "function": site.function,
                "location_in_module": kind.location_in_module,
                "at_load": kind.at_load,
                "comm": kind.comm,
                "pid": trigger_pid(result.console),
                "taint_before": taint_before,
                "host": HOSTS.get(release, "lab-host"),
                "files": files,
                "boot_seconds": round(result.seconds, 1),
            }
            print(f"ok {release}/{kind.name} ({result.seconds:.1f} s, {len(records)} kernel lines)")
        if stage.is_dir():
            for folder in stage.iterdir():
                dest = out / folder.name
                dest.mkdir(parents=True, exist_ok=True)
                for f in folder.iterdir():
                    f.replace(dest / f.name)
        manifest = {
            "generator": "scripts/gen-crash-fixtures.py",
            "source": "tests/data/crashmod/crashmod.c",
            "qemu": "qemu-system-x86_64 -accel tcg, 1 CPU, 512 MiB; kernel args: "
            + cases[0].cmdline(),
            "containers": CONTAINERS,
            "notes": [
                "console.log is the serial console from the first to the last kernel line; the "
                "guest ran with console_msg_format=syslog and the <N> prefixes were removed "
                "(levels.log keeps them); lines without a timestamp come from the guest's /init",
                "line/function come from the KMEND-TRIGGER markers in crashmod.c; pid and release "
                "are printed by the guest; file is __FILE__ as compiled with -fmacro-prefix-map",
                "wrapped variants start a few records before 'crashmod: triggering <kind>'",
            ],
            "captures": [entries[k] for k in sorted(entries)],
        }
        tmp_manifest = out / ".manifest.json.tmp"
        out.mkdir(parents=True, exist_ok=True)
        tmp_manifest.write_text(json.dumps(manifest, indent=1, sort_keys=False) + "\n")
        tmp_manifest.replace(manifest_path)
        return 1 if failures else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--release", action="append", help="kernel release (repeatable)")
    parser.add_argument("--kind", action="append", choices=sorted(KIND_BY_NAME))
    parser.add_argument("--jobs", type=int, default=None, help="parallel boots (default: cores)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    kinds = [KIND_BY_NAME[k] for k in args.kind] if args.kind else list(KINDS)
    try:
        return capture(args.release or list(RELEASES), kinds, args.jobs or 0, args.out)
    except KmendError as err:
        print(f"gen-crash-fixtures: {err}", file=sys.stderr)
        return err.exit_code


if __name__ == "__main__":
    sys.exit(main())
