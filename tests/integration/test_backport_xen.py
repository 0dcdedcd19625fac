"""The real case: xen-evtchn from Debian's linux-source-6.12 onto Debian 6.1 headers.

Sources come from Debian's tarballs in /usr/src at test time (kmend unpacks only the
Makefiles and drivers/xen into a per-session cache); nothing from them is committed.
What this records (found by building 6.12's file against 6.1's headers): 6.12's evtchn.c does
not compile against 6.1 — the new two-argument evtchn_make_refcounted(), xen_evtchn_close(),
IOCTL_EVTCHN_BIND_STATIC and struct ioctl_evtchn_bind are missing — and kmend says so and
what to do; the fix ("xen/evtchn: avoid WARN() when unbinding an event channel", the hunks
that add ``unbinding``) applied to 6.1's own evtchn.c builds and is what --policy minimal
emits.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import xenbackport as xb
from backport_support import assert_backport_loads
from kmend import proc
from xenbackport import KDIRS61, SRC61, SRC612, kdir, run

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def newest_612(kmend_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Any]:
    out = tmp_path_factory.mktemp("x") / "out"
    return run("backport", "--source", str(SRC612), "--module", "xen-evtchn",
               "--kdir", str(kdir(KDIRS61[0])), "-o", str(out))


@pytest.fixture(scope="session")
def fix_patch(kmend_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return xb.fix_patch(tmp_path_factory.mktemp("fix"))


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
    code, doc = xb.minimal_backport(fix_patch, kdir61, out)
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
    prov = json.loads((out / "PROVENANCE").read_text())  # JSON, as kmend install reads it
    assert prov["kernel"] == kdir61.parent.name
    assert prov["recipe"]["kbuild_dir"] == "drivers/xen"
    assert set(prov["sources"]["files"]) >= {"evtchn.c", "Kbuild", "Makefile"}


def test_minimal_backport_passes_kmend_check(minimal_61: tuple[Path, Path, int, Any]) -> None:
    kdir61, _out, code, doc = minimal_61
    assert code == 0
    assert_backport_loads(doc, kdir61)


def test_newest_with_the_fix_and_base_recommends_minimal(
        fix_patch: Path, kmend_cache: Path, tmp_path: Path) -> None:
    code, doc = run("backport", "--source", str(SRC612), "--base-source", str(SRC61),
                    "--fix", str(fix_patch), "--policy", "newest",
                    "--module", "drivers/xen/evtchn.c",
                    "--kdir", str(kdir(KDIRS61[0])), "-o", str(tmp_path / "o"))
    assert code == 1
    advice = " ".join(doc["explanation"])
    assert "the fix applied on the target's own version builds" in advice
    assert "--policy minimal" in advice
