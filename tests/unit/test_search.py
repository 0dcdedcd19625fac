"""Search strategies over ordered candidates.

The compiler is replaced here by a stand-in probe function (named so): these tests are
about which candidates get compiled and which one is chosen, for build patterns that are
not monotonic — the integration tests compile for real.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from kmend.backport.model import Candidate, Probe
from kmend.backport.search import SCAN_ALL, Prober, search_minimal, search_newest
from kmend.build.kdir import Kdir
from kmend.source.kbuild import KbuildModule
from kmend.source.view import TreeView

KDIR = Kdir(path=Path("/nonexistent"), release="6.1.0-0-test", version=(6, 1, 0),
            compiler="gcc", compiler_text="")
MODULE = KbuildModule(name="m", kernel_name="m", directory="d", makefile="d/Makefile",
                      config=None, parts=(), sources=(), headers=(), flag_lines=())


def cands(n: int, *, sizes: Sequence[int] | None = None, fix: bool = True) -> list[Candidate]:
    view = TreeView(Path("/nonexistent"))
    return [Candidate(rev=f"r{i:04d}", label=f"rev {i}", kind="revision", view=view,
                      contains_fix=fix, change_size=(sizes[i] if sizes else i))
            for i in range(n)]


class StandInCompiler:
    """Decides "builds" from a set of indexes instead of running gcc; records the calls."""

    def __init__(self, builds: set[int]) -> None:
        self.builds = builds
        self.calls: list[int] = []

    def __call__(self, c: Candidate) -> Probe:
        i = int(c.rev[1:])
        self.calls.append(i)
        ok = i in self.builds
        return Probe(rev=c.rev, label=c.label, kind=c.kind, ok=ok, diagnostics=(),
                     first_diagnostic="" if ok else "error: x", needs=(), seconds=0.0)


def prober(builds: set[int], jobs: int = 2) -> tuple[Prober, StandInCompiler]:
    fake = StandInCompiler(builds)
    return Prober(MODULE, KDIR, jobs, probe_fn=fake), fake


def test_small_n_newest_first_scan_is_exact_for_non_monotonic_histories() -> None:
    # 0..9: builds at 2 and 7, fails elsewhere (an API appears at 3, a fallback at 7, gone at 8).
    p, fake = prober({2, 7})
    out = search_newest(cands(10), p)
    assert out.chosen is not None and out.chosen.rev == "r0007"
    assert sorted(fake.calls) == [6, 7, 8, 9]  # two batches of two, newest first
    assert "newest-first" in out.description


def test_nothing_builds_compiles_everything_once() -> None:
    p, fake = prober(set())
    out = search_newest(cands(5), p)
    assert out.chosen is None and sorted(fake.calls) == [0, 1, 2, 3, 4]


def test_large_n_bisects_to_a_boundary_and_says_what_it_skipped() -> None:
    n = 200
    p, fake = prober(set(range(0, 120)))
    out = search_newest(cands(n), p)
    assert out.chosen is not None and out.chosen.rev == "r0119"
    assert 119 in fake.calls and 120 in fake.calls  # the boundary pair was compiled
    assert len(fake.calls) < 30 and len(set(fake.calls)) == len(fake.calls)
    assert "not compiled" in out.description and "--exhaustive" in out.description


def test_bisect_moves_to_the_newest_success_it_sees() -> None:
    n = SCAN_ALL * 4
    builds = set(range(0, 10)) | {50}
    p, _ = prober(builds)
    out = search_newest(cands(n), p)
    assert out.chosen is not None
    chosen = int(out.chosen.rev[1:])
    assert chosen in builds and chosen + 1 not in builds


def test_exhaustive_finds_an_isolated_newest_success() -> None:
    n = SCAN_ALL * 4
    p, fake = prober({3, 60})
    out = search_newest(cands(n), p, exhaustive=True)
    assert out.chosen is not None and out.chosen.rev == "r0060"
    assert min(fake.calls) >= 60


def test_minimal_orders_by_change_size_and_skips_candidates_without_the_fix() -> None:
    cs = cands(6, sizes=[50, 3, 40, 9, 1, 7])
    cs[4] = Candidate(rev="r0004", label="no fix", kind="revision", view=cs[4].view,
                      contains_fix=False, change_size=1)
    p, fake = prober({0, 3, 5})
    out = search_minimal(cs, p)
    # order with the fix: r1(3) r5(7) r3(9) r2(40) r0(50); r1 fails, r5 builds.
    assert out.chosen is not None and out.chosen.rev == "r0005"
    assert sorted(fake.calls) == [1, 5]
    assert 4 not in fake.calls


@pytest.mark.parametrize("jobs", [1, 2, 3])
def test_batches_never_exceed_jobs(jobs: int) -> None:
    p, _fake = prober(set(), jobs=jobs)
    seen: list[int] = []
    real_batch = p.batch

    def spy(cs: Sequence[Candidate]) -> list[Probe]:
        seen.append(len(cs))
        return real_batch(cs)

    p.batch = spy  # type: ignore[method-assign]
    search_newest(cands(7), p)
    assert max(seen) <= jobs and sum(seen) == 7
