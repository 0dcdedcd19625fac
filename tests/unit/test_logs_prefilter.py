"""The prefilter keeps exactly the lines near a crash needle, with their true numbers."""

from __future__ import annotations

import gzip
import io
import random
import re
from dataclasses import replace
from pathlib import Path

import pytest

from kmend.logs import iter_stream, read_paths
from kmend.logs import lines as lines_mod
from kmend.logs import prefilter as prefilter_mod
from kmend.logs.needles import LINES_AFTER, LINES_BEFORE, PREFILTER_NEEDLES, REPORT_SPAN_LINES
from kmend.logs.prefilter import NeedleFinder, WindowFilter

REPORT = [
    "------------[ cut here ]------------",
    "kernel BUG at drivers/xen/evtchn.c:264!",
    "invalid opcode: 0000 [#3] SMP",
    "Call Trace:",
    "[<ffffffffa032797e>] evtchn_ioctl+0x13e/0x304 [xen_evtchn]",
    "---[ end trace b4e323e25997f660 ]---",
]


def make_log(seed: int, n: int) -> bytes:
    rng = random.Random(seed)
    out: list[str] = []
    for i in range(n):
        r = rng.random()
        host = f"h{rng.randrange(5)}"
        if r < 0.0004:
            out.extend(f"Dec 23 00:51:38 {host} kernel: {t}" for t in REPORT)
        elif r < 0.0006:  # flattened report on one line
            out.append(" ".join(f"Dec 23 00:51:38 {host} kernel: {t}" for t in REPORT))
        elif r < 0.3:
            out.append(f"Dec 23 00:51:38 {host} sshd[{i}]: Accepted publickey for root")
        elif r < 0.5:
            out.append(f"[{i:8d}.000000] console line {i}")
        else:
            out.append(f"Dec 23 00:51:38 {host} kernel: [UFW BLOCK] IN=eth0 SRC=10.0.0.{i % 250}")
    return ("\n".join(out) + "\n").encode()


def expected_window(data: bytes) -> set[int]:
    """Line numbers within LINES_BEFORE/LINES_AFTER of a needle, computed independently."""
    raw = data.split(b"\n")[:-1]
    keep: set[int] = set()
    for n, line in enumerate(raw, 1):
        if any(needle in line for needle in PREFILTER_NEEDLES):
            keep.update(range(max(1, n - LINES_BEFORE), min(len(raw), n + LINES_AFTER) + 1))
    return keep


_SYSLOG_HOST = re.compile(r"Dec 23 \d\d:\d\d:\d\d (\S+) kernel: ")


def windows(data: bytes) -> tuple[set[int], set[int]]:
    """(lines the reader may keep, lines it must keep), computed independently of it.

    A hit on a kernel syslog line of host H: H's lines from LINES_BEFORE before to
    REPORT_SPAN_LINES after it (the segmenter closes a report that old) may be needed; they
    must be kept up to the line that closes H's report: the first line of H after H's next
    ``---[ end trace`` line (in these logs no line after it continues a report's tail).  A
    hit on a console line: every line from LINES_BEFORE before to LINES_AFTER after.  A hit
    on another program's syslog line: nothing.  Lines of other hosts in those spans may be
    kept.
    """
    raw = data.decode().split("\n")[:-1]
    hits: dict[str | None, list[tuple[int, int]]] = {}  # host → (hit, last line needed)
    may: set[int] = set()
    for n, line in enumerate(raw, 1):
        if any(needle.decode() in line for needle in PREFILTER_NEEDLES):
            if line.startswith("Dec 23 "):
                for host in set(_SYSLOG_HOST.findall(line)):
                    hits.setdefault(host, []).append((n, _closing_line(raw, n, host)))
                    may.update(range(n - LINES_BEFORE, n + REPORT_SPAN_LINES + 1))
            else:
                hits.setdefault(None, []).append((n, n + LINES_AFTER))
                may.update(range(n - LINES_BEFORE, n + LINES_AFTER + 1))
    must: set[int] = set()
    for n, line in enumerate(raw, 1):
        m = _SYSLOG_HOST.match(line)
        host = m.group(1) if m else None
        if any(h - LINES_BEFORE <= n <= end for h, end in hits.get(host, [])):
            must.add(n)
        if any(h - LINES_BEFORE <= n <= end for h, end in hits.get(None, [])):
            must.add(n)
    return may, must


