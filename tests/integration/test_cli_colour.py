"""Verdict colours on a terminal, none through a pipe or with NO_COLOR (the real CLI, run
in a pseudo-terminal).  The verdicts come from the kernel's rules: a kernel loads its own
module; another release refuses it (vermagic)."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from install_support import K61, K612, REPO, kernel_ready

pytestmark = pytest.mark.integration

ESC = b"\x1b["
GREEN_BOLD = b"\x1b[1;32m"
RED_BOLD = b"\x1b[1;31m"
EXAMPLE = REPO / "examples" / "w-xen09-messages.log"


def in_terminal(*args: str, no_color: bool = False) -> tuple[int, bytes]:
    env = {k: v for k, v in os.environ.items() if k not in {"NO_COLOR", "FORCE_COLOR"}}
    env.update(PYTHONPATH=str(REPO / "src"), TERM="xterm-256color", COLUMNS="200")
    if no_color:
        env["NO_COLOR"] = "1"
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "kmend", *args], stdout=slave,
                            stderr=slave, stdin=subprocess.DEVNULL, env=env)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    return proc.wait(timeout=120), out


def module() -> Path:
    kernel_ready(K61)
    return Path("/lib/modules") / K61 / "kernel/drivers/xen/xen-evtchn.ko"


def test_check_verdicts_are_green_and_red_on_a_terminal() -> None:
    code, out = in_terminal("check", str(module()))
    assert code == 0 and GREEN_BOLD + b"LOADS" in out
    code, out = in_terminal("check", str(module()), "--kernel", K612)
    assert code == 1 and RED_BOLD + b"REFUSED" in out


def test_no_colour_with_no_color_or_through_a_pipe() -> None:
    code, out = in_terminal("check", str(module()), "--kernel", K612, no_color=True)
    assert code == 1 and b"REFUSED" in out and ESC not in out
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"), TERM="xterm-256color")
    env.pop("NO_COLOR", None)
    res = subprocess.run([sys.executable, "-m", "kmend", "check", str(module()), "--kernel",
                          K612], capture_output=True, env=env, timeout=120, check=False)
    assert res.returncode == 1 and b"REFUSED" in res.stdout
    assert ESC not in res.stdout and ESC not in res.stderr


def test_doctor_verdict_is_coloured_by_health(tmp_path: Path) -> None:
    code, out = in_terminal("doctor", "--root", str(tmp_path), "--only-logs", "--log",
                            str(EXAMPLE))
    assert code in (0, 1)
    verdict_line = next(line for line in out.splitlines() if b"verdict: " in line)
    assert (GREEN_BOLD if code == 0 else RED_BOLD) in verdict_line
    code, out = in_terminal("doctor", "--root", str(tmp_path), "--only-logs", "--log",
                            str(EXAMPLE), no_color=True)
    assert ESC not in out
