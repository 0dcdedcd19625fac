"""Shared test plumbing.

``need(ok, reason)`` skips a test whose prerequisite (root, QEMU, a package) is absent —
but only outside CI: with ``CI=true`` a missing prerequisite fails the test, so a skipped
test can never be counted as passed there.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def shared_dir() -> Path:
    """The workplace's ../shared folder (beside the clone), or $KMEND_SHARED."""
    return Path(os.environ.get("KMEND_SHARED", REPO.parent / "shared"))


def need(ok: object, reason: str) -> None:
    """Skip (outside CI) or fail (in CI) unless *ok* is true."""
    if ok:
        return
    if IN_CI:
        pytest.fail(f"prerequisite missing in CI: {reason}")
    pytest.skip(reason)


_FIGURES: list[str] = []


@pytest.fixture
def figure() -> Callable[[str], None]:
    """Record a measured figure (agreement, oracle matrix…) for the end-of-run summary, so
    CI logs show the numbers even with -q."""
    return _FIGURES.append


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _FIGURES:
        terminalreporter.section("kmend figures")
        for line in _FIGURES:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    path = shared_dir() / "corpus"
    need(path.is_dir(), f"{path} not found (the shared corpus)")
    return path


@pytest.fixture(scope="session")
def examples_dir() -> Path:
    return REPO / "examples"


@pytest.fixture(scope="session")
def kmend_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """$KMEND_CACHE with Debian's 6.1 and 6.12 drivers/xen (and 6.12's Makefiles) unpacked."""
    import xenbackport  # imports this module: not at the top

    with xenbackport.kmend_cache(tmp_path_factory) as cache:
        yield cache
