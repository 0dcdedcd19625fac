"""The crash headers the era tables missed, each with a real example: hard LOCKUP (the NMI
watchdog), reports pasted from their ``Oops:`` line on, pre-4.x WARNINGs with no register
dump, address-only ``Kernel BUG at`` lines of vendor kernels, and the die lines of MIPS,
RISC-V and 2.6 kernels that continue a report instead of starting a second one.

Where syzkaller's parser names the same text, its title is the expected one (checked with
syzparse when it is available); where it finds no crash or splits one report in two, the test
says what kmend does instead and why."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import shared_dir
from kmend.logs import parse_text, read_paths
from kmend.oops import CrashReport, parse_reports
from kmend.oops.headers import find_header, starts_second_crash
from paste_cases import load_cases

CASES = {c.name.split("-", 1)[0]: c for c in load_cases()}

# A 5.15 hard lockup as the NMI watchdog prints it (the header line is the one reported in
# the field; the body is the kernel's format for an NMI taken in an interrupt handler).
HARD_LOCKUP = """\
[ 7845.126354] watchdog: CPU30: Watchdog detected hard LOCKUP on cpu 30
[ 7845.126356] Modules linked in: xt_conntrack nf_conntrack mlx5_core(OE)
[ 7845.126390] CPU: 30 PID: 0 Comm: swapper/30 Tainted: G           OE     5.15.0-91-generic #101-Ubuntu
[ 7845.126394] RIP: 0010:native_queued_spin_lock_slowpath+0x5f/0x1d0
[ 7845.126401] RSP: 0018:ffffb3c8c0d48e48 EFLAGS: 00000002
[ 7845.126410] Call Trace:
[ 7845.126411]  <NMI>
[ 7845.126413]  ? show_regs+0x6a/0x80
[ 7845.126417]  ? watchdog_hardlockup_check+0x11e/0x230
[ 7845.126420]  ? __perf_event_overflow+0xd5/0x1c0
[ 7845.126423]  ? perf_event_nmi_handler+0x2b/0x50
[ 7845.126426]  ? nmi_handle+0x5f/0x170
[ 7845.126434]  ? end_repeat_nmi+0x16/0x67
[ 7845.126440]  </NMI>
[ 7845.126441]  <IRQ>
[ 7845.126441]  _raw_spin_lock+0x22/0x30
[ 7845.126444]  mlx5_eq_comp_int+0x3f/0x1a0 [mlx5_core]
[ 7845.126470]  notifier_call_chain+0x5a/0xd0
[ 7845.126475]  irq_int_handler+0x19/0x30 [mlx5_core]
[ 7845.126489]  __handle_irq_event_percpu+0x42/0x170
"""


def _reports(text: str) -> list[CrashReport]:
    return list(parse_reports(parse_text(text)))


def _syzparse(text: str, tmp_path: Path, arch: str = "amd64") -> list[str] | None:
    """syzkaller's titles for *text*, or None when the tool is not here."""
    tool = shared_dir() / "tools" / "syzparse"
    if not tool.is_file():
        return None
    f = tmp_path / "log.txt"
    f.write_text(text, encoding="utf-8")
    res = subprocess.run(
        [str(tool), str(f)], capture_output=True, text=True, timeout=60, check=True,
        env=dict(os.environ, ARCH=arch),
    )
    return [t for t in (json.loads(x)["title"] for x in res.stdout.splitlines()) if t]


@pytest.mark.parametrize(
    "line",
    [
        "watchdog: CPU30: Watchdog detected hard LOCKUP on cpu 30",
        "watchdog: Watchdog detected hard LOCKUP on cpu 3",
        "NMI watchdog: Watchdog detected hard LOCKUP on cpu 2",
        "Oct 11 05:39:13 chi412 kernel: NMI watchdog: Watchdog detected hard LOCKUP on cpu 79",
        "[  252.718655] Watchdog CPU:59 Hard LOCKUP",
    ],
)
def test_hard_lockup_lines_are_headers(line: str) -> None:
    body = line.split("kernel: ", 1)[-1]
    hit = find_header(body)
    assert hit is not None and "LOCKUP" in hit.header.name


