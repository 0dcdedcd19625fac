"""Install into a real Debian kernel's module tree, boot that kernel under QEMU with an
initramfs built from the tree, modprobe the module: the new one loads.  Roll back, boot
again: modprobe resolves to Debian's original (which refuses to load outside a Xen domain
with "No such device" — the stand-in has no such check, so the two are told apart by the
kernel itself, and by the guest's own modinfo)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import need
from install_support import K61, K612, build_module, kmend_json, make_root, snapshot
from kmend.lab import (
    BootCase,
    BootResult,
    InitramfsSpec,
    Modprobe,
    ModuleTree,
    Run,
    boot,
    kernel_image,
)

pytestmark = pytest.mark.vm


def _boot(tree: Path, release: str) -> BootResult:
    steps = (Run("info", "modinfo -F version xen_evtchn; echo name=$(modinfo -F name xen_evtchn)"),
             Modprobe("evtchn", "xen_evtchn"))
    modules = ModuleTree(tree, release=release, only=("xen_evtchn",))
    return boot(BootCase(kernel=kernel_image(release), name="install-vm",
                         initramfs=InitramfsSpec(steps=steps, modules=modules)))


# override on 6.1 (updates/kmend/*.ko); replace on 6.12, whose in-tree module is a .ko.xz
# that kmend recompresses: the real loader must accept it.
@pytest.mark.parametrize(("release", "mode"), [(K61, "override"), (K612, "replace")])
def test_installed_module_is_the_one_the_kernel_loads_and_rollback_restores(
        tmp_path: Path, release: str, mode: str) -> None:
    need(shutil.which("qemu-system-x86_64"), "qemu-system-x86 not installed")
    need(shutil.which("busybox"), "busybox-static not installed")
    need(Path(f"/boot/vmlinuz-{release}").is_file(), f"linux-image-{release} not installed")
    ko = build_module(release)
    root = make_root(tmp_path / "root", release)
    before = snapshot(root)
    tree = root / "lib/modules" / release

    kmend_json("install", str(ko), "--root", str(root), "--mode", mode)
    new = _boot(tree, release)
    assert new.done, new.console[-2000:]
    info = "\n".join(new.command("info").output)
    assert "kmend-test-1" in info, info
    load = new.load("evtchn")
    assert load.rc == 0, load
    assert any("kmend-test stand-in kmend-test-1 loaded" in m for m in load.messages), load

    kmend_json("rollback", "--root", str(root))
    assert snapshot(root) == before
    old = _boot(tree, release)
    assert old.done, old.console[-2000:]
    info = "\n".join(old.command("info").output)
    assert "kmend-test" not in info and "name=xen_evtchn" in info, info
    load = old.load("evtchn")
    assert load.rc != 0, load  # Debian's xen-evtchn: -ENODEV outside a Xen domain
    assert any("No such device" in line for line in (*load.output, *load.messages)), load
    assert not any("kmend-test" in m for m in load.messages)
