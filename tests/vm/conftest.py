from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kmodbuild import available_kernels, build_all, need


@pytest.fixture(scope="session")
def built_modules(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Path]]:
    """{release: {label: .ko}} for every installed test kernel (built once per session)."""
    need(shutil.which("make") and shutil.which("gcc"), "make/gcc not installed")
    need(len(available_kernels()) == 3, f"headers of all test kernels needed, have {available_kernels()}")
    return build_all(tmp_path_factory.getbasetemp() / "testmods")
