"""When may kmend reload a module in the running kernel?  (Decision only; a directory shaped
like /sys/module stands in for sysfs, because the test must not unload real modules.)"""

from __future__ import annotations

import os
from pathlib import Path

from kmend.install.fsops import SafeRoot
from kmend.install.reload import decide
from kmend.install.steps import depmod_argv

RUNNING = os.uname().release


def _sysfs(tmp_path: Path, refcnt: str | None, holders: list[str]) -> Path:
    mod = tmp_path / "sys_module" / "xen_evtchn"
    (mod / "holders").mkdir(parents=True)
    if refcnt is not None:
        (mod / "refcnt").write_text(refcnt + "\n")
    for h in holders:
        (mod / "holders" / h).mkdir()
    return tmp_path / "sys_module"


def test_never_reloads_inside_another_root(tmp_path: Path) -> None:
    with SafeRoot(tmp_path) as root:
        d = decide(root, RUNNING, "xen_evtchn", _sysfs(tmp_path, "0", []))
    assert d.action == "none" and "--root" in d.reason


def test_other_kernel_needs_no_reload() -> None:
    with SafeRoot("/") as root:
        d = decide(root, "0.0.0-not-running", "xen_evtchn")
    assert d.action == "none" and "not the running kernel" in d.reason


def test_unused_loaded_module_is_reloaded(tmp_path: Path) -> None:
    with SafeRoot("/") as root:
        d = decide(root, RUNNING, "xen_evtchn", _sysfs(tmp_path, "0", []))
    assert d.action == "run"


def test_module_in_use_needs_a_reboot(tmp_path: Path) -> None:
    with SafeRoot("/") as root:
        busy = decide(root, RUNNING, "xen_evtchn", _sysfs(tmp_path / "a", "2", []))
        held = decide(root, RUNNING, "xen_evtchn", _sysfs(tmp_path / "b", "0", ["xenfs"]))
        builtin = decide(root, RUNNING, "xen_evtchn", _sysfs(tmp_path / "c", None, []))
    assert busy.action == "reboot" and "refcnt 2" in busy.reason
    assert held.action == "reboot" and "xenfs" in held.reason
    assert builtin.action == "reboot" and "reboot needed" in builtin.reason


def test_not_loaded_module_needs_nothing(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with SafeRoot("/") as root:
        d = decide(root, RUNNING, "xen_evtchn", tmp_path / "empty")
    assert d.action == "none" and "not loaded" in d.reason


def test_depmod_command_for_host_and_image(tmp_path: Path) -> None:
    with SafeRoot("/") as root:
        assert depmod_argv(root, "6.1.0-47-amd64") == ["depmod", "6.1.0-47-amd64"]
    with SafeRoot(tmp_path) as root:  # no config in the image: keep the host's out
        assert depmod_argv(root, "6.1.0-47-amd64") == [
            "depmod", "-b", str(tmp_path), "-C", str(tmp_path / "etc/depmod.d"),
            "6.1.0-47-amd64"]
    (tmp_path / "usr/lib/depmod.d").mkdir(parents=True)
    with SafeRoot(tmp_path) as root:
        assert depmod_argv(root, "6.1.0-47-amd64") == [
            "depmod", "-b", str(tmp_path), "-C", str(tmp_path / "usr/lib/depmod.d"),
            "6.1.0-47-amd64"]
    (tmp_path / "etc/depmod.d").mkdir(parents=True)
    with SafeRoot(tmp_path) as root:
        assert depmod_argv(root, "6.1.0-47-amd64") == [
            "depmod", "-b", str(tmp_path), "-C", str(tmp_path / "etc/depmod.d"),
            "-C", str(tmp_path / "usr/lib/depmod.d"), "6.1.0-47-amd64"]