def test_hard_lockup_named_by_the_stuck_code(tmp_path: Path) -> None:
    """The first frame past the NMI path and the lock primitive: the interrupt handler that
    spun on the lock.  syzkaller knows no hard-lockup report (it finds no crash here)."""
    (report,) = _reports(HARD_LOCKUP)
    assert report.title == "watchdog: hard LOCKUP in mlx5_eq_comp_int"
    assert report.module == "mlx5_core"
    assert _syzparse(HARD_LOCKUP, tmp_path) in (None, [])


def test_hard_lockup_under_a_3x_warning_is_one_report() -> None:
    """3.16 reported a hard lockup as a WARNING in watchdog_overflow_callback followed by
    "Watchdog detected hard LOCKUP on cpu 3": one report, named by the WARNING."""
    case = CASES["016"]
    reports = _reports(case.raw)
    assert [r.title for r in reports] == [case.expected]


def test_panic_on_hard_lockup_is_the_panic() -> None:
    (report,) = _reports(
        "[46223316.649832] Kernel panic - not syncing: Hard LOCKUP\n"
        "[46223316.652645] CPU: 0 PID: 282859 Comm: dockerd-current Not tainted 3.10.0 #1\n"
    )
    assert report.title == "kernel panic: Hard LOCKUP"


# The page fault of a Xen PV guest (5.8), pasted from its "Oops:" line on.
OOPS_ONLY = """\
[    3.456352] Oops: 0000 [#1] SMP NOPTI
[    3.456359] CPU: 0 PID: 1 Comm: swapper/0 Not tainted 5.8.5-1.qubes.x86_64 #1
[    3.456374] RIP: e030:pmc_core_probe+0x138/0x190
[    3.456405] RSP: e02b:ffffc9000080bc28 EFLAGS: 00010286
"""


@pytest.mark.parametrize(
    "die",
    ["Oops: 0000 [#1] SMP NOPTI", "Oops: Oops: 0000 [#1] PREEMPT SMP NOPTI", "Oops: 0000 [1] SMP"],
)
def test_oops_only_paste_is_named_by_its_pc(die: str, tmp_path: Path) -> None:
    """syzkaller finds no crash when the "BUG: unable to handle ..." line was not pasted;
    kmend names the report by its faulting PC ("Oops in f")."""
    text = OOPS_ONLY.replace("Oops: 0000 [#1] SMP NOPTI", die)
    (report,) = _reports(text)
    assert report.title == "Oops in pmc_core_probe"
    assert _syzparse(text, tmp_path) in (None, [])


@pytest.mark.parametrize(
    ("cr2", "bug_line", "title"),
    [
        (
            "0000000000000010",
            "BUG: kernel NULL pointer dereference, address: 0000000000000010",
            "BUG: unable to handle kernel NULL pointer dereference in pmc_core_probe",
        ),
        (
            "ffffc9000096b818",
            "BUG: unable to handle page fault for address: ffffc9000096b818",
            "BUG: unable to handle kernel paging request in pmc_core_probe",
        ),
    ],
)
def test_x86_oops_only_paste_named_by_its_fault_address(
    cr2: str, bug_line: str, title: str, tmp_path: Path
) -> None:
    """With the registers pasted, CR2 (the faulting address) says which page fault it was,
    as the kernel decides it (below one page: a NULL pointer dereference): the title is the
    one syzkaller gives the whole report, BUG line included."""
    regs = (
        "[    3.456406] CS:  0010 DS: 0000 ES: 0000 CR0: 0000000080050033\n"
        f"[    3.456407] CR2: {cr2} CR3: 000000012cc10005 CR4: 00000000001706e0\n"
    )
    # as on bare metal (syzkaller reads no frame from a Xen PV guest's "RIP: e030:")
    oops_only = OOPS_ONLY.replace("e030:", "0010:").replace("e02b:", "0018:") + regs
    (report,) = _reports(oops_only)
    assert report.title == title
    whole = f"[    3.456350] {bug_line}\n" + oops_only
    assert _syzparse(whole, tmp_path) in (None, [title])


def test_oops_line_continues_a_report() -> None:
    """With its BUG line, the same report is one report with syzkaller's title."""
    case = CASES["028"]
    reports = _reports(case.raw)
    assert [r.title for r in reports] == [case.expected]
    assert not starts_second_crash("Oops: 0000 [#1] SMP NOPTI")
    assert not starts_second_crash("Oops[#2]:")
    assert not starts_second_crash("Oops [#1]")


