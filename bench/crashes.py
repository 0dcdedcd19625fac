"""Kernel crash report texts for the scan benchmark (written for kmend, x86_64 formats).

Each function returns the report's message lines (no container), in the wording of the
kernel era it imitates (the die-line, identity-line and trace wordings of that era).  Addresses, PIDs, CPUs
and registers are drawn from *rng*, so every report is different but deterministic.
"""

from __future__ import annotations

import random

MODULES = (
    "xt_conntrack nf_nat nf_conntrack nf_defrag_ipv6 nf_defrag_ipv4 libcrc32c br_netfilter "
    "bridge stp llc overlay ext4 crc16 mbcache jbd2 intel_rapl_msr intel_rapl_common kvm_intel "
    "kvm irqbypass crct10dif_pclmul ghash_clmulni_intel sha512_ssse3 aesni_intel crypto_simd "
    "cryptd i40e ixgbe mdio dca ptp pps_core sd_mod t10_pi sg ahci libahci libata scsi_mod "
    "dm_mirror dm_region_hash dm_log dm_mod"
)
HW = (
    "Dell Inc. PowerEdge R640/0H28RR, BIOS 2.17.1 08/09/2022",
    "HP ProLiant DL360 Gen10/ProLiant DL360 Gen10, BIOS U32 04/14/2023",
    "Supermicro SYS-1029P-WTR/X11DDW-L, BIOS 3.4 10/27/2021",
    "QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.16.2-debian-1.16.2-1 04/01/2014",
)
RELEASES = ("5.15.0-91-generic #101-Ubuntu", "6.1.0-47-amd64 #1 Debian 6.1.158-1",
            "4.18.0-425.3.1.el8.x86_64 #1", "6.12.117+deb12-amd64 #1 Debian 6.12.117-1")  # fmt: skip
TASKS = ("kworker/3:1", "systemd-udevd", "ip", "containerd", "qemu-kvm", "nginx", "java", "rsync")
FUNCS = (
    ("i40e_clean_tx_irq", "i40e", "drivers/net/ethernet/intel/i40e/i40e_txrx.c"),
    ("ixgbe_service_task", "ixgbe", "drivers/net/ethernet/intel/ixgbe/ixgbe_main.c"),
    ("ext4_da_write_end", None, "fs/ext4/inode.c"),
    ("br_handle_frame_finish", "bridge", "net/bridge/br_input.c"),
    ("ovl_dentry_revalidate", "overlay", "fs/overlayfs/super.c"),
    ("nf_nat_setup_info", "nf_nat", "net/netfilter/nf_nat_core.c"),
    ("jbd2_journal_commit_transaction", "jbd2", "fs/jbd2/commit.c"),
    ("dm_table_event", "dm_mod", "drivers/md/dm-table.c"),
)
CALLERS = (
    "process_one_work", "worker_thread", "kthread", "ret_from_fork", "__x64_sys_ioctl",
    "do_syscall_64", "entry_SYSCALL_64_after_hwframe", "vfs_write", "ksys_write",
    "__netif_receive_skb_core", "net_rx_action", "__do_softirq", "irq_exit_rcu",
    "generic_perform_write", "ext4_buffered_write_iter", "new_sync_write",
)


def _hex(rng: random.Random, digits: int = 16) -> str:
    return f"{rng.getrandbits(digits * 4):0{digits}x}"


def _kaddr(rng: random.Random) -> str:
    return f"ffffffff{rng.getrandbits(32):08x}"


def _off(rng: random.Random) -> str:
    size = rng.randrange(0x80, 0x800)
    return f"+0x{rng.randrange(1, size):x}/0x{size:x}"


