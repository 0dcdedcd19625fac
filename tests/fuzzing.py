"""The fuzz targets of kmend, shared by the CI fuzz tests and bench/fuzz.py.

A target takes bytes (or text) and runs a stage of kmend on them the way the CLI does.
The promise checked is the error model: whatever the input, a target ends by returning or
by raising a :class:`kmend.errors.KmendError`, within a second per KiB of input, and the
process stays under a memory bound.  Anything else is a finding.

Inputs are real things mutated: logs from the syzkaller corpus (``../shared/corpus``), the
real crashes of ``tests/data/crashes``, the bundled examples, and small modules of Debian's
own kernel, changed by byte flips, cuts, repeats, splices and hostile fragments (numbers of
thousands of digits, runs of spaces, NUL bytes, compressed-stream magic).  Log bytes are
also wrapped in every container kmend reads (gzip, xz, bzip2, zstd, whole or damaged).
"""

from __future__ import annotations

import io
import json
import resource
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Protocol

from conftest import REPO, shared_dir
from hostile import DEBIAN_MODULES, compress
from kmend.errors import KmendError

#: Peak RSS the fuzzing process may reach (kmend's promise is 200 MB per command; the
#: test process also holds pytest, Hypothesis and the seeds).
RSS_BOUND_MB = 400
#: Time a target may take: one second per KiB of input, and at least one second.
SECONDS_PER_KIB = 1.0

# --- seeds --------------------------------------------------------------------------------


@cache
def log_seeds() -> tuple[bytes, ...]:
    """Real logs: the bundled examples, the real crash captures, a spread of the corpus."""
    seeds: list[bytes] = []
    for path in sorted((REPO / "examples").glob("*.log")):
        seeds.append(path.read_bytes())
    for path in sorted((REPO / "tests" / "data" / "crashes").rglob("*")):
        if path.is_file() and path.suffix in (".log", ".json"):
            seeds.append(path.read_bytes()[:32768])
    seeds += format_seeds((REPO / "examples" / "w-xen09-messages.log").read_text())
    corpus = shared_dir() / "corpus"
    for jsonl in sorted(corpus.glob("*.jsonl")):
        with jsonl.open(encoding="utf-8") as fh:
            for i, line in enumerate(fh):
                if i % 40 == 0:
                    log = json.loads(line).get("log") or ""
                    seeds.append(log.encode("utf-8", "surrogatepass")[:32768])
    return tuple(s for s in seeds if s)


def format_seeds(log: str) -> list[bytes]:
    """The founding crash in the other forms the log reader knows, written here from each
    form's definition: journalctl's verbose, json-pretty, short-full and short-unix records,
    RFC 5424, util-linux dmesg -x with colour, and UTF-16."""
    messages = [line.split(" kernel: ", 1)[1] for line in log.splitlines()]
    boot = "0123456789abcdef0123456789abcdef"
    verbose = json_pretty = full = unix = rfc5424 = dmesg = ""
    for i, msg in enumerate(messages):
        t = 1797987098000000 + i
        verbose += (f"Wed 2026-12-23 00:51:38.{i:06d} UTC [s=e6e9;i={i:x};b={boot};m={i:x};"
                    f"t={t:x};x=1]\n    _TRANSPORT=kernel\n    _HOSTNAME=w-xen09\n"
                    f"    MESSAGE={msg}\n")  # fmt: skip
        fields = {"_TRANSPORT": "kernel", "_HOSTNAME": "w-xen09", "MESSAGE": msg,
                  "__REALTIME_TIMESTAMP": str(t)}  # fmt: skip
        json_pretty += "{\n" + ",\n".join(f"\t{json.dumps(k)} : {json.dumps(v)}"
                                           for k, v in fields.items()) + "\n}\n"
        full += f"Wed 2026-12-23 00:51:38 UTC w-xen09 kernel: {msg}\n"
        unix += f"1797987098.{i:06d} w-xen09 kernel: {msg}\n"
        rfc5424 += f"<12>1 2026-12-23T00:51:38.{i:06d}+00:00 w-xen09 kernel - - - {msg}\n"
        dmesg += f"kern  :warn  : \x1b[32m[ 9000.{i:06d}]\x1b[0m {msg}\n"
    texts = (verbose, json_pretty, full, unix, rfc5424, dmesg)
    return [t.encode() for t in texts] + [log.encode("utf-16")]


@cache
def module_seeds() -> tuple[bytes, ...]:
    """Small real modules of Debian's 6.1 kernel (the smallest few of each directory)."""
    found: list[Path] = []
    for sub in ("net/vmw_vsock", "net/key", "drivers/xen", "lib", "crypto"):
        base = DEBIAN_MODULES / sub
        if base.is_dir():
            found += sorted(base.rglob("*.ko"), key=lambda p: p.stat().st_size)[:3]
    return tuple(p.read_bytes() for p in found if p.stat().st_size < 256 << 10)


