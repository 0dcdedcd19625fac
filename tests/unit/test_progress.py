"""Progress display: shown on a terminal for work longer than a second, never otherwise."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CRASH = (REPO / "examples" / "w-xen09-messages.log").read_bytes()


def _slow_scan(extra: list[str], *, tty: bool) -> tuple[int, bytes, bytes]:
    """kmend scan - fed one crash, then another after 1.5 s; stderr on a pty or a pipe."""
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"), TERM="xterm", COLUMNS="100")
    env.pop("NO_COLOR", None)
    master, slave = pty.openpty() if tty else os.pipe()
    proc = subprocess.Popen([sys.executable, "-m", "kmend", "scan", "-", *extra],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=slave,
                            env=env)
    os.close(slave)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(CRASH)
    proc.stdin.flush()
    err = b""
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                err += os.read(master, 65536)
            except OSError:
                break
    proc.stdin.write(CRASH.replace(b"w-xen09", b"w-xen10"))
    proc.stdin.close()
    out = proc.stdout.read()
    rc = proc.wait(timeout=60)
    while True:
        ready, _, _ = select.select([master], [], [], 0.2)
        if not ready:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        err += chunk
    os.close(master)
    return rc, out, err


def test_a_terminal_sees_progress_of_a_long_scan() -> None:
    rc, out, err = _slow_scan([], tty=True)
    assert rc == 0
    assert b"scanning logs" in err and b"crash report(s)" in err
    assert b"scanning logs" not in out


def test_no_progress_into_a_pipe_or_with_json() -> None:
    rc, _out, err = _slow_scan([], tty=False)
    assert rc == 0 and b"scanning logs" not in err
    rc, out, err = _slow_scan(["--json"], tty=True)
    assert rc == 0 and b"scanning logs" not in err and out.lstrip().startswith(b"{")
