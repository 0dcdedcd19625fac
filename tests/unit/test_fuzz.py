"""Fuzzing in CI: mutated real logs and modules never break the error model.

Each target of ``tests/fuzzing.py`` gets a fixed number of Hypothesis examples
(``derandomize=True``: the same inputs on every run, so CI is stable) made from the real
seeds by the shared mutator.  A target must end by returning or by raising a KmendError,
within a second per KiB, with the process under the memory bound.  The longer run with
its figures is ``bench/fuzz.py``; every finding of either is a regression test below.
"""

from __future__ import annotations

import gzip
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import need
from fuzzing import (
    CONTAINERS,
    TARGETS,
    log_seeds,
    module_seeds,
    mutate,
    run_guarded,
    wrap,
)

#: Examples per target in CI (a few minutes for all of them on a loaded runner).
EXAMPLES = int(os.environ.get("KMEND_FUZZ_EXAMPLES", "150"))

SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


class DrawChooser:
    """Mutation decisions drawn by Hypothesis (so a failure shrinks)."""

    def __init__(self, draw: Any) -> None:
        self._draw = draw

    def integer(self, lo: int, hi: int) -> int:
        return int(self._draw(st.integers(lo, hi)))


@st.composite
def mutated_logs(draw: Any) -> bytes:
    seeds = log_seeds()
    pick = DrawChooser(draw)
    data = mutate(seeds[pick.integer(0, len(seeds) - 1)], pick, seeds)
    return wrap(data, CONTAINERS[pick.integer(0, len(CONTAINERS) - 1)], pick)


@st.composite
def mutated_texts(draw: Any) -> bytes:
    seeds = log_seeds()
    pick = DrawChooser(draw)
    return mutate(seeds[pick.integer(0, len(seeds) - 1)], pick, seeds)


@st.composite
def mutated_modules(draw: Any) -> bytes:
    seeds = module_seeds()
    pick = DrawChooser(draw)
    data = mutate(seeds[pick.integer(0, len(seeds) - 1)], pick, max_ops=3)
    if pick.integer(0, 5) == 0:
        data = gzip.compress(data)[: pick.integer(10, 1 << 20)]
    return data


def check(target: str, data: bytes) -> None:
    finding = run_guarded(target, TARGETS[target], data)
    assert finding is None, f"{finding.kind}: {finding.detail}"


@SETTINGS
@given(mutated_logs())
def test_fuzz_log_reader(data: bytes) -> None:
    check("log-reader", data)


@SETTINGS
@given(mutated_texts())
def test_fuzz_report_parser(data: bytes) -> None:
    check("report-parser", data)


@SETTINGS
@given(mutated_texts())
def test_fuzz_json_writers(data: bytes) -> None:
    check("json", data)


def test_module_seeds_are_real_debian_modules() -> None:
    need(module_seeds(), "Debian's 6.1 modules (linux-image-6.1.0-47-amd64) are not installed")
    assert all(s.startswith(b"\x7fELF") for s in module_seeds())
    assert len(module_seeds()) >= 5


@SETTINGS
@given(mutated_modules())
def test_fuzz_ko_reader_and_loader_model(data: bytes) -> None:
    need(module_seeds(), "Debian's 6.1 modules (linux-image-6.1.0-47-amd64) are not installed")
    check("ko", data)


# --- regressions: every finding of the fuzzers, and the hostile inputs of the same kind --


def test_seeds_themselves_pass_every_target() -> None:
    for data in log_seeds():
        for target in ("log-reader", "report-parser", "json"):
            check(target, data)


@pytest.mark.parametrize("container", CONTAINERS)
def test_every_container_of_a_real_crash(container: str) -> None:
    import random

    from fuzzing import RandomChooser

    data = log_seeds()[0]
    for seed in range(5):
        check("log-reader", wrap(data, container, RandomChooser(random.Random(seed))))