def _closing_line(raw: list[str], n: int, host: str) -> int:
    """The last line a report of *host* open at line *n* may need (see :func:`windows`)."""
    prefix = f"Dec 23 00:51:38 {host} kernel: "
    traced = False
    for k in range(n + 1, min(len(raw), n + REPORT_SPAN_LINES) + 1):
        line = raw[k - 1]
        if not line.startswith(prefix):
            continue
        if traced:
            return k
        traced = "---[ end trace" in line and line.count(" kernel: ") == 1
    return n + REPORT_SPAN_LINES


@pytest.mark.parametrize("block_size", [8 << 20, 64 << 10, 4096])
def test_prefilter_keeps_the_lines_reports_need(
    monkeypatch: pytest.MonkeyPatch, block_size: int
) -> None:
    monkeypatch.setattr(lines_mod, "BLOCK_SIZE", block_size)
    data = make_log(7, 40_000)
    full = list(iter_stream(io.BytesIO(data), "x"))
    filtered = list(iter_stream(io.BytesIO(data), "x", prefilter=True))
    window, need = windows(data)
    kept = {ll.lineno for ll in filtered}
    must = {ll.lineno for ll in full if ll.lineno in need}
    in_window = [ll for ll in full if ll.lineno in window]
    assert 0 < len(filtered) < len(in_window)
    if block_size > 64 * 160:  # blocks of many more lines than LINES_BEFORE (see below)
        assert len(filtered) < len(in_window) // 2  # most window lines are other hosts'
    assert must <= kept <= window
    # whole lines, unchanged, in file order: the unfiltered LogLines of the kept lines (a
    # window open at a block's end keeps that block's last LINES_BEFORE lines of every host:
    # the next block's first hits may need them)
    assert filtered == [ll for ll in full if ll.lineno in kept]


def test_hit_on_a_console_line_keeps_every_line_near_it() -> None:
    lines = [f"Dec 23 00:51:38 h{i % 7} kernel: [UFW BLOCK] IN=eth0 SRC=10.0.0.{i % 250}"
             for i in range(3000)]  # fmt: skip
    lines[1000] = "[   12.000000] BUG: unable to handle page fault for address: 0000000000000008"
    data = ("\n".join(lines) + "\n").encode()
    kept = [ll.lineno for ll in iter_stream(io.BytesIO(data), "x", prefilter=True)]
    assert kept == list(range(1001 - LINES_BEFORE, min(3000, 1001 + LINES_AFTER) + 1))


def test_hit_on_another_programs_line_keeps_nothing() -> None:
    lines = [f"Dec 23 00:51:38 h{i % 7} kernel: [UFW BLOCK] IN=eth0 SRC=10.0.0.{i % 250}"
             for i in range(3000)]  # fmt: skip
    lines[1000] = "Dec 23 00:51:38 h1 smartd[812]: Device: /dev/sdb [SAT], WARNING: ATA errors"
    data = ("\n".join(lines) + "\n").encode()
    assert list(iter_stream(io.BytesIO(data), "x", prefilter=True)) == []


