"""Shared by the integration and vm tiers: the real xen-evtchn case from Debian's tarballs.

The tarballs are unpacked (Makefiles and drivers/xen only) into one cache per test
session (``<basetemp>/kmend-cache``), so a second tier in the same session reuses them.
"""

from __future__ import annotations

import difflib
import io
import json
import os
import re
import shutil
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from conftest import REPO, need
from kmend import proc
from kmend.cli import main
from kmend.source.tree import Tarball

SRC612 = Path("/usr/src/linux-source-6.12.tar.xz")
SRC61 = Path("/usr/src/linux-source-6.1.tar.xz")
KDIRS61 = [Path("/lib/modules/6.1.0-47-amd64/build"), Path("/lib/modules/6.1.0-57-amd64/build")]


@contextmanager
def kmend_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Set $KMEND_CACHE to the session's cache with both tarballs' parts unpacked."""
    need(SRC612.is_file(), "linux-source-6.12 (apt-get install linux-source-6.12)")
    need(SRC61.is_file(), "linux-source-6.1 (apt-get install linux-source-6.1)")
    need(shutil.which("gcc"), "gcc")
    cache = tmp_path_factory.getbasetemp() / "kmend-cache"
    cache.mkdir(exist_ok=True)
    old = os.environ.get("KMEND_CACHE")
    os.environ["KMEND_CACHE"] = str(cache)
    # Each pass decompresses a whole ~150 MB .tar.xz; run the three the tests need at once
    # (kmend would run them one after another) so the session spends one pass's time.
    with ThreadPoolExecutor(max_workers=3) as pool:
        jobs = [pool.submit(Tarball(SRC612).makefiles_view),
                pool.submit(Tarball(SRC612).unpack_dirs, ["drivers/xen"]),
                pool.submit(Tarball(SRC61).unpack_dirs, ["drivers/xen"])]
        for job in jobs:
            job.result()
    try:
        yield cache
    finally:
        if old is None:
            os.environ.pop("KMEND_CACHE", None)
        else:
            os.environ["KMEND_CACHE"] = old


def xen_history(dest: Path, cache: Path) -> dict[str, Any]:
    """scripts/make-xen-history.py into *dest*: its manifest (the roles' SHAs, the line of
    the injected BUG_ON at v6.1.170).  Tarball parts come from (and go to) *cache*."""
    need(shutil.which("git"), "git")
    res = proc.run([sys.executable, str(REPO / "scripts/make-xen-history.py"), str(dest),
                    "--linux-6.1", str(SRC61), "--linux-6.12", str(SRC612)],
                   extra_env={"KMEND_CACHE": str(cache)}, timeout=300)
    manifest: dict[str, Any] = json.loads(res.stdout)
    return manifest


def run(*args: str) -> tuple[int, Any]:
    """``kmend ARGS --json`` in-process: exit code and the JSON document."""
    so, se = io.StringIO(), io.StringIO()
    with redirect_stdout(so), redirect_stderr(se):
        code = main([*args, "--json"])
    return code, json.loads(so.getvalue())


def kdir(path: Path) -> Path:
    need((path / "Module.symvers").is_file(), f"headers {path}")
    return path


def fix_patch(dest_dir: Path) -> Path:
    """The upstream unbinding fix, cut at test time from the 6.1 → 6.12 diff of evtchn.c.

    "xen/evtchn: avoid WARN() when unbinding an event channel" is the change that adds
    ``unbinding`` (the fourth of the 6.1 → 6.12 changes to the file); its hunks are the ones of
    the diff that mention it.  Needs :func:`kmend_cache` active.
    """
    old = Tarball(SRC61).unpack_dirs(["drivers/xen"]).read("drivers/xen/evtchn.c")
    new = Tarball(SRC612).unpack_dirs(["drivers/xen"]).read("drivers/xen/evtchn.c")
    assert old and new and old != new
    diff = list(difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                     "a/drivers/xen/evtchn.c", "b/drivers/xen/evtchn.c"))
    text = "".join(diff[2:])
    hunks = [h for h in re.split(r"(?m)^(?=@@ )", text) if h.startswith("@@") and "unbinding" in h]
    assert len(hunks) == 3, "the fix touches the struct, the handler and the unbind path"
    patch = dest_dir / "evtchn-unbinding.patch"
    patch.write_text("".join(diff[:2]) + "".join(hunks))
    return patch


def minimal_backport(patch: Path, kdir61: Path, out: Path) -> tuple[int, Any]:
    """``kmend backport --policy minimal`` of the fix onto 6.1's own evtchn.c."""
    return run("backport", "--source", str(SRC612), "--base-source", str(SRC61),
               "--fix", str(patch), "--policy", "minimal", "--module", "xen-evtchn",
               "--kdir", str(kdir(kdir61)), "-o", str(out))
