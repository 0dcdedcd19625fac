"""The replay: a real xen_evtchn crash on a Xen host under QEMU, cured by `kmend run`.

0. the source history: scripts/make-xen-history.py builds, at test time, a git history of
   drivers/xen from Debian's linux-source-6.1 and -6.12 packages: v6.1, a commit injecting
   one line (a BUG_ON in IOCTL_EVTCHN_BIND_INTERDOMAIN for any guest domain) that is
   backported to linux-6.1.y and so is in v6.1.170 (the upstream base of Debian's
   6.1.0-47), the six real upstream changes of evtchn.c up to 6.12 cut from the real diff,
   and between them the fix (Fixes: the injected commit).
1. sandbox + crash: Xen 4.17 under QEMU, Debian's 6.1.0-47 as PV dom0 with xenstored; the
   dom0's module tree (a copy of Debian's Xen modules) holds xen-evtchn built from the
   history's v6.1.170.  `xl create` of a PV guest makes xenstored bind the guest's store
   channel, the kernel kills xenstored in that BUG, and `xl list` hangs — the founding
   incident's symptom.  The serial console is the captured log.
   (tests/data/replay/evtchn-poke.c, a static program, reaches the same ioctl on demand.)
2. `kmend run` on that console log with the history as --source and nothing else but the
   target headers: it finds the fix (the fix search from the crashed kernel's base
   v6.1.170), sees that every revision with the fix fails against 6.1 headers (the 6.12
   APIs), applies the fix onto v6.1.170 (minimal policy), builds it against Debian's
   6.1.0-47 headers, boots 6.1.0-47 as a Xen PV dom0 to load it for real (--preflight) and
   installs it into the module tree (--root, override in updates/), with provenance.
3. The host boots again with that tree: evtchn-poke's bind is refused by Xen (no such
   domain), no BUG, xenstored alive, `xl list` answers, and a PV guest started with
   `xl create` runs its /init and powers off.
   `kmend doctor` on what dom0 shows (captured there: busybox has no Python) names the BUG
   that killed xenstored after the crash, and says healthy after the fix.
4. `kmend rollback --root` and a third boot: the faulty module is back and evtchn-poke's
   bind kills it in the same BUG.

Oracles: the kernel's own console (BUG text, the killed process), the file the dom0's
modprobe loaded (path and sha256, printed in the guest), Debian's own evtchn.c (what the
fixed module must be built from: the fix undoes the injected line), the history's
manifest (which commit is the fix), the domU's own console log.
Stage times go to the `kmend figures` summary.  scripts/replay.sh runs this test.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests.labkit.kbuild import build_module
from tests.vm.test_doctor_xen import collect, doctor, unpack

from conftest import REPO, need
from kmend import proc
from kmend.cli import main
from kmend.lab import (
    BootCase,
    BootResult,
    InitramfsSpec,
    ModuleTree,
    Run,
    Step,
    XenConfig,
    boot,
    evtchn_steps,
    tool_executables,
    tool_files,
    toolstack_steps,
)
from kmend.lab.initramfs import build_initramfs
from kmend.lab.kernels import reduced_tree
from kmend.lab.xen import DOM0_MODULES
from kmend.source.tree import Tarball
from xenbackport import xen_history

pytestmark = pytest.mark.vm

K47 = "6.1.0-47-amd64"
KDIR = Path(f"/lib/modules/{K47}/build")
IMAGE = Path(f"/boot/vmlinuz-{K47}")
XEN = Path("/boot/xen-4.17-amd64.gz")
SRC61 = Path("/usr/src/linux-source-6.1.tar.xz")
SRC612 = Path("/usr/src/linux-source-6.12.tar.xz")
XENCONSOLED = Path("/usr/lib/xen-4.17/bin/xenconsoled")
XL = Path("/usr/lib/xen-4.17/bin/xl")
TAINT_DIE = 1 << 7  # 'D': the kernel died (oops) since boot
POKE_C = REPO / "tests/data/replay/evtchn-poke.c"
BOOT_TIMEOUT = 240.0
DOMU_CFG = """\
name = "sandbox"
type = "pv"
kernel = "/domu/vmlinuz"
ramdisk = "/domu/initrd"
extra = "console=hvc0 panic=-1 quiet"
memory = 128
vcpus = 1
on_poweroff = "destroy"
on_crash = "destroy"
"""


@dataclass
class Sandbox:
    base: Path
    history: dict[str, Any]  # the manifest of scripts/make-xen-history.py
    bug_line: int  # line of the injected BUG_ON in evtchn.c at v6.1.170
    root: Path  # the dom0's module tree: root/lib/modules/K47
    poke: Path
    cache: Path  # $KMEND_CACHE with Debian's drivers/xen unpacked
    domu_initrd: Path
    original: str  # Debian's evtchn.c
    faulty_sha: str
    times: dict[str, float]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Sandbox:
    need(shutil.which("qemu-system-x86_64"), "qemu-system-x86 not installed")
    need(shutil.which("busybox"), "busybox-static not installed")
    need(XEN.is_file(), "xen-hypervisor-4.17-amd64 not installed")
    need(XENCONSOLED.is_file() and XL.is_file(), "xen-utils-4.17 not installed")
    need(IMAGE.is_file(), f"linux-image-{K47} not installed")
    need((KDIR / "Module.symvers").is_file(), f"linux-headers-{K47} not installed")
    need(SRC61.is_file(), "linux-source-6.1 not installed")
    need(SRC612.is_file(), "linux-source-6.12 not installed")
    need(shutil.which("gcc") and shutil.which("depmod"), "gcc and kmod")
    need(shutil.which("git"), "git")
    need(Path("/usr/include/xen/evtchn.h").is_file(), "linux-libc-dev (xen/evtchn.h)")
    start = time.monotonic()
    base = tmp_path_factory.mktemp("replay")
    cache = tmp_path_factory.getbasetemp() / "kmend-cache"  # shared with tests/xenbackport.py
    cache.mkdir(exist_ok=True)
    old = os.environ.get("KMEND_CACHE")
    os.environ["KMEND_CACHE"] = str(cache)
    try:
        # the history needs drivers/xen of both tarballs: unpack them at once (each pass
        # decompresses a whole archive)
        with ThreadPoolExecutor(max_workers=2) as pool:
            views = [pool.submit(Tarball(src).unpack_dirs, ["drivers/xen"])
                     for src in (SRC61, SRC612)]
            original = views[0].result().read("drivers/xen/evtchn.c")
            views[1].result()
        assert original is not None
        history = xen_history(base / "linux.git", cache)
        # the host's module: the history's v6.1.170, built as the kernel would name it
        # (kernel BUG at drivers/xen/evtchn.c:N)
        faulty = proc.run(["git", "-C", history["repo"], "show",
                           "v6.1.170:drivers/xen/evtchn.c"], timeout=60).stdout
        bug_line = history["fault_line"]
        assert "BUG_ON" in faulty.splitlines()[bug_line - 1]
        kb = base / "kbuild"
        kb.mkdir()
        (kb / "evtchn.c").write_text(faulty)
        (kb / "Kbuild").write_text("obj-m += xen-evtchn.o\nxen-evtchn-y := evtchn.o\n")
        faulty_ko = build_module(kb, KDIR, base / "faulty-ko", macro_prefix="drivers/xen")[0]
    finally:
        if old is None:
            os.environ.pop("KMEND_CACHE", None)
        else:
            os.environ["KMEND_CACHE"] = old
    # the dom0's module tree: Debian's Xen modules, xen-evtchn replaced by the faulty build
    tree = reduced_tree(K47, base / "root")
    shutil.copyfile(faulty_ko, tree / "kernel/drivers/xen/xen-evtchn.ko")
    proc.run(["depmod", "-b", str(base / "root"), K47], timeout=120)
    poke = base / "evtchn-poke"
    proc.run(["gcc", "-static", "-O2", "-Wall", "-o", str(poke), str(POKE_C)], timeout=120)
    # the sandbox guest: the same kernel as a PV domU with a busybox initramfs
    domu_initrd = build_initramfs(
        InitramfsSpec(steps=(Run("domu", "cat /sys/hypervisor/guest_type; uname -r"),)),
        base / "domu-initrd.cpio")
    sb = Sandbox(base, history, bug_line, base / "root", poke, cache, domu_initrd,
                 original, _sha256(faulty_ko), {})
    sb.times["prepare"] = time.monotonic() - start
    return sb


# which file modprobe loaded (updates/ overrides kernel/), and its sha256
WHICH = Run("which-evtchn", "p=$(/usr/sbin/modinfo -n xen-evtchn) && echo $p"
            " && sha256sum $p | cut -d' ' -f1")
# the console is the capture: no replay of an oops under msg markers
POKE = Run("trigger", "evtchn-poke", timeout=60, capture_dmesg=False)
XENCONSOLED_UP = Run("xenconsoled", "mkdir -p /var/log/xen/console /var/run/xen /var/lib/xen"
                     " && xenconsoled --log=guest --log-dir=/var/log/xen/console && sleep 1"
                     " && pidof xenconsoled")


def _crash_steps() -> tuple[Step, ...]:
    """The story's symptom: creating a VM kills xenstored, and then xl no longer answers."""
    return (
        Run("xenstored-pid", "cat /run/xenstored.pid"),
        XENCONSOLED_UP,
        Run("xl-create", "xl create /domu/domu.cfg", timeout=60, capture_dmesg=False),
        Run("xl-after", "xl list", timeout=20),
        Run("xenstored-after", "pidof xenstored || echo no xenstored"),
        collect("crashed"),  # what kmend doctor reads, captured in dom0
    )


