"""kmend on crash logs users pasted in public threads (tests/data/pasted, see
tests/paste_cases.py): the raw paste in, the title syzkaller gives on the hand-cleaned kernel
lines (or the documented better one) expected.  Scored separately on the cases looked at while
writing the normalisation rules and on the held-back third.  Prints the figures; asserts the
floors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import need, shared_dir
from kmend.logs import parse_text, read_paths
from kmend.oops import parse_reports
from paste_cases import Case, load_cases, syzparse_titles

DECISION_FLOOR = 1.0
TITLE_FLOOR = 0.90

CASES = load_cases()


def _title(case: Case) -> str:
    reports = list(parse_reports(parse_text(case.raw, source=case.name)))
    return reports[0].title if reports else ""


def _score(cases: list[Case]) -> tuple[int, int, list[str]]:
    decisions = titles = 0
    misses: list[str] = []
    for case in cases:
        got = _title(case)
        decisions += bool(got) == bool(case.expected)
        if got == case.expected:
            titles += 1
        else:
            misses.append(f"{case.name}: want {case.expected!r} got {got!r}")
    return decisions, titles, misses


def test_the_set_is_large_and_mixed() -> None:
    assert len(CASES) >= 60
    negatives = [c for c in CASES if not c.expected]
    assert len(negatives) >= 10
    assert {c.arch for c in CASES} >= {"amd64", "arm64", "arm", "riscv64", "mips"}
    assert all(c.meta.get("url") and c.meta.get("debris") for c in CASES)
    for c in CASES:
        if "title" in c.meta:
            assert c.meta.get("why"), f"{c.name}: a title other than syzkaller's needs a why"


def test_pasted_logs(figure: Callable[[str], None]) -> None:
    lines = []
    for label, part in (
        ("seen", [c for c in CASES if not c.held]),
        ("held-back", [c for c in CASES if c.held]),
    ):
        n = len(part)
        decisions, titles, misses = _score(part)
        lines.append(
            f"pasted logs, {label} ({n} cases): crash/no-crash {decisions}/{n} = "
            f"{decisions / n:.1%}, titles {titles}/{n} = {titles / n:.1%}"
        )
        print("\n" + lines[-1])
        for miss in misses:
            print("  miss", miss)
        figure(lines[-1])
        assert decisions / n >= DECISION_FLOOR, misses
        assert titles / n >= TITLE_FLOOR, misses


def test_expected_titles_are_syzkallers() -> None:
    """The stored oracle titles are what syzkaller's parser says on the cleaned lines."""
    syzparse = Path(shared_dir()) / "tools" / "syzparse"
    need(syzparse.is_file(), f"{syzparse} not found (the shared syzparse tool)")
    got = syzparse_titles(CASES, syzparse)
    wrong = [
        f"{c.name}: stored {c.syzkaller!r}, syzparse says {got[c.name]!r}"
        for c in CASES
        if (c.syzkaller or "") != got[c.name]
    ]
    assert not wrong, wrong


@pytest.mark.parametrize("case", [c for c in CASES if not c.expected], ids=lambda c: c.name)
def test_negatives_yield_no_crash(case: Case) -> None:
    assert list(parse_reports(parse_text(case.raw))) == []


def test_pasted_files_read_like_text(tmp_path: Path) -> None:
    """A paste saved to a file and scanned (with and without the needle prefilter) gives the
    reports the in-memory text gives."""
    for case in CASES:
        path = tmp_path / f"{case.name}.log"
        path.write_text(case.raw, encoding="utf-8")
        text = [r.title for r in parse_reports(parse_text(case.raw, source=str(path)))]
        for prefilter in (True, False):
            got = [r.title for r in parse_reports(read_paths([str(path)], prefilter=prefilter))]
            assert got == text, (case.name, prefilter)
