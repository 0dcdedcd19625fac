"""The classes of functions a title never blames (kmend.oops.skip), against syzkaller's own
parser run as a black box (../shared/tools/syzparse).

Two measures, both on inputs generated here rather than on the corpus the rules were read from:

* every function of a real kernel (``/proc/kallsyms``, sampled) and generated members of each
  class (``__x``, ``drv_x``, ``x_nested``: the same class, names not seen) are put on top of
  a general-protection-fault stack; syzparse's title says whether it skipped them;
* corpus reports (the dev part) get one extra frame inserted right above the frame their
  title blames — a member of a class or an ordinary function — and kmend's title must equal
  syzparse's for the modified log.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from pathlib import Path

from conftest import need, shared_dir
from kmend import proc
from kmend.logs import parse_text
from kmend.oops import parse_reports
from kmend.oops.skip import CLASSES, is_skipped

SENTINEL = "zz_blamed_caller"
NAMES_FLOOR = 0.99
VARIATION_FLOOR = 0.97

_GPF = """\
[   10.000000][ T1000] general protection fault, probably for non-canonical address 0xdffffc0000000000: 0000 [#1] PREEMPT SMP KASAN
[   10.000000][ T1000] CPU: 0 PID: 1000 Comm: syz-executor.0 Not tainted 6.1.0-syzkaller #0
[   10.000000][ T1000] RIP: 0010:memset+0x10/0x20
[   10.000000][ T1000] Code: 00 00 00 00
[   10.000000][ T1000] RSP: 0018:ffffc90000000000 EFLAGS: 00010246
[   10.000000][ T1000] Call Trace:
[   10.000000][ T1000]  <TASK>
[   10.000000][ T1000]  {name}+0x10/0x20
[   10.000000][ T1000]  {sentinel}+0x10/0x20
[   10.000000][ T1000]  do_syscall_64+0x3d/0xb0
[   10.000000][ T1000]  entry_SYSCALL_64_after_hwframe+0x63/0xcd
[   10.000000][ T1000]  </TASK>
"""


def _syzparse() -> Path:
    exe = shared_dir() / "tools" / "syzparse"
    need(exe.is_file(), f"{exe} not found (syzkaller's parser, the oracle)")
    return exe


def _syz_titles(exe: Path, logs: list[str], workdir: Path) -> list[str]:
    """syzparse's first title for each log."""
    paths = []
    for i, log in enumerate(logs):
        path = workdir / f"{i}.log"
        path.write_text(log)
        paths.append(path)
    first: dict[str, str] = {}
    for k in range(0, len(paths), 300):
        res = proc.run([exe, *paths[k : k + 300]], timeout=300)
        for line in res.stdout.splitlines():
            rec = json.loads(line)
            first.setdefault(rec["file"], rec["title"])
    return [first[str(p)] for p in paths]


def _kernel_functions(limit: int) -> list[str]:
    try:
        text = Path("/proc/kallsyms").read_text()
    except OSError:
        return []
    names = sorted(
        {
            parts[2]
            for parts in (line.split() for line in text.splitlines())
            if len(parts) >= 3 and parts[1] in "tT" and re.fullmatch(r"[A-Za-z_]\w*", parts[2])
            and not parts[2].startswith(("__pfx_", "__cfi_"))
        }
    )
    random.Random(7).shuffle(names)
    return names[:limit]


def _class_members() -> list[str]:
    """Names built from each class's pieces, including names no kernel has."""
    out: list[str] = []
    for cls in CLASSES:
        for piece in cls.anywhere:
            if not piece.isidentifier():
                continue
            out += [piece, "__" + piece, "drv_" + piece + "_x", piece + "_nested"]
        for piece in cls.start:
            if piece.isidentifier():
                out += [piece + "x", "drv_" + piece + "x"]
        for piece in cls.exact:
            out += [piece, piece + "_x", "drv_" + piece]
    return sorted(set(out))


def test_skip_classes_agree_with_syzkaller(tmp_path: Path, figure: Callable[[str], None]) -> None:
    exe = _syzparse()
    # rust_begin_unwind (Rust's panic entry) is left out: this build of syzkaller's parser does
    # not demangle, while its corpus expects the demangled __rustc::rust_begin_unwind skipped.
    names = [n for n in _class_members() + _kernel_functions(3000) if "rust_begin_unwind" not in n]
    titles = _syz_titles(exe, [_GPF.format(name=n, sentinel=SENTINEL) for n in names], tmp_path)
    agree = 0
    wrong: list[str] = []
    for name, title in zip(names, titles, strict=True):
        syz_skips = title.endswith(" in " + SENTINEL)
        if syz_skips == is_skipped(name):
            agree += 1
        else:
            wrong.append(f"{name}: syzkaller {'skips' if syz_skips else 'blames'} it")
    rate = agree / len(names)
    print(f"\nskip classes vs syzkaller: {agree}/{len(names)} names = {rate:.1%}")
    for line in wrong[:20]:
        print("  ", line)
    figure(f"skip classes vs syzkaller ({len(names)} generated and kernel names): {rate:.1%}")
    assert rate >= NAMES_FLOOR


_PC_RE = re.compile(r"(?:RIP|EIP|IP|NIP|pc|PC is at|epc)\s*:")
_CANDIDATES = (
    "memcpy_erms", "drv_kmalloc_wrapper", "__mutex_lock_slowpath", "lockdep_hardirqs_on",
    "debug_object_activate", "vsnprintf", "kobject_put", "usb_submit_urb", "fast_dput",
    "hex_dump_to_buffer", "strnstr", "test_and_clear_bit", "ida_free", "perf_trace_lock",
    "nla_strcmp", "copy_from_user_nofault", "queue_work_on", "rust_helper_krealloc",
    "ext4_fill_super", "tcp_sendmsg_locked", "foo_driver_probe", "blk_mq_run_hw_queue",
    "nf_hook_slow", "vfs_write",
)


def _insert_above_blamed(case: dict[str, object], name: str) -> str | None:
    """The case's log with a frame *name* inserted just above the frame its title blames."""
    title = str(case["title"])
    frame = case["frame"] or (title.rsplit(" in ", 1)[1] if " in " in title else None)
    if not frame or frame == "corrupted" or "::" in str(frame):
        return None
    lines = str(case["log"]).splitlines(keepends=True)
    rx = re.compile(
        r"^(?:\[\s*\d+\.\d+\])?(?:\[\s*[CT]\d+\])?\s+(?:\[<[0-9a-f]+>\]\s*)*"
        + re.escape(str(frame))
        + r"(?:\.[\w.]+)?\+0x"
    )
    for i, line in enumerate(lines):
        if rx.match(line) and not _PC_RE.search(line):
            return "".join([*lines[:i], line.replace(str(frame), name, 1), *lines[i:]])
    return None


def _kmend_title(log: str) -> str:
    reports = list(parse_reports(parse_text(log, source="variation")))
    return reports[0].title if reports else ""


def test_renamed_frames_in_corpus_reports(
    corpus_dir: Path, tmp_path: Path, figure: Callable[[str], None]
) -> None:
    from test_corpus import held_out

    exe = _syzparse()
    cases = [
        json.loads(line)
        for line in (corpus_dir / "syzkaller-linux-reports.jsonl").read_text().splitlines()
    ]
    rnd = random.Random(11)
    dev = [c for c in cases if c["title"] and not held_out(str(c["id"]))]
    dev = rnd.sample(dev, 150)  # a fixed sample keeps the test within a minute
    originals = [(c, str(c["log"])) for c in dev]
    (tmp_path / "orig").mkdir()
    syz_orig = _syz_titles(exe, [log for _, log in originals], tmp_path / "orig")
    usable = [c for (c, log), t in zip(originals, syz_orig, strict=True)
              if t and _kmend_title(log) == t]
    logs: list[str] = []
    for case in usable:
        for name in rnd.sample(_CANDIDATES, 3):
            log = _insert_above_blamed(case, name)
            if log is not None:
                logs.append(log)
    (tmp_path / "var").mkdir()
    syz = _syz_titles(exe, logs, tmp_path / "var")
    agree = sum(_kmend_title(log) == t for log, t in zip(logs, syz, strict=True))
    rate = agree / len(logs)
    print(f"\nrenamed frames in {len(usable)} corpus reports: {agree}/{len(logs)} = {rate:.1%}")
    figure(f"renamed-frame variations of dev corpus reports ({len(logs)}): {rate:.1%}")
    assert len(logs) >= 200
    assert rate >= VARIATION_FLOOR


_STALL = """\
[  100.000000][    C0] rcu: INFO: rcu_preempt self-detected stall on CPU
[  100.000000][    C0] rcu: 	0-....: (10500 ticks this GP) idle=8d4/1/0x4000000000000000 softirq=9000/9000 fqs=5000
[  100.000000][    C0] 	(t=10502 jiffies g=20000 q=300)
[  100.000000][    C0] NMI backtrace for cpu 0
[  100.000000][    C0] CPU: 0 PID: 5000 Comm: syz-executor.0 Not tainted 6.1.0-syzkaller #0
[  100.000000][    C0] Call Trace:
[  100.000000][    C0]  <IRQ>
[  100.000000][    C0]  dump_stack_lvl+0x1/0x2
[  100.000000][    C0]  nmi_cpu_backtrace+0x1/0x2
[  100.000000][    C0]  rcu_dump_cpu_stacks+0x1/0x2
[  100.000000][    C0]  rcu_sched_clock_irq+0x1/0x2
[  100.000000][    C0]  update_process_times+0x1/0x2
[  100.000000][    C0]  hrtimer_interrupt+0x1/0x2
[  100.000000][    C0]  __sysvec_apic_timer_interrupt+0x1/0x2
[  100.000000][    C0]  sysvec_apic_timer_interrupt+0x1/0x2
[  100.000000][    C0]  </IRQ>
[  100.000000][    C0]  <TASK>
[  100.000000][    C0]  asm_sysvec_apic_timer_interrupt+0x1/0x2
[  100.000000][    C0] RIP: 0010:zz_loop_top+0x10/0x20
[  100.000000][    C0] Code: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 <00> 00 00 00 00 00 00
[  100.000000][    C0] RSP: 0018:ffffc90000000000 EFLAGS: 00000246
[  100.000000][    C0]  {name}+0x1/0x2
[  100.000000][    C0]  zz_loop_below+0x1/0x2
[  100.000000][    C0]  __x64_sys_zzcall+0x1/0x2
[  100.000000][    C0]  do_syscall_64+0x1/0x2
[  100.000000][    C0]  entry_SYSCALL_64_after_hwframe+0x1/0x2
[  100.000000][    C0]  </TASK>
"""

_HUNG = """\
[  300.000000][   T30] INFO: task syz-executor.0:5000 blocked for more than 143 seconds.
[  300.000000][   T30]       Not tainted 6.1.0-syzkaller #0
[  300.000000][   T30] task:syz-executor.0  state:D stack:26000 pid:5000  ppid:4000   flags:0x00004004
[  300.000000][   T30] Call Trace:
[  300.000000][   T30]  <TASK>
[  300.000000][   T30]  __schedule+0x1/0x2
[  300.000000][   T30]  schedule+0x1/0x2
[  300.000000][   T30]  {name}+0x1/0x2
[  300.000000][   T30]  zz_hung_below+0x1/0x2
[  300.000000][   T30]  __x64_sys_zzcall+0x1/0x2
[  300.000000][   T30]  do_syscall_64+0x1/0x2
[  300.000000][   T30]  entry_SYSCALL_64_after_hwframe+0x1/0x2
[  300.000000][   T30]  </TASK>
[  300.000000][   T30]
[  300.000000][   T30] Showing all locks held in the system:
"""


def _pieces(classes: tuple[object, ...]) -> list[str]:
    out: list[str] = []
    for cls in classes:
        for piece in (*cls.anywhere, *cls.exact):  # type: ignore[attr-defined]
            if piece.isidentifier():
                out += [piece, "__" + piece, "drv_" + piece + "_x"]
    return sorted(set(out))


_SPECIAL = re.compile(r"smp_call_function|should_fail|rtnl_lock|synchronize_|^_*kthread$")


def test_stall_dispatchers_agree_with_syzkaller(
    tmp_path: Path, figure: Callable[[str], None]
) -> None:
    """A stall blames the function above the first dispatcher: syzparse's title says which
    frames it treats as dispatchers (the title then names the loop above the probe)."""
    from kmend.oops.skip import DISPATCHERS, is_dispatcher

    exe = _syzparse()
    names = [n for n in _pieces(DISPATCHERS) + _kernel_functions(1500) if not _SPECIAL.search(n)]
    titles = _syz_titles(exe, [_STALL.format(name=n) for n in names], tmp_path)
    agree = sum(
        t.endswith(" in zz_loop_top") == is_dispatcher(n)
        for n, t in zip(names, titles, strict=True)
    )
    rate = agree / len(names)
    print(f"\nstall dispatchers vs syzkaller: {agree}/{len(names)} = {rate:.1%}")
    figure(f"stall dispatchers vs syzkaller ({len(names)} names): {rate:.1%}")
    assert rate >= NAMES_FLOOR


def test_hung_task_classes_agree_with_syzkaller(
    tmp_path: Path, figure: Callable[[str], None]
) -> None:
    from kmend.oops.skip import FORMAT_CLASSES, format_skips

    exe = _syzparse()
    hang = tuple(cls for prefix, cls in FORMAT_CLASSES if prefix == "INFO: task hung in")
    # kmend deliberately differs on sleep helpers (msleep...): it names their caller
    names = [
        n for n in _pieces(hang) + _kernel_functions(1500)
        if not _SPECIAL.search(n) and "sleep" not in n
    ]
    titles = _syz_titles(exe, [_HUNG.format(name=n) for n in names], tmp_path)
    skips = format_skips("INFO: task hung in {frame}")
    agree = sum(
        t.endswith(" in zz_hung_below") == is_skipped(n, skips)
        for n, t in zip(names, titles, strict=True)
    )
    rate = agree / len(names)
    print(f"\nhung-task classes vs syzkaller: {agree}/{len(names)} = {rate:.1%}")
    figure(f"hung-task classes vs syzkaller ({len(names)} names): {rate:.1%}")
    assert rate >= NAMES_FLOOR


_P = "[   10.000000][ T1000] "
_TAIL = "".join(
    _P + line + "\n"
    for line in (
        "CPU: 0 PID: 1000 Comm: syz-executor.0 Not tainted 6.1.0-syzkaller #0",
        "RIP: 0010:memset+0x10/0x20",
        "Code: 00 00 00 00",
        "RSP: 0018:ffffc90000000000 EFLAGS: 00010246",
        "Call Trace:",
        " <TASK>",
        " dump_stack_lvl+0x1/0x2",
        " {name}+0x10/0x20",
        " zz_sentinel_caller+0x10/0x20",
        " do_syscall_64+0x3d/0xb0",
        " entry_SYSCALL_64_after_hwframe+0x63/0xcd",
        " </TASK>",
    )
)
_KINDS = {
    "kasan": "BUG: KASAN: slab-use-after-free in memcpy+0x10/0x20\n"
    + _P + "Read of size 8 at addr ffff888012345678 by task syz-executor.0/1000",
    "warning": "WARNING: CPU: 0 PID: 1000 at kernel/foo.c:10 memset+0x10/0x20",
    "kernel-bug": "kernel BUG at fs/foo.c:10!\n" + _P + "invalid opcode: 0000 [#1] PREEMPT SMP KASAN",
    "null-deref": "BUG: kernel NULL pointer dereference, address: 0000000000000000\n"
    + _P + "#PF: supervisor read access in kernel mode\n" + _P + "Oops: 0000 [#1] PREEMPT SMP KASAN",
    "ubsan": "UBSAN: array-index-out-of-bounds in fs/foo.c:10:5\n"
    + _P + "index 5 is out of range for type 'int [4]'",
    "odebug": "ODEBUG: free active (active state 0) object: ffff888012345678 object type: "
    "timer_list hint: foo_fn+0x0/0x10\n"
    + _P + "WARNING: CPU: 0 PID: 1000 at lib/debugobjects.c:505 debug_print_object+0x1/0x2",
    "refcount": "refcount_t: underflow; use-after-free.\n"
    + _P + "WARNING: CPU: 0 PID: 1000 at lib/refcount.c:28 refcount_warn_saturate+0x1/0x2",
    "atomic-sleep": "BUG: scheduling while atomic: syz-executor.0/1000/0x00000002",
}


#: Kinds whose stacks are laid out differently (KMSAN prints frames under its header).
_WHOLE = {
    "kmsan": "".join(
        _P + line + "\n"
        for line in (
            "BUG: KMSAN: uninit-value in {name}+0x10/0x20",
            " {name}+0x10/0x20",
            " zz_sentinel_caller+0x10/0x20",
            " do_syscall_64+0x3d/0xb0",
            " entry_SYSCALL_64_after_hwframe+0x63/0xcd",
            "",
            "Uninit was created at:",
            " __kmalloc+0x1/0x2",
            " zz_alloc_site+0x1/0x2",
            "",
            "CPU: 0 PID: 1000 Comm: syz-executor.0 Not tainted 6.1.0-syzkaller #0",
        )
    ),
}


def test_report_kinds_name_the_same_frame_as_syzkaller(
    tmp_path: Path, figure: Callable[[str], None]
) -> None:
    """The same generated names on top of the stacks of five kinds of report: kmend's title
    (format classes included) must be syzparse's."""
    exe = _syzparse()
    rnd = random.Random(5)
    members = [n for n in _class_members() if "rust_begin_unwind" not in n]
    names = rnd.sample(members, 150) + _kernel_functions(100)
    logs = [
        _P + head + "\n" + _TAIL.replace("{name}", name)
        for head in _KINDS.values()
        for name in names
    ] + [whole.replace("{name}", name) for whole in _WHOLE.values() for name in names]
    syz = _syz_titles(exe, logs, tmp_path)
    # the probes do reach the titles: ordinary names are blamed, class members are not
    kinds = len(_KINDS) + len(_WHOLE)
    assert sum(t.endswith(" in zz_sentinel_caller") for t in syz) >= kinds * 50
    assert len(set(syz)) >= kinds * 50
    agree = sum(_kmend_title(log) == title for log, title in zip(logs, syz, strict=True))
    rate = agree / len(logs)
    print(f"\n{kinds} report kinds x {len(names)} names: {agree}/{len(logs)} = {rate:.1%}")
    figure(f"titles of generated reports of {kinds} kinds vs syzkaller ({len(logs)}): "
           f"{rate:.1%}")
    assert rate >= NAMES_FLOOR
