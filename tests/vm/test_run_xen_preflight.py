"""`kmend run --dry-run --preflight` on the bundled example with Debian's real sources.

The crash (examples/w-xen09-messages.log: kernel BUG in xen_evtchn on 3.10.20) is triaged
and located in linux-source-6.12's drivers/xen; the fix is the upstream unbinding change
cut from the 6.1 → 6.12 diff (tests/xenbackport.py); the backport applies it to 6.1's own
evtchn.c, builds it against Debian's 6.1.0-47 headers, checks it, and — because the module
is a Xen module — the preflight boots 6.1.0-47 as a PV dom0 under Xen 4.17 in QEMU and
loads it.  The kernel's own messages are the oracle.  No fix search runs here (a source
tarball has no history); that stage is covered on a git history by the integration tier.
"""

from __future__ import annotations

import io
import json
import shutil
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

import xenbackport as xb
from conftest import REPO, need
from kmend.cli import main

pytestmark = pytest.mark.vm

K47 = "6.1.0-47-amd64"
XEN = Path("/boot/xen-4.17-amd64.gz")


def test_example_crash_to_a_module_loaded_in_a_xen_dom0(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    need(shutil.which("qemu-system-x86_64"), "qemu-system-x86 not installed")
    need(XEN.is_file(), "xen-hypervisor-4.17-amd64 not installed")
    need(Path(f"/boot/vmlinuz-{K47}").is_file(), f"linux-image-{K47} not installed")
    kdir = xb.kdir(Path(f"/lib/modules/{K47}/build"))
    out = tmp_path_factory.mktemp("runxen") / "out"
    with xb.kmend_cache(tmp_path_factory):
        patch = xb.fix_patch(tmp_path_factory.mktemp("runfix"))
        so, se = io.StringIO(), io.StringIO()
        with redirect_stdout(so), redirect_stderr(se):
            code = main(["run", "--dry-run", str(REPO / "examples/w-xen09-messages.log"),
                         "--source", str(xb.SRC612), "--base-source", str(xb.SRC61),
                         "--fix", str(patch), "--kdir", str(kdir), "--preflight",
                         "-o", str(out), "--json"])
    print(se.getvalue())
    assert code == 0, se.getvalue()
    doc = json.loads(so.getvalue())
    st = {s["name"]: s for s in doc["stages"]}
    assert [s["status"] for s in doc["stages"]] == [
        "done", "done", "skipped", "done", "done", "done", "done", "skipped"]
    assert st["locate"]["data"]["module"] == "xen-evtchn"
    assert st["locate"]["data"]["xen"] is True
    assert st["backport"]["data"]["chosen_kind"] == "fix-on-base"
    assert st["preflight"]["data"]["loaded"] is True
    assert st["preflight"]["summary"] == "loaded as a Xen PV dom0"
    assert "kernel: xen:xen_evtchn: Event-channel device installed" in st["preflight"]["lines"]
    assert doc["provenance"]["preflight"] == f"loaded in {K47} as a Xen PV dom0"
    assert doc["provenance"]["fix_patch"] == str(patch)