def _regs(rng: random.Random) -> list[str]:
    h = lambda: _hex(rng)  # noqa: E731
    return [
        f"RAX: {h()} RBX: {h()} RCX: {h()}",
        f"RDX: {h()} RSI: {h()} RDI: {h()}",
        f"RBP: {h()} R08: {h()} R09: {h()}",
        f"R10: {h()} R11: {h()} R12: {h()}",
        f"R13: {h()} R14: {h()} R15: {h()}",
        f"FS:  {h()}(0000) GS:{h()}(0000) knlGS:0000000000000000",
        "CS:  0010 DS: 0000 ES: 0000 CR0: 0000000080050033",
        f"CR2: {h()} CR3: {h()} CR4: 00000000007706e0",
    ]


def _code(rng: random.Random, trap: str = "0f 0b") -> str:
    before = " ".join(f"{rng.getrandbits(8):02x}" for _ in range(42))
    first, *rest = trap.split()
    after = " ".join(rest + [f"{rng.getrandbits(8):02x}" for _ in range(21 - len(rest))])
    return f"Code: {before} <{first}> {after}"


def _frames(rng: random.Random, n: int, modern: bool) -> list[str]:
    out = []
    for _ in range(n):
        fn = rng.choice(CALLERS) + _off(rng)
        unreliable = rng.random() < 0.15
        if modern:
            out.append(f" {'? ' if unreliable else ''}{fn}")
        else:
            out.append(f"[<{_kaddr(rng)}>] {'? ' if unreliable else ''}{fn}")
    return out


def _ident(rng: random.Random, tainted: str) -> tuple[str, str]:
    cpu = rng.randrange(64)
    pid = rng.randrange(2, 99999)
    comm = rng.choice(TASKS)
    rel = rng.choice(RELEASES)
    taint = f"Tainted: {tainted}" if tainted else "Not tainted"
    return f"CPU: {cpu} PID: {pid} Comm: {comm} {taint} {rel}", f"Hardware name: {rng.choice(HW)}"


def bug_invalid_opcode(rng: random.Random) -> list[str]:
    fn, mod, path = rng.choice(FUNCS)
    cpu_line, hw = _ident(rng, "G           O")
    tag = f" [{mod}]" if mod else ""
    lines = [
        "------------[ cut here ]------------",
        f"kernel BUG at {path}:{rng.randrange(50, 4000)}!",
        f"invalid opcode: 0000 [#{rng.randrange(1, 4)}] SMP NOPTI",
        cpu_line,
        hw,
        f"RIP: 0010:{fn}{_off(rng)}{tag}",
        _code(rng),
        f"RSP: 0018:ffffb1c2{_hex(rng, 8)} EFLAGS: 00010246",
        *_regs(rng),
        "Call Trace:",
        " <TASK>",
        *_frames(rng, rng.randrange(6, 14), modern=True),
        " </TASK>",
        f"Modules linked in: {MODULES}",
        "---[ end trace 0000000000000000 ]---",
    ]
    return lines


def warning(rng: random.Random) -> list[str]:
    fn, mod, path = rng.choice(FUNCS)
    cpu = rng.randrange(64)
    pid = rng.randrange(2, 99999)
    tag = f" [{mod}]" if mod else ""
    cpu_line, hw = _ident(rng, "G        W")
    return [
        "------------[ cut here ]------------",
        f"WARNING: CPU: {cpu} PID: {pid} at {path}:{rng.randrange(50, 4000)} {fn}{_off(rng)}{tag}",
        f"Modules linked in: {MODULES}",
        cpu_line,
        hw,
        "Workqueue: events_unbound flush_to_ldisc",
        f"RIP: 0010:{fn}{_off(rng)}{tag}",
        _code(rng, "0f 0b 48 83"),
        f"RSP: 0018:ffffb1c2{_hex(rng, 8)} EFLAGS: 00010282",
        *_regs(rng),
        "Call Trace:",
        " <TASK>",
        *_frames(rng, rng.randrange(5, 12), modern=True),
        " </TASK>",
        f"---[ end trace {_hex(rng)} ]---",
    ]


