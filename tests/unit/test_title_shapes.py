"""Report shapes that decide which frame a title blames, against syzkaller's own parser run as
a black box (../shared/tools/syzparse): the logs are generated here — layouts of a stall's
interrupt entry, fault-injection stacks interleaved with a report, a powerpc exception marker,
a call-trace header glued to stack words, report kinds of their own (synchronous USB
transfers, KMSAN in ciphers, debugobjects callbacks) — and kmend's title (and alternative
titles) must be syzparse's for every one.  The expected values are syzparse's output at test
time, never kmend's."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable
from pathlib import Path

from conftest import need, shared_dir
from kmend import proc
from kmend.logs import parse_text
from kmend.oops import parse_reports

P = "[   10.000000] "
PT = "[  100.000000][    C0] "


def _syzparse() -> Path:
    exe = shared_dir() / "tools" / "syzparse"
    need(exe.is_file(), f"{exe} not found (syzkaller's parser, the oracle)")
    return exe


def _oracle(logs: dict[str, str], workdir: Path, arch: str = "amd64") -> dict[str, dict[str, object]]:
    """syzparse's first report for each named log: {"title": ..., "alt": [...]}."""
    exe = _syzparse()
    paths: dict[str, str] = {}
    for i, (name, log) in enumerate(logs.items()):
        path = workdir / f"{i}.log"
        path.write_text(log)
        paths[str(path)] = name
    out: dict[str, dict[str, object]] = {}
    files = list(paths)
    for k in range(0, len(files), 300):
        res = proc.run([exe, *files[k : k + 300]], timeout=300, extra_env={"ARCH": arch})
        for line in res.stdout.splitlines():
            rec = json.loads(line)
            out.setdefault(paths[rec["file"]], rec)
    return out


def _kmend(log: str) -> tuple[str, tuple[str, ...]]:
    reports = list(parse_reports(parse_text(log, source="shape")))
    return (reports[0].title, reports[0].alt_titles) if reports else ("", ())


def _compare(
    logs: dict[str, str], tmp_path: Path, *, alts: bool = False, arch: str = "amd64"
) -> list[str]:
    """The names of the logs where kmend and syzparse disagree (title, and alt titles)."""
    syz = _oracle(logs, tmp_path, arch)
    wrong: list[str] = []
    for name, log in logs.items():
        title, alt = _kmend(log)
        want_title = str(syz[name]["title"])
        want_alt = tuple(sorted(syz[name]["alt"] or ()))  # type: ignore[call-overload]
        if title != want_title or (alts and tuple(sorted(alt)) != want_alt):
            wrong.append(f"{name}: syzkaller {want_title!r} {want_alt}, kmend {title!r} {alt}")
    return wrong


# -- stalls: where the interrupted loop's stack is read ----------------------------------------

_RCU_HEAD = [
    "rcu: INFO: rcu_preempt self-detected stall on CPU",
    "rcu: \t0-....: (10500 ticks this GP) idle=8d4/1/0x4000000000000000 softirq=9000/9000 fqs=5000",
    "\t(t=10502 jiffies g=20000 q=300)",
    "NMI backtrace for cpu 0",
    "CPU: 0 PID: 5000 Comm: syz-executor.0 Not tainted 6.1.0-syzkaller #0",
]
_LOCKUP_HEAD = [
    "watchdog: BUG: soft lockup - CPU#0 stuck for 123s! [syz-executor.0:5000]",
    "Modules linked in:",
]
_LOCKUP_STAMPS = [
    "irq event stamp: 2531226",
    "hardirqs last  enabled at (2531225): [<00000000f1ec093f>] zz_unlock_irq+0x78/0xe0",
    "hardirqs last disabled at (2531226): [<000000003c6ef1cd>] apic_timer_interrupt+0xa4/0xb0",
    "softirqs last  enabled at (41848): [<0000000081bd5f03>] __do_softirq+0x7a0/0xb85",
    "softirqs last disabled at (41829): [<00000000d02c6d52>] irq_exit+0x1cc/0x200",
]
_CPU = "CPU: 0 PID: 5000 Comm: syz-executor.0 Not tainted 6.1.0-syzkaller #0"


def _stack_lines(items: Iterable[str]) -> list[str]:
    out: list[str] = []
    for item in items:
        if item.startswith(("RIP:", "RSP:", "Call Trace:", "<", "Sending", "NMI", "CPU:")):
            out.append(item if not item.startswith("<") else " " + item)
            if item.startswith("RIP:"):
                out.append("RSP: 0018:ffffc90000000000 EFLAGS: 00000246")
        else:
            out.append(f" {item}+0x1/0x2")
    return out


