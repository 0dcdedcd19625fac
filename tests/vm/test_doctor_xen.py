"""``kmend doctor`` on facts captured from real boots: a Xen 4.17 PV dom0 (Debian 6.1) with
xenstored healthy, stopped (SIGSTOP), frozen (cgroup v1 freezer: state D) or killed,
and a plain 6.1 boot without Xen.

The busybox guest has no Python, so it copies what doctor reads into a tree laid out as
:mod:`kmend.doctor` documents (``proc/<pid>/{stat,comm}``, ``proc/xen/capabilities``,
``proc/modules``, ``dev/xen/*``, ``kmend-capture/xl-list.*`` from ``timeout N xl list``,
``kmend-capture/dmesg.log`` from /dev/kmsg) and prints it as base64 of a tar.gz; the host
unpacks it and runs ``kmend doctor --root TREE --json``.  Three boots, run in parallel.
What the guest saw (xl's exit status and time, xenstored's state letter) is checked from
the raw capture, independently of doctor's reading of it.
"""

from __future__ import annotations

import base64
import io
import json
import shutil
import tarfile
import time
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import REPO, need
from tests.labkit.crashcap import COMPILED_PATH, MACRO_PREFIX
from tests.labkit.kbuild import build_module

from kmend.cli import main
from kmend.lab import (
    BootCase,
    BootResult,
    InitramfsSpec,
    Insmod,
    Run,
    XenConfig,
    dom0_module_tree,
    evtchn_steps,
    kernel_image,
    run_many,
    tool_executables,
    tool_files,
    toolstack_steps,
)

pytestmark = pytest.mark.vm

R61 = "6.1.0-47-amd64"
XL_TIMEOUT = 5

# Copy the facts doctor reads into /tmp/cap.<label>, print it as base64(tar.gz).
COLLECT = r"""
C=/tmp/cap.$1; rm -rf "$C"; mkdir -p "$C/kmend-capture" "$C/proc" "$C/dev/xen" "$C/sys"
dmesg -n 1
for d in /proc/[0-9]*; do
  c=$(cat "$d/comm" 2>/dev/null) || continue
  case "$c" in xenstored|oxenstored)
    p=${d#/proc/}; mkdir -p "$C/proc/$p"
    cat "$d/stat" > "$C/proc/$p/stat"; echo "$c" > "$C/proc/$p/comm";;
  esac
done
if [ -d /proc/xen ]; then
  mkdir -p "$C/proc/xen"
  [ -e /proc/xen/capabilities ] && cat /proc/xen/capabilities > "$C/proc/xen/capabilities"
fi
cat /proc/modules > "$C/proc/modules"
if [ -r /sys/hypervisor/type ]; then
  mkdir -p "$C/sys/hypervisor"; cat /sys/hypervisor/type > "$C/sys/hypervisor/type"
fi
for f in /dev/xen/*; do [ -e "$f" ] && : > "$C/dev/xen/${f##*/}"; done
if [ -x /usr/sbin/xl ]; then
  K="$C/kmend-capture"
  t0=$(cut -d' ' -f1 /proc/uptime)
  (timeout -s KILL $2 xl list > "$K/xl-list.out" 2>&1; echo $? > "$K/xl-list.rc") 2>/dev/null
  t1=$(cut -d' ' -f1 /proc/uptime)
  awk "BEGIN { print $t1 - $t0 }" > "$K/xl-list.seconds"
  echo $2 > "$K/xl-list.timeout"
fi
(timeout 2 cat /dev/kmsg > "$C/kmend-capture/dmesg.log") 2>/dev/null
cd "$C" && tar cf - . | gzip -c | base64 | sed 's/^/B64 /'
"""


def collect(label: str) -> Run:
    """A step printing the capture *label* (on its ``out`` lines)."""
    script = COLLECT.replace("$1", label).replace("$2", str(XL_TIMEOUT))
    return Run(f"cap-{label}", script, timeout=60, capture_dmesg=False)


