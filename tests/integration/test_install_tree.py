"""install / status / rollback on reduced copies of real Debian module trees, with the real
depmod and modprobe as oracles."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import need
from install_support import (
    K61,
    K612,
    build_module,
    kmend,
    kmend_json,
    make_root,
    modinfo_version,
    show_depends,
    snapshot,
)

pytestmark = pytest.mark.integration

EVTCHN_61 = f"lib/modules/{K61}/kernel/drivers/xen/xen-evtchn.ko"
EVTCHN_612 = f"lib/modules/{K612}/kernel/drivers/xen/xen-evtchn.ko.xz"
PROVENANCE = {"signature": "kernel BUG at drivers/xen/evtchn.c:LINE!",
              "commit": "73cc4bb0c79e", "revision": "af09d1a73aed"}


def test_override_install_status_rollback_is_exact(tmp_path: Path) -> None:
    ko = build_module(K61)
    root = make_root(tmp_path / "root", K61)
    before = snapshot(root)
    assert show_depends(root, K61) == f"insmod {root}/{EVTCHN_61}"
    prov = tmp_path / "prov.json"
    prov.write_text(json.dumps(PROVENANCE))

    txn = kmend_json("install", str(ko), "--root", str(root), "--provenance", str(prov))
    assert txn["state"] == "committed"
    assert [s["name"] for s in txn["steps"]] == ["backup", "place", "depmod", "initramfs",
                                                 "reload"]
    new_file = root / f"lib/modules/{K61}/updates/kmend/xen-evtchn.ko"
    assert new_file.read_bytes() == ko.read_bytes()
    assert show_depends(root, K61) == f"insmod {new_file}"
    # the in-tree file is untouched in override mode
    assert snapshot(root)[EVTCHN_61] == before[EVTCHN_61]

    st = kmend_json("status", "--root", str(root))
    assert [k["kernel"] for k in st["kernels"]] == [K61]
    (fix,) = st["kernels"][0]["fixes"]
    assert fix["module"] == "xen_evtchn"
    assert fix["active"] is True
    assert fix["transaction"] == txn["id"]
    assert fix["provenance"] == PROVENANCE
    assert st["pending"] == []

    back = kmend_json("rollback", "--root", str(root))
    assert back["id"] == txn["id"]
    assert back["state"] == "rolled-back"
    assert snapshot(root) == before  # every file, depmod outputs included; no stray dirs
    assert show_depends(root, K61) == f"insmod {root}/{EVTCHN_61}"
    assert kmend_json("status", "--root", str(root))["kernels"] == []


def test_replace_mode_on_a_compressed_tree_keeps_one_file_per_module(tmp_path: Path) -> None:
    ko = build_module(K612)
    root = make_root(tmp_path / "root", K612)
    before = snapshot(root)
    xen_dir = root / f"lib/modules/{K612}/kernel/drivers/xen"
    names_before = sorted(p.name for p in xen_dir.iterdir())

    txn = kmend_json("install", str(ko), "--root", str(root), "--mode", "replace")
    assert txn["state"] == "committed"
    # same names as before: no plain .ko beside the .ko.xz
    assert sorted(p.name for p in xen_dir.iterdir()) == names_before
    target = root / EVTCHN_612
    assert show_depends(root, K612) == f"insmod {target}"
    assert modinfo_version(target) == "kmend-test-1"
    unpacked = subprocess.run(["xz", "-dc", str(target)], capture_output=True, check=True,
                              timeout=60).stdout
    assert unpacked == ko.read_bytes()
    listing = subprocess.run(["xz", "-lvv", str(target)], capture_output=True, text=True,
                             check=True, timeout=60).stdout
    assert "CRC32" in listing and "--lzma2=dict=1MiB" in listing
    # the backup is byte-identical to the original
    backup = root / f"var/lib/kmend/txn/{txn['id']}/backup/{EVTCHN_612}"
    assert snapshot(root)[EVTCHN_612] != before[EVTCHN_612]
    assert (subprocess.run(["sha256sum", str(backup)], capture_output=True, text=True,
                           check=True).stdout.split()[0] == before[EVTCHN_612])

    kmend_json("rollback", txn["id"], "--root", str(root))
    assert snapshot(root) == before
    assert modinfo_version(target) == ""  # Debian's xen-evtchn has no version: field


def _meta(path: Path) -> tuple[int, int, int, int]:
    st = path.stat()
    return st.st_mode, st.st_uid, st.st_gid, st.st_mtime_ns


def test_replace_mode_on_a_plain_tree_restores_contents_and_metadata(tmp_path: Path) -> None:
    ko = build_module(K61)
    root = make_root(tmp_path / "root", K61)
    original = root / EVTCHN_61
    os.chmod(original, 0o640)
    os.utime(original, ns=(1_500_000_000_000_000_000, 1_500_000_000_123_456_789))
    before, meta = snapshot(root), _meta(original)
    kmend_json("install", str(ko), "--root", str(root), "--mode", "replace", "--kernel", K61)
    assert original.read_bytes() == ko.read_bytes()
    assert _meta(original)[0] == meta[0]  # the new file takes the mode of the one it replaces
    assert _meta(original)[3] != meta[3]
    assert show_depends(root, K61) == f"insmod {original}"
    kmend_json("rollback", "--root", str(root), "--kernel", K61)
    assert snapshot(root) == before
    assert _meta(original) == meta


def test_stacked_installs_roll_back_in_order_only(tmp_path: Path) -> None:
    ko1 = build_module(K61, "kmend-test-1")
    ko2 = build_module(K61, "kmend-test-2")
    root = make_root(tmp_path / "root", K61)
    before = snapshot(root)
    first = kmend_json("install", str(ko1), "--root", str(root))
    after_first = snapshot(root)
    second = kmend_json("install", str(ko2), "--root", str(root))
    new_file = root / f"lib/modules/{K61}/updates/kmend/xen-evtchn.ko"
    assert modinfo_version(new_file) == "kmend-test-2"

    st = kmend_json("status", "--root", str(root))
    active = {f["transaction"]: f["active"] for f in st["kernels"][0]["fixes"]}
    assert active == {first["id"]: False, second["id"]: True}

    refused = kmend("rollback", first["id"], "--root", str(root))
    assert refused.returncode == 7
    assert "no longer what" in refused.stderr and "Traceback" not in refused.stderr
    assert modinfo_version(new_file) == "kmend-test-2"

    kmend_json("rollback", second["id"], "--root", str(root))
    assert snapshot(root) == after_first
    kmend_json("rollback", first["id"], "--root", str(root))
    assert snapshot(root) == before


def test_dry_run_lists_steps_and_writes_nothing(tmp_path: Path) -> None:
    ko = build_module(K61)
    root = make_root(tmp_path / "root", K61)
    before = snapshot(root, include_state=True)
    out = kmend_json("install", str(ko), "--root", str(root), "--dry-run")
    assert out["steps"] == ["backup", "place", "depmod", "initramfs", "reload"]
    assert out["transaction"]["state"] == "planned"
    assert snapshot(root, include_state=True) == before
    assert not (root / "var").exists()


def _initramfs_with(root: Path, release: str, module_rel: str) -> Path:
    """A gzip'd newc cpio made with the real cpio, holding the module like Debian's does."""
    staging = root.parent / "initrd-staging"
    dest = staging / "usr/lib/modules" / release / module_rel
    dest.parent.mkdir(parents=True)
    dest.write_bytes(b"stand-in")
    listing = subprocess.run(["find", "."], cwd=staging, capture_output=True, check=True,
                             timeout=60).stdout
    archive = subprocess.run(["cpio", "-o", "-H", "newc", "--quiet"], cwd=staging,
                             input=listing, capture_output=True, check=True, timeout=60).stdout
    image = root / "boot" / f"initrd.img-{release}"
    image.parent.mkdir(parents=True, exist_ok=True)
    image.write_bytes(gzip.compress(archive, mtime=0))
    return image


def test_initramfs_containing_the_module_gets_an_exact_command_under_root(tmp_path: Path) -> None:
    ko = build_module(K61)
    root = make_root(tmp_path / "root", K61)
    need(shutil.which("lsinitramfs") and Path("/usr/sbin/update-initramfs").exists(),
         "initramfs-tools not installed")
    image = _initramfs_with(root, K61, "kernel/drivers/xen/xen-evtchn.ko")
    # the real update-initramfs script, so kmend detects initramfs-tools inside the root
    (root / "usr/sbin").mkdir(parents=True)
    shutil.copy2("/usr/sbin/update-initramfs", root / "usr/sbin/update-initramfs")
    before = snapshot(root)
    txn = kmend_json("install", str(ko), "--root", str(root))
    step = {s["name"]: s for s in txn["steps"]}["initramfs"]
    assert step["state"] == "skipped"
    command = f"chroot {root} update-initramfs -u -k {K61}"
    assert command in step["detail"]
    assert any(command in m for m in txn["messages"])
    assert txn["initramfs"]["contains_module"] is True
    assert snapshot(root)[f"boot/initrd.img-{K61}"] == before[f"boot/initrd.img-{K61}"]
    back = kmend_json("rollback", "--root", str(root))
    assert any(command in m for m in back["messages"] if "run again" in m)
    assert snapshot(root) == before
    assert image.exists()


def test_module_not_in_initramfs_needs_no_rebuild(tmp_path: Path) -> None:
    ko = build_module(K61)
    root = make_root(tmp_path / "root", K61)
    need(shutil.which("lsinitramfs"), "initramfs-tools not installed")
    _initramfs_with(root, K61, "kernel/drivers/block/xen-blkfront.ko")
    txn = kmend_json("install", str(ko), "--root", str(root))
    assert txn["initramfs"]["contains_module"] is False
    assert txn["initramfs"]["action"] == "none"


def test_installing_the_identical_module_again_is_a_no_op(tmp_path: Path) -> None:
    """The same bytes installed twice: one transaction, one active fix, one rollback back."""
    ko = build_module(K61)
    root = make_root(tmp_path / "root", K61)
    before = snapshot(root)
    first = kmend_json("install", str(ko), "--root", str(root))
    def state() -> dict[str, str]:  # the tree and the journal (the lock records its holder)
        return {k: v for k, v in snapshot(root, include_state=True).items()
                if k != "var/lib/kmend/lock"}

    after_first = state()
    again = kmend_json("install", str(ko), "--root", str(root))
    assert again["id"] == first["id"] and again["state"] == "committed"
    assert state() == after_first  # nothing written, no new journal entry
    st = kmend_json("status", "--root", str(root))
    assert [f["transaction"] for k in st["kernels"] for f in k["fixes"]] == [first["id"]]
    kmend_json("rollback", "--root", str(root))
    assert snapshot(root) == before
    # a different build of the module is a new transaction
    other = build_module(K61, "kmend-test-2")
    kmend_json("install", str(ko), "--root", str(root))
    second = kmend_json("install", str(other), "--root", str(root))
    assert second["id"] != first["id"]
    assert modinfo_version(root / f"lib/modules/{K61}/updates/kmend/xen-evtchn.ko") == \
        "kmend-test-2"