_IRQ = ["hrtimer_interrupt", "sysvec_apic_timer_interrupt"]
_ENTRY = "asm_sysvec_apic_timer_interrupt"
_TAIL = ["do_syscall_64", "entry_SYSCALL_64_after_hwframe"]
_STALL_LAYOUTS: dict[str, list[str]] = {
    "entry-then-pc": ["Call Trace:", "<IRQ>", *_IRQ, "</IRQ>", "<TASK>", _ENTRY,
                      "RIP: 0010:zz_loop+0x10/0x20", "zz_caller", *_TAIL],
    "frames-between-entry-and-pc": ["Call Trace:", "<IRQ>", *_IRQ, _ENTRY, "zz_irq_side",
                                    "RIP: 0010:zz_loop+0x10/0x20", "zz_caller", *_TAIL],
    "no-pc-after-entry": ["Call Trace:", "<IRQ>", *_IRQ, _ENTRY, "zz_loop", "zz_caller", *_TAIL],
    "frames-then-late-pc": ["Call Trace:", "<IRQ>", *_IRQ, _ENTRY, "zz_early", "zz_after",
                            *_TAIL, "RIP: 0010:zz_loop+0x10/0x20", "zz_late", *_TAIL],
    "pc-of-another-cpu": ["Call Trace:", "<IRQ>", *_IRQ, _ENTRY, "zz_early", "zz_after", *_TAIL,
                          "</TASK>", "Sending NMI from CPU 0 to CPUs 1:", "NMI backtrace for cpu 1",
                          "CPU: 1 PID: 5 Comm: kworker/1:0 Not tainted 6.1.0 #0", "Call Trace:",
                          "RIP: 0010:zz_other+0x10/0x20", "zz_other_caller", *_TAIL],
    "user-pc-after-entry": ["Call Trace:", "<IRQ>", *_IRQ, "</IRQ>", _ENTRY,
                            "RIP: 0033:0x4179c0", "NMI backtrace for cpu 1", "Call Trace:",
                            "zz_other", "process_one_work", "worker_thread"],
    "no-entry": ["Call Trace:", "RIP: 0010:zz_loop+0x10/0x20", "zz_caller", *_TAIL],
    "no-entry-no-pc": ["Call Trace:", "zz_loop", "zz_caller", *_TAIL],
    "entry-is-first-frame": ["Call Trace:", "<IRQ>", *_IRQ, _ENTRY, "run_timer_softirq",
                             "__do_softirq", "irq_exit", "zz_x", *_TAIL],
}


def test_stall_stacks_agree_with_syzkaller(tmp_path: Path, figure: Callable[[str], None]) -> None:
    """An RCU stall is named only from the context its timer interrupt landed in (the kernel
    PC line after the entry, else the frames after it; none without an entry); a soft lockup
    falls back to its PC and call trace, also when a register-state line names the timer
    interrupt before them."""
    logs: dict[str, str] = {}
    for name, items in _STALL_LAYOUTS.items():
        body = _RCU_HEAD + _stack_lines(items)
        logs[f"rcu/{name}"] = "".join(PT + line + "\n" for line in body)
    for stamps in (False, True):
        for loop in ("zz_loop", "memset", "_raw_spin_lock"):
            for caller in ("zz_caller", "smp_call_function_many", "vfs_write"):
                head = _LOCKUP_HEAD + (_LOCKUP_STAMPS if stamps else []) + [_CPU]
                items = [f"RIP: 0010:{loop}+0x10/0x20", "Call Trace:", "<TASK>", caller,
                         "zz_below", *_TAIL]
                body = head + _stack_lines(items)
                logs[f"lockup/{stamps}/{loop}/{caller}"] = "".join(PT + ln + "\n" for ln in body)
    wrong = _compare(logs, tmp_path, alts=True)
    figure(f"stall layouts vs syzkaller: {len(logs) - len(wrong)}/{len(logs)}")
    assert not wrong, "\n".join(wrong)


_ARM_STALL = """\
rcu: INFO: rcu_sched self-detected stall on CPU
rcu: \t0-...!: (2099 ticks this GP) idle=4c6/1/0x40000002 softirq=6646/6646 fqs=126
\t(t=2100 jiffies g=11589 q=1)
rcu: rcu_sched kthread starved for 1848 jiffies! g11589 f0x0 RCU_GP_WAIT_FQS(5) ->state=0x0 ->cpu=0
rcu: RCU grace-period kthread stack dump:
task:rcu_sched       state:R  running task     stack:    0 pid:   10 ppid:     2 flags:0x00000000
Backtrace:
[<80c1e5e8>] (__schedule) from [<80c1eb20>] (schedule+0x60/0xdc)
[<80c1eb20>] (schedule) from [<80c2287c>] (schedule_timeout+0xac/0x1e8)
[<80c2287c>] (schedule_timeout) from [<801c2674>] ({kthread_fn}+0x580/0x1020)
[<801c2674>] ({kthread_fn}) from [<8016e220>] (kthread+0x174/0x18c)
[<8016e220>] (kthread) from [<80100168>] (ret_from_fork+0x14/0x2c)
Exception stack(0x814fbfb0 to 0x814fbff8)
bfa0:                                     00000000 00000000 00000000 00000000
NMI backtrace for cpu 0
CPU: 0 PID: 1760 Comm: syz-executor.0 Not tainted 5.10.2 #10
Hardware name: ARM-Versatile Express
[<80118054>] (unwind_backtrace) from [<80110ce4>] (show_stack+0x20/0x24)
[<80110ce4>] (show_stack) from [<80c16564>] (dump_stack+0x104/0x138)
[<80c16564>] (dump_stack) from [<80692150>] (nmi_cpu_backtrace+0x10c/0x148)
[<80692150>] (nmi_cpu_backtrace) from [<80c124b4>] (rcu_dump_cpu_stacks+0xcc/0x110)
[<80c124b4>] (rcu_dump_cpu_stacks) from [<801c39e4>] (rcu_sched_clock_irq+0x6e4/0x98c)
[<801c39e4>] (rcu_sched_clock_irq) from [<801d1124>] (update_process_times+0x94/0xf0)
[<801d1124>] (update_process_times) from [<806ab444>] (gic_handle_irq+0xb0/0xe8)
[<806ab444>] (gic_handle_irq) from [<80100b6c>] (__irq_svc+0x6c/0x90)
Exception stack(0x91883f00 to 0x91883f48)
3f00: 20b35644 7effffff 00040000 00000055 00000000 1f4cabd4 20000100 20000118
[<80100b6c>] (__irq_svc) from [<80616f94>] ({loop}+0x140/0x1dc)
[<80616f94>] ({loop}) from [<80321578>] ({caller}+0x124/0x170)
[<80321578>] ({caller}) from [<80100080>] (ret_fast_syscall+0x0/0x54)
Exception stack(0x91883fa8 to 0x91883ff0)
3fa0:                   00000000 00000000 ffffff9c 200000c0 20000100 20000118
"""


