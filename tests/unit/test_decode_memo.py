"""A crash repeated in a log is decoded once: every repeat must still be the report a
decode of its own lines gives, with its own place and time (read off the log text).

The log is a real capture repeated as the host rebooted and crashed again (a crash loop):
a report still open at the end of one boot must not take the next boot's lines."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from kmend.logs.reader import parse_text
from kmend.oops import CrashReport, parse_reports
from kmend.oops.decode import Decoder
from kmend.oops.extract import collect_region
from kmend.oops.headers import find_header

REPO = Path(__file__).resolve().parent.parent.parent
REAL = REPO / "tests" / "data" / "crashes" / "6.1.0-47-amd64" / "atomic_sleep.syslog.log"
HEADER = "BUG: scheduling while atomic"


def _copy(text: str, hour: int, host: str, shift: float) -> str:
    """The real log with its syslog hour, host and printk stamps changed."""
    text = re.sub(r"^Nov 26 \d\d:", f"Nov 26 {hour:02d}:", text, flags=re.M)
    text = text.replace(" web-lab01 kernel:", f" {host} kernel:")
    return re.sub(
        r"\[ *(\d+\.\d+)\]", lambda m: f"[{float(m[1]) + shift:12.6f}]", text
    )


def _placeless(rep: CrashReport) -> CrashReport:
    return replace(rep, source=None, timestamp=None, host=None, uptime=None)


def test_repeats_are_the_reports_of_their_own_lines() -> None:
    real = REAL.read_text()
    # the same host crashing in two boots, then another host (its stamps later)
    copies = [_copy(real, 3, "web-lab01", 0.0), _copy(real, 9, "web-lab01", 0.0),
              _copy(real, 11, "db-07", 1000.0)]  # fmt: skip
    text = "".join(copies)
    # in header order, although the last report of the second boot closes only at the end
    # (it stays open while the other host's lines come)
    reps = list(parse_reports(parse_text(text, source="m")))
    lines = text.splitlines()
    headers = [n for n, line in enumerate(lines, 1) if HEADER in line]
    per_copy = len(headers) // 3  # the real log holds two reports
    assert len(reps) == len(headers) == 3 * per_copy
    assert all(r.source and r.source.first_line == h for r, h in zip(reps, headers, strict=True))
    assert [r.host for r in reps] == ["web-lab01"] * 2 * per_copy + ["db-07"] * per_copy
    assert [r.timestamp[:12] for r in reps if r.timestamp] == (
        ["--11-26T03:0"] * per_copy + ["--11-26T09:0"] * per_copy + ["--11-26T11:0"] * per_copy
    )
    stamps = [float(m[1]) for m in re.finditer(r"\[ *(\d+\.\d+)\] " + HEADER, text)]
    assert [r.uptime for r in reps] == stamps
    offset = 0
    for k, copy in enumerate(copies):
        alone = list(parse_reports(parse_text(copy, source="m")))
        mine = reps[k * per_copy : (k + 1) * per_copy]
        assert [_placeless(r) for r in mine] == [_placeless(r) for r in alone]
        for rep, one in zip(mine, alone, strict=True):
            assert rep.source and one.source
            assert rep.source.first_line == one.source.first_line + offset
            assert rep.source.last_line == one.source.last_line + offset
        offset += len(copy.splitlines())


def test_the_memory_is_bounded_and_a_hit_is_counted() -> None:
    real = REAL.read_text()
    lines = list(parse_text(real + _copy(real, 4, "web-lab01", 9.0), source="m"))
    starts = [i for i, line in enumerate(lines) if HEADER in line.text]
    starts = starts[:1] + [i for i in starts if i >= len(real.splitlines())][:1]
    ends = [starts[0] + 40, starts[1] + 40]  # the first 40 lines of the report, in each copy
    decode = Decoder()
    found = []
    for start, end in zip(starts, ends, strict=True):
        hit = find_header(lines[start].text)
        assert hit is not None
        region = collect_region(lines, start, hit, has_ids=False, end=end)
        found.append(decode(lines, region, panicked=False))
    assert decode.hits == 1
    assert found[0] is not None and found[1] is not None
    assert found[1].source is not None and found[1].source.first_line > len(real.splitlines())
    tiny = Decoder(max_chars=4)  # too small to keep anything: every call decodes
    for start, end in zip(starts, ends, strict=True):
        hit = find_header(lines[start].text)
        assert hit is not None
        tiny(lines, collect_region(lines, start, hit, has_ids=False, end=end),
             panicked=False)  # fmt: skip
    assert tiny.hits == 0 and not tiny._memo
