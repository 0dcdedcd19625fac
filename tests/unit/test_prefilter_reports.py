"""The prefilter must not change what is found: the crash reports read with it equal the
reports of a full parse, over the real crash fixtures (every container), the example logs
and a large multi-host syslog interleaving those crashes with other hosts' noise."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from kmend.logs import lines as lines_mod
from kmend.logs import read_paths, reader, worker
from kmend.oops import CrashReport, parse_reports

REPO = Path(__file__).resolve().parent.parent.parent
CRASHES = REPO / "tests" / "data" / "crashes"
FILES = sorted(
    [p for p in CRASHES.glob("*/*") if p.suffix in (".log", ".json")]
    + list((REPO / "examples").glob("*.log"))
)


def reports(path: Path, prefilter: bool) -> list[CrashReport]:
    return list(parse_reports(read_paths([str(path)], prefilter=prefilter)))


def test_there_are_fixtures() -> None:
    assert len(FILES) > 200


def test_prefilter_on_and_off_give_the_same_reports() -> None:
    found = 0
    for path in FILES:
        full = reports(path, False)
        assert reports(path, True) == full, path
        found += len(full)
    assert found >= len(FILES)


def _host_lines(path: Path, host: str) -> list[str]:
    """The fixture's lines, its host renamed to *host*."""
    lines = path.read_text(encoding="utf-8").splitlines()
    old = lines[0].split()[1 if path.name.endswith(".rsyslog.log") else 3]
    return [line.replace(f" {old} kernel:", f" {host} kernel:", 1) for line in lines]


def _noise(rng: random.Random, stamp: str) -> str:
    host = f"noise-{rng.randrange(40):02d}"
    r = rng.random()
    if r < 0.4:
        return f"{stamp} {host} kernel: [UFW BLOCK] IN=eth0 SRC=10.0.0.{rng.randrange(255)} DPT=22"
    if r < 0.5:
        return f"{stamp} {host} kernel: [ {rng.randrange(9999)}.000000] i40e eth0: NIC Link is Up"
    if r < 0.52:  # another program's line with a needle: opens a window of nothing
        return f"{stamp} {host} smartd[77]: Device: /dev/sdb, WARNING: ATA error count increased"
    return f"{stamp} {host} sshd[{rng.randrange(99999)}]: Accepted publickey for root"


def crash_sources() -> list[Path]:
    return sorted(CRASHES.glob("*/*.syslog.log")) + sorted(CRASHES.glob("*/*.rsyslog.log"))


def interleaved_log(seed: int) -> str:
    """Every RFC3164 and RFC3339 crash fixture, each on its own host, interleaved with each
    other (several reports in flight at once) and with the noise of 40 more hosts."""
    rng = random.Random(seed)
    queues = [_host_lines(p, f"crash-{i:03d}") for i, p in enumerate(crash_sources())]
    out: list[str] = []
    live: list[list[str]] = []
    while queues or live:
        if queues and (len(live) < 3 and rng.random() < 0.02):
            live.append(queues.pop(0))
        if live and rng.random() < 0.6:
            q = rng.choice(live)
            out.append(q.pop(0))
            if not q:
                live.remove(q)
        else:
            out.append(_noise(rng, "Nov 26 03:04:06"))
    return "\n".join(out) + "\n"


@pytest.mark.parametrize(
    ("block_size", "parallel"), [(8 << 20, False), (64 << 10, False), (64 << 10, True)]
)
def test_interleaved_multi_host_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block_size: int, parallel: bool
) -> None:
    if parallel and not worker.available():
        pytest.skip("no fork or a single CPU: the worker is never used here")
    path = tmp_path / "messages"
    path.write_text(interleaved_log(2026), encoding="utf-8")
    monkeypatch.setattr(lines_mod, "BLOCK_SIZE", block_size)
    monkeypatch.setattr(reader, "PARALLEL", parallel)
    full = reports(path, False)
    filtered = reports(path, True)
    crash_hosts = {r.host for r in full if r.host and r.host.startswith("crash-")}
    assert len(crash_hosts) == len(crash_sources()) > 50  # every fixture's crash is found
    assert filtered == full


@pytest.mark.parametrize("parallel", [False, True])
def test_bench_syslog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parallel: bool) -> None:
    """bench/scan.py's realistic 50-host syslog, with crashes far denser than there."""
    if parallel and not worker.available():
        pytest.skip("no fork or a single CPU: the worker is never used here")
    monkeypatch.syspath_prepend(str(REPO / "bench"))
    from scan import generate  # bench/scan.py

    path = tmp_path / "messages"
    counts = generate(path, 12 << 20, 60, seed=11)
    monkeypatch.setattr(lines_mod, "BLOCK_SIZE", 1 << 20)
    monkeypatch.setattr(reader, "PARALLEL", parallel)
    full = reports(path, False)
    assert len(full) == counts["crashes"] == 60
    assert reports(path, True) == full