def test_arm_stall_skips_the_kthread_dump(tmp_path: Path) -> None:
    """On 32-bit ARM the RCU kthread's dump ends in an "Exception stack" with no frame after
    it; the stalled CPU's interrupt entry comes later and names the loop."""
    logs = {
        f"{kfn}/{loop}/{caller}": _ARM_STALL.format(kthread_fn=kfn, loop=loop, caller=caller)
        for kfn in ("rcu_gp_kthread", "zz_kthread_body")
        for loop in ("check_zeroed_user", "zz_spin", "memset")
        for caller in ("sys_openat2", "zz_ioctl_handler")
    }
    wrong = _compare(logs, tmp_path, alts=True, arch="arm")
    assert not wrong, "\n".join(wrong)


# -- fault injection interleaved with a report ---------------------------------------------------

_HEADS = {
    "gpf": ["general protection fault: 0000 [#1] SMP KASAN"],
    "warning": ["WARNING: CPU: 0 PID: 1000 at kernel/foo.c:10 zz_hdr+0x1/0x2"],
    "paging": ["BUG: unable to handle kernel paging request at ffffc90000e3a000",
               "IP: zz_old_ip+0x1/0x2"],
    "kasan": ["BUG: KASAN: use-after-free in {hdr}+0x1/0x2",
              "Read of size 8 at addr ffff888012345678 by task syz-executor0/1000"],
    "odebug": ["ODEBUG: free active (active state 0) object: ffff888012345678 object type: "
               "timer_list hint: zz_fn+0x0/0x10",
               "WARNING: CPU: 0 PID: 1000 at lib/debugobjects.c:505 debug_print_object+0x1/0x2"],
}
_PIECES = ["should_fail", "should_failslab", "should_fail_bio", "should_fail_alloc_page",
           "kmalloc", "memcpy", "zz_a", "zz_b", "zz_c",
           "RIP: 0010:zz_rip+0x10/0x20", "RIP: 0010:memset+0x10/0x20", "Call Trace:"]


def _injection_log(head: list[str], items: list[str]) -> str:
    body = [*head, "CPU: 0 PID: 1000 Comm: syz-executor0 Not tainted 4.15.0+ #1"]
    body += _stack_lines(items)
    body += [*_stack_lines(_TAIL), "Modules linked in:"]
    return "".join(P + line + "\n" for line in body)


def test_fault_injection_interleavings_agree_with_syzkaller(
    tmp_path: Path, figure: Callable[[str], None]
) -> None:
    """Random interleavings of a report's parts (PC line, call-trace header, frames) with
    fault-injection frames: an injection frame ends the part being read and the lines after
    it are read as the next part."""
    rnd = random.Random(3)
    logs: dict[str, str] = {}
    for head_name, head in _HEADS.items():
        for k in range(120):
            items = rnd.sample(_PIECES, rnd.randint(4, 8))
            if not any(i in ("should_fail", "should_failslab") for i in items):
                items.insert(rnd.randrange(len(items) + 1), "should_failslab")
            hdr = rnd.choice(["zz_hdr", "memcpy"])
            logs[f"{head_name}/{k}: {hdr} {items}"] = _injection_log(
                [h.replace("{hdr}", hdr) for h in head], items
            )
    wrong = _compare(logs, tmp_path)
    rate = 1 - len(wrong) / len(logs)
    print(f"\nfault-injection interleavings: {len(logs) - len(wrong)}/{len(logs)} = {rate:.1%}")
    for line in wrong[:10]:
        print("  ", line)
    figure(f"fault-injection interleavings vs syzkaller ({len(logs)}): {rate:.1%}")
    assert rate >= 0.97


# -- frame lines and headers ---------------------------------------------------------------------

_PPC = """\
WARNING: CPU: 1 PID: 4057 at arch/powerpc/mm/slb.c:79 {header}+0x2c/0x70
CPU: 1 PID: 4057 Comm: syz-executor.4 Not tainted 5.1.0-rc3 #7
Call Trace:
[c00000003ae5b800] [c00000000135c19c] dump_stack+0x128/0x1cc (unreliable)
[c00000003ae5b9a0] [c00000000135a500] report_bug+0x150/0x270
[c00000003ae5ba40] [c0000000000392d4] program_check_exception+0x344/0x4f0
[c00000003ae5bac0] [c0000000000090a4] program_check_common+0x184/0x190
--- interrupt: 700 at {interrupted}+0x2c/0x70
    LR = {lr}+0x19c/0x2d0
[c00000003ae5bdf0] [c00000000009651c] {caller}+0x10c/0x250
[c00000003ae5be20] [c0000000000088f8] data_access_slb_common+0x138/0x190
"""


def test_powerpc_interrupt_marker_is_a_frame(tmp_path: Path) -> None:
    """powerpc's "--- interrupt: 700 at f+0x.." names the function the trap interrupted: a
    frame of the call trace (the "LR =" line after it is not)."""
    logs = {
        f"{h}/{i}/{lr}/{c}": _PPC.format(header=h, interrupted=i, lr=lr, caller=c)
        for h in ("assert_slb_presence", "zz_hdr")
        for i in ("assert_slb_presence", "zz_trapped", "memcpy", "_raw_spin_lock")
        for lr in ("slb_insert_entry", "zz_lr")
        for c in ("do_slb_fault", "zz_caller")
    }
    wrong = _compare(logs, tmp_path, arch="ppc64le")
    assert not wrong, "\n".join(wrong)


