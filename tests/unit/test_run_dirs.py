"""kmend run's own temporary directories do not pile up."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from kmend.pipeline.stages import RUN_DIR_MAX_AGE, RUN_DIR_PREFIX, prune_old_run_dirs


def test_week_old_run_dirs_go_young_ones_and_links_stay() -> None:
    tmp = Path(tempfile.gettempdir())
    old = Path(tempfile.mkdtemp(prefix=RUN_DIR_PREFIX))
    (old / "xen-evtchn.ko").write_bytes(b"\x7fELF")
    young = Path(tempfile.mkdtemp(prefix=RUN_DIR_PREFIX))
    target = Path(tempfile.mkdtemp(prefix="kmend-test-keep-"))
    link = tmp / f"{RUN_DIR_PREFIX}link-{os.getpid()}"
    link.symlink_to(target)
    try:
        past = time.time() - RUN_DIR_MAX_AGE - 60
        os.utime(old, (past, past))
        os.utime(link, (past, past), follow_symlinks=False)
        gone = prune_old_run_dirs()
        assert old in gone and not old.exists()
        assert young.is_dir() and target.is_dir() and link.is_symlink()
    finally:
        link.unlink()
        for d in (young, target):
            for f in d.iterdir():
                f.unlink()
            d.rmdir()


def test_the_cache_forgets_entries_unused_for_a_month(tmp_path: Path) -> None:
    from kmend.source.tree import CACHE_MAX_AGE, prune_cache

    old = tmp_path / "old-tree"
    (old / "drivers").mkdir(parents=True)
    fresh = tmp_path / "fresh-repo"
    fresh.mkdir()
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    link = tmp_path / "link"
    link.symlink_to(outside)
    past = time.time() - CACHE_MAX_AGE - 60
    os.utime(old, (past, past))
    os.utime(link, (past, past), follow_symlinks=False)
    gone = prune_cache(tmp_path)
    assert sorted(gone) == sorted([old, link])
    assert fresh.is_dir() and outside.is_dir() and not link.exists()
    outside.rmdir()