def unpack(result: BootResult, label: str, dest: Path) -> Path:
    cmd = result.command(f"cap-{label}")
    assert cmd.rc == 0, (cmd, result.console[-3000:])
    other = [x for x in cmd.output if not x.startswith("B64 ")]
    print(f"{label}: other output {other}")
    blob = base64.b64decode(
        "".join(x[4:] for x in cmd.output if x.startswith("B64 ")), validate=True
    )
    tree = dest / label
    tree.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
        # Debian 12's Python is 3.11.2: tarfile's extraction filters came in 3.11.4, so the
        # "data" filter's rules are applied by hand: plain files and directories only, every
        # name relative and inside the tree.
        members = []
        for m in tar.getmembers():
            name = Path(m.name)
            assert m.isfile() or m.isdir(), f"unexpected member type in capture: {m.name}"
            assert not name.is_absolute() and ".." not in name.parts, m.name
            m.mode &= 0o755
            members.append(m)
        tar.extractall(tree, members=members)
    return tree


def doctor(tree: Path) -> tuple[int, dict[str, Any]]:
    out = io.StringIO()
    with redirect_stdout(out):
        rc = main(["doctor", "--root", str(tree), "--json"])
    return rc, json.loads(out.getvalue())


def _xenstored_pids(tree: Path) -> dict[int, str]:
    """pid → state letter, read with plain string splitting from the captured stat files."""
    found = {}
    for comm in (tree / "proc").glob("[0-9]*/comm"):
        if comm.read_text().strip() == "xenstored":
            stat = (comm.parent / "stat").read_text()
            found[int(comm.parent.name)] = stat.rsplit(")", 1)[1].split()[0]
    return found


STOP = "kill -STOP $(cat /run/xenstored.pid) && sleep 1"
KILL = "kill -9 $(cat /run/xenstored.pid) && sleep 1"
# A stand-in for the incident (the real evtchn fault is the replay's job): a process
# named xenstored hits crashmod's BUG() in dom0 after the real daemon was killed.
CRASHMOD = REPO / "tests" / "data" / "crashmod"
CRASH_AS_XENSTORED = (
    'printf %s xenstored > /proc/self/comm; echo "fake-pid=$$"; echo bug > /proc/crashmod'
)
# cgroup v1 freezer: the task sleeps in the kernel's refrigerator, not in a signal stop
FREEZE = (
    "kill -CONT $(cat /run/xenstored.pid) && mkdir -p /sys/fs/cgroup"
    " && mount -t tmpfs cg /sys/fs/cgroup && mkdir /sys/fs/cgroup/freezer"
    " && mount -t cgroup -o freezer freezer /sys/fs/cgroup/freezer"
    " && mkdir /sys/fs/cgroup/freezer/ice"
    " && cat /run/xenstored.pid > /sys/fs/cgroup/freezer/ice/tasks"
    " && echo FROZEN > /sys/fs/cgroup/freezer/ice/freezer.state && sleep 1"
    " && cat /sys/fs/cgroup/freezer/ice/freezer.state"
)