def test_call_trace_header_glued_to_stack_words(tmp_path: Path) -> None:
    """Before 4.10, x86 printed "Call Trace:" as a continuation of the raw stack words: the
    header may end a line of hex words and still opens the stack."""
    kasan = (
        "BUG: KASAN: use-after-free in __list_del_entry+0x196/0x1d0\n"
        + P + "Read of size 8 at addr ffff8801ce6e8e10 by task kworker/1:2/2403\n"
    )
    gpf = "general protection fault: 0000 [#1] SMP KASAN\n" + P + "RIP: 0010:memset+0x10/0x20\n"
    logs: dict[str, str] = {}
    for kind, head in (("kasan", kasan), ("gpf", gpf)):
        for glue in ("ffff8801ce6e8e10 0000000000000008 0000000000000000Call Trace:",
                     "0000000000000000 Call Trace:", "some words Call trace:", "Call Trace:"):
            for caller in ("binder_release_work", "zz_caller"):
                body = [
                    "CPU: 1 PID: 2403 Comm: kworker/1:2 Not tainted 4.9.86 #50",
                    " " + glue,
                    " [<ffffffff81d956f9>] dump_stack+0xc1/0x128",
                    " [<ffffffff81dfd0b6>] __list_del_entry+0x196/0x1d0",
                    f" [<ffffffff82d64cbc>] {caller}+0x8c/0x260",
                    " [<ffffffff811898a0>] process_one_work+0x7e0/0x1610",
                ]
                logs[f"{kind}/{glue}/{caller}"] = P + head + "".join(P + b + "\n" for b in body)
    wrong = _compare(logs, tmp_path, alts=True)
    assert not wrong, "\n".join(wrong)


def test_oom_killer_line_inside_a_stack(tmp_path: Path) -> None:
    """An "X invoked oom-killer" line printed into a call trace by another task does not end
    it."""
    logs: dict[str, str] = {}
    for where in range(4):
        frames = ["memset", "zz_first", "zz_second", "wb_workfn"]
        items = ["RIP: 0010:memcpy+0x12/0x20", "Call Trace:", *frames]
        body = [*_HEADS["gpf"], "CPU: 0 PID: 1 Comm: syz-executor0 Not tainted 4.15.0+ #1"]
        lines = _stack_lines(items)
        lines.insert(len(lines) - 4 + where,
                     "syz-executor1 invoked oom-killer: gfp_mask=0x6202c2(GFP_HIGHUSER|"
                     "__GFP_NOWARN), nodemask=(null), order=0, oom_score_adj=1000")
        body += lines + _stack_lines(["process_one_work", "worker_thread", "kthread"])
        logs[f"at {where}"] = "".join(P + line + "\n" for line in body)
    wrong = _compare(logs, tmp_path)
    assert not wrong, "\n".join(wrong)


def test_hex_runs_in_function_names(tmp_path: Path) -> None:
    """Canonical titles replace a run of 6+ lowercase hex digits after a non-alphanumeric
    character, wherever the run ends (``show_feedback_ctrs`` -> ``show_ADDRk_ctrs``)."""
    names = ["show_feedback_ctrs", "foo_deadbeefx", "foo_DEADBEEF", "foo_DeadBeef1", "foo_abcdefg",
             "_deadbeefx1", "foo_0xabcdefz", "foo_decade_bar", "add_bad_cafe", "foo_12345",
             "foo_123456", "fee1dead_x", "ab123456cd", "x_facade", "beaded_x"]
    logs = {n: _injection_log(_HEADS["gpf"], [f"RIP: 0010:{n}+0x10/0x20", "Call Trace:",
                                               "zz_a"]) for n in names}
    wrong = _compare(logs, tmp_path, alts=True)
    assert not wrong, "\n".join(wrong)


# -- report kinds with classes of their own ------------------------------------------------------

_USB_WARNING = "".join(PT + line + "\n" for line in (
    "usb 1-1: BOGUS urb xfer, pipe 1 != type 3",
    "WARNING: CPU: 1 PID: 1535 at drivers/usb/core/urb.c:477 usb_submit_urb+0x1188/0x13b0",
    "Modules linked in:",
    "CPU: 1 PID: 1535 Comm: kworker/1:2 Not tainted 5.2.0-rc1+ #9",
    "RIP: 0010:usb_submit_urb+0x1188/0x13b0",
    "RSP: 0018:ffffc90000000000 EFLAGS: 00010246",
    "Call Trace:",
    " {name}+0xca/0x13e",
    " zz_driver_write+0xca/0x13e",
    " hub_event+0xca/0x13e",
    " process_one_work+0xca/0x13e",
))
_KMSAN = "".join(PT + line + "\n" for line in (
    "BUG: KMSAN: uninit-value in {name}+0x10/0x20",
    " {name}+0x10/0x20",
    " zz_driver_crypt+0x10/0x20",
    " do_syscall_64+0x3d/0xb0",
    "",
    "Uninit was created at:",
    " __kmalloc+0x1/0x2",
    " zz_alloc_site+0x1/0x2",
    "",
    "CPU: 0 PID: 1000 Comm: syz-executor.0 Not tainted 6.1.0-syzkaller #0",
))
_GPF_TOP = "".join(PT + line + "\n" for line in (
    "general protection fault: 0000 [#1] SMP KASAN",
    "CPU: 0 PID: 1713 Comm: syz-executor493 Not tainted 5.4.0-rc6-syzkaller #0",
    "RIP: 0010:{name}+0x2c/0x60",
    "RSP: 0018:ffff8881d3a0fc30 EFLAGS: 00010202",
    "Call Trace:",
    " debug_object_assert_init+0x1f9/0x2f0",
    " del_timer+0x6d/0x100",
    " zz_close_device+0xd2/0x1a0",
    " __fput+0x2d7/0x840",
))


