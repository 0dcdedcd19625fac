"""The guilty file and line (``CrashReport.location``) from symbolized frames and headers.

Expected files come from syzkaller's guilty-file corpus (../shared/corpus, its own test data)
and from the kernel's own message formats written out below."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from kmend.logs import parse_text
from kmend.oops import parse_reports
from kmend.oops.location import guilty_location, is_generic, normalize_path
from kmend.oops.model import Location

GUILTY_FLOOR = 0.90


def _first(log: str) -> object:
    reports = list(parse_reports(parse_text(log, source="t")))
    assert reports, "no crash found"
    return reports[0]


def test_guilty_corpus(corpus_dir: Path, figure: Callable[[str], None]) -> None:
    cases = [
        json.loads(line)
        for line in (corpus_dir / "syzkaller-linux-guilty.jsonl").read_text().splitlines()
    ]
    ok = 0
    misses: list[str] = []
    for case in cases:
        if case["kind"] == "raw":
            loc = guilty_location(case["log"].splitlines(), case["title"])
        else:
            reports = list(parse_reports(parse_text(case["log"], source="guilty")))
            loc = reports[0].location if reports else None
        got = loc.file if loc else ""
        if got == case["file"]:
            ok += 1
        else:
            misses.append(f"{case['id']}: want {case['file']!r} got {got!r}")
    rate = ok / len(cases)
    print(f"\nguilty file: {ok}/{len(cases)} = {rate:.1%}")
    for miss in misses:
        print("  miss", miss)
    figure(f"guilty file ({len(cases)} cases): {rate:.1%}")
    assert rate >= GUILTY_FLOOR


_GPF = """\
general protection fault, probably for non-canonical address 0xdffffc0000000001: 0000 [#1] PREEMPT SMP KASAN
CPU: 1 PID: 4321 Comm: repro Not tainted 6.1.0 #1
RIP: 0010:{rip}
Code: 48 89 df e8 00 00 00 00 <0f> 0b
RSP: 0018:ffffc90001234567 EFLAGS: 00010246
Call Trace:
 <TASK>
{frames}
 do_syscall_64+0x35/0x80 arch/x86/entry/common.c:80
 entry_SYSCALL_64_after_hwframe+0x63/0xcd
 </TASK>
Modules linked in: foo
"""


def test_symbolized_forms_name_the_first_non_generic_file() -> None:
    # decode_stacktrace.sh's "func+off/size file:line", "[module]" before the position,
    # an inlined frame line, and the header-less RIP: the answer skips mm/slub.c and the
    # header file and lands on the driver.
    rep = _first(
        _GPF.format(
            rip="kfree+0x7b/0x390 mm/slub.c:3491",
            frames="\n".join(
                [
                    " ? foo_unreliable+0x10/0x20 drivers/misc/unreliable.c:5",
                    " kfree+0x7b/0x390 mm/slub.c:3491",
                    " list_del include/linux/list.h:148 [inline]",
                    " foo_release+0x3c/0x90 [foo] drivers/misc/foo/foo_main.c:212",
                    " __fput+0x1f3/0x8e0 fs/file_table.c:320",
                ]
            ),
        )
    )
    assert rep.location == Location("drivers/misc/foo/foo_main.c", 212)  # type: ignore[attr-defined]


def test_parenthesised_positions_of_newer_decode_stacktrace() -> None:
    rep = _first(
        _GPF.format(
            rip="foo_ioctl (drivers/misc/foo.c:88)",
            frames=" foo_ioctl (drivers/misc/foo.c:88)\n __x64_sys_ioctl (fs/ioctl.c:870)",
        )
    )
    assert rep.location == Location("drivers/misc/foo.c", 88)  # type: ignore[attr-defined]


def test_unsymbolized_report_keeps_the_header_position() -> None:
    log = (
        "kernel BUG at drivers/xen/evtchn.c:264!\n"
        "invalid opcode: 0000 [#1] SMP\n"
        "CPU: 0 PID: 3407 Comm: xenstored Not tainted 3.10.20-11.el6.centos.alt.x86_64 #1\n"
        "RIP: e030:[<ffffffffa0218c3e>]  [<ffffffffa0218c3e>] evtchn_bind_to_user+0x9e/0xa0 [xen_evtchn]\n"
        "Call Trace:\n"
        " [<ffffffffa0218e16>] evtchn_ioctl+0x1d6/0x2b0 [xen_evtchn]\n"
        " [<ffffffff811a2b6d>] do_vfs_ioctl+0x8d/0x4f0\n"
    )
    rep = _first(log)
    assert rep.location == Location("drivers/xen/evtchn.c", 264)  # type: ignore[attr-defined]


def test_every_position_generic_falls_back_to_the_first() -> None:
    lines = [
        "WARNING: CPU: 0 PID: 1 at kernel/locking/lockdep.c:3344 __lock_acquire+0x1/0x2",
        " lock_acquire+0x1/0x2 kernel/locking/lockdep.c:5000",
        " _raw_spin_lock+0x1/0x2 include/linux/spinlock.h:354",
    ]
    assert guilty_location(lines) == Location("kernel/locking/lockdep.c", 3344)


def test_deeper_directory_refines_and_bookkeeping_is_ignored() -> None:
    lines = [
        "BUG: KASAN: use-after-free in l2cap_chan_close+0x1/0x2 net/bluetooth/l2cap_core.c:800",
        "  #0: ffff8880 (&conn->lock), at: hidp_session+0x1/0x2 net/bluetooth/hidp/core.c:1",
        " l2cap_chan_close+0x1/0x2 net/bluetooth/l2cap_core.c:800",
        " hidp_session_dev_del+0x1/0x2 net/bluetooth/hidp/core.c:1203",
    ]
    assert guilty_location(lines) == Location("net/bluetooth/hidp/core.c", 1203)


def test_rcu_stall_scan_starts_at_the_timer_interrupt() -> None:
    lines = [
        "INFO: rcu_preempt self-detected stall on CPU",
        " rcu_dump_cpu_stacks+0x1/0x2 drivers/block/loop.c:1",  # before the interrupt
        " apic_timer_interrupt+0x1/0x2 arch/x86/entry/entry_64.S:1",
        " foo_spin+0x1/0x2 drivers/net/foo.c:42",
    ]
    loc = guilty_location(lines, "INFO: rcu detected stall in foo_spin")
    assert loc == Location("drivers/net/foo.c", 42)


def test_paths_are_normalised_and_classified() -> None:
    assert normalize_path("arch/x86/kvm/../../../virt/kvm/eventfd.c") == "virt/kvm/eventfd.c"
    assert normalize_path("./fs/ext4/inode.c") == "fs/ext4/inode.c"
    assert normalize_path("/build/linux-6.1.55/drivers/net/tun.c") == "drivers/net/tun.c"
    assert normalize_path("/usr/src/linux-source-6.1/fs/ext4/inode.c") == "fs/ext4/inode.c"
    dkms = "/var/lib/dkms/crashmod/1.0/build/crashmod.c"
    assert normalize_path(dkms) == dkms and not is_generic(dkms)
    for generic in ("mm/slub.c", "include/linux/list.h", "lib/string.c", "kernel/locking/mutex.c",
                    "kernel/rcu/tree.c", "mm/kasan/report.c", "arch/x86/mm/fault.c"):
        assert is_generic(generic), generic
    for specific in ("drivers/foo/lib/foo.c", "fs/ext4/inode.c", "net/ipv4/tcp.c"):
        assert not is_generic(specific), specific
