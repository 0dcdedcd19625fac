"""The tests run on the interpreter a fresh Debian 12 has, not on whatever python3 is on PATH."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest


def test_ci_runs_on_debians_own_python() -> None:
    debian = Path("/usr/bin/python3")
    if os.environ.get("CI") != "true":
        pytest.skip("only CI is bound to Debian's interpreter (a developer may use another)")
    assert debian.exists(), "CI must run on Debian 12 with /usr/bin/python3 (apt: python3)"
    base = Path(getattr(sys, "_base_executable", sys.executable)).resolve()
    assert base == debian.resolve(), f"tests run on {base}, not Debian's {debian.resolve()}"