def _members(pieces: Iterable[str]) -> list[str]:
    out: list[str] = []
    for p in pieces:
        out += [p, "__" + p, "drv_" + p, p + "_x", p + "x"]
    return out


def test_kind_classes_agree_with_syzkaller(tmp_path: Path) -> None:
    """Synchronous USB transfers in usb_submit_urb's warning, the consumers of other code's
    bytes in KMSAN reports (ciphers, hwrng core, skb allocation, netlink acks), and the
    timer/work debugobjects callbacks: members of each class (names generated from its
    pieces, and look-alikes outside it) get syzparse's title."""
    usb = [
        *_members(["usb_start_wait_urb", "usb_bulk_msg", "usb_interrupt_msg"]),
        "foo_start_wait_urb", "usb_sg_wait", "usb_control_msg_send", "usb_get_descriptor",
    ]
    kmsan = [
        *_members(["aes_encrypt", "xts_encrypt", "foo_encrypt", "_encrypt", "alloc_skb",
                   "netlink_ack", "netlink_rcv_skb", "rng_", "cipher_"]),
        "aes_decrypt", "fooencrypt", "encrypt", "crypto_cipher_encrypt_one", "sha256_update",
        "rng_dev_read", "hwrng_fillfn", "foo_crypt_one", "netlink_unicast",
    ]
    dobj = [
        *_members(["timer_is_static_object", "work_is_static_object"]),
        "rcuhead_is_static_object", "timer_is_static", "timer_fixup_activate", "timer_foo",
    ]
    logs = {f"usb/{n}": _USB_WARNING.replace("{name}", n) for n in usb}
    logs |= {f"kmsan/{n}": _KMSAN.replace("{name}", n) for n in kmsan}
    logs |= {f"dobj/{n}": _GPF_TOP.replace("{name}", n) for n in dobj}
    wrong = _compare(logs, tmp_path, alts=True)
    assert not wrong, "\n".join(wrong)


def test_cut_reports_agree_with_syzkaller(tmp_path: Path) -> None:
    """Reports cut short: a WARNING whose call trace another crash interrupted, a KASAN report
    without its access line, a bad page without page_owner's allocation stack."""
    cpu = P + "CPU: 1 PID: 18244 Comm: syz-executor5 Not tainted 4.15.0-rc4+ #231\n"
    gpf = (P + "general protection fault: 0000 [#1] SMP KASAN\n" + P
           + "RIP: 0010:native_write_cr4+0x4/0x10\n" + P + "Call Trace:\n" + P
           + " zz_other+0x1/0x2\n")
    logs = {
        "warning cut after its trace header": (
            P + "WARNING: CPU: 1 PID: 18244 at arch/x86/foo.c:340 __switch_to+0x10bd/0x13c0\n"
            + cpu + P + "Call Trace:\n" + gpf
        ),
        "warning cut before its trace": (
            P + "WARNING: CPU: 1 PID: 18244 at arch/x86/foo.c:340 zz_warned+0x10bd/0x13c0\n"
            + cpu + gpf
        ),
    }
    for func in ("rds_cong_queue_updates", "memcpy", "__list_del_entry"):
        logs[f"kasan without access line in {func}"] = (
            P + f"BUG: KASAN: slab-out-of-bounds in {func}+0x4d3/0x4f0\n" + cpu + P
            + "Call Trace:\n" + P + " dump_stack+0x1/0x2\n" + P + f" {func}+0x1/0x2\n" + P
            + " zz_caller+0x1/0x2\n"
        )
    for trace in ("Call Trace:", "Call trace:"):
        logs[f"bad page, {trace}"] = "".join(P + line + "\n" for line in (
            "BUG: Bad page state in process syz-executor.0  pfn:1b317b",
            "page:00000000b430fc6f refcount:0 mapcount:0 mapping:0000000000000000 index:0x0",
            "page dumped because: PAGE_FLAGS_CHECK_AT_FREE flag(s) set",
            "Modules linked in:",
            "CPU: 0 PID: 6018 Comm: syz-executor.0 Not tainted 6.5.0-rc5-syzkaller #0",
            trace, " dump_stack+0x1c/0x28", " bad_page+0x1a4/0x1c4",
            " free_unref_page+0x80/0x3dc", " hash_sendmsg+0x480/0xe84",
            " __sys_sendmmsg+0x318/0x7d8",
        ))
    logs["syzfatal"] = "SYZFATAL: executor 3 failed 11 times: failed to create temp dir\n"
    wrong = _compare(logs, tmp_path, alts=True)
    assert not wrong, "\n".join(wrong)


def test_frames_without_a_usable_offset(tmp_path: Path) -> None:
    """decode_stacktrace.sh replaces "+0x.." by the source location: a name that keeps its
    compiler suffix (".cold", ".isra.0") is still a frame; a bare "name (file:line)" is not.
    A console that garbled the offset ("xas_create+0x ra : ...") leaves a frame too."""
    forms = ["{f}.cold (fs/bcachefs/recovery.c:46", "{f}.isra.0 (fs/x.c:46)", "{f}.constprop.0",
             "{f}.cold", "{f} (fs/x.c:1)", "? {f}.cold (fs/x.c:1)", "{f}.part.0 [inline]",
             "{f}+0x ra : xas_store+0xepc :4c054f91", "{f}+ ", "{f}+abc", "{f}.cold+0xz"]
    logs: dict[str, str] = {}
    for form in forms:
        for func in ("journal_keys_sort", "memcpy", "zz_caller"):
            items = ["RIP: 0010:memset+0x10/0x20", "Call Trace:"]
            body = [*_HEADS["gpf"], "CPU: 0 PID: 1 Comm: syz-executor0 Not tainted 5.13.7 #22"]
            body += [*_stack_lines(items), " " + form.format(f=func), " zz_sentinel+0x1/0x2"]
            logs[form.format(f=func)] = "".join(P + line + "\n" for line in body)
    wrong = _compare(logs, tmp_path, alts=True)
    assert not wrong, "\n".join(wrong)


