"""Bad input and hostile trees: read-only root, full disk, planted symlinks, concurrent
installs, missing kernel tree.  Each must end with one clear line, a distinct exit code,
an unchanged tree and a consistent journal."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import need
from install_support import K61, K612, build_module, kmend, kmend_json, make_root, snapshot
from kmend.install import SafeRoot
from kmend.install.lock import TransactionLock

pytestmark = pytest.mark.integration

TREE = f"lib/modules/{K61}"


def _clean_failure(res: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    assert res.returncode == code, (res.returncode, res.stderr)
    assert "Traceback" not in res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    for word in words:
        assert word in lines[0], lines[0]


def _no_pending(root: Path) -> dict[str, object]:
    st = kmend_json("status", "--root", str(root))
    assert st["pending"] == []
    return st


@contextlib.contextmanager
def _tmpfs(where: Path, size: str) -> Iterator[Path]:
    need(os.geteuid() == 0, "mounting a tmpfs needs root")
    where.mkdir(parents=True)
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs",
                          str(where)], check=False, capture_output=True, text=True, timeout=60)
    need(res.returncode == 0, f"cannot mount a tmpfs here: {res.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False, timeout=60)


def test_read_only_root(tmp_path: Path) -> None:
    ko = build_module(K61)
    with _tmpfs(tmp_path / "ro", "64m") as mnt:
        root = make_root(mnt / "root", K61)
        before = snapshot(root, include_state=True)
        subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True, timeout=60)
        res = kmend("install", str(ko), "--root", str(root))
        _clean_failure(res, 7, "Read-only file system", "remount")
        assert snapshot(root, include_state=True) == before
        # status works on a read-only root (it writes nothing)
        assert kmend_json("status", "--root", str(root))["kernels"] == []


def test_read_only_module_tree_fails_at_place_and_undoes(tmp_path: Path) -> None:
    need(os.geteuid() == 0, "bind mounts need root")
    ko = build_module(K61)
    root = make_root(tmp_path / "root", K61)
    tree = root / TREE
    before = snapshot(root)
    res = subprocess.run(["mount", "--bind", str(tree), str(tree)], check=False,
                         capture_output=True, text=True, timeout=60)
    need(res.returncode == 0, f"cannot bind-mount here: {res.stderr.strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(tree)], check=True, timeout=60)
        res = kmend("install", str(ko), "--root", str(root))
    finally:
        subprocess.run(["umount", "-l", str(tree)], check=False, timeout=60)
    _clean_failure(res, 7, "Read-only file system", "undone; nothing changed")
    assert snapshot(root) == before
    st = _no_pending(root)
    assert [t["state"] for t in st["transactions"]] == ["failed"]  # type: ignore[index]


def test_full_disk_at_every_margin_leaves_old_tree_or_installs(tmp_path: Path) -> None:
    ko = build_module(K61)
    outcomes: dict[int, str] = {}
    for margin_kib in (0, 120, 250, 270, 300, 2048):
        with _tmpfs(tmp_path / f"full-{margin_kib}", "16m") as mnt:
            root = make_root(mnt / "root", K61)
            before = snapshot(root)
            vfs = os.statvfs(mnt)
            fill = vfs.f_bavail * vfs.f_frsize - margin_kib * 1024
            with open(mnt / "filler", "wb") as fh:
                fh.write(b"\0" * max(fill, 0))
            res = kmend("install", str(ko), "--root", str(root))
            if res.returncode == 0:
                outcomes[margin_kib] = "installed"
                kmend_json("rollback", "--root", str(root))
            else:
                assert res.returncode in (5, 7), res.stderr
                assert "Traceback" not in res.stderr
                assert "No space left" in res.stderr or "space" in res.stderr, res.stderr
                assert snapshot(root) == before, margin_kib  # unchanged right away
                st = kmend_json("status", "--root", str(root))
                if st["pending"]:
                    # even the undo ran out of space: the journal says so; with space
                    # back, recover finishes the undo
                    outcomes[margin_kib] = "recovered"
                    (mnt / "filler").unlink()
                    kmend_json("recover", "--root", str(root))
                else:
                    outcomes[margin_kib] = "refused"
            assert snapshot(root) == before, margin_kib
            _no_pending(root)
    print(f"\n[install full disk] outcome per free KiB: {outcomes}")
    assert "installed" in outcomes.values()
    assert {"refused", "recovered"} & set(outcomes.values())


def test_symlink_planted_at_the_destination(tmp_path: Path) -> None:
    ko = build_module(K61)
    victim = tmp_path / "outside" / "victim.ko"
    victim.parent.mkdir()
    victim.write_bytes(b"not yours")
    root = make_root(tmp_path / "root", K61)
    dest = root / TREE / "updates/kmend/xen-evtchn.ko"
    dest.parent.mkdir(parents=True)
    dest.symlink_to(victim)
    before = snapshot(root, include_state=True)
    res = kmend("install", str(ko), "--root", str(root))
    _clean_failure(res, 7, "is a symlink", str(victim))
    assert victim.read_bytes() == b"not yours"
    assert snapshot(root, include_state=True) == before


def test_symlink_planted_as_the_in_tree_module_in_replace_mode(tmp_path: Path) -> None:
    ko = build_module(K61)
    victim = tmp_path / "victim.ko"
    victim.write_bytes(b"not yours")
    root = make_root(tmp_path / "root", K61)
    intree = root / TREE / "kernel/drivers/xen/xen-evtchn.ko"
    intree.unlink()
    intree.symlink_to(victim)
    before = snapshot(root, include_state=True)
    res = kmend("install", str(ko), "--root", str(root), "--mode", "replace")
    _clean_failure(res, 7, "is a symlink")
    assert victim.read_bytes() == b"not yours"
    assert snapshot(root, include_state=True) == before


def test_directory_symlink_out_of_the_root(tmp_path: Path) -> None:
    ko = build_module(K61)
    outside = tmp_path / "outside"
    outside.mkdir()
    root = make_root(tmp_path / "root", K61)
    (root / TREE / "updates").symlink_to(outside)
    before = snapshot(root, include_state=True)
    res = kmend("install", str(ko), "--root", str(root))
    _clean_failure(res, 7, "symlink", "absolute path")
    assert list(outside.iterdir()) == []
    assert snapshot(root, include_state=True) == before
    (root / TREE / "updates").unlink()
    (root / TREE / "updates").symlink_to("../../../../outside")
    res = kmend("install", str(ko), "--root", str(root))
    _clean_failure(res, 7, "above the root")
    assert list(outside.iterdir()) == []


def test_second_install_while_the_lock_is_held(tmp_path: Path) -> None:
    ko = build_module(K61)
    root = make_root(tmp_path / "root", K61)
    before = snapshot(root)
    with SafeRoot(root) as r, TransactionLock(r):
        res = kmend("install", str(ko), "--root", str(root))
    _clean_failure(res, 7, "another kmend transaction is running", f"pid {os.getpid()}")
    assert snapshot(root) == before
    assert _no_pending(root)["transactions"] == []


def test_two_concurrent_installs_never_interleave(tmp_path: Path) -> None:
    ko1 = build_module(K61, "kmend-test-1")
    ko2 = build_module(K61, "kmend-test-2")
    root = make_root(tmp_path / "root", K61)
    before = snapshot(root)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2] / "src"))
    env.pop("KMEND_TEST_CRASH_AFTER", None)
    procs = [subprocess.Popen([sys.executable, "-m", "kmend", "install", str(ko), "--root",
                               str(root)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=env) for ko in (ko1, ko2)]
    results = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in procs]
    for code, err in results:
        assert code in (0, 7), err
        if code == 7:  # lost the lock, or planned before the other install changed the tree
            assert ("another kmend transaction is running" in err
                    or "while this install was being planned; nothing was changed" in err), err
    st = _no_pending(root)
    committed = [t for t in st["transactions"] if t["state"] == "committed"]  # type: ignore[attr-defined]
    assert len(committed) == sum(1 for code, _ in results if code == 0)
    for _ in committed:
        kmend_json("rollback", "--root", str(root))
    assert snapshot(root) == before


def test_missing_kernel_tree(tmp_path: Path) -> None:
    ko = build_module(K61)
    root = make_root(tmp_path / "root", K61)
    before = snapshot(root, include_state=True)
    res = kmend("install", str(ko), "--root", str(root), "--kernel", "9.9.9-nope")
    _clean_failure(res, 3, "no module tree for kernel 9.9.9-nope", K61)
    ko612 = build_module(K612)  # its vermagic names a kernel this root does not have
    res = kmend("install", str(ko612), "--root", str(root))
    _clean_failure(res, 3, f"no module tree for kernel {K612}")
    assert snapshot(root, include_state=True) == before


def test_bad_input_gives_one_line_and_a_distinct_code(tmp_path: Path) -> None:
    ko = build_module(K61)
    root = make_root(tmp_path / "root", K61)
    before = snapshot(root, include_state=True)
    text = tmp_path / "notes.txt"
    text.write_text("not a module\n")
    _clean_failure(kmend("install", str(text), "--root", str(root)), 4, "not an ELF file")
    _clean_failure(kmend("install", str(tmp_path / "nope.ko"), "--root", str(root)), 4,
                   f"{tmp_path / 'nope.ko'}: no such file")
    _clean_failure(kmend("install", str(ko), "--root", str(root), "--mode", "sideways"), 2,
                   "--mode")
    bad = tmp_path / "prov.json"
    bad.write_text("{not json")
    _clean_failure(kmend("install", str(ko), "--root", str(root), "--provenance", str(bad)),
                   4, "not JSON")
    bad.write_text(json.dumps(["a", "list"]))
    _clean_failure(kmend("install", str(ko), "--root", str(root), "--provenance", str(bad)),
                   4, "JSON object")
    _clean_failure(kmend("rollback", "--root", str(root)), 7, "no installed kmend fix")
    _clean_failure(kmend("rollback", "../etc", "--root", str(root)), 7, "not a transaction id")
    assert snapshot(root, include_state=True) == before


def test_module_built_into_the_kernel_is_refused(tmp_path: Path) -> None:
    # xen-kbdfront is built into Debian's 6.1 kernel (modules.builtin): a file would be ignored
    ko = build_module(K61, name="xen-kbdfront")
    root = make_root(tmp_path / "root", K61)
    before = snapshot(root, include_state=True)
    res = kmend("install", str(ko), "--root", str(root))
    _clean_failure(res, 4, "xen_kbdfront is built into kernel")
    assert snapshot(root, include_state=True) == before
