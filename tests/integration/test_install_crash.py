"""Kill kmend (SIGKILL, via KMEND_TEST_CRASH_AFTER) after every step of install and of
rollback, run `kmend recover`, and check the tree is exactly the old or exactly the new
one — never a mix — and that the journal agrees."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from install_support import K61, K612, build_module, kmend, kmend_json, make_root, snapshot

pytestmark = pytest.mark.integration

# The step names are the contract of the fault-injection variable; written out here, not
# imported, so a renamed step fails this test instead of silently covering nothing.
INSTALL_STEPS = ["backup", "place", "depmod", "initramfs", "reload"]
ROLLBACK_STEPS = ["rollback-restore", "rollback-depmod", "rollback-initramfs",
                  "rollback-reload"]
# After recovery: an install killed before its file was in place is undone; one killed
# later is finished.  An interrupted rollback is always finished.
EXPECT_INSTALL = {"backup": "old", "place": "new", "depmod": "new", "initramfs": "new",
                  "reload": "new"}
# override on plain 6.1, replace on plain 6.1 and on compressed (.ko.xz) 6.12
CASES = [(K61, "override"), (K61, "replace"), (K612, "replace")]


@pytest.mark.parametrize(("release", "mode"), CASES)
def test_every_kill_point_recovers_to_old_or_new(
    tmp_path: Path,
    release: str,
    mode: str,
    capsys: pytest.CaptureFixture[str],
    figure: Callable[[str], None],
) -> None:
    ko = build_module(release)
    ref = make_root(tmp_path / "reference", release)
    old = snapshot(ref)
    kmend_json("install", str(ko), "--root", str(ref), "--mode", mode)
    new = snapshot(ref)
    assert new != old
    covered = 0

    for step in INSTALL_STEPS:
        root = make_root(tmp_path / f"install-{step}", release)
        killed = kmend("install", str(ko), "--root", str(root), "--mode", mode,
                       crash_after=step)
        assert killed.returncode == -signal.SIGKILL, (step, killed.stderr)
        if step == "place":
            st = kmend_json("status", "--root", str(root))
            assert len(st["pending"]) == 1  # the journal says it was interrupted
            # a second transaction must not start over an interrupted one
            again = kmend("install", str(ko), "--root", str(root), "--mode", mode)
            assert again.returncode == 7 and "kmend recover" in again.stderr
        txn = kmend_json("recover", "--root", str(root))
        want = EXPECT_INSTALL[step]
        assert snapshot(root) == (old if want == "old" else new), step
        assert txn["state"] == ("failed" if want == "old" else "committed"), step
        if step == "depmod":
            assert kmend_json("recover", "--root", str(root)) is None  # nothing left
            kmend_json("rollback", "--root", str(root))  # the recovered install rolls back
            assert snapshot(root) == old, step
        covered += 1

    for step in ROLLBACK_STEPS:
        root = make_root(tmp_path / f"rollback-{step}", release)
        kmend_json("install", str(ko), "--root", str(root), "--mode", mode)
        assert snapshot(root) == new
        killed = kmend("rollback", "--root", str(root), crash_after=step)
        assert killed.returncode == -signal.SIGKILL, (step, killed.stderr)
        txn = kmend_json("recover", "--root", str(root))
        assert txn["state"] == "rolled-back", step
        assert snapshot(root) == old, step
        covered += 1

    with capsys.disabled():
        print(f"\n[install crash matrix] {release} {mode}: {covered} kill points covered "
              f"({len(INSTALL_STEPS)} install + {len(ROLLBACK_STEPS)} rollback), "
              "each recovered to exactly the old or the new tree")
    figure(f"install crash matrix {release} {mode}: {covered} kill points, each recovered "
           "to exactly the old or the new tree")
    assert covered == len(INSTALL_STEPS) + len(ROLLBACK_STEPS)


def test_recover_undoes_a_failed_automatic_undo_interrupted(tmp_path: Path) -> None:
    """A kill inside the automatic undo of a failed install (rollback steps after a
    failure) also recovers to exactly the old tree."""
    ko = build_module(K61)
    root = make_root(tmp_path / "root", K61)
    # make depmod's verification fail: a depmod.d in the root that prefers kernel/ over
    # updates/, so the override install fails after `place` and undoes itself
    conf = root / "etc/depmod.d"
    conf.mkdir(parents=True)
    (conf / "prefer-kernel.conf").write_text("search kernel built-in\n")
    old = snapshot(root)
    failed = kmend("install", str(ko), "--root", str(root), "--json")
    assert failed.returncode == 7, failed.stderr
    assert "resolves to kernel/drivers/xen/xen-evtchn.ko" in failed.stderr
    assert "undone; nothing changed" in failed.stderr
    assert snapshot(root) == old
    killed = kmend("install", str(ko), "--root", str(root), crash_after="rollback-restore")
    assert killed.returncode == -signal.SIGKILL
    txn = kmend_json("recover", "--root", str(root))
    assert txn["state"] == "failed"
    assert snapshot(root) == old