_WAIT_CONTEXT = """\
=============================
[ BUG: Invalid wait context ]
5.10.2 #14 Not tainted
-----------------------------
udevd/95 is trying to lock:
81e70810 (&n->list_lock){{..-.}}-{{3:3}}, at: {func}+0x2a8/0x558 mm/slub.c:2244
other info that might help us debug this:
context-{{2:2}}
2 locks held by udevd/95:
 #0: 81dd4d20 (&mm->mmap_lock){{++++}}-{{4:4}}, at: __might_fault+0x98/0xf8 mm/memory.c:5018
stack backtrace:
CPU: 0 PID: 95 Comm: udevd Not tainted 5.10.2 #14
Hardware name: ARM-Versatile Express
Backtrace:
[<80de0078>] (dump_backtrace) from [<80de0574>] (show_stack+0x28/0x2c)
[<80de054c>] (show_stack) from [<80de7c10>] (dump_stack+0x154/0x1a8)
[<80de7abc>] (dump_stack) from [<801bba34>] (__lock_acquire+0x840/0x30e0)
[<801bec94>] (lock_acquire.part.0) from [<801bf1b0>] (lock_acquire+0x68/0x74)
[<801bf1b0>] (lock_acquire) from [<80d0e4a8>] (_raw_spin_lock+0x3c/0x4c)
[<80d0e4a8>] (_raw_spin_lock) from [<803981dc>] ({func}+0x2a8/0x558)
"""


def test_lockdep_banner_in_brackets_opens_a_pasted_report(tmp_path: Path) -> None:
    """Lockdep's banner in brackets ("[ BUG: Invalid wait context ]", as 4.x and older
    printed it) starts a kernel line even in a paste with no timestamps."""
    logs = {f: _WAIT_CONTEXT.format(func=f) for f in ("deactivate_slab", "zz_locker")}
    wrong = _compare(logs, tmp_path, alts=True, arch="arm")
    assert not wrong, "\n".join(wrong)
    assert all(_kmend(log)[0] for log in logs.values())


_LOCKDEP_WARNING = "".join(PT + line + "\n" for line in (
    "WARNING: CPU: 0 PID: 17530 at kernel/locking/lockdep.c:735 look_up_lock_class+0x179/0x260",
    "CPU: 0 PID: 17530 Comm: syz-executor.2 Not tainted 5.3.0-rc3 #0",
    "Call Trace:",
    " dump_stack+0x1/0x2",
    " __warn+0x1/0x2",
    " report_bug+0x1/0x2",
    " do_invalid_op+0x1/0x2",
    " invalid_op+0x1/0x2",
    "RIP: 0010:look_up_lock_class+0x179/0x260",
    "RSP: 0018:ffff888000000000 EFLAGS: 00010246",
    " register_lock_class+0x1/0x2",
    " __lock_acquire+0x1/0x2",
    " lock_acquire+0x1/0x2",
    " {name}+0x1/0x2",
    " zz_lock_user+0x1/0x2",
    " do_syscall_64+0x1/0x2",
))


def test_lockdep_warning_blames_past_lockdep_only(tmp_path: Path) -> None:
    """A WARNING raised inside lockdep skips lockdep's own functions (lockdep*, mark_lock and
    the global locking class), not every check_*/validate_*/lock_* name: those are the
    caller's as often as lockdep's.  With and without the register dump."""
    names = ["check_preemption_disabled", "check_foo", "check_noncircular", "validate_chain",
             "lock_foo", "__lock_foo", "lockdep_foo", "mark_lock", "mark_lock_irq",
             "lock_sock_nested", "_raw_spin_lock", "zz_check_x", "debug_lockdep_rcu_enabled"]
    logs = {f"regs/{n}": _LOCKDEP_WARNING.replace("{name}", n) for n in names}
    no_regs = "".join(ln for ln in _LOCKDEP_WARNING.splitlines(keepends=True)
                      if "RIP:" not in ln and "RSP:" not in ln)
    logs |= {f"no-regs/{n}": no_regs.replace("{name}", n) for n in names}
    wrong = _compare(logs, tmp_path, alts=True)
    assert not wrong, "\n".join(wrong)


