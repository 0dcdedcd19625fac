"""`kmend preflight` boots the real kernel and reports its verdict; it must reproduce what
`kmend check` predicts (and the matrix proves) — and load Debian's own xen-evtchn.ko into a
PV dom0 under Xen."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from kmend.cli import main
from kmodbuild import built_modules, kdir_of, need

__all__ = ["built_modules"]  # the session fixture, imported so pytest finds it

pytestmark = pytest.mark.vm

K47, K57, K612 = "6.1.0-47-amd64", "6.1.0-57-amd64", "6.12.117+deb12-amd64"


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:  # type: ignore[type-arg]
    code = main([*args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_preflight_matches_check(built_modules: dict[str, dict[str, Path]],
                                 capsys: pytest.CaptureFixture[str]) -> None:
    need(shutil.which("qemu-system-x86_64"), "qemu-system-x86 not installed")
    hello = str(built_modules[K57]["hello"])
    code, real = run(["preflight", hello, "--kernel-image", f"/boot/vmlinuz-{K47}"], capsys)
    ccode, predicted = run(["check", hello, "--kdir", str(kdir_of(K47))], capsys)
    assert (code, ccode) == (1, 1)
    assert real["release"] == K47 and real["loaded"] is False
    assert real["first_error"] == predicted["first_error"] == (
        "hello: disagrees about version of symbol module_layout")

    needdep, depprov = built_modules[K57]["needdep"], built_modules[K57]["depprov"]
    code, real = run(["preflight", str(needdep), "--kernel", K57, "--with", str(depprov)], capsys)
    assert code == 0 and real["loaded"] and real["dependencies"] == ["depprov"]
    assert "needdep: depprov says 42" in real["messages"]
    ccode, predicted = run(["check", str(needdep), "--kdir", str(kdir_of(K57)),
                            "--modules-dir", str(depprov.parent)], capsys)
    assert ccode == 0 and predicted["taints"] == real["taints"] == "OE"


def test_preflight_xen_dom0_loads_debian_evtchn(capsys: pytest.CaptureFixture[str]) -> None:
    need(shutil.which("qemu-system-x86_64"), "qemu-system-x86 not installed")
    xen = Path("/boot/xen-4.17-amd64.gz")
    need(xen.is_file(), "xen-hypervisor-4.17-amd64 not installed")
    found = sorted(Path(f"/lib/modules/{K612}/kernel/drivers/xen").glob("xen-evtchn.ko*"))
    need(found, f"linux-image-{K612} not installed")
    code, real = run(["preflight", str(found[0]), "--kernel-image", f"/boot/vmlinuz-{K612}",
                      "--xen", str(xen)], capsys)
    assert code == 0 and real["loaded"] and real["release"] == K612 and real["xen"] == str(xen)
    assert any("Event-channel device installed" in m for m in real["messages"])
    ccode, predicted = run(["check", str(found[0]), "--kernel", K612], capsys)
    # Debian's module is signed with the kernel's build key: no taint, like the real load
    assert ccode == 0 and predicted["taints"] == real["taints"] == ""


def test_preflight_modprobes_dependencies_from_the_tree(capsys: pytest.CaptureFixture[str]) -> None:
    need(shutil.which("qemu-system-x86_64"), "qemu-system-x86 not installed")
    found = sorted(Path(f"/lib/modules/{K57}/kernel/drivers/net/vxlan").glob("vxlan.ko*"))
    need(found, f"linux-image-{K57}-unsigned not installed")
    code, real = run(["preflight", str(found[0]), "--kernel-image", f"/boot/vmlinuz-{K57}",
                      "--modules-dir", f"/lib/modules/{K57}"], capsys)
    ccode, predicted = run(["check", str(found[0]), "--kernel", K57], capsys)
    assert (code, ccode) == (0, 0) and real["loaded"]
    # what check says must be loaded first is what preflight loaded first (with modprobe)
    assert sorted(real["dependencies"]) == sorted(predicted["needs_loaded"]) == [
        "ip6_udp_tunnel", "udp_tunnel"]
    assert real["taints"] == predicted["taints"] == ""
