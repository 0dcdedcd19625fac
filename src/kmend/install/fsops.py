"""Safe file operations confined to a root directory.

Every path kmend writes is given *relative to a root* (``/`` or an image/chroot given with
``--root``).  Paths are walked one component at a time from a directory descriptor of the
root with ``O_NOFOLLOW``; a symlink met on the way is resolved by us, chroot-style
(absolute targets start again at the root, ``..`` may never climb above it), so a
directory symlink inside an image such as ``lib -> usr/lib`` works while one pointing out
of the root is refused.  The final component of a path is never followed: a symlink
planted where kmend reads or writes a file is an error.

Writes are copy-to-temp + fsync + rename + fsync of the directory, so a crash leaves
either the old or the new file, plus at most a temp file named ``.kmend-<tag>-…`` that
recovery removes.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from kmend.errors import EnvironmentMissing, StateError

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_MAX_LINKS = 40
TMP_PREFIX = ".kmend-"


class UnsafePath(StateError):
    """A path under the root is a symlink out of it, or otherwise not what kmend may touch."""


class WriteFailed(StateError):
    """The filesystem refused a write (read-only, full, permission…)."""


def split_rel(rel: str) -> list[str]:
    """Split a root-relative path, refusing absolute paths, ``..`` and NUL bytes."""
    if "\0" in rel:
        raise UnsafePath(f"path contains a NUL byte: {rel!r}")
    if rel.startswith("/"):
        raise UnsafePath(f"path must be relative to the root: {rel}")
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise UnsafePath(f"path may not contain '..': {rel}")
    return parts


def _oserror(exc: OSError, what: str, root: Path) -> StateError | EnvironmentMissing:
    reason = exc.strerror or str(exc)
    if exc.errno in (errno.EACCES, errno.EPERM) and os.geteuid() != 0:
        return EnvironmentMissing(f"cannot {what} under {root}: {reason} (not root)",
                                  "run as root, or use --root on a tree you own")
    hints = {
        errno.EROFS: ("the filesystem is mounted read-only; remount it read-write or "
                      "pick another --root"),
        errno.ENOSPC: "free some space on that filesystem and run the command again",
        errno.EDQUOT: "the disk quota is exhausted; free some space",
        errno.EACCES: "run as root or give kmend write access to the root",
        errno.EPERM: "the file is immutable or not ours (check lsattr / permissions)",
    }
    return WriteFailed(f"cannot {what} under {root}: {reason}", hints.get(exc.errno or 0, ""))


class SafeRoot:
    """A directory descriptor on a root plus confined operations relative to it."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.path = Path(os.path.realpath(root))
        try:
            self.fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as exc:
            raise StateError(f"cannot open root directory {self.path}: {exc.strerror}") from exc

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> SafeRoot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def is_host(self) -> bool:
        return str(self.path) == "/"

    def host_path(self, rel: str) -> Path:
        """The path as seen from outside (for messages and for tools given ``-b ROOT``)."""
        return self.path.joinpath(*split_rel(rel)) if rel else self.path

    # -- directory walking -------------------------------------------------------------

    def _walk(self, parts: list[str], create: bool, created: list[str] | None) -> int:
        """Return an fd for the directory *parts*, resolving symlinks inside the root."""
        resolved: list[str] = []
        fd = os.dup(self.fd)
        queue = list(parts)
        links = 0
        try:
            while queue:
                comp = queue.pop(0)
                if comp in ("", "."):
                    continue
                if comp == "..":
                    if not resolved:
                        raise UnsafePath(f"a symlink under {self.path} points above the root",
                                     "remove it: kmend never writes outside the root")
                    resolved.pop()
                    os.close(fd)
                    fd = self._reopen(resolved)
                    continue
                try:
                    nfd = os.open(comp, _DIR_FLAGS, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        raise
                    try:
                        os.mkdir(comp, 0o755, dir_fd=fd)
                        os.fsync(fd)
                    except FileExistsError:
                        # another process created it meanwhile: look at it again, with
                        # the same symlink rules as any existing component
                        queue.insert(0, comp)
                        continue
                    except OSError as exc:
                        raise _oserror(exc, f"create directory {'/'.join([*resolved, comp])}",
                                       self.path) from exc
                    if created is not None:
                        created.append("/".join([*resolved, comp]))
                    nfd = os.open(comp, _DIR_FLAGS, dir_fd=fd)
                except OSError as exc:
                    if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                        raise
                    try:
                        target = os.readlink(comp, dir_fd=fd)
                    except OSError:
                        raise UnsafePath(
                            f"{self.path / '/'.join([*resolved, comp])} is not a directory"
                        ) from exc
                    links += 1
                    if links > _MAX_LINKS:
                        raise UnsafePath(f"too many symlinks under {self.path}") from exc
                    if target.startswith("/"):
                        if not self.is_host:
                            raise UnsafePath(
                                f"{self.path / '/'.join([*resolved, comp])} is a symlink to "
                                f"the absolute path {target}; tools run from outside the root "
                                "(depmod -b) would follow it out of the root",
                                "make it a relative symlink inside the root, or remove it",
                            ) from exc
                        resolved = []
                        os.close(fd)
                        fd = os.dup(self.fd)
                    queue = [p for p in target.split("/") if p] + queue
                    continue
                os.close(fd)
                fd = nfd
                resolved.append(comp)
            return fd
        except BaseException:
            os.close(fd)
            raise

    def _reopen(self, resolved: list[str]) -> int:
        fd = os.dup(self.fd)
        for comp in resolved:
            nfd = os.open(comp, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = nfd
        return fd

    @contextlib.contextmanager
    def parent(self, rel: str, create: bool = False,
               created: list[str] | None = None) -> Iterator[tuple[int, str]]:
        """Yield (fd of the parent directory, final name) for *rel*."""
        parts = split_rel(rel)
        if not parts:
            raise UnsafePath("empty path")
        fd = self._walk(parts[:-1], create, created)
        try:
            yield fd, parts[-1]
        finally:
            os.close(fd)

    # -- queries ----------------------------------------------------------------------

    def lstat(self, rel: str) -> os.stat_result | None:
        try:
            with self.parent(rel) as (fd, name):
                return os.stat(name, dir_fd=fd, follow_symlinks=False)
        except (FileNotFoundError, NotADirectoryError):
            return None

    def readlink(self, rel: str) -> str:
        with self.parent(rel) as (fd, name):
            return os.readlink(name, dir_fd=fd)

    def is_dir(self, rel: str) -> bool:
        try:
            fd = self._walk(split_rel(rel), False, None)
        except (FileNotFoundError, UnsafePath):
            return False
        os.close(fd)
        return True

    def listdir(self, rel: str) -> list[str]:
        try:
            fd = self._walk(split_rel(rel), False, None)
        except FileNotFoundError:
            return []
        try:
            return sorted(os.listdir(fd))
        finally:
            os.close(fd)

    def _open_file(self, rel: str) -> int:
        with self.parent(rel) as (fd, name):
            try:
                return os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    raise UnsafePath(
                        f"{self.host_path(rel)} is a symlink; kmend never follows one",
                        "remove the symlink (it may point outside the root) and retry",
                    ) from exc
                raise

    def read_bytes(self, rel: str) -> bytes:
        fd = self._open_file(rel)
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise UnsafePath(f"{self.host_path(rel)} is not a regular file")
            return fh.read()

    def sha256(self, rel: str) -> str | None:
        """sha256 of a regular file, or None when it does not exist."""
        try:
            fd = self._open_file(rel)
        except (FileNotFoundError, NotADirectoryError):
            return None
        digest = hashlib.sha256()
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise UnsafePath(f"{self.host_path(rel)} is not a regular file")
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()

    # -- changes ----------------------------------------------------------------------

    def write_atomic(self, rel: str, data: bytes, *, mode: int = 0o644, tag: str = "tmp",
                     created: list[str] | None = None,
                     like: os.stat_result | None = None) -> None:
        """Write *data* to *rel* via a temp file in the same directory, fsync and rename.

        With *like*, the file also gets that stat's mode, owner (when permitted) and
        modification time — how backups and restored originals keep their metadata.
        """
        if like is not None:
            mode = stat.S_IMODE(like.st_mode)
        with self.parent(rel, create=True, created=created) as (dfd, name):
            existing = _lstat_at(dfd, name)
            if existing is not None and stat.S_ISLNK(existing.st_mode):
                raise UnsafePath(
                    f"{self.host_path(rel)} is a symlink; kmend will not write through it",
                    "remove the symlink (it may point outside the root) and retry",
                )
            if existing is not None and stat.S_ISDIR(existing.st_mode):
                raise UnsafePath(f"{self.host_path(rel)} is a directory")
            tmp = f"{TMP_PREFIX}{tag}-{name}"
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp, dir_fd=dfd)
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                             | os.O_CLOEXEC, mode, dir_fd=dfd)
                try:
                    view = memoryview(data)
                    while view:
                        n = os.write(fd, view)
                        view = view[n:]
                    if like is not None:
                        with contextlib.suppress(PermissionError):
                            os.fchown(fd, like.st_uid, like.st_gid)
                        os.utime(fd, ns=(like.st_atime_ns, like.st_mtime_ns))
                    os.fchmod(fd, mode)
                    os.fsync(fd)
                finally:
                    os.close(fd)
                os.rename(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
                os.fsync(dfd)
            except OSError as exc:
                with contextlib.suppress(OSError):
                    os.unlink(tmp, dir_fd=dfd)
                raise _oserror(exc, f"write {rel}", self.path) from exc

    def remove(self, rel: str) -> bool:
        """Unlink a file (never a directory); True if something was removed."""
        try:
            with self.parent(rel) as (dfd, name):
                st = _lstat_at(dfd, name)
                if st is None:
                    return False
                if stat.S_ISDIR(st.st_mode):
                    raise UnsafePath(f"{self.host_path(rel)} is a directory")
                os.unlink(name, dir_fd=dfd)
                os.fsync(dfd)
                return True
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise _oserror(exc, f"remove {rel}", self.path) from exc

    def rmdir_if_empty(self, rel: str) -> bool:
        try:
            with self.parent(rel) as (dfd, name):
                st = _lstat_at(dfd, name)
                if st is None or not stat.S_ISDIR(st.st_mode):
                    return False  # (rmdir on a read-only fs says EROFS even when it is absent)
                os.rmdir(name, dir_fd=dfd)
                os.fsync(dfd)
                return True
        except FileNotFoundError:
            return False
        except OSError as exc:
            if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
                return False
            raise _oserror(exc, f"remove directory {rel}", self.path) from exc

    def remove_temps(self, dir_rel: str, tag: str) -> list[str]:
        """Remove kmend temp files with *tag* left in a directory by an interrupted write."""
        removed: list[str] = []
        prefix = f"{TMP_PREFIX}{tag}-"
        for name in self.listdir(dir_rel):
            if name.startswith(prefix):
                rel = f"{dir_rel}/{name}" if dir_rel else name
                if self.remove(rel):
                    removed.append(rel)
        return removed


def _lstat_at(dfd: int, name: str) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=dfd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
