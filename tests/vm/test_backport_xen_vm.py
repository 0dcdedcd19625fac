"""The real case end to end: the minimal xen-evtchn backport (the unbinding fix on 6.1's own
evtchn.c, built against Debian's 6.1.0-47 headers) loads into Debian's 6.1.0-47 kernel
running as a PV dom0 under Xen 4.17 in QEMU, and the driver registers its device — the
kernel, not kmend, is the oracle.  `kmend check`'s prediction must match what it printed.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

import xenbackport as xb
from conftest import need

pytestmark = pytest.mark.vm

K47 = "6.1.0-47-amd64"
XEN = Path("/boot/xen-4.17-amd64.gz")


@pytest.fixture(scope="module")
def backport(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with xb.kmend_cache(tmp_path_factory):
        patch = xb.fix_patch(tmp_path_factory.mktemp("vmfix"))
        out = tmp_path_factory.mktemp("vmout") / "xen-evtchn"
        code, doc = xb.minimal_backport(patch, Path(f"/lib/modules/{K47}/build"), out)
    assert code == 0 and doc["chosen_kind"] == "fix-on-base"
    [ko] = doc["modules"]
    yield Path(ko)


def test_backported_evtchn_loads_in_a_xen_pv_dom0(backport: Path) -> None:
    need(shutil.which("qemu-system-x86_64"), "qemu-system-x86 not installed")
    need(XEN.is_file(), "xen-hypervisor-4.17-amd64 not installed")
    need(Path(f"/boot/vmlinuz-{K47}").is_file(), f"linux-image-{K47} not installed")
    code, real = xb.run("preflight", str(backport), "--kernel-image", f"/boot/vmlinuz-{K47}",
                        "--xen", str(XEN))
    assert code == 0 and real["loaded"] is True and real["release"] == K47
    assert real["module"] == "xen_evtchn" and real["xen"] == str(XEN)
    assert "xen:xen_evtchn: Event-channel device installed" in real["messages"]
    assert "xen_evtchn: loading out-of-tree module taints kernel." in real["messages"]
    ccode, predicted = xb.run("check", str(backport), "--kdir", f"/lib/modules/{K47}/build")
    assert ccode == 0 and predicted["taints"] == real["taints"] == "OE"