@pytest.mark.parametrize("case", ["048", "043", "044"])
def test_mips_riscv_arm_die_lines_do_not_split(case: str) -> None:
    """MIPS "Oops[#2]:", RISC-V "Oops [#1]", ARM "Internal error: Oops: 805 [#1]" after
    their "Unable to handle kernel paging request" line: one report each."""
    assert len(_reports(CASES[case].raw)) == 1


def test_26_era_oops_continues_the_null_dereference() -> None:
    text = (
        "Unable to handle kernel NULL pointer dereference at 0000000000000000 RIP: \n"
        " [<ffffffff8813f5a4>] :ext3:ext3_get_blocks_handle+0x1a/0x9d8\n"
        "PGD 7d8b3067 PUD 7d8b4067 PMD 0 \n"
        "Oops: 0000 [1] SMP \n"
        "CPU 0 \n"
        "Pid: 3085, comm: bash Not tainted 2.6.18-92.el5 #1\n"
    )
    reports = _reports(text)
    assert len(reports) == 1
    assert reports[0].title.startswith("BUG: unable to handle kernel NULL pointer dereference")


@pytest.mark.parametrize("prose", ["Oops, I forgot the attachment.", "Oops: that was wrong"])
def test_oops_word_is_no_header(prose: str) -> None:
    assert find_header(prose) is None


# A 3.19-era WARNING: no register dump, the function on the WARNING line.
OLD_WARNING = """\
[  100.000000] WARNING: CPU: 1 PID: 42 at drivers/x/y.c:12 func_a+0x1/0x2 [mod]()
[  100.000001] Modules linked in: mod
[  100.000002] CPU: 1 PID: 42 Comm: x Not tainted 3.19.0 #1
[  100.000003]  0000000000000009 ffffffff8150b4c5 ffff88021f385c98 ffffffff81067767
"""


def test_old_warning_named_by_its_header(tmp_path: Path) -> None:
    """The WARNING line names where WARN() fired; with the report body printed and no PC
    line or trace, that is the frame (syzkaller says "WARNING in corrupted")."""
    (report,) = _reports(OLD_WARNING)
    assert report.title == "WARNING in func_a"
    assert report.corrupted  # the call trace is missing all the same
    assert _syzparse(OLD_WARNING, tmp_path) in (None, ["WARNING in corrupted"])


def test_warning_line_alone_stays_corrupted(tmp_path: Path) -> None:
    """A WARNING line and nothing of its body: a cut log, as syzkaller has it."""
    text = "[ 1722.511384] WARNING: CPU: 3 PID: 1975 at fs/locks.c:241 locks_free_lock_context+0x118/0x180()\n"
    (report,) = _reports(text)
    assert report.title == "WARNING in corrupted"
    assert _syzparse(text, tmp_path) in (None, ["WARNING in corrupted"])


VENDOR_BUG = """\
[  100.000000] Kernel BUG at ffffffffa0123456 [verbose debug info unavailable]
[  100.000000] invalid opcode: 0000 [#1] SMP
[  100.000001] Modules linked in: foo
[  100.000002] CPU: 1 PID: 42 Comm: x Not tainted 4.19.0 #1
[  100.000003] RIP: 0010:foo_bar+0x8f/0x120 [foo]
[  100.000004] Call Trace:
[  100.000005]  vfs_read+0x9f/0x2c0
"""


def test_vendor_kernel_bug_is_one_report(tmp_path: Path) -> None:
    """syzkaller cuts this oops in two ("kernel BUG at ADDR [verbose debug info unavailable]"
    and "invalid opcode in foo_bar"); it is one BUG(), in the function the PC names."""
    (report,) = _reports(VENDOR_BUG)
    assert report.title == "kernel BUG in foo_bar"
    assert report.module == "foo"
    got = _syzparse(VENDOR_BUG, tmp_path)
    assert got in (None, ["kernel BUG at ADDR [verbose debug info unavailable]", "invalid opcode in foo_bar"])


def test_vendor_kernel_bug_with_symbol_keeps_syzkallers_title() -> None:
    case = CASES["060"]
    assert [r.title for r in _reports(case.raw)] == [case.expected]