_KIND_TAIL = (
    "CPU: 0 PID: 1000 Comm: syz-executor.0 Not tainted 6.1.0-syzkaller #0",
    "RIP: 0010:{rip}+0x10/0x20",
    "RSP: 0018:ffffc90000000000 EFLAGS: 00010246",
    "Call Trace:",
    " <TASK>",
    " dump_stack_lvl+0x1/0x2",
    " {name}+0x10/0x20",
    " zz_sentinel_caller+0x10/0x20",
    " do_syscall_64+0x3d/0xb0",
    " </TASK>",
)
#: kind -> (header lines, the faulting function, the pieces of the kind's own class)
_KIND_CLASSES: dict[str, tuple[tuple[str, ...], str, tuple[str, ...]]] = {
    "usercopy-bug": (("usercopy: Kernel memory exposure attempt detected from SLUB object!",
                      "kernel BUG at mm/usercopy.c:101!",
                      "invalid opcode: 0000 [#1] PREEMPT SMP KASAN"),
                     "usercopy_abort", ("check_", "usercopy", "__check")),
    "usercopy-warn": (("WARNING: CPU: 0 PID: 1000 at mm/usercopy.c:78 usercopy_warn+0x1/0x2",),
                      "usercopy_warn", ("check_", "usercopy", "__check")),
    "list": (("list_del corruption. prev->next should be ffff888000000000",
              "kernel BUG at lib/list_debug.c:53!", "invalid opcode: 0000 [#1] PREEMPT SMP KASAN"),
             "__list_del_entry_valid", ("list_debug", "__list")),
    "kernel-bug": (("kernel BUG at net/core/skbuff.c:110!",
                    "invalid opcode: 0000 [#1] PREEMPT SMP KASAN"), "skb_panic", ("skb_",)),
    "kobject": (("WARNING: CPU: 0 PID: 1000 at lib/kobject.c:100 kobject_add_internal+0x1/0x2",),
                "kobject_add_internal", ("kobject_", "kobj")),
    "proc": (("WARNING: CPU: 0 PID: 1000 at fs/proc/generic.c:100 proc_register+0x1/0x2",),
             "proc_register", ("proc_",)),
    "refcount": (("refcount_t: underflow; use-after-free.",
                  "WARNING: CPU: 0 PID: 1000 at lib/refcount.c:28 refcount_warn_saturate+0x1/0x2"),
                 "refcount_warn_saturate", ("refcount", "kref_")),
    "kmalloc": (("WARNING: CPU: 0 PID: 1000 at mm/slab_common.c:100 kmalloc_slab+0x1/0x2",),
                "kmalloc_slab", ("kmalloc", "krealloc", "kvmalloc", "kzalloc")),
    "odebug": (("ODEBUG: free active (active state 0) object: ffff888012345678 object type: "
                "timer_list hint: foo_fn+0x0/0x10",
                "WARNING: CPU: 0 PID: 1000 at lib/debugobjects.c:505 debug_print_object+0x1/0x2"),
               "debug_print_object", ("debug_", "__debug_", "free_obj_work")),
    "using": (("BUG: using smp_processor_id() in preemptible [00000000] code: syz-executor.0/1000",
               "caller is debug_smp_processor_id+0x1/0x2"),
              "memset", ("this_cpu", "_this_cpu", "debug_smp_processor_id")),
    "workqueue": (("BUG: workqueue leaked lock or atomic: kworker/0:1/0x00000000/5",
                   "     last function: zz_fn"), "memset", ("process_one_work", "worker_thread")),
    "ubsan": (("UBSAN: array-index-out-of-bounds in fs/foo.c:10:5",
               "index 5 is out of range for type 'int [4]'"), "memset", ("ubsan", "overflow")),
    "invalid-free": (("BUG: KASAN: double-free or invalid-free in kfree+0x10/0x20",),
                     "memset", ("kfree", "vfree", "vunmap", "__free_pages")),
    "stack-protector": (("Kernel panic - not syncing: stack-protector: Kernel stack is corrupted "
                         "in: zz_victim+0x1/0x2",), "memset", ("__stack_chk_fail",)),
}


def test_report_kind_skips_agree_with_syzkaller(
    tmp_path: Path, figure: Callable[[str], None]
) -> None:
    """Each kind of report skips its own machinery (usercopy checks, proc registration,
    this_cpu helpers...) and nothing more: names built from those pieces in every position
    (prefix, suffix, inside another name) get syzparse's title."""
    logs: dict[str, str] = {}
    for kind, (head, rip, pieces) in _KIND_CLASSES.items():
        for piece in pieces:
            for name in (piece + "x", piece + "_y", "drv_" + piece + "z", "__" + piece + "w",
                         "zz" + piece):
                body = [*head, *_KIND_TAIL]
                logs[f"{kind}/{name}"] = "".join(
                    PT + line.replace("{rip}", rip).replace("{name}", name) + "\n" for line in body
                )
    wrong = _compare(logs, tmp_path)
    figure(f"report-kind classes vs syzkaller ({len(logs)} names): "
           f"{1 - len(wrong) / len(logs):.1%}")
    assert not wrong, "\n".join(wrong)


def test_segment_related_gpf_in_a_paste(tmp_path: Path) -> None:
    """x86 prefixes a bad-segment fault with "segment-related": still a kernel line when the
    paste has no timestamps."""
    body = (
        "segment-related general protection fault: beec [#2] PREEMPT SMP KASAN PTI\n"
        "CPU: 0 PID: 1858 Comm: ioctl Tainted: G      D           5.4.0-rc7+ #567\n"
        "RIP: 0010:{rip}+0x1b/0x60\n"
        "RSP: 0018:ffff8880af777cf8 EFLAGS: 00010246\n"
        "Call Trace:\n"
        " do_vfs_ioctl+0x48e/0x1040\n"
        " ksys_ioctl+0x9b/0xc0\n"
    )
    logs = {rip: body.replace("{rip}", rip)
            for rip in ("deliberately_dereference_bad_address", "memcpy")}
    wrong = _compare(logs, tmp_path, alts=True)
    assert not wrong, "\n".join(wrong)
    assert all(_kmend(log)[0] for log in logs.values())


_IRQ_HEADS = {
    "kasan": ["BUG: KASAN: slab-out-of-bounds in memcpy+0x10/0x20",
              "Read of size 8 at addr ffff888012345678 by task syz-executor.0/1000"],
    "odebug": _HEADS["odebug"],
    "warning": ["WARNING: CPU: 0 PID: 1000 at kernel/foo.c:10 {rip}+0x1/0x2"],
    "gpf": ["general protection fault: 0000 [#1] SMP KASAN",
            "RIP: 0010:{rip}+0x1/0x2",
            "RSP: 0018:ffffc90000000000 EFLAGS: 00000246"],
}