@pytest.fixture(scope="session")
def trees(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    need(shutil.which("qemu-system-x86_64"), "qemu-system-x86 not installed")
    need(shutil.which("busybox"), "busybox-static not installed")
    need(Path("/boot/xen-4.17-amd64.gz").is_file(), "xen-hypervisor-4.17-amd64 not installed")
    need(Path("/usr/lib/xen-4.17/bin/xl").is_file(), "xen-utils-4.17 not installed")
    need(Path(f"/boot/vmlinuz-{R61}").is_file(), f"linux-image-{R61} not installed")
    image = kernel_image(R61)
    kdir = Path("/lib/modules") / R61 / "build"
    need(kdir.is_dir(), f"linux-headers-{R61} not installed")
    base = tmp_path_factory.mktemp("doctor-trees")
    start = time.monotonic()
    crashmod = build_module(CRASHMOD, kdir, base / "crashmod", macro_prefix=MACRO_PREFIX)[0]
    print(f"\ncrashmod build: {time.monotonic() - start:.1f} s")

    def dom0(*steps: Run) -> BootCase:
        return BootCase(
            kernel=image,
            xen=XenConfig(),
            initramfs=InitramfsSpec(
                steps=evtchn_steps() + toolstack_steps() + steps,
                modules=dom0_module_tree(R61),
                executables=tool_executables(),
                files=tool_files(),
                dlopened_libs=True,
            ),
            timeout=300,
        )

    cases = {
        # one boot: healthy, then the same xenstored stopped (SIGSTOP), then frozen
        "healthy": dom0(
            collect("healthy"),
            Run("stop", STOP),
            collect("stopped"),
            Run("freeze", FREEZE),
            collect("frozen"),
        ),
        "killed": dom0(
            Run("kill", KILL),
            collect("killed"),
            Insmod("crashmod", crashmod),
            Run("crash", CRASH_AS_XENSTORED, capture_dmesg=False),
            collect("crashed"),
        ),
        "plain": BootCase(kernel=image, initramfs=InitramfsSpec(steps=(collect("plain"),))),
    }
    start = time.monotonic()
    results = dict(zip(cases, run_many(cases.values()), strict=True))
    print(
        f"\ndoctor boots: {time.monotonic() - start:.1f} s wall; "
        + ", ".join(f"{k} {r.seconds:.1f} s" for k, r in results.items())
    )
    assert results["healthy"].command("freeze").output == ("FROZEN",)
    labels = {"healthy": "healthy", "stopped": "healthy", "frozen": "healthy"}
    labels |= {"killed": "killed", "crashed": "killed", "plain": "plain"}
    fake = [x for x in results["killed"].command("crash").output if x.startswith("fake-pid=")]
    assert len(fake) == 1, results["killed"].command("crash")
    (base / "fake-pid").write_text(fake[0].removeprefix("fake-pid="))
    return {label: unpack(results[boot], label, base) for label, boot in labels.items()}


def test_healthy_dom0(trees: dict[str, Path]) -> None:
    tree = trees["healthy"]
    states = _xenstored_pids(tree)
    assert len(states) == 1 and next(iter(states.values())) in "SR", states
    assert (tree / "kmend-capture" / "xl-list.rc").read_text().strip() == "0"
    assert "Domain-0" in (tree / "kmend-capture" / "xl-list.out").read_text()
    rc, report = doctor(tree)
    print("healthy:", report["verdict"])
    assert rc == 0, report
    assert report["healthy"] is True and report["verdict"].startswith("healthy: Xen dom0")
    checks = {c["name"]: c for c in report["checks"]}
    assert all(c["ok"] for c in checks.values()), checks
    assert str(next(iter(states))) in checks["xenstored"]["detail"]
    assert report["crashes"] == [] and report["next_command"] is None


def test_stopped_xenstored_makes_xl_hang(trees: dict[str, Path]) -> None:
    """SIGSTOP gives state T (stopped), not D: the closest user space can get here."""
    tree = trees["stopped"]
    states = _xenstored_pids(tree)
    assert list(states.values()) == ["T"], states
    rc_text = (tree / "kmend-capture" / "xl-list.rc").read_text().strip()
    assert rc_text == "137"  # killed by timeout -s KILL: xl waited on the frozen daemon
    rc, report = doctor(tree)
    print("stopped:", report["verdict"])
    assert rc == 1
    verdict = report["verdict"]
    assert verdict.startswith("xl hangs because xenstored") and "stopped (T)" in verdict
    assert "no kernel crash names it" in verdict
    checks = {c["name"]: c["ok"] for c in report["checks"]}
    assert checks["xenstored"] is False and checks["xl-list"] is False


def test_killed_xenstored(trees: dict[str, Path]) -> None:
    tree = trees["killed"]
    states = _xenstored_pids(tree)
    assert set(states.values()) <= {"Z"}, states  # gone, or an unreaped zombie of /init
    xl_rc = int((tree / "kmend-capture" / "xl-list.rc").read_text())
    assert xl_rc != 0
    rc, report = doctor(tree)
    print("killed:", report["verdict"], f"(xl rc {xl_rc})")
    assert rc == 1
    verdict = report["verdict"]
    symptom = "xl hangs" if xl_rc == 137 else f"xl list fails (exit {xl_rc})"
    assert verdict.startswith(f"{symptom} because xenstored")
    assert ("not running" in verdict) or ("zombie" in verdict)
    checks = {c["name"]: c["ok"] for c in report["checks"]}
    assert checks["xenstored"] is False and checks["xl-list"] is False
    assert checks["evtchn-device"] and checks["xen-modules"] and checks["proc-xen"]


def test_plain_kernel_is_not_a_xen_host(trees: dict[str, Path]) -> None:
    tree = trees["plain"]
    assert not (tree / "proc" / "xen").exists()
    assert "Linux version 6.1" in (tree / "kmend-capture" / "dmesg.log").read_text()
    rc, report = doctor(tree)
    print("plain:", report["verdict"])
    assert rc == 0 and report["verdict"] == "healthy"
    assert [c["name"] for c in report["checks"]] == ["xen", "kernel-crashes"]
    assert report["checks"][0]["detail"] == "not a Xen host"
    assert str(tree / "kmend-capture" / "dmesg.log") in report["log_sources"]


def test_frozen_xenstored_is_in_d_state(trees: dict[str, Path]) -> None:
    """The cgroup v1 freezer parks the task in the kernel: 6.1's /proc shows it as ``D``.

    A D state reached by freezing, not by a kernel bug (nothing here wedges xenstored in a
    driver), but /proc and xl see the same thing.
    """
    tree = trees["frozen"]
    states = _xenstored_pids(tree)
    xl_rc = (tree / "kmend-capture" / "xl-list.rc").read_text().strip()
    rc, report = doctor(tree)
    print("frozen:", states, "xl rc", xl_rc, "->", report["verdict"])
    assert list(states.values()) == ["D"] and xl_rc == "137"
    assert rc == 1 and report["healthy"] is False
    pid = next(iter(states))
    assert report["verdict"] == (
        f"xl hangs because xenstored (pid {pid}) is stuck in the kernel "
        "(uninterruptible sleep, D) (no kernel crash names it)"
    )
    assert report["next_command"] == f"cat /proc/{pid}/stack  (where the daemon is stuck)"


def _bug_line() -> int:
    lines = (CRASHMOD / "crashmod.c").read_text().splitlines()
    hits = [i + 1 for i, line in enumerate(lines) if "KMEND-TRIGGER: bug */" in line]
    assert len(hits) == 1
    return hits[0]


def test_kernel_bug_that_killed_xenstored_is_named(trees: dict[str, Path]) -> None:
    """A real kernel BUG in dom0 killed the process named xenstored: doctor links them."""
    tree = trees["crashed"]
    pid = int((tree.parent / "fake-pid").read_text())
    assert _xenstored_pids(tree) == {}  # the BUG killed it (no zombie: its parent reaped it)
    log = (tree / "kmend-capture" / "dmesg.log").read_text()
    assert "Comm: xenstored" in log and f"PID: {pid} " in log
    rc, report = doctor(tree)
    print("crashed:", report["verdict"])
    print("crashed next:", report["next_command"])
    assert rc == 1
    assert report["verdict"] == (
        f"xl hangs because xenstored died in kernel BUG at {COMPILED_PATH}:{_bug_line()} in crashmod"
    )
    (crash,) = report["crashes"]
    assert (crash["comm"], crash["pid"], crash["module"]) == ("xenstored", pid, "crashmod")
    dmesg = str(tree / "kmend-capture" / "dmesg.log")
    assert report["next_command"] == (
        f"kmend run {dmesg} --index 0 --source <kernel git or tree> --kernel {R61}"
    )