def test_hard_lockup_found_by_the_prefilter(tmp_path: Path) -> None:
    """The needle prefilter keeps a hard-lockup report that has no other crash word."""
    noise = "".join(
        f"Dec 23 00:51:{i % 60:02d} host kernel: [ {i}.000000] eth0: link up\n" for i in range(5000)
    )
    lockup = "".join(
        f"Dec 23 00:52:00 host kernel: {line}\n" for line in HARD_LOCKUP.splitlines()
    )
    path = tmp_path / "messages"
    path.write_text(noise + lockup + noise, encoding="utf-8")
    reports = list(parse_reports(read_paths([str(path)], prefilter=True)))
    assert [r.title for r in reports] == ["watchdog: hard LOCKUP in mlx5_eq_comp_int"]


# A MIPS 5.10 WARNING from an OpenWrt router whose site is an unsymbolized module address
# (the kernel had no symbols for the module).
UNSYMBOLIZED_WARNING = """\
[51713.845733] WARNING: CPU: 3 PID: 798 at target-mipsel_24kc_musl/linux-ramips_mt7621/mt76-2022-07-03-93e3fce9/mt7603/mac.c:208 0x82b64874 [mt7603e@3e6ee6ae+0x96e0]
[51713.860229] Modules linked in: mt7603e mt76 mac80211 cfg80211
[51713.930912] CPU: 3 PID: 798 Comm: napi/phy0-7 Not tainted 5.10.127 #0
[51713.937331] Stack : 00000000 8071f078 809a0000 80000000 00000000 00000000 00000000 00000000
"""


def test_warning_at_an_unsymbolized_address_names_no_function() -> None:
    """A function name never starts with a digit: an address where the WARNING line names
    its function is no function, and with no frame elsewhere the report's frame is unknown
    (syzkaller instead falls back to the raw line: path, "ADDR" and "[" in its title)."""
    (report,) = _reports(UNSYMBOLIZED_WARNING)
    assert report.title == "WARNING in corrupted"
    symbolized = UNSYMBOLIZED_WARNING.replace(
        "0x82b64874 [mt7603e@3e6ee6ae+0x96e0]", "mt7603_mac_tx_ba_reset+0x44/0x100 [mt7603e]"
    )
    # symbolized, the line names where WARN fired (the rule for a WARNING with a body and no
    # call trace; syzkaller says "corrupted" there too)
    (report,) = _reports(symbolized)
    assert report.title == "WARNING in mt7603_mac_tx_ba_reset"


#: What the Go runtime prints when a Go program dies (its runtime's own messages), each as
#: the first line of a paste with no kernel line.
GO_RUNTIME_LINES = (
    "panic: runtime error: invalid memory address or nil pointer dereference",
    "panic: runtime error: index out of range [3] with length 3",
    "panic: assignment to entry in nil map [recovered]",
    "fatal error: concurrent map writes",
    "fatal error: all goroutines are asleep - deadlock!",
    "fatal error: runtime: out of memory",
    "fatal error: unexpected signal during runtime execution",
    "fatal error: stack overflow",
)


@pytest.mark.parametrize("line", GO_RUNTIME_LINES)
def test_go_runtime_crash_is_no_kernel_crash(line: str) -> None:
    paste = (f"{line}\n[signal SIGSEGV: segmentation violation code=0x1 addr=0x28 pc=0x1385f7c]\n\n"
             "goroutine 1 [running]:\nmain.main()\n\t/src/app/main.go:202 +0xe7\n")
    assert find_header(line, bare=True) is None
    assert list(parse_reports(parse_text(paste))) == []


def test_other_panic_lines_stay_headers() -> None:
    """The kernel's panic, and the bare "panic:" of the tools driving a fuzzed kernel (syzparse
    names both crashes)."""
    for line in ("Kernel panic - not syncing: Fatal exception",
                 "panic: executor failed: failed to mmap"):
        assert find_header(line, bare=True) is not None


#: Warnings real tools print, as people paste them beside their kernel logs: apt's (apt 1.x
#: on), pip's (20.x on), docker info's and Go programs' panics.  syzkaller reads only kernel
#: consoles and names each a crash (its verbatim-WARNING and "panic:" titles); in a paste
#: with no kernel report after them they are user space.
USER_SPACE_PASTES = (
    "$ sudo apt install foo\n\nWARNING: apt does not have a stable CLI interface. Use with "
    "caution in scripts.\n\nReading package lists... Done\n",
    "WARNING: Running pip as the 'root' user can result in broken permissions and conflicting "
    "behaviour with the system package manager.\n",
    "Kernel Version: 5.4.0-42-generic\nWARNING: No swap limit support\n",
    "panic: open /etc/app.yaml: no such file or directory\n\ngoroutine 1 [running]:\n"
    "main.main()\n\t/app/main.go:9 +0x1d\nexit status 2\n",
)


