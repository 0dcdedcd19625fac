"""The lab boots real Debian kernels (and Xen with a PV dom0) and reports loads truthfully.

All boots of this module run once, in parallel, from one session-scoped fixture.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from tests.conftest import need
from tests.labkit.kbuild import build_module

from kmend import proc
from kmend.lab import (
    BootCase,
    BootResult,
    InitramfsSpec,
    Insmod,
    Modprobe,
    ModuleTree,
    Run,
    XenConfig,
    dom0_module_tree,
    evtchn_steps,
    run_many,
    tool_executables,
    tool_files,
    toolstack_steps,
)

pytestmark = pytest.mark.vm

R61 = "6.1.0-47-amd64"
R612 = "6.12.117+deb12-amd64"
HELLO_C = """\
#include <linux/module.h>
#include <generated/utsrelease.h>
static int __init hello_init(void)
{
	pr_info("Hello from " KBUILD_MODNAME ".ko (built for " UTS_RELEASE ")\\n");
	return 0;
}
static void __exit hello_exit(void)
{
	pr_info("Goodbye from " KBUILD_MODNAME ".ko\\n");
}
module_init(hello_init);
module_exit(hello_exit);
MODULE_LICENSE("GPL");
"""
TAINT_OOT, TAINT_UNSIGNED = 1 << 12, 1 << 13


def _needs(release: str) -> tuple[Path, Path]:
    kdir = Path("/lib/modules") / release / "build"
    image = Path("/boot") / f"vmlinuz-{release}"
    need(kdir.is_dir(), f"linux-headers-{release} not installed")
    need(image.is_file(), f"linux-image-{release} not installed")
    return kdir, image


@pytest.fixture(scope="session")
def lab_boots(tmp_path_factory: pytest.TempPathFactory) -> dict[str, BootResult]:
    need(shutil.which("qemu-system-x86_64"), "qemu-system-x86 not installed")
    need(shutil.which("busybox"), "busybox-static not installed")
    need(Path("/boot/xen-4.17-amd64.gz").is_file(), "xen-hypervisor-4.17-amd64 not installed")
    need(Path("/usr/lib/xen-4.17/bin/xl").is_file(), "xen-utils-4.17 not installed")
    base = tmp_path_factory.mktemp("lab")
    src = base / "hello"
    src.mkdir()
    (src / "hello.c").write_text(HELLO_C)
    (src / "Kbuild").write_text("obj-m += hello.o\n")
    ko: dict[str, Path] = {}
    images: dict[str, Path] = {}
    for release in (R61, R612):
        kdir, images[release] = _needs(release)
        ko[release] = build_module(src, kdir, base / release)[0]
    # a prepared module tree (as an install would leave it): extra/hello_tree.ko + depmod
    tree_src = base / "hello_tree"
    tree_src.mkdir()
    (tree_src / "hello_tree.c").write_text(HELLO_C)
    (tree_src / "Kbuild").write_text("obj-m += hello_tree.o\n")
    root = base / "root"
    tree = root / "lib" / "modules" / R61
    build_module(tree_src, _needs(R61)[0], tree / "extra")
    proc.run(["depmod", "-b", str(root), R61], timeout=60)
    cases = {
        "61": BootCase(
            kernel=images[R61],
            initramfs=InitramfsSpec(
                steps=(Insmod("hello", ko[R61], unload=True), Modprobe("tree", "hello_tree")),
                modules=ModuleTree(tree),
            ),
        ),
        "612": BootCase(
            kernel=images[R612],
            initramfs=InitramfsSpec(
                steps=(
                    Insmod("foreign", ko[R61]),
                    Insmod("hello", ko[R612], unload=True),
                    Modprobe("isofs", "isofs"),
                    Run("deps", "cat /sys/module/cdrom/initstate /sys/module/isofs/initstate"),
                ),
                modules=ModuleTree(Path("/lib/modules") / R612, only=("isofs",)),
                use_kmod=True,
            ),
        ),
        "xen": BootCase(
            kernel=images[R61],
            xen=XenConfig(),
            initramfs=InitramfsSpec(
                steps=evtchn_steps() + toolstack_steps(),
                modules=dom0_module_tree(R61),
                executables=tool_executables(),
                files=tool_files(),
                dlopened_libs=True,
            ),
            timeout=300,
        ),
        "timeout": BootCase(
            kernel=images[R612],
            initramfs=InitramfsSpec(steps=(Run("forever", "sleep 600"),)),
            timeout=20,
        ),
    }
    results = run_many(cases.values())
    return dict(zip(cases, results, strict=True))


@pytest.mark.parametrize(("key", "release"), [("61", R61), ("612", R612)])
def test_own_module_loads(lab_boots: dict[str, BootResult], key: str, release: str) -> None:
    result = lab_boots[key]
    assert not result.timed_out and result.done, result.console[-3000:]
    assert result.release == release
    hello = result.load("hello")
    assert hello.rc == 0
    assert f"Hello from hello.ko (built for {release})" in hello.messages
    assert "Goodbye from hello.ko" in hello.messages  # unload=True ran rmmod
    assert hello.taint_after is not None
    assert hello.taint_after & TAINT_OOT and hello.taint_after & TAINT_UNSIGNED
    assert result.taint == hello.taint_after


def test_whole_prepared_tree_and_modprobe(lab_boots: dict[str, BootResult]) -> None:
    tree = lab_boots["61"].load("tree")
    assert tree.rc == 0, tree
    assert f"Hello from hello_tree.ko (built for {R61})" in tree.messages


def test_foreign_module_refused_with_kernel_message(lab_boots: dict[str, BootResult]) -> None:
    """A 6.1 module in 6.12: refused before any taint, with the struct module size message."""
    foreign = lab_boots["612"].load("foreign")
    assert foreign.rc not in (0, None)
    assert any("struct module size" in m for m in foreign.messages), foreign.messages
    assert any("Invalid module format" in line for line in foreign.output), foreign.output
    assert foreign.taint_after == 0


def test_modprobe_resolves_dependencies(lab_boots: dict[str, BootResult]) -> None:
    """isofs needs cdrom (modules.dep of 6.12, .ko.xz): modprobe loads both from the tree."""
    result = lab_boots["612"]
    assert result.load("isofs").rc == 0, result.load("isofs")
    assert result.command("deps").output == ("live", "live")


def test_xen_pv_dom0_loads_debian_evtchn(lab_boots: dict[str, BootResult]) -> None:
    result = lab_boots["xen"]
    assert result.done and not result.timed_out, result.console[-3000:]
    assert re.search(r"\(XEN\) (\[[^]]*\] )?Xen version 4\.17", result.console)
    assert result.command("xen-type").output == ("xen", "PV")
    evtchn = result.load("xen-evtchn")
    assert evtchn.rc == 0
    assert any("Event-channel device installed" in m for m in evtchn.messages)
    dev = result.command("evtchn-dev")
    assert dev.rc == 0 and dev.output and dev.output[0].startswith("c")
    xl = result.command("xl-list")
    assert xl.rc == 0
    assert any(line.startswith("Domain-0 ") for line in xl.output), xl.output


def test_timeout_is_reported_not_hung(lab_boots: dict[str, BootResult]) -> None:
    result = lab_boots["timeout"]
    assert result.timed_out and not result.done
    assert result.seconds < 60
    assert result.command("forever").rc is None
