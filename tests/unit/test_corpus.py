"""kmend against syzkaller's crash corpus (../shared/corpus): titles, alternative titles, type,
corrupted and crash/no-crash decisions.  Prints the agreement; asserts the floors reached.

The cases are split once, by a hash of their id, into a "dev" part (about two thirds) and a
held-out part: naming rules are written by class of function (kmend.oops.skip) while reading
only the dev part's misses; the held-out figure says whether they generalise."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path

from kmend.logs import parse_text
from kmend.oops import parse_reports

# The targets: 95% titles on each part, 98% decisions; the printed figures are what the notes
# report (both parts are above the target today, which leaves room for the held-back cases).
TITLE_FLOOR = 0.95
HELD_OUT_TITLE_FLOOR = 0.95
DECISION_FLOOR = 0.98


def held_out(case_id: str) -> bool:
    """The fixed third of the corpus that rules are not written against."""
    return int(hashlib.sha256(case_id.encode()).hexdigest()[:8], 16) % 3 == 0


def _cases(corpus_dir: Path) -> list[dict[str, object]]:
    with open(corpus_dir / "syzkaller-linux-reports.jsonl", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def test_corpus_agreement(corpus_dir: Path, figure: Callable[[str], None]) -> None:
    cases = _cases(corpus_dir)
    n = len(cases)
    title_ok = decision_ok = alt_ok = type_ok = corrupt_ok = panic_ok = crashes = 0
    part_ok = {True: 0, False: 0}
    part_n = {True: 0, False: 0}
    misses: list[str] = []
    for case in cases:
        reports = list(parse_reports(parse_text(str(case["log"]), source=f"corpus/{case['id']}")))
        got = reports[0] if reports else None
        expected = case["title"]
        if (got is None) == (expected is None):
            decision_ok += 1
        held = held_out(str(case["id"]))
        part_n[held] += 1
        if (got.title if got else None) == expected:
            title_ok += 1
            part_ok[held] += 1
        elif not held:  # held-out misses are counted, never shown
            misses.append(f"{case['id']}: want {expected!r} got {got.title if got else None!r}")
        if got is not None and expected is not None:
            crashes += 1
            alt_ok += tuple(case["alt_titles"]) == got.alt_titles  # type: ignore[arg-type]
            type_ok += case["type"] == got.type
            corrupt_ok += case["corrupted"] == got.corrupted
            extra = case["extra"]
            assert isinstance(extra, dict)
            panic_ok += bool(extra.get("panicked", False)) == got.panicked
    print(f"\ncorpus: {n} cases")
    print(f"  title exact      {title_ok}/{n} = {title_ok / n:.1%}")
    dev = part_ok[False] / part_n[False]
    held_fig = part_ok[True] / part_n[True]
    print(f"    dev part       {part_ok[False]}/{part_n[False]} = {dev:.1%}")
    print(f"    held-out part  {part_ok[True]}/{part_n[True]} = {held_fig:.1%}")
    print(f"  crash/no-crash   {decision_ok}/{n} = {decision_ok / n:.1%}")
    print(f"  alt titles       {alt_ok}/{crashes} = {alt_ok / crashes:.1%}")
    print(f"  type             {type_ok}/{crashes} = {type_ok / crashes:.1%}")
    print(f"  corrupted flag   {corrupt_ok}/{crashes} = {corrupt_ok / crashes:.1%}")
    print(f"  panicked flag    {panic_ok}/{crashes} = {panic_ok / crashes:.1%}")
    for line in misses[:15]:
        print("  miss", line)
    figure(
        f"corpus ({n} cases): titles {title_ok / n:.1%} (dev {dev:.1%}, held-out {held_fig:.1%}), "
        f"crash/no-crash {decision_ok / n:.1%}, "
        f"alt titles {alt_ok / crashes:.1%}, type {type_ok / crashes:.1%}, "
        f"corrupted {corrupt_ok / crashes:.1%}, panicked {panic_ok / crashes:.1%}"
    )
    assert decision_ok / n >= DECISION_FLOOR
    assert title_ok / n >= TITLE_FLOOR
    assert dev >= TITLE_FLOOR
    assert held_fig >= HELD_OUT_TITLE_FLOOR


def test_no_crash_cases_yield_nothing(corpus_dir: Path) -> None:
    quiet = [c for c in _cases(corpus_dir) if c["title"] is None]
    assert quiet, "the corpus has no-crash cases"
    wrong = [c["id"] for c in quiet if list(parse_reports(parse_text(str(c["log"]))))]
    assert len(wrong) <= 1, wrong


def test_titles_are_canonical(corpus_dir: Path) -> None:
    """No title carries an address, a raw number or a timestamp (dedup across hosts)."""
    for case in _cases(corpus_dir)[:200]:
        for rep in parse_reports(parse_text(str(case["log"]))):
            assert not re.search(r"0x[0-9a-f]{6,}|\[\s*\d+\.\d+\]", rep.title), rep.title
            assert len(rep.title) <= 120
