"""The real case: xen-evtchn from Debian's linux-source-6.12 onto Debian 6.1 headers.

Sources come from Debian's tarballs in /usr/src at test time (kmend unpacks only the
Makefiles and drivers/xen into a per-session cache); nothing from them is committed.
What this records (see /work/shared/reference/real-backport-case.md): 6.12's evtchn.c does
not compile against 6.1 — the new two-argument evtchn_make_refcounted(), xen_evtchn_close(),
IOCTL_EVTCHN_BIND_STATIC and struct ioctl_evtchn_bind are missing — and kmend says so and
what to do; the fix ("xen/evtchn: avoid WARN() when unbinding an event channel", the hunks
that add ``unbinding``) applied to 6.1's own evtchn.c builds and is what --policy minimal
emits.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from conftest import need
from kmend import proc
from kmend.backport.checkhook import check_built
from kmend.cli import main
from kmend.source.tree import Tarball

pytestmark = pytest.mark.integration

SRC612 = Path("/usr/src/linux-source-6.12.tar.xz")
SRC61 = Path("/usr/src/linux-source-6.1.tar.xz")
KDIRS61 = [Path("/lib/modules/6.1.0-47-amd64/build"), Path("/lib/modules/6.1.0-57-amd64/build")]


@pytest.fixture(scope="session")
def kmend_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    need(SRC612.is_file(), "linux-source-6.12 (apt-get install linux-source-6.12)")
    need(SRC61.is_file(), "linux-source-6.1 (apt-get install linux-source-6.1)")
    need(shutil.which("gcc"), "gcc")
    cache = tmp_path_factory.mktemp("kmend-cache")
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
    yield cache
    if old is None:
        os.environ.pop("KMEND_CACHE", None)
    else:
        os.environ["KMEND_CACHE"] = old


def run(*args: str) -> tuple[int, Any]:
    import io
    from contextlib import redirect_stderr, redirect_stdout

    so, se = io.StringIO(), io.StringIO()
    with redirect_stdout(so), redirect_stderr(se):
        code = main([*args, "--json"])
    return code, json.loads(so.getvalue())


def kdir(path: Path) -> Path:
    need((path / "Module.symvers").is_file(), f"headers {path}")
    return path


@pytest.fixture(scope="session")
def newest_612(kmend_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Any]:
    out = tmp_path_factory.mktemp("x") / "out"
    return run("backport", "--source", str(SRC612), "--module", "xen-evtchn",
               "--kdir", str(kdir(KDIRS61[0])), "-o", str(out))


@pytest.fixture(scope="session")
def fix_patch(kmend_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The upstream unbinding fix, cut at test time from the 6.1 → 6.12 diff of evtchn.c."""
    old = Tarball(SRC61).unpack_dirs(["drivers/xen"]).read("drivers/xen/evtchn.c")
    new = Tarball(SRC612).unpack_dirs(["drivers/xen"]).read("drivers/xen/evtchn.c")
    assert old and new and old != new
    diff = list(difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                     "a/drivers/xen/evtchn.c", "b/drivers/xen/evtchn.c"))
    text = "".join(diff[2:])
    hunks = [h for h in re.split(r"(?m)^(?=@@ )", text) if h.startswith("@@") and "unbinding" in h]
    assert len(hunks) == 3, "the fix touches the struct, the handler and the unbind path"
    patch = tmp_path_factory.mktemp("fix") / "evtchn-unbinding.patch"
    patch.write_text("".join(diff[:2]) + "".join(hunks))
    return patch


def test_612_evtchn_does_not_build_on_61_and_kmend_says_why(newest_612: tuple[int, Any]) -> None:
    code, doc = newest_612
    assert code == 1 and doc["chosen_rev"] is None and doc["output"] is None
    [probe] = doc["probes"]
    assert probe["kind"] == "tree" and probe["ok"] is False
    assert "too many arguments to function" in probe["first_diagnostic"]
    assert "evtchn_make_refcounted" in probe["first_diagnostic"]
    needs = probe["needs"]
    assert "evtchn_make_refcounted() taking more arguments than the target's" in needs
    assert "function xen_evtchn_close()" in needs
    assert "identifier IOCTL_EVTCHN_BIND_STATIC" in needs
    assert "definition of struct ioctl_evtchn_bind" in needs
    advice = " ".join(doc["explanation"])
    assert "--base-source" in advice and "--policy minimal" in advice
    assert "linux-source-6.1" in advice  # the target's own sources, by package name
    assert doc["files"] == ["drivers/xen/Makefile", "drivers/xen/evtchn.c"]


@pytest.fixture(scope="session", params=KDIRS61, ids=lambda p: p.parent.name)
def minimal_61(request: pytest.FixtureRequest, fix_patch: Path, kmend_cache: Path,
               tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, int, Any]:
    kdir61: Path = request.param
    out = tmp_path_factory.mktemp("min") / "xen-evtchn"
    code, doc = run("backport", "--source", str(SRC612), "--base-source", str(SRC61),
                    "--fix", str(fix_patch), "--policy", "minimal", "--module", "xen-evtchn",
                    "--kdir", str(kdir(kdir61)), "-o", str(out))
    return kdir61, out, code, doc


def test_minimal_backport_of_the_fix_onto_61_builds(
        minimal_61: tuple[Path, Path, int, Any]) -> None:
    kdir61, out, code, doc = minimal_61
    assert code == 0, doc["explanation"]
    assert doc["chosen_kind"] == "fix-on-base"
    kinds = {p["kind"]: p for p in doc["probes"]}
    assert kinds["fix-on-base"]["ok"] is True
    if "tree" in kinds:  # probed in the same parallel batch
        assert kinds["tree"]["ok"] is False
    src = (out / "evtchn.c").read_text()
    assert "evtchn->unbinding = true;" in src and "if (evtchn->unbinding)" in src
    assert "IOCTL_EVTCHN_BIND_STATIC" not in src  # 6.1's own version underneath
    [ko] = doc["modules"]
    info = proc.run(["modinfo", "-F", "vermagic", ko], timeout=30).stdout
    assert info.startswith(kdir61.parent.name + " ")
    assert proc.run(["modinfo", "-F", "name", ko], timeout=30).stdout.strip() == "xen_evtchn"
    assert "target_kernel: " + kdir61.parent.name in (out / "PROVENANCE").read_text()


def test_minimal_backport_passes_kmend_check(minimal_61: tuple[Path, Path, int, Any]) -> None:
    kdir61, _out, code, doc = minimal_61
    assert code == 0
    # what `kmend backport` reported, and the check library called again on the file
    [verdict] = doc["check"]
    assert verdict["will_load"] is True and verdict["first_error"] is None
    assert "loading out-of-tree module taints kernel" in " ".join(
        f["message"] for f in verdict["findings"])
    summary = check_built(Path(doc["modules"][0]), kdir61)
    assert summary.will_load, summary.lines


def test_newest_with_the_fix_and_base_recommends_minimal(
        fix_patch: Path, kmend_cache: Path, tmp_path: Path) -> None:
    code, doc = run("backport", "--source", str(SRC612), "--base-source", str(SRC61),
                    "--fix", str(fix_patch), "--module", "drivers/xen/evtchn.c",
                    "--kdir", str(kdir(KDIRS61[0])), "-o", str(tmp_path / "o"))
    assert code == 1
    advice = " ".join(doc["explanation"])
    assert "the fix applied on the target's own version builds" in advice
    assert "--policy minimal" in advice