def null_deref(rng: random.Random) -> list[str]:
    fn, mod, _ = rng.choice(FUNCS)
    tag = f" [{mod}]" if mod else ""
    cpu_line, hw = _ident(rng, "")
    addr = f"{rng.choice((0, 8, 0x10, 0x28, 0x70)):016x}"
    return [
        f"BUG: kernel NULL pointer dereference, address: {addr}",
        "#PF: supervisor read access in kernel mode",
        "#PF: error_code(0x0000) - not-present page",
        "PGD 0 P4D 0 ",
        "Oops: 0000 [#1] SMP PTI",
        cpu_line,
        hw,
        f"RIP: 0010:{fn}{_off(rng)}{tag}",
        _code(rng, "48 8b 47 08"),
        f"RSP: 0018:ffffb1c2{_hex(rng, 8)} EFLAGS: 00010246",
        *_regs(rng),
        "Call Trace:",
        " <TASK>",
        *_frames(rng, rng.randrange(5, 12), modern=True),
        " </TASK>",
        f"Modules linked in: {MODULES}",
        f"CR2: {addr}",
        "---[ end trace 0000000000000000 ]---",
    ]


def gpf(rng: random.Random) -> list[str]:
    fn, mod, _ = rng.choice(FUNCS)
    tag = f" [{mod}]" if mod else ""
    cpu_line, hw = _ident(rng, "G           OE")
    return [
        "general protection fault, probably for non-canonical address "
        "0xdead000000000122: 0000 [#1] PREEMPT SMP NOPTI",
        cpu_line,
        hw,
        f"RIP: 0010:{fn}{_off(rng)}{tag}",
        _code(rng, "48 89 50 08"),
        f"RSP: 0018:ffffb1c2{_hex(rng, 8)} EFLAGS: 00010286",
        *_regs(rng),
        "Call Trace:",
        " <TASK>",
        *_frames(rng, rng.randrange(5, 12), modern=True),
        " </TASK>",
        f"Modules linked in: {MODULES}",
        "---[ end trace 0000000000000000 ]---",
    ]


def soft_lockup(rng: random.Random) -> list[str]:
    fn, mod, _ = rng.choice(FUNCS)
    tag = f" [{mod}]" if mod else ""
    cpu = rng.randrange(64)
    comm = rng.choice(TASKS)
    cpu_line, hw = _ident(rng, "G             L")
    return [
        f"watchdog: BUG: soft lockup - CPU#{cpu} stuck for {rng.randrange(22, 60)}s! "
        f"[{comm}:{rng.randrange(2, 99999)}]",
        f"Modules linked in: {MODULES}",
        cpu_line,
        hw,
        f"RIP: 0010:{fn}{_off(rng)}{tag}",
        _code(rng, "f3 90"),
        f"RSP: 0018:ffffb1c2{_hex(rng, 8)} EFLAGS: 00000202",
        *_regs(rng),
        "Call Trace:",
        " <TASK>",
        *_frames(rng, rng.randrange(5, 10), modern=True),
        " </TASK>",
    ]


def hung_task(rng: random.Random) -> list[str]:
    comm = rng.choice(("jbd2/sda1-8", "kworker/u64:2", "rsync", "postgres"))
    pid = rng.randrange(2, 99999)
    rel = rng.choice(RELEASES)
    return [
        f"INFO: task {comm}:{pid} blocked for more than 120 seconds.",
        f"      Not tainted {rel}",
        '"echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.',
        f"task:{comm:<15} state:D stack:0     pid:{pid:<5} ppid:2      flags:0x00004000",
        "Call Trace:",
        " <TASK>",
        " __schedule+0x34d/0x9e0",
        " schedule+0x5a/0xd0",
        " io_schedule+0x42/0x70",
        *_frames(rng, rng.randrange(4, 9), modern=True),
        " </TASK>",
    ]


