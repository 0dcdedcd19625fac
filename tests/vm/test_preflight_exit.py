"""preflight's exit codes through the real CLI and a real QEMU boot."""

from __future__ import annotations

import shutil

import pytest

from conftest import need
from install_support import K61, build_module, kmend

pytestmark = pytest.mark.vm


def test_a_boot_that_outlives_the_timeout_is_exit_6() -> None:
    need(shutil.which("qemu-system-x86_64"), "QEMU not installed")
    ko = build_module(K61)
    # no Linux boots to a shell and loads a module within a second under QEMU
    res = kmend("preflight", str(ko), "--kernel", K61, "--timeout", "1")
    assert res.returncode == 6, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "timed out" in lines[0] and "Traceback" not in res.stderr