def test_register_dump_inside_a_trace(tmp_path: Path) -> None:
    """A trace that passes through an interrupt prints the interrupted task's registers in
    the middle ("RIP: 0010:f" after "<TASK> asm_sysvec_..."): that line is not one of the
    trace's frames; a WARNING reads its own PC line and what follows it before the trace."""
    names = ["zz_func", "memcpy", "debug_object_free", "_raw_spin_lock"]
    logs: dict[str, str] = {}
    for kind, head in _IRQ_HEADS.items():
        for irq in names:
            for rip in names:
                for after in ("zz_after", "mutex_lock"):
                    body = [*(h.replace("{rip}", rip) for h in head),
                            "CPU: 0 PID: 1000 Comm: syz-executor.0 Not tainted 6.1.0 #0",
                            "Call Trace:", " <IRQ>", " dump_stack_lvl+0x1/0x2",
                            f" {irq}+0x1/0x2", " </IRQ>", " <TASK>",
                            " asm_sysvec_apic_timer_interrupt+0x1/0x2",
                            f"RIP: 0010:{rip}+0x1/0x2",
                            "RSP: 0018:ffffc90000000000 EFLAGS: 00000246",
                            f" {after}+0x1/0x2", " zz_caller+0x1/0x2", " do_syscall_64+0x1/0x2",
                            " </TASK>"]
                    logs[f"{kind}/{irq}/{rip}/{after}"] = "".join(PT + b + "\n" for b in body)
    wrong = _compare(logs, tmp_path, alts=True)
    assert not wrong, "\n".join(wrong)


def test_stall_dispatchers_by_form(tmp_path: Path) -> None:
    """Which syscall and socket forms dispatch (accept and setsockopt themselves, not accept4
    or a *x variant; listen; the kernel_* forms; compat_ioctl and vfs_ioctl anywhere in a
    name), and a frame of a skipped class never counts as a dispatcher (a lock helper named
    do_mmap_read_unlock, a tracepoint named after task_work_run)."""
    names = [
        "accept", "accept_x", "sys_accept", "sys_accept4", "__sys_accept4", "__do_sys_accept4",
        "sys_acceptx", "kernel_accept4", "setsockopt", "setsockopt_x", "sys_setsockoptx",
        "kernel_setsockopt", "kernel_setsockoptx", "listen", "listenx", "sys_listen",
        "__sys_listen", "ksys_listen", "__se_sys_listen", "SyS_listen", "__x64_sys_listen",
        "kernel_listen", "inet_listen", "compat_ioctl_preallocate", "compat_ioctl_x",
        "vfs_ioctl", "vfs_ioctl_x", "x_vfs_ioctl", "connect_x", "ioctl_x", "do_mmap",
        "do_mmap_x", "do_mmap_read_unlock", "hrtimer_run_queues", "x_hrtimer_run_queues",
        "task_work_run", "perf_trace_task_work_run", "sk_common_release", "x_sk_common_release",
        "sock_release_x",
    ]
    logs: dict[str, str] = {}
    for name in names:
        items = ["Call Trace:", "<IRQ>", *_IRQ, "</IRQ>", "<TASK>", _ENTRY,
                 "RIP: 0010:zz_loop_top+0x10/0x20", name, "zz_loop_below", "__x64_sys_zzcall",
                 *_TAIL]
        logs[name] = "".join(PT + line + "\n" for line in _RCU_HEAD + _stack_lines(items))
    wrong = _compare(logs, tmp_path, alts=True)
    assert not wrong, "\n".join(wrong)


_HUNG = [
    "INFO: task syz-executor.0:5000 blocked for more than 143 seconds.",
    "      Not tainted 6.1.0-syzkaller #0",
    "task:syz-executor.0  state:D stack:26000 pid:5000  ppid:4000   flags:0x00004004",
    "Call Trace:", " <TASK>", " __schedule+0x1/0x2", " schedule+0x1/0x2", " {name}+0x1/0x2",
    " zz_hung_caller+0x1/0x2", " __x64_sys_zzcall+0x1/0x2", " do_syscall_64+0x1/0x2",
    " </TASK>",
]


def test_hung_task_names(tmp_path: Path) -> None:
    """A task hung waiting for RTNL is named by the frame that waits (rtnl_lock,
    rtnl_lock_killable, a sysfs_rtnl_lock wrapper) as printed, unless that frame is of a
    skipped class; functions that merely have "sleep" in their name are ordinary.  The
    in-kernel sleep helpers are where kmend deliberately differs: a task put to sleep by
    msleep() hangs in msleep's caller."""
    names = ["rtnl_lock", "rtnl_lock_killable", "rtnl_lock_interruptible", "sysfs_rtnl_lock",
             "x_rtnl_lock_y", "rtnl_unlock", "rtnl_trylock", "refcount_dec_and_rtnl_lock",
             "sleep_millisecs_store", "tick_nohz_get_sleep_length", "kcompactd_sleep",
             "foo_sleep_bar", "do_nanosleep", "__x64_sys_nanosleep", "zz_waiter"]
    logs = {n: "".join(PT + line.replace("{name}", n) + "\n" for line in _HUNG) for n in names}
    wrong = _compare(logs, tmp_path, alts=True)
    assert not wrong, "\n".join(wrong)
    for helper in ("msleep", "msleep_interruptible", "usleep_range_state", "ssleep", "fsleep"):
        log = "".join(PT + line.replace("{name}", helper) + "\n" for line in _HUNG)
        assert _kmend(log)[0] == "INFO: task hung in zz_hung_caller"