@pytest.mark.parametrize("parallel", [False, True])
def test_bench_syslog_dense(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parallel: bool
) -> None:
    """Crashes so dense that every host has one in flight most of the time: the windows of
    reports that end with ``---[ end trace`` close with the report, the others stay open
    as long as the segmenter keeps them."""
    if parallel and not worker.available():
        pytest.skip("no fork or a single CPU: the worker is never used here")
    monkeypatch.syspath_prepend(str(REPO / "bench"))
    from scan import generate  # bench/scan.py

    path = tmp_path / "messages"
    counts = generate(path, 6 << 20, 150, seed=5)
    monkeypatch.setattr(lines_mod, "BLOCK_SIZE", 1 << 20)
    monkeypatch.setattr(reader, "PARALLEL", parallel)
    full = reports(path, False)
    assert len(full) == counts["crashes"] == 150
    assert reports(path, True) == full


def _tail_log(rng: random.Random) -> str:
    """Reports of host ``tail-h`` whose tails go on after ``---[ end trace`` (RIP, Code,
    a panic, a second report in the tail), lines with caller ids, and noise in between."""
    stamp = "Nov 26 03:04:06"
    bug = _host_lines(CRASHES / "6.1.0-47-amd64/bug.syslog.log", "tail-h")
    tails = [
        ["RIP: 0010:crashmod_bug+0x5/0x10 [crashmod]", "Code: 0f 0b 90 90",
         "Kernel panic - not syncing: Fatal exception", "Kernel Offset: disabled"],
        ["note: kmend-trigger[100] exited with irqs disabled", "[UFW BLOCK] IN=eth0 SRC=10.0.0.1"],
        ["[   12.000000][ T100] RIP: 0010:f+0x1/0x2", "[   12.000001][ T100] Code: 0f 0b"],
        [],
    ]  # fmt: skip
    out: list[str] = []
    for tail in tails * 3:
        out.extend(bug)
        for text in tail:
            for _ in range(rng.randrange(0, 30)):
                out.append(_noise(rng, stamp))
            out.append(f"{stamp} tail-h kernel: {text}")
        for _ in range(rng.randrange(100, 900)):
            r = rng.random()
            out.append(f"{stamp} tail-h kernel: e1000: link up" if r < 0.05 else _noise(rng, stamp))
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("block_size", [8 << 20, 16 << 10])
def test_report_tails_after_the_end_trace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block_size: int
) -> None:
    path = tmp_path / "messages"
    path.write_text(_tail_log(random.Random(3)), encoding="utf-8")
    monkeypatch.setattr(lines_mod, "BLOCK_SIZE", block_size)
    monkeypatch.setattr(reader, "PARALLEL", False)
    full = reports(path, False)
    assert len(full) >= 12 and any(r.panicked for r in full)
    assert reports(path, True) == full


def test_a_caller_id_report_inside_a_plain_one_keeps_its_lines(tmp_path: Path) -> None:
    """A plain report of host H closes after its end trace, but a report of one of H's
    printk callers ([T55]) started inside it goes on long after: its lines stay."""
    rng = random.Random(8)
    stamp, h = "Nov 26 03:04:06", "Nov 26 03:04:06 mixed-h kernel:"
    out = [f"{h} ------------[ cut here ]------------",
           f"{h} WARNING: CPU: 0 PID: 1 at drivers/x/x.c:10 xfunc+0x1/0x2",
           f"{h} [   12.000000][ T55] BUG: kernel NULL pointer dereference, address: 0000000000000008",
           f"{h} CPU: 0 PID: 1 Comm: swapper Not tainted 6.1.0-47-amd64 #1",
           f"{h} Call Trace:", f"{h}  xfunc+0x1/0x2", f"{h} ---[ end trace 0000000000000000 ]---",
           f"{h} e1000: eth0 NIC Link is Up"]  # fmt: skip
    for text in ("#PF: supervisor read access in kernel mode", "RIP: 0010:yfunc+0x5/0x10",
                 "Call Trace:", " <TASK>", " yfunc+0x5/0x10", " </TASK>"):  # fmt: skip
        out.extend(_noise(rng, stamp) for _ in range(300))
        out.append(f"{h} [   12.000100][ T55] {text}")
    out.extend(_noise(rng, stamp) for _ in range(300))
    path = tmp_path / "messages"
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    full = reports(path, False)
    assert any("yfunc" in r.raw for r in full)
    assert reports(path, True) == full
