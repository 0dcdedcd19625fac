"""Build a small out-of-tree test module against a kernel's headers, for the lab.

For the lab's own test modules (crashmod, hello), with the product's build
(``kmend.build.runner.compile_files``, headers found by ``kmend.build.kdir.find_kdir``):
``macro_prefix`` maps the build directory in ``__FILE__`` (what ``kernel BUG at`` and
``WARNING: ... at`` print) to a stable path, so captures do not depend on a temp name.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from kmend.build.kdir import find_kdir
from kmend.build.runner import compile_files, place_modules, read_dir


def build_module(
    source: Path,
    kdir: Path,
    out_dir: Path,
    *,
    macro_prefix: str | None = None,
    timeout: float = 300.0,
) -> list[Path]:
    """Build every module of the Kbuild directory *source*; return the .ko paths in *out_dir*."""
    out_dir.mkdir(parents=True, exist_ok=True)
    result, tmp = compile_files(read_dir(source), find_kdir(kdir), timeout=timeout,
                                macro_prefix=macro_prefix)
    try:
        assert result.ok, result.log[-4000:]
        return list(place_modules(tuple(sorted(tmp.glob("*.ko"))), tmp, out_dir))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
