"""The transaction lock: one kmend transaction per root at a time.

An ``fcntl.flock`` on ``ROOT/var/lib/kmend/lock``; the kernel drops it when the process
dies (even by SIGKILL), so a crashed install never leaves a stale lock behind — only a
journal for ``kmend recover``.  The holder's pid is written into the file for the message
the second process prints.
"""

from __future__ import annotations

import errno
import fcntl
import os
from types import TracebackType

from kmend.errors import StateError
from kmend.install.fsops import SafeRoot, UnsafePath, _oserror

STATE_DIR = "var/lib/kmend"
LOCK_NAME = "lock"


class LockHeld(StateError):
    """Another kmend process holds the transaction lock (exit 7)."""


class TransactionLock:
    """Exclusive, non-blocking lock; use as a context manager."""

    def __init__(self, root: SafeRoot) -> None:
        self.root = root
        self.fd = -1

    def acquire(self) -> None:
        rel = f"{STATE_DIR}/{LOCK_NAME}"
        try:
            with self.root.parent(rel, create=True) as (dfd, name):
                fd = os.open(name, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC,
                             0o600, dir_fd=dfd)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise UnsafePath(f"{self.root.host_path(rel)} is a symlink") from exc
            raise _oserror(exc, f"create the lock file {rel}", self.root.path) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise LockHeld(
                f"another kmend transaction is running on {self.root.path} (pid {holder})",
                "wait for it to finish, then run the command again",
            ) from None
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError:
            pass  # the pid is only for the other process's message
        self.fd = fd

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> TransactionLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()