# --- mutation -----------------------------------------------------------------------------


class Chooser(Protocol):
    """Where mutation decisions come from: a seeded ``random.Random`` or Hypothesis."""

    def integer(self, lo: int, hi: int) -> int: ...


class RandomChooser:
    def __init__(self, rng: object) -> None:
        self._randint: Callable[[int, int], int] = rng.randint  # type: ignore[attr-defined]

    def integer(self, lo: int, hi: int) -> int:
        return self._randint(lo, hi)


FRAGMENTS: tuple[bytes, ...] = (
    b"7" * 5000, b"f" * 4000, b" " * 20000, b"\t" * 3000, b"\x00" * 4096, b"\xff\xfe" * 100,
    b"\n" * 200, b"\r\n", b"#012" * 300, b"\\n", b"\\x41",
    b"kernel BUG at drivers/a.c:" + b"9" * 5000 + b"!\n",
    b"Oops: 0000 [#" + b"1" * 5000 + b"] SMP\n",
    b"RIP: 0010:foo+0x" + b"f" * 4000 + b"/0x10\n",
    b"CPU: " + b"9" * 30 + b" PID: " + b"9" * 30 + b" Comm: x Not tainted 6.1.0 #1\n",
    b" [<" + b"f" * 40 + b">] f+0x1/0x2\n",
    b"Dec 23 00:51:38 h kernel: ", b"2026-11-26T03:04:05.1+00:00 h kernel: ",
    b"[   12.345678] ", b"[ T123] ", b"<4>", b"6,1234,5678901,-;", b"[Sat Nov 28 22:51:21 2026] ",
    b"BUG: ", b"WARNING: CPU: 0 PID: 1 at a.c:1 f+0x1/0x2\n", b"Call Trace:\n", b"Code: 0f 0b <0f>",
    b"------------[ cut here ]------------\n", b"---[ end trace 0 ]---\n",
    b"Kernel panic - not syncing: x\n", b"Modules linked in: a(OE) b\n",
    b'{"MESSAGE":"BUG: x","_TRANSPORT":"kernel"}\n', b"__CURSOR=x\nMESSAGE=y\n\n",
    b"\x1f\x8b", b"\xfd7zXZ\x00", b"BZh9", b"\x28\xb5\x2f\xfd",
    b" f+0x1/0x2" * 500, b"RIP: " + b" f+0x1/0x2" * 500,
)  # fmt: skip


def mutate(data: bytes, pick: Chooser, others: Sequence[bytes] = (), max_ops: int = 6) -> bytes:
    """*data* changed by a few random edits (the decisions come from *pick*)."""
    out = bytearray(data)
    for _ in range(pick.integer(0, max_ops)):
        op = pick.integer(0, 8)
        pos = pick.integer(0, len(out))
        if op == 0 and out:  # flip bytes
            for _ in range(pick.integer(1, 8)):
                i = pick.integer(0, len(out) - 1)
                out[i] ^= 1 << pick.integer(0, 7)
        elif op == 1:  # delete a range
            del out[pos : pos + pick.integer(1, 512)]
        elif op in (2, 3):  # insert a hostile fragment (op 3: at a line start)
            if op == 3:
                pos = out.rfind(b"\n", 0, pos) + 1
            out[pos:pos] = FRAGMENTS[pick.integer(0, len(FRAGMENTS) - 1)]
        elif op == 4:  # repeat a range
            n = pick.integer(1, 64)
            out[pos:pos] = bytes(out[pos : pos + n]) * pick.integer(2, 200)
        elif op == 5:  # truncate
            del out[pos:]
        elif op == 6 and others:  # splice in a part of another seed
            other = others[pick.integer(0, len(others) - 1)]
            start = pick.integer(0, len(other))
            out[pos:pos] = other[start : start + pick.integer(1, 4096)]
        elif op == 7:  # a byte value anywhere
            out[pos:pos] = bytes([pick.integer(0, 255)])
        elif op == 8 and out:  # overwrite 8 bytes with an extreme little-endian integer
            value = (0, 1, 0x7FFFFFFF, 0xFFFFFFFF, 1 << 40, (1 << 64) - 1)[pick.integer(0, 5)]
            out[pos : pos + 8] = value.to_bytes(8, "little")
    return bytes(out)


CONTAINERS = ("plain", "gz", "xz", "bz2", "zst", "gz-cut", "xz-cut", "bz2-cut", "zst-cut",
              "gz-flip", "xz-flip", "zst-only-magic")  # fmt: skip


