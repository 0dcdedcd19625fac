"""Initramfs assembly: module trees, dependency resolution, decompression, kmod libraries."""

from __future__ import annotations

import lzma
import shutil
import stat
from pathlib import Path

import pytest
from tests.conftest import need

from kmend.errors import InputError
from kmend.lab.cpio import read_names
from kmend.lab.elfdeps import read_elf_info
from kmend.lab.initramfs import InitramfsSpec, build_initramfs
from kmend.lab.kernels import ModuleTree, module_name, read_module_bytes, resolve_modules
from kmend.lab.steps import Insmod, Modprobe, Run

DEP = (
    "kernel/drivers/xen/xen-evtchn.ko.xz: kernel/drivers/xen/xen-common.ko.xz\n"
    "kernel/drivers/xen/xen-common.ko.xz:\n"
    "kernel/fs/other.ko: kernel/lib/lib_a.ko kernel/lib/lib_b.ko\n"
    "kernel/lib/lib_a.ko: kernel/lib/lib_b.ko\n"
    "kernel/lib/lib_b.ko:\n"
)


def _tree(root: Path) -> Path:
    for line in DEP.splitlines():
        rel = line.split(":")[0]
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        payload = f"module {rel}".encode()
        (root / rel).write_bytes(lzma.compress(payload) if rel.endswith(".xz") else payload)
    (root / "modules.dep").write_text(DEP)
    (root / "modules.dep.bin").write_bytes(b"\0bin")
    (root / "build").symlink_to("/usr/src")
    return root


def test_module_names_normalise() -> None:
    assert module_name("kernel/drivers/xen/xen-evtchn.ko.xz") == "xen_evtchn"
    assert module_name("a-b_c.ko") == "a_b_c"


def test_resolve_dependencies(tmp_path: Path) -> None:
    tree = _tree(tmp_path / "6.1.0-x")
    assert resolve_modules(tree, ("xen_evtchn",)) == (
        "kernel/drivers/xen/xen-evtchn.ko.xz",
        "kernel/drivers/xen/xen-common.ko.xz",
    )
    assert set(resolve_modules(tree, ("other",))) == {
        "kernel/fs/other.ko",
        "kernel/lib/lib_a.ko",
        "kernel/lib/lib_b.ko",
    }
    with pytest.raises(InputError):
        resolve_modules(tree, ("nope",))


def test_whole_tree_skips_symlinks(tmp_path: Path) -> None:
    tree = _tree(tmp_path / "r")
    names = [rel for rel, _ in ModuleTree(tree).files()]
    assert "build" not in names
    assert "kernel/lib/lib_b.ko" in names and "modules.dep" in names
    subset = dict(ModuleTree(tree, only=("lib_a",)).files())
    assert set(subset) == {
        "kernel/lib/lib_a.ko",
        "kernel/lib/lib_b.ko",
        "modules.dep",
        "modules.dep.bin",
    }


def test_decompression(tmp_path: Path) -> None:
    ko = tmp_path / "x.ko.xz"
    ko.write_bytes(lzma.compress(b"\x7fELF-payload"))
    assert read_module_bytes(ko) == b"\x7fELF-payload"
    bad = tmp_path / "bad.ko.xz"
    bad.write_bytes(b"not xz")
    with pytest.raises(InputError, match="decompress"):
        read_module_bytes(bad)


def test_build_real_initramfs(tmp_path: Path) -> None:
    need(shutil.which("busybox"), "busybox-static not installed")
    need(shutil.which("kmod"), "kmod not installed")
    tree = _tree(tmp_path / "6.1.0-x")
    ko = tmp_path / "hello.ko.xz"
    ko.write_bytes(lzma.compress(b"hello-bytes"))
    spec = InitramfsSpec(
        steps=(Insmod("h", ko), Modprobe("m", "xen-evtchn"), Run("r", "true")),
        modules=ModuleTree(tree, only=("xen-evtchn",)),
        data=(("etc/x.conf", b"k=v\n"),),
    )
    out = build_initramfs(spec, tmp_path / "out" / "i.cpio")
    entries = {name: (mode, body) for name, mode, body in read_names(out.read_bytes())}
    assert entries["init"][1].decode() == spec.init_text()
    assert entries["init"][0] & 0o111
    assert entries["lab/mods/h/hello.ko"][1] == b"hello-bytes"
    assert entries["lib/modules/6.1.0-x/kernel/drivers/xen/xen-common.ko.xz"][1]
    assert "lib/modules/6.1.0-x/kernel/fs/other.ko" not in entries
    assert stat.S_ISLNK(entries["usr/sbin/modprobe"][0])
    # kmod is dynamically linked: its loader and libc must be inside
    kmod = Path(shutil.which("kmod") or "")
    info = read_elf_info(kmod.resolve())
    assert info.interpreter and info.interpreter.lstrip("/") in entries
    for lib in info.needed:
        assert f"lib/x86_64-linux-gnu/{lib}" in entries
    assert entries["etc/x.conf"][1] == b"k=v\n"
    assert not list(out.parent.glob(".initramfs-*"))  # temp file renamed away