def rcu_stall(rng: random.Random) -> list[str]:
    cpu = rng.randrange(64)
    fn, mod, _ = rng.choice(FUNCS)
    tag = f" [{mod}]" if mod else ""
    cpu_line, hw = _ident(rng, "")
    return [
        "rcu: INFO: rcu_preempt self-detected stall on CPU",
        f"rcu: \t{cpu}-....: (21002 ticks this GP) idle=b34c/1/0x4000000000000000 "
        "softirq=1187/1187 fqs=5250",
        "\t(t=21003 jiffies g=12345 q=987 ncpus=64)",
        cpu_line,
        hw,
        f"RIP: 0010:{fn}{_off(rng)}{tag}",
        _code(rng, "f3 90"),
        f"RSP: 0018:ffffb1c2{_hex(rng, 8)} EFLAGS: 00000246",
        *_regs(rng),
        "Call Trace:",
        " <IRQ>",
        " rcu_dump_cpu_stacks+0xa1/0xe0",
        " rcu_sched_clock_irq+0x5c9/0xe90",
        " update_process_times+0x5d/0x90",
        " </IRQ>",
        " <TASK>",
        *_frames(rng, rng.randrange(4, 9), modern=True),
        " </TASK>",
    ]


def kasan(rng: random.Random) -> list[str]:
    fn, mod, _ = rng.choice(FUNCS)
    tag = f" [{mod}]" if mod else ""
    cpu_line, hw = _ident(rng, "G    B")
    comm = rng.choice(TASKS)
    return [
        "==================================================================",
        f"BUG: KASAN: slab-use-after-free in {fn}{_off(rng)}{tag}",
        f"Read of size 8 at addr ffff8881{_hex(rng, 8)} by task {comm}/{rng.randrange(2, 9999)}",
        "",
        cpu_line,
        hw,
        "Call Trace:",
        " <TASK>",
        " dump_stack_lvl+0x4b/0x70",
        " print_report+0xcf/0x620",
        " kasan_report+0xbf/0xf0",
        *_frames(rng, rng.randrange(4, 9), modern=True),
        " </TASK>",
        "",
        f"Allocated by task {rng.randrange(2, 9999)}:",
        " kasan_save_stack+0x22/0x50",
        " __kmalloc+0x1e1/0x3c0",
        "",
        f"Freed by task {rng.randrange(2, 9999)}:",
        " kasan_save_stack+0x22/0x50",
        " kfree+0xf7/0x270",
        "",
        "==================================================================",
    ]


def old_bug(rng: random.Random) -> list[str]:
    """A 3.10-era report with ``[<address>]`` frames and a ``Stack:`` dump."""
    fn, mod, path = rng.choice(FUNCS)
    tag = f" [{mod}]" if mod else ""
    cpu = rng.randrange(32)
    pid = rng.randrange(2, 99999)
    rip = _kaddr(rng)
    return [
        "------------[ cut here ]------------",
        f"kernel BUG at {path}:{rng.randrange(50, 4000)}!",
        "invalid opcode: 0000 [#1] SMP",
        f"Modules linked in: {MODULES}",
        f"CPU: {cpu} PID: {pid} Comm: {rng.choice(TASKS)} Not tainted "
        "3.10.0-1160.el7.x86_64 #1",
        f"Hardware name: {rng.choice(HW)}",
        f"task: ffff88{_hex(rng, 10)} ti: ffff88{_hex(rng, 10)} task.ti: ffff88{_hex(rng, 10)}",
        f"RIP: 0010:[<{rip}>]  [<{rip}>] {fn}{_off(rng)}{tag}",
        f"RSP: 0018:ffff88{_hex(rng, 10)}  EFLAGS: 00010246",
        *_regs(rng),
        "Stack:",
        *(" ".join(_hex(rng) for _ in range(4)) for _ in range(3)),
        "Call Trace:",
        *_frames(rng, rng.randrange(5, 10), modern=False),
        _code(rng),
        f"RIP  [<{rip}>] {fn}{_off(rng)}{tag}",
        f" RSP <ffff88{_hex(rng, 10)}>",
        f"---[ end trace {_hex(rng)} ]---",
        "Kernel panic - not syncing: Fatal exception",
    ]


KINDS = (bug_invalid_opcode, warning, null_deref, gpf, soft_lockup, hung_task, rcu_stall,
         kasan, old_bug)  # fmt: skip