@pytest.mark.parametrize("paste", USER_SPACE_PASTES)
def test_user_space_warnings_in_a_paste_are_no_crash(paste: str) -> None:
    assert list(parse_reports(parse_text(paste))) == []


#: The kernel's own checker WARNINGs, pasted bare and cut short: the ruler, taint line and
#: locks follow the header.
KERNEL_CHECKER_PASTES = (
    "WARNING: possible circular locking dependency detected\n6.1.0 #1 Not tainted\n"
    "------------------------------------------------------\n"
    "kworker/0:1/12 is trying to acquire lock:\n",
    "WARNING: suspicious RCU usage\n6.1.0-rc1 #1 Not tainted\n"
    "-----------------------------\ninclude/linux/rcupdate.h:1 Illegal context switch in "
    "RCU read-side critical section!\n",
)


@pytest.mark.parametrize("paste", KERNEL_CHECKER_PASTES)
def test_kernel_checker_warnings_pasted_bare_stay_crashes(paste: str, tmp_path: Path) -> None:
    (tmp_path / "p.txt").write_text(paste)
    syz = json.loads(subprocess.run([str(Path(shared_dir()) / "tools" / "syzparse"),
                                     str(tmp_path / "p.txt")], capture_output=True, text=True,
                                    check=True, timeout=60).stdout.splitlines()[0])  # fmt: skip
    assert syz["title"]  # a crash (its title for such a cut report is not asserted here)
    assert len(list(parse_reports(parse_text(paste)))) == 1


def test_a_drivers_warning_line_stays_a_crash(tmp_path: Path) -> None:
    """dev_warn()'s "WARNING:" after the device's name is the kernel's, report or not."""
    paste = ("usb 5-1: New USB device strings: Mfr=0, Product=0, SerialNumber=0\n"
             "usb 5-1: WARNING: ath10k USB support is incomplete, don't expect anything to "
             "work!\nusb 5-1: Using ep0 maxpacket: 8\n")
    (tmp_path / "p.txt").write_text(paste)
    syz = json.loads(subprocess.run([str(Path(shared_dir()) / "tools" / "syzparse"),
                                     str(tmp_path / "p.txt")], capture_output=True, text=True,
                                    check=True, timeout=60).stdout.splitlines()[0])  # fmt: skip
    assert syz["title"]
    assert [r.title for r in parse_reports(parse_text(paste))] == [syz["title"]]


def test_hung_task_with_anonymised_task_and_pid() -> None:
    """A vendor article (Debian 9, 4.9.0-11) quoting a hung-task report with the task and pid
    replaced by placeholders: "INFO: task $NAME:$PID blocked for more than 120 seconds.".  The
    fixed wording names the report (syzkaller: "INFO: task hung in ..."); a stack of "? "
    frames only leaves it "corrupted", as syzkaller says."""
    text = (
        "Sometimes the Linux kernel prints a message like this:\n"
        "INFO: task $NAME:$PID blocked for more than 120 seconds.\n"
        "Not tainted 4.9.0-11-amd64 #1 Debian 4.9.189-3+deb9u1\n"
        '"echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.\n'
        "jbd2/vdt-8 D 0 390 2 0x00000000\n"
        "Call Trace:\n"
        "[<ffffffff8de17609>] ? __schedule+0x239/0x6f0\n"
        "[<ffffffffc041afe9>] ? jbd2_journal_commit_transaction+0xf59/0x17c0 [jbd2]\n"
        "[<ffffffffc041fc72>] ? kjournald2+0xc2/0x260 [jbd2]\n"
        "[<ffffffff8d89abc9>] ? kthread+0xd9/0xf0\n"
        "[<ffffffff8de1c577>] ? ret_from_fork+0x57/0x70\n"
    )
    reports = list(parse_reports(parse_text(text)))
    assert [r.title for r in reports] == ["INFO: task hung in corrupted"]
    # the real task:pid form still names the same report
    real = text.replace("$NAME:$PID", "jbd2/vdt-8:390")
    assert [r.title for r in parse_reports(parse_text(real))] == ["INFO: task hung in corrupted"]
