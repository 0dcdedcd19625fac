"""The generated /init and the console parser.

The script is executed for real by a host shell (busybox sh, the same shell the guest
runs) with stub tools on PATH, so the markers it prints are produced by the script,
not written by the test.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from kmend.lab.console import clean_console, parse_markers, strip_timestamp
from kmend.lab.initscript import render_init, render_step
from kmend.lab.steps import Insmod, Modprobe, Run, check_label, guest_ko_name


def test_labels_are_shell_safe() -> None:
    for bad in ["", "a b", "a;b", "$(x)", "-x", "a/b", "x" * 65]:
        with pytest.raises(ValueError):
            check_label(bad)
    assert check_label("mismatch-47_f.2") == "mismatch-47_f.2"


def test_duplicate_labels_rejected() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        render_init((Run("a", "true"), Run("a", "false")))


def test_guest_names_drop_compression() -> None:
    assert guest_ko_name(Path("/x/xen-evtchn.ko.xz")) == "xen-evtchn.ko"
    assert guest_ko_name(Path("/x/a.ko.zst")) == "a.ko"
    assert guest_ko_name(Path("/x/a.ko")) == "a.ko"


def test_arguments_are_quoted() -> None:
    step = Insmod("p", Path("/h/m.ko"), args=("msg=a b; reboot",), flags=("-f",))
    text = render_step(step, use_kmod=True)
    assert "/usr/sbin/insmod -f /lab/mods/p/m.ko 'msg=a b; reboot'" in text
    text = render_step(Run("r", "echo '$HOME'"), use_kmod=False)
    assert "sh -c 'echo '\"'\"'$HOME'\"'\"''" in text
    # modprobe always uses kmod's (busybox's cannot read the .bin indexes)
    assert "/usr/sbin/modprobe xen-evtchn" in render_step(Modprobe("m", "xen-evtchn"), False)


def test_init_order_and_poweroff() -> None:
    text = render_init((Run("one", "true"), Insmod("two", Path("/m.ko"), unload=True)))
    assert text.startswith("#!/bin/busybox sh\n")
    assert text.index("begin one run") < text.index("begin two insmod")
    assert "rmmod m" in text
    assert text.rstrip().endswith("poweroff -f")
    assert "poweroff" not in render_init((), poweroff=False)


def test_script_runs_and_console_parses(tmp_path: Path) -> None:
    """Run the step part of the script under a real POSIX shell with stub insmod/dmesg.

    (/bin/sh, not busybox sh: busybox-static would run its own insmod applet, not the stub.)
    """
    stubs = tmp_path / "bin"
    stubs.mkdir()
    state = tmp_path / "dmesg.txt"
    (stubs / "insmod").write_text(
        "#!/bin/sh\n"
        f"echo '[    1.500000] demo: loading out-of-tree module taints kernel.' >> {state}\n"
        "echo \"insmod: can't insert '$1': invalid module format\" >&2\nexit 8\n"
    )
    (stubs / "dmesg").write_text(
        f'#!/bin/sh\n[ -f {state} ] && cat {state}\n[ "$1" = -c ] && rm -f {state}\nexit 0\n'
    )
    for stub in stubs.iterdir():
        stub.chmod(0o755)
    steps = (Insmod("bad", Path("/h/demo.ko")), Run("cmd", "echo out-line; exit 3"))
    body = "".join(render_step(s, use_kmod=False) for s in steps)
    # the preamble mounts filesystems; replace it by the two helpers it defines
    runner = (
        "kmend_prefix() { sed -e 's/\\r$//' -e \"s/^/KMEND-LAB: $1 | /\"; }\n"
        "kmend_taint() { echo 4096; }\n" + body.replace("/run/kmend/", f"{tmp_path}/")
    )
    env = {**os.environ, "PATH": f"{stubs}:{os.environ['PATH']}"}
    done = subprocess.run(
        ["/bin/sh", "-c", runner], check=False, capture_output=True, text=True, env=env, timeout=30
    )
    parsed = parse_markers("noise from the kernel\r\n" + done.stdout)
    kind, rc, out, msg, taint = parsed.steps["bad"]
    assert (kind, rc, taint) == ("insmod", 8, 4096)
    assert msg == ("demo: loading out-of-tree module taints kernel.",)
    assert out == ("insmod: can't insert '/lab/mods/bad/demo.ko': invalid module format",)
    assert parsed.steps["cmd"][:3] == ("run", 3, ("out-line",))


def test_parser_tolerates_kernel_text_before_markers() -> None:
    console = (
        "\x1b[2J\x1b[0mSeaBIOS\r\n"
        "KMEND-LAB: uname=6.12.117+deb12-amd64\r\n"
        "KMEND-LAB: taint=0\r\n"
        "[    2.1] random: crng init done KMEND-LAB: begin h insmod\r\n"
        "KMEND-LAB: msg h | [    2.200000] Hello\r\n"
        "KMEND-LAB: insmod h rc=0\r\n"
        "KMEND-LAB: end h taint=12288\r\n"
        "KMEND-LAB: taint=12288\r\n"
        "KMEND-LAB: done\r\n"
    )
    parsed = parse_markers(console)
    assert parsed.release == "6.12.117+deb12-amd64"
    assert parsed.done and parsed.taint == 12288
    assert parsed.steps["h"] == ("insmod", 0, (), ("Hello",), 12288)
    assert "\x1b" not in clean_console(console)
    assert strip_timestamp("[ 1234.000001] x") == "x"


def test_missing_done_marker() -> None:
    parsed = parse_markers("KMEND-LAB: begin c run\nKernel panic - not syncing: x\n")
    assert not parsed.done
    assert parsed.steps["c"] == ("run", None, (), (), None)
