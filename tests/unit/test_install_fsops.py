"""SafeRoot: confined, symlink-safe, atomic file operations under a root (no root needed)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from kmend.install.fsops import SafeRoot, UnsafePath, split_rel
from kmend.install.lock import LockHeld, TransactionLock


@pytest.mark.parametrize("bad", ["/etc/passwd", "a/../../etc", "..", "a/\0b"])
def test_split_rel_refuses_escapes(bad: str) -> None:
    with pytest.raises(UnsafePath):
        split_rel(bad)


def test_write_atomic_creates_dirs_and_leaves_no_temp(tmp_path: Path) -> None:
    created: list[str] = []
    with SafeRoot(tmp_path) as root:
        root.write_atomic("lib/modules/R/updates/x.ko", b"hello", created=created)
        assert root.sha256("lib/modules/R/updates/x.ko") == hashlib.sha256(b"hello").hexdigest()
    assert (tmp_path / "lib/modules/R/updates/x.ko").read_bytes() == b"hello"
    assert created == ["lib", "lib/modules", "lib/modules/R", "lib/modules/R/updates"]
    assert os.listdir(tmp_path / "lib/modules/R/updates") == ["x.ko"]


def test_symlink_at_destination_is_refused_and_target_untouched(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.write_bytes(b"victim")
    root_dir = tmp_path / "root"
    (root_dir / "d").mkdir(parents=True)
    (root_dir / "d" / "f.ko").symlink_to(outside)
    with SafeRoot(root_dir) as root:
        with pytest.raises(UnsafePath, match="symlink"):
            root.write_atomic("d/f.ko", b"evil")
        with pytest.raises(UnsafePath, match="symlink"):
            root.read_bytes("d/f.ko")
        with pytest.raises(UnsafePath, match="symlink"):
            root.sha256("d/f.ko")
    assert outside.read_bytes() == b"victim"
    assert (root_dir / "d" / "f.ko").is_symlink()


def test_directory_symlink_climbing_out_of_the_root_is_refused(tmp_path: Path) -> None:
    (tmp_path / "outside").mkdir()
    root_dir = tmp_path / "root"
    (root_dir / "lib").mkdir(parents=True)
    (root_dir / "lib" / "modules").symlink_to("../../outside")
    with SafeRoot(root_dir) as root, pytest.raises(UnsafePath, match="above the root"):
        root.write_atomic("lib/modules/x", b"evil")
    assert os.listdir(tmp_path / "outside") == []


def test_absolute_directory_symlink_is_refused_for_an_image_root(tmp_path: Path) -> None:
    (tmp_path / "outside").mkdir()
    root_dir = tmp_path / "root"
    root_dir.mkdir()
    (root_dir / "lib").symlink_to(tmp_path / "outside")
    with SafeRoot(root_dir) as root, pytest.raises(UnsafePath, match="absolute path"):
        root.write_atomic("lib/x", b"evil")
    assert os.listdir(tmp_path / "outside") == []
    assert not (root_dir / "tmp").exists()


def test_relative_directory_symlink_inside_the_root_is_followed(tmp_path: Path) -> None:
    # Debian's merged /usr: lib -> usr/lib
    (tmp_path / "usr" / "lib").mkdir(parents=True)
    (tmp_path / "lib").symlink_to("usr/lib")
    with SafeRoot(tmp_path) as root:
        root.write_atomic("lib/modules/R/a.ko", b"x")
        assert root.is_dir("lib/modules/R")
        assert root.remove("lib/modules/R/a.ko")
        assert not root.remove("lib/modules/R/a.ko")
    assert (tmp_path / "usr/lib/modules/R").is_dir()


def test_remove_temps_only_removes_tagged_files(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / ".kmend-T1-x.ko").write_bytes(b"partial")
    (tmp_path / "d" / ".kmend-T2-x.ko").write_bytes(b"other txn")
    (tmp_path / "d" / "x.ko").write_bytes(b"real")
    with SafeRoot(tmp_path) as root:
        assert root.remove_temps("d", "T1") == ["d/.kmend-T1-x.ko"]
    assert sorted(os.listdir(tmp_path / "d")) == [".kmend-T2-x.ko", "x.ko"]


def test_second_lock_holder_is_refused_with_the_first_pid(tmp_path: Path) -> None:
    with SafeRoot(tmp_path) as root, TransactionLock(root):
        second = TransactionLock(root)
        with pytest.raises(LockHeld) as err:
            second.acquire()
        assert err.value.exit_code == 7
        assert f"pid {os.getpid()}" in str(err.value)
    with SafeRoot(tmp_path) as root, TransactionLock(root):
        pass  # released: a new holder gets it


def test_permission_denied_as_non_root_is_a_missing_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from kmend.errors import EnvironmentMissing
    from kmend.install.fsops import WriteFailed, _oserror

    denied = PermissionError(errno.EACCES, "Permission denied")
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert isinstance(_oserror(denied, "write x", Path("/")), WriteFailed)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)  # stands in for an unprivileged user
    err = _oserror(denied, "write x", Path("/"))
    assert isinstance(err, EnvironmentMissing) and err.exit_code == 3
    assert "not root" in str(err)