def wrap(data: bytes, container: str, pick: Chooser) -> bytes:
    """*data* in a container kmend reads, whole or damaged."""
    if container == "plain":
        return data
    if container == "zst-only-magic":
        return compress(b"", "zst")[:4]
    kind, _, damage = container.partition("-")
    blob = compress(data, kind)
    if damage == "cut":
        return blob[: pick.integer(0, len(blob))]
    if damage == "flip" and len(blob) > 20:
        i = pick.integer(10, len(blob) - 1)
        return blob[:i] + bytes([blob[i] ^ 0xFF]) + blob[i + 1 :]
    return blob


# --- targets ------------------------------------------------------------------------------


def target_log_reader(data: bytes) -> int:
    """Bytes in any container → lines (both reading paths) → crash reports."""
    from kmend.logs import iter_stream
    from kmend.oops import parse_reports

    warnings: list[KmendError] = []
    count = 0
    for prefilter in (False, True):
        lines = iter_stream(io.BytesIO(data), "fuzz", prefilter=prefilter,
                            on_warning=warnings.append)  # fmt: skip
        for _ in parse_reports(lines):
            count += 1
    assert len(warnings) <= 2, warnings  # one per reading, at most
    return count


def target_report_parser(text: str) -> int:
    """Pasted text → crash reports → every field decoded and the text report rendered."""
    from rich.console import Console

    from kmend.logs import parse_text
    from kmend.oops import parse_reports
    from kmend.oops.decode import MAX_RAW
    from kmend.report.crash_text import render_report

    reports = list(parse_reports(parse_text(text, "fuzz")))
    console = Console(file=io.StringIO(), width=120)
    for i, rep in enumerate(reports, 1):
        assert len(rep.raw) <= MAX_RAW and len(rep.header) <= 1024
        render_report(console, rep, i, len(reports))
    return len(reports)


def target_json(text: str) -> int:
    """Reports of pasted text → ``scan --json``'s streamed document and ``show --json``'s:
    each must be one valid JSON document with the addresses as hex strings."""
    from kmend.jsonout import dumps, encode_at
    from kmend.logs import parse_text
    from kmend.oops import parse_reports
    from kmend.triage.scan import Grouper

    grouper = Grouper()
    parts = []
    for rep in parse_reports(parse_text(text, "fuzz")):
        grouper.add(rep)
        parts.append(encode_at(rep, 2, 3))
        doc = json.loads(dumps(rep))
        pc = doc["pc"]
        if pc and pc["address"] is not None:
            assert pc["address"].startswith("0x")
    streamed = '{\n  "reports": [' + ",".join("\n    " + p for p in parts) + "\n  ],\n"
    streamed += '  "groups": ' + encode_at(grouper.groups(), 1, 3) + "\n}\n"
    doc = json.loads(streamed)
    assert len(doc["reports"]) == grouper.count == sum(g["count"] for g in doc["groups"])
    return grouper.count


@cache
def _target_kernel() -> object:
    from kmend.kernel.target import KernelTarget

    return KernelTarget.from_release("6.1.0-47-amd64")


def target_ko(data: bytes) -> int:
    """Module bytes → ModuleFile → the loader model's verdict → its JSON."""
    from kmend.jsonout import dumps
    from kmend.ko import parse_module
    from kmend.loadcheck import check_module
    from kmend.loadcheck.render import verdict_json, verdict_lines

    mod = parse_module(data, Path("fuzz.ko"))
    target = _target_kernel()
    verdict = check_module(mod, target, modules_tree=None)  # type: ignore[arg-type]
    list(verdict_lines(verdict, mod))
    json.loads(dumps(verdict_json(verdict, mod, target)))  # type: ignore[arg-type]
    return int(verdict.will_load)


# --- the promise ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    target: str
    kind: str  # "exception", "slow", "memory"
    detail: str
    data: bytes


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_guarded(name: str, fn: Callable[[bytes], object], data: bytes) -> Finding | None:
    """Run one target on one input; a Finding if the promise was broken."""
    start = time.perf_counter()
    try:
        fn(data)
    except KmendError as err:
        if "\n" in str(err):
            return Finding(name, "exception", f"a multi-line error: {err!r}", data)
    except Exception as err:
        tb = traceback.format_exc(limit=-4)
        return Finding(name, "exception", f"{type(err).__name__}: {err}\n{tb}", data)
    took = time.perf_counter() - start
    limit = SECONDS_PER_KIB * max(1.0, len(data) / 1024)
    if took > limit:
        return Finding(name, "slow", f"{took:.2f} s for {len(data)} bytes", data)
    if rss_mb() > RSS_BOUND_MB:
        return Finding(name, "memory", f"peak RSS {rss_mb():.0f} MB", data)
    return None


def as_text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


TARGETS: dict[str, Callable[[bytes], object]] = {
    "log-reader": target_log_reader,
    "report-parser": lambda data: target_report_parser(as_text(data)),
    "json": lambda data: target_json(as_text(data)),
    "ko": target_ko,
}