@pytest.mark.parametrize(
    ("line", "hosts"),
    [
        (b"Dec 23 00:51:38 w-xen09 kernel: kernel BUG at x.c:1!", (b"w-xen09",)),
        (b"Dec  3 00:51:38.123456 db-1 kernel[0]: WARNING: x", (b"db-1",)),
        (b"<4>Dec 23 00:51:38 h kernel: Oops", (b"h",)),
        (b"2026-11-26T03:04:05.123456+00:00 web-7 kernel: BUG: x", (b"web-7",)),
        (b"2026-11-26 03:04:05,1 web-7 kernel: BUG: x", (b"web-7",)),
        (b"Dec 23 00:51:38 h sshd[1]: WARNING: no kernel here", prefilter_mod.ALL),
        (b"Dec 23 00:51:38 h smartd[1]: WARNING: ATA errors", ()),
        (b"[   12.000000] BUG: unable to handle", prefilter_mod.ALL),
        (b'{"MESSAGE":[66,85,71],"_TRANSPORT":"kernel"}', prefilter_mod.ALL),
        (b"12,345,6789,-;BUG: x", prefilter_mod.ALL),
    ],
)
def test_hit_hosts(line: bytes, hosts: tuple[bytes | None, ...]) -> None:
    assert prefilter_mod.hit_hosts(line) == hosts


def test_flattened_hit_line_names_every_host_on_it() -> None:
    line = (b"Dec 23 00:51:38 a kernel: BUG: x Dec 23 00:51:38 b kernel: RIP: y "
            b"Dec 23 00:51:38 a kernel: Call Trace:")  # fmt: skip
    assert sorted(prefilter_mod.hit_hosts(line)) == [b"a", b"b"]


def test_host_lines() -> None:
    data = (b"Dec 23 00:51:38 a kernel: one\n"
            b"Dec 23 00:51:38 ab kernel: two\n"
            b"Dec 23 00:51:38 b kernel: three\n"
            b"Dec 23 00:51:38 a sshd[1]: four\n"
            b"Dec 23 00:51:38 a kernel: five\n")  # fmt: skip
    assert prefilter_mod.host_lines(data, [b"a"]) == (
        [0, 4], b"Dec 23 00:51:38 a kernel: one\nDec 23 00:51:38 a kernel: five\n")  # fmt: skip
    assert prefilter_mod.host_lines(data, [b"b", b"a"])[0] == [0, 2, 4]
    assert prefilter_mod.host_lines(data, [b"c"]) == ([], b"")


def test_prefilter_on_compressed_file(tmp_path: Path) -> None:
    data = make_log(11, 20_000)
    path = tmp_path / "messages.2.gz"
    path.write_bytes(gzip.compress(data))
    plain = tmp_path / "messages"
    plain.write_bytes(data)
    assert list(read_paths([str(path)], prefilter=True)) == [
        replace(ll, source=str(path)) for ll in read_paths([str(plain)], prefilter=True)
    ]


def test_hit_in_first_and_last_lines_and_windows_across_blocks() -> None:
    filler = [f"[{i:6d}.000000] quiet {i}" for i in range(3000)]
    filler[0] = "[     0.000000] BUG: first line"
    filler[-1] = "[  2999.000000] WARNING: last line"
    data = ("\n".join(filler) + "\n").encode()
    wf = WindowFilter(NeedleFinder(), before=10, after=20)
    blocks = []
    for block in lines_mod.iter_blocks(io.BytesIO(data), 1000, count=False):
        blocks.extend(wf.feed(block))
    kept = [b for b in blocks if b is not None]
    numbered: list[int] = []
    for b in kept:
        numbered.extend(range(b.lineno, b.lineno + b.data[b.start : b.end].count(b"\n")))
    assert numbered == list(range(1, 22)) + list(range(2990, 3001))
    assert blocks.count(None) == 1


def test_huge_flattened_line_is_kept_whole_with_prefilter(tmp_path: Path) -> None:
    noise = "Dec 23 00:51:38 h kernel: [UFW BLOCK] IN=eth0 " * 60_000  # ~2.8 MB
    report = " ".join(f"Dec 23 00:51:38 h kernel: {t}" for t in REPORT)
    path = tmp_path / "flat.log"
    path.write_text("first\n" + noise + report + "\nlast\n")
    got = list(read_paths([str(path)], prefilter=True))
    texts = [ll.text for ll in got if ll.lineno == 2]
    assert texts[-len(REPORT):] == REPORT
    assert texts.count("[UFW BLOCK] IN=eth0") == 60_000
    assert [ll.text for ll in got if ll.lineno != 2] == ["first", "last"]