def _guest_steps() -> tuple[Step, ...]:
    return (
        XENCONSOLED_UP,
        Run("xl-create", "xl create /domu/domu.cfg && xl list", timeout=120),
        Run("guest-done", "i=0; while xl list sandbox >/dev/null 2>&1 && [ $i -lt 120 ];"
            " do sleep 1; i=$((i+1)); done; xl list sandbox >/dev/null 2>&1 && exit 1;"
            # the domU's own /init markers, renamed so they stay apart from dom0's
            " sed -e 's/KMEND-LAB: /domU: /' /var/log/xen/console/guest-sandbox.log",
            timeout=180),
    )


def _boot(sb: Sandbox, name: str, steps: tuple[Step, ...], guest: bool = False) -> BootResult:
    files = tool_files()
    executables = (*tool_executables(), ("usr/bin/evtchn-poke", sb.poke))
    data: tuple[tuple[str, bytes], ...] = ()
    if guest:
        executables += (("usr/sbin/xenconsoled", XENCONSOLED),)
        files += (("domu/vmlinuz", IMAGE), ("domu/initrd", sb.domu_initrd))
        data = (("domu/domu.cfg", DOMU_CFG.encode()),)
    case = BootCase(
        kernel=IMAGE, xen=XenConfig(), timeout=BOOT_TIMEOUT, name=name,
        console_path=sb.base / f"{name}-console.log",
        initramfs=InitramfsSpec(
            steps=steps, modules=ModuleTree(sb.root / "lib/modules" / K47, only=DOM0_MODULES),
            executables=executables, files=files, data=data, dlopened_libs=True))
    start = time.monotonic()
    result = boot(case)
    sb.times[name] = time.monotonic() - start
    assert not result.timed_out, f"{name}: boot timed out\n{result.console[-3000:]}"
    assert result.done, f"{name}: the guest did not finish\n{result.console[-3000:]}"
    return result


