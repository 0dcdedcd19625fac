"""The fix search and the backport on a git history of real kernel code.

scripts/make-xen-history.py builds, at test time, a history of drivers/xen from Debian's
linux-source-6.1 and -6.12 tarballs (the shape is in its docstring): an injected fault
backported into v6.1.170 (the upstream base of Debian's 6.1.0-47), the six real upstream
changes of evtchn.c up to 6.12, and the fix between them.  The replay (tests/vm) runs
`kmend run` on it after a real crash; here the parts are checked without a VM:

* the history is what it claims: its v6.1 and v6.12 hold Debian's two evtchn.c exactly,
  the fix undoes the fault and nothing else;
* `kmend fixes` from the crashed kernel's release finds the fix first, and sees through
  the stable backport: the crash line was written by linux-6.1.y's backport, the fix's
  ``Fixes:`` names the mainline commit;
* `kmend backport` against Debian's 6.1.0-47 headers: ``--policy newest`` compiles every
  revision with the fix, all fail on 6.12's APIs, and says so; ``--policy minimal`` applies
  the fix onto v6.1.170 and the result is Debian's own evtchn.c again, and loads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import xenbackport as xb
from backport_support import assert_backport_loads
from kmend import proc
from xenbackport import SRC61, SRC612, kdir, run, xen_history

pytestmark = pytest.mark.integration

KDIR47 = Path("/lib/modules/6.1.0-47-amd64/build")
EVTCHN = "drivers/xen/evtchn.c"


@pytest.fixture(scope="session")
def history(kmend_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return xen_history(tmp_path_factory.mktemp("xenhist") / "linux.git", kmend_cache)


def show(history: dict[str, Any], rev: str, path: str = EVTCHN) -> str:
    return proc.run(["git", "-C", history["repo"], "show", f"{rev}:{path}"], timeout=60).stdout


def sha(history: dict[str, Any], role: str) -> str:
    value: str = history["roles"][role]["sha"]
    return value


def test_history_holds_debians_two_versions(history: dict[str, Any],
                                            kmend_cache: Path) -> None:
    v61 = xb.Tarball(SRC61).unpack_dirs(["drivers/xen"]).read(EVTCHN)
    v612 = xb.Tarball(SRC612).unpack_dirs(["drivers/xen"]).read(EVTCHN)
    assert show(history, "v6.1") == v61
    assert show(history, "v6.12") == v612
    assert show(history, "v6.12", "drivers/xen/Makefile") == show(history, "v6.1",
                                                                   "drivers/xen/Makefile")
    faulty = show(history, "v6.1.170").splitlines()
    line = history["fault_line"]
    assert faulty[line - 1].strip().startswith("BUG_ON(bind.remote_domain != 0);")
    assert faulty[:line - 1] + faulty[line:] == v61.splitlines()  # one line injected
    # the fix removes that line and nothing else
    diff = proc.run(["git", "-C", history["repo"], "show", "--format=", "-U0",
                     sha(history, "fix")], timeout=60).stdout
    changed = [ln for ln in diff.splitlines() if ln[:1] in "+-" and ln[:3] not in ("+++", "---")]
    assert changed == ["-" + faulty[line - 1]]
    body = proc.run(["git", "-C", history["repo"], "show", "-s", "--format=%B",
                     sha(history, "fault_stable")], timeout=60).stdout
    assert f"commit {sha(history, 'fault')} upstream." in body
    log = proc.run(["git", "-C", history["repo"], "log", "--format=%s", "v6.1..v6.12"],
                   timeout=60).stdout.splitlines()
    assert len(log) == 8 and log[0] == "fs: remove no_llseek"


def test_fix_search_sees_through_the_stable_backport(history: dict[str, Any]) -> None:
    code, doc = run("fixes", "--source", history["repo"], "--file", EVTCHN, "--function",
                    "evtchn_ioctl", "--line", str(history["fault_line"]),
                    "--base", "6.1.0-47-amd64")
    assert code == 0, doc
    assert doc["base"] == "v6.1.170"
    first = doc["candidates"][0]
    assert first["commit"] == sha(history, "fix")
    details = [e["detail"] for e in first["evidence"]]
    assert f"removes the BUG_ON at line {history['fault_line']}" in details
    fault_stable = sha(history, "fault_stable")[:12]
    assert any(d.startswith(f"Fixes: {sha(history, 'fault')[:12]}")
               and f"backported to the base as {fault_stable}" in d
               and "the commit that last changed line" in d for d in details), details
    assert not any("cannot have" in d for d in details), details
    # the fault itself is a candidate (it touches the file after v6.1) but already in the base
    fault = next(c for c in doc["candidates"] if c["commit"] == sha(history, "fault"))
    assert fault["score"] < 0
    assert any(b["commit"] == sha(history, "fault_stable") and b["in_base"]
               for b in fault["stable_backports"])


def test_newest_policy_finds_no_revision_with_the_fix_that_builds(
        history: dict[str, Any], tmp_path: Path) -> None:
    code, doc = run("backport", "--source", history["repo"], "--fix", sha(history, "fix"),
                    "--module", "xen-evtchn", "--kdir", str(kdir(KDIR47)),
                    "--policy", "newest", "-o", str(tmp_path / "out"))
    assert code == 1 and doc["chosen_rev"] is None and doc["output"] is None
    revisions = [p for p in doc["probes"] if p["kind"] == "revision"]
    # fix, unbinding, desc, llseek: every revision that contains the fix was compiled
    assert {p["rev"] for p in revisions} == {sha(history, r)
                                             for r in ("fix", "unbinding", "desc", "llseek")}
    assert not any(p["ok"] for p in revisions)
    assert all("evtchn_make_refcounted" in p["first_diagnostic"] for p in revisions), revisions
    text = " ".join(doc["explanation"])
    assert "IOCTL_EVTCHN_BIND_STATIC" in text and "--policy minimal" in text


def test_minimal_policy_applies_the_fix_onto_the_crashed_kernels_version(
        history: dict[str, Any], kmend_cache: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, doc = run("backport", "--source", history["repo"], "--fix", sha(history, "fix"),
                    "--module", "xen-evtchn", "--kdir", str(kdir(KDIR47)),
                    "--policy", "minimal", "-o", str(out))
    assert code == 0, doc
    assert doc["chosen_kind"] == "fix-on-base"
    assert doc["base_rev"] == sha(history, "fault_stable")  # v6.1.170 from 6.1.0-47's headers
    v61 = xb.Tarball(SRC61).unpack_dirs(["drivers/xen"]).read(EVTCHN)
    assert (out / "evtchn.c").read_text() == v61
    assert_backport_loads(doc, KDIR47)