def test_finder_fallback_equals_fast_engine() -> None:
    data = make_log(3, 5000)
    fast = NeedleFinder()
    slow = NeedleFinder()
    slow._engines = []  # the pure-Python path
    assert set(fast.hits(data)) <= set(slow.hits(data))
    assert {data.rfind(b"\n", 0, h) for h in fast.hits(data)} == {
        data.rfind(b"\n", 0, h) for h in slow.hits(data)
    }


def test_forked_worker_gives_the_same_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    from kmend.logs import reader, worker

    if not worker.available():
        pytest.skip("no fork or a single CPU: the worker is never used here")
    monkeypatch.setattr(lines_mod, "BLOCK_SIZE", 64 << 10)  # many blocks: the worker runs
    data = make_log(5, 30_000)
    monkeypatch.setattr(reader, "PARALLEL", False)
    alone = list(iter_stream(io.BytesIO(data), "x", prefilter=True))
    monkeypatch.setattr(reader, "PARALLEL", True)
    forked = list(iter_stream(io.BytesIO(data), "x", prefilter=True))
    assert len(alone) > 100
    assert forked == alone


def test_forked_worker_reports_corrupt_tail(monkeypatch: pytest.MonkeyPatch) -> None:
    from kmend.errors import InputError
    from kmend.logs import worker

    if not worker.available():
        pytest.skip("no fork or a single CPU: the worker is never used here")
    monkeypatch.setattr(lines_mod, "BLOCK_SIZE", 64 << 10)
    blob = gzip.compress(make_log(6, 60_000))
    with pytest.raises(InputError, match="corrupt or truncated gzip"):
        list(iter_stream(io.BytesIO(blob[: len(blob) * 2 // 3]), "t.gz", prefilter=True))


def test_abandoned_iteration_stops_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    import multiprocessing

    from kmend.logs import worker

    if not worker.available():
        pytest.skip("no fork or a single CPU: the worker is never used here")
    monkeypatch.setattr(lines_mod, "BLOCK_SIZE", 64 << 10)
    it = iter_stream(io.BytesIO(make_log(8, 60_000)), "x", prefilter=True)
    for ll in it:
        if ll.lineno > 5000:  # well past the first 64 KiB block: the worker is running
            break
    assert len(multiprocessing.active_children()) == 1
    it.close()
    assert multiprocessing.active_children() == []


def test_prefilter_sees_journal_byte_array_messages() -> None:
    import json

    sep = (",", ":")  # journalctl -o json writes compact objects
    noise = [json.dumps({"MESSAGE": f"noise {i}", "_TRANSPORT": "kernel"}, separators=sep)
             for i in range(5000)]  # fmt: skip
    crash = json.dumps({"MESSAGE": list(b"BUG: unable to handle \x1b page fault"),
                        "_TRANSPORT": "kernel"}, separators=sep)  # fmt: skip
    data = ("\n".join([*noise, crash, *noise]) + "\n").encode()
    got = [ll for ll in iter_stream(io.BytesIO(data), "j", prefilter=True)]
    assert [ll.text for ll in got if ll.lineno == 5001] == ["BUG: unable to handle \x1b page fault"]
    assert len(got) < 2 * 5000


def test_numpy_line_ops_equal_the_plain_ones() -> None:
    count, advance = prefilter_mod.fast_line_ops()
    rng = random.Random(1)
    lengths = (0, 1, 5, 60, 124, 124, 300, 2000)
    for _ in range(300):
        n = rng.randrange(0, 12_000)
        data = b"".join(b"x" * rng.choice(lengths) + b"\n" for _ in range(n)) + b"end"
        pos = rng.randrange(0, len(data) + 1)
        end = rng.randrange(pos, len(data) + 1)
        lines = rng.choice((0, 1, 63, 64, 100, 1500, 4000, rng.randrange(12_000)))
        assert count(data, pos, end) == data.count(b"\n", pos, end)
        assert advance(data, pos, lines, end) == prefilter_mod.advance_plain(data, pos, lines, end)