def _kmend(*args: str) -> tuple[int, Any, str]:
    so, se = io.StringIO(), io.StringIO()
    with redirect_stdout(so), redirect_stderr(se):
        code = main([*args, "--json"])
    return code, json.loads(so.getvalue()) if so.getvalue().strip() else None, se.getvalue()


def _crashed(sb: Sandbox, result: BootResult, step: str, comm: str, pid: str) -> None:
    """*result* shows the faulty module loaded and a BUG in it killing *comm* (*pid*)."""
    assert result.command("which-evtchn").output == (
        f"/lib/modules/{K47}/kernel/drivers/xen/xen-evtchn.ko", sb.faulty_sha)
    assert f"kernel BUG at drivers/xen/evtchn.c:{sb.bug_line}!" in result.console
    assert re.search(rf"PID: {pid} Comm: {comm} ", result.console), (comm, pid)
    assert re.search(r"RIP: e030:evtchn_ioctl\+0x[0-9a-f]+/0x[0-9a-f]+ \[xen_evtchn\]",
                     result.console), "the BUG is in xen_evtchn's ioctl handler"
    after = result.command(step).taint_after
    assert after is not None and after & TAINT_DIE


def test_replay(sandbox: Sandbox, figure: Callable[[str], None],
                tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    sb = sandbox
    monkeypatch.setenv("KMEND_CACHE", str(sb.cache))  # kmend run reuses the unpacked source
    toolstack = evtchn_steps() + toolstack_steps()
    total = time.monotonic()

    # 1. the sandbox host: xl answers; creating a guest kills xenstored in a kernel BUG
    crash = _boot(sb, "boot-crash", (*toolstack, WHICH, *_crash_steps()), guest=True)
    assert any(line.startswith("Domain-0 ") for line in crash.command("xl-list").output)
    pid = crash.command("xenstored-pid").output
    assert len(pid) == 1 and pid[0].isdigit(), pid
    _crashed(sb, crash, "xl-create", "xenstored", pid[0])
    assert crash.command("xl-create").rc != 0
    hung = crash.command("xl-after")  # the symptom: xl hangs until the step's timeout kills it
    assert hung.rc == 128 + 9, hung
    assert crash.command("xenstored-after").output == ("no xenstored",)
    print("\nboot-crash console:", *(line for line in crash.console.splitlines()
                                      if "kernel BUG at" in line or " Comm: " in line),
          "xl list after xl create: hung (killed by the step's timeout)", sep="\n  ")
    start = time.monotonic()
    code, sick = doctor(unpack(crash, "crashed", sb.base / "doctor"))
    sb.times["kmend doctor"] = time.monotonic() - start
    print(f"kmend doctor after the crash: {sick['verdict']}\n  next: {sick['next_command']}")
    assert code == 1 and sick["healthy"] is False, sick
    assert sick["verdict"] == ("xl hangs because xenstored died in kernel BUG at "
                               f"drivers/xen/evtchn.c:{sb.bug_line} in xen_evtchn"), sick
    (named,) = sick["crashes"]
    assert (named["comm"], named["pid"], named["module"]) == ("xenstored", int(pid[0]),
                                                              "xen_evtchn")
    assert sick["next_command"].startswith("kmend run "), sick["next_command"]
    log = sb.base / "boot-crash-console.log"
    assert log.is_file()

    # 2. kmend run on the captured console log: the fix found, backported, built, installed
    out = tmp_path_factory.mktemp("replay-run") / "out"
    start = time.monotonic()
    code, doc, err = _kmend("run", str(log), "--source", sb.history["repo"], "--kdir",
                            str(KDIR), "--preflight", "--yes", "--root", str(sb.root), "-o", str(out))
    sb.times["kmend run"] = time.monotonic() - start
    print(err)
    assert code == 0, err
    st = {s["name"]: s for s in doc["stages"]}
    tri = st["triage"]["data"]
    assert tri["reports"] == 1  # Xen's own boot banner holds no crash
    assert (tri["type"], tri["module"], tri["function"], tri["file"], tri["line"]) == (
        "BUG", "xen_evtchn", "evtchn_ioctl", "drivers/xen/evtchn.c", sb.bug_line)
    assert (tri["comm"], tri["kernel_release"]) == ("xenstored", K47)
    assert [s["status"] for s in doc["stages"]] == [
        "done", "done", "done", "done", "done", "done", "done", "done"], err
    assert st["locate"]["data"]["module"] == "xen-evtchn"
    assert st["locate"]["data"]["file"] == "drivers/xen/evtchn.c"
    roles = sb.history["roles"]
    fix = roles["fix"]["sha"]
    assert st["fixes"]["data"]["commit"] == fix  # found by the search, not given
    assert f"removes the BUG_ON at line {sb.bug_line}" in st["fixes"]["data"]["evidence"]
    assert doc["provenance"]["fix_commit"] == fix
    bp = st["backport"]["data"]
    assert bp["chosen_kind"] == "fix-on-base"
    assert bp["base_rev"] == roles["fault_stable"]["sha"]  # v6.1.170, the crashed kernel's
    # the revisions with the fix use 6.12's APIs: each probed one fails, and that is said
    newer = [p for p in bp["probes"] if p["kind"] == "revision"]
    assert newer and not any(p["ok"] for p in newer), bp["probes"]
    assert any("evtchn_make_refcounted" in line for line in bp["explanation"]), bp
    # before installing, the target kernel booted as a Xen PV dom0 loaded the fixed module
    assert st["preflight"]["data"]["loaded"] is True
    assert st["preflight"]["summary"] == "loaded as a Xen PV dom0"
    installed = sb.root / "lib/modules" / K47 / "updates/kmend/xen-evtchn.ko"
    assert installed.is_file()
    # the fixed module is built from Debian's own evtchn.c again
    built_from = [p for p in out.rglob("evtchn.c") if p.is_file()]
    assert len(built_from) == 1, built_from
    assert built_from[0].read_text() == sb.original
    fixed_sha = _sha256(installed)
    assert fixed_sha != sb.faulty_sha
    code, status, err = _kmend("status", "--root", str(sb.root))
    assert code == 0, err
    assert fix in json.dumps(status), status  # provenance kept with the install

    # 3. boot again with the installed tree: no crash, xenstored alive, a guest starts
    after_poke = Run("after-trigger", "pidof xenstored && xl list", timeout=60)
    fixed = _boot(sb, "boot-fixed", (*toolstack, WHICH, POKE, after_poke, *_guest_steps(),
                                      collect("fixed")), guest=True)
    assert fixed.command("which-evtchn").output == (
        f"/lib/modules/{K47}/updates/kmend/xen-evtchn.ko", fixed_sha)
    trigger = fixed.command("trigger")
    assert trigger.rc == 0, trigger
    assert any(line.startswith("ioctl returned -1 (") for line in trigger.output), trigger
    assert "kernel BUG at" not in fixed.console
    assert fixed.taint is not None and not fixed.taint & TAINT_DIE
    after = fixed.command("after-trigger")
    assert after.rc == 0 and any(line.startswith("Domain-0 ") for line in after.output), after
    created = fixed.command("xl-create")
    assert created.rc == 0, created
    assert any(line.startswith("sandbox ") for line in created.output), created.output
    guest = fixed.command("guest-done")
    assert guest.rc == 0, guest
    assert "domU: out domu | PV" in guest.output, guest.output  # /sys/hypervisor/guest_type
    assert f"domU: out domu | {K47}" in guest.output
    assert "domU: run domu rc=0" in guest.output and "domU: done" in guest.output
    code, well = doctor(unpack(fixed, "fixed", sb.base / "doctor"))
    print(f"kmend doctor after the fix: {well['verdict']}")
    assert code == 0 and well["healthy"] is True, well
    assert well["verdict"].startswith("healthy: Xen dom0") and well["crashes"] == [], well

    # 4. rollback and boot again: the faulty module is back, and crashes again
    start = time.monotonic()
    code, _, err = _kmend("rollback", "--root", str(sb.root))
    sb.times["kmend rollback"] = time.monotonic() - start
    assert code == 0, err
    assert not installed.exists()
    again = _boot(sb, "boot-rollback", (*evtchn_steps(), WHICH, POKE))
    poke = again.command("trigger")
    assert poke.rc not in (0, None), poke  # the kernel killed the process
    found = re.search(r"^bind domain 1 port 1 \(pid (\d+)\)$", "\n".join(poke.output), re.M)
    assert found, poke.output
    _crashed(sb, again, "trigger", "evtchn-poke", found.group(1))

    sb.times["total"] = sb.times["prepare"] + time.monotonic() - total
    for name, seconds in sb.times.items():
        figure(f"replay: {name:<15} {seconds:6.1f} s")
