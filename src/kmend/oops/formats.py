"""The crash formats: for each header, the report shapes it introduces and how each is named.

A format says: the pattern that identifies it in the report text (searched from the header
line on; the earliest match in the header's group wins), the title template (``{1}``… are the
pattern's groups, ``{frame}`` the blamed function), where the blamed frame is read from
(``parts``), the alternative-title templates, extra functions never to blame, and whether the
shape is a fallback that marks the report corrupted.  Derived from the kernel's own message
formats (reference crash-formats §2.10) and the naming conventions in corpus/README.md §3–§5.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kmend.oops.skip import compile_skips

# Where frames are read from, in order:
#   "header" — the function in the matched title pattern's group named "func"
#   "pc"     — the frame on the first faulting-PC line (RIP:/IP:/pc :/PC is at/NIP)
#   "trace"  — the frames under the first "Call Trace:"/"Call trace:"/"Backtrace:"
#   "stall"  — like pc+trace but starting after the interrupt entry (stalls)
#   "here"   — the frames printed right under the matched line (KMSAN has no trace header)
#   "lockdep" — functions on lockdep "at:" lines
#   "irqsafe" — the stack under lockdep's "... which became X-irq-safe at:"
#   "after:TEXT" — the frames under the first line that starts with TEXT
PC, TRACE, HEADER, STALL, LOCKDEP, HERE = "pc", "trace", "header", "stall", "lockdep", "here"
IRQSAFE = "irqsafe"

FUNC = r"(?P<func>[A-Za-z0-9_]+)"
ADDR = r"(?:0x)?[0-9a-fA-F]+"


@dataclass(frozen=True)
class Format:
    title: re.Pattern[str]
    template: str
    parts: tuple[str, ...] = (PC, TRACE)
    alt: tuple[str, ...] = ()
    skip: tuple[re.Pattern[str], ...] = ()
    corrupted: bool = False
    needs_stack: bool = True
    blame: str = "first"  # "first" | "stall" | "hang"
    report: re.Pattern[str] | None = None
    extra: dict[str, str] = field(default_factory=dict)


def F(
    title: str,
    template: str,
    parts: tuple[str, ...] = (PC, TRACE),
    *,
    alt: tuple[str, ...] = (),
    skip: tuple[str, ...] = (),
    corrupted: bool = False,
    needs_stack: bool = True,
    blame: str = "first",
    report: str | None = None,
) -> Format:
    return Format(
        title=re.compile(title, re.MULTILINE),
        template=template,
        parts=parts,
        alt=alt,
        skip=compile_skips(skip),
        corrupted=corrupted,
        needs_stack=needs_stack,
        blame=blame,
        report=re.compile(report, re.MULTILINE | re.DOTALL) if report else None,
    )


BAD = ("bad-access in {frame}",)

KASAN_FORMATS = (
    F(
        r"BUG: KASAN: (?P<kind>[a-z\-]+) in "
        + FUNC
        + r"[^\n]*\n(?:[^\n]*\n){0,30}?[^\n]*?(?P<rw>Read|Write) (?:of|at)",
        "KASAN: {kind} {rw} in {frame}",
        (HEADER, TRACE),
        alt=BAD,
        skip=(r"^memcpy", r"^memset", r"^memmove"),
    ),
    F(
        r"BUG: KASAN: (?:double-free|invalid-free|double-free or invalid-free) in " + FUNC,
        "KASAN: invalid-free in {frame}",
        (HEADER, TRACE),
        alt=("invalid-free in {frame}",),
    ),
    F(
        r"BUG: KASAN: (?P<kind>[a-z\-]+) on address [^\n]*\n(?:[^\n]*\n){0,30}?[^\n]*?(?P<rw>Read|Write) of size",
        "KASAN: {kind} {rw}",
        (),
        corrupted=True,  # no function named: the report is cut or of an early format
        needs_stack=False,
    ),
    F(
        r"BUG: KASAN: (?P<rest>[a-z\-]+ in [^\n]* at addr [^\n]*)",
        "KASAN: {rest}",
        (),
        corrupted=True,  # the access kind (Read/Write) is missing: the report is cut
        needs_stack=False,
    ),
    F(
        r"BUG: KASAN: (?P<kind>[a-z\-]+) in " + FUNC,
        "KASAN: {kind} in {frame}",
        (HEADER, TRACE),
        alt=BAD,
        corrupted=True,
    ),
    F(r"BUG: KASAN: (?P<rest>[^\n]*)", "KASAN: {rest}", (), corrupted=True, needs_stack=False),
)

KFENCE_FORMATS = (
    F(
        r"BUG: KFENCE: (?P<kind>use-after-free|out-of-bounds) (?P<rw>read|write) in " + FUNC,
        "KFENCE: {kind} {rw} in {frame}",
        (HEADER, HERE, TRACE),
        alt=BAD,
    ),
    F(
        r"BUG: KFENCE: invalid free in " + FUNC,
        "KFENCE: invalid free in {frame}",
        (HEADER, HERE, TRACE),
        alt=("invalid-free in {frame}",),
    ),
    F(
        r"BUG: KFENCE: invalid (?P<rw>read|write) in " + FUNC,
        "KFENCE: invalid {rw} in {frame}",
        (HEADER, HERE, TRACE),
        alt=BAD,
    ),
    F(
        r"BUG: KFENCE: memory corruption in " + FUNC,
        "KFENCE: memory corruption in {frame}",
        (HEADER, HERE, TRACE),
    ),
)

PAGE_FAULT_ALT = BAD

BUG_FORMATS = (
    *KASAN_FORMATS,
    *KFENCE_FORMATS,
    F(
        r"BUG: KMSAN: kernel-usb-infoleak",
        "KMSAN: kernel-usb-infoleak in {frame}",
        (TRACE,),
        skip=(r"^usb_", r"^copy_", r"^instrument_"),
    ),
    F(
        r"BUG: KMSAN: (?P<kind>[a-z\-]+) in " + FUNC,
        "KMSAN: {kind} in {frame}",
        (HEADER, HERE, TRACE),
        alt=BAD,
        skip=(r"^copy_", r"^instrument_", r"^_copy", r"^__copy"),
    ),
    F(r"BUG: KCSAN: (?P<rest>[^\n]*)", "KCSAN: {rest}", (), needs_stack=False),
    F(
        r"BUG: (?:unable to handle kernel paging request|unable to handle page fault for address"
        r"|Unable to handle kernel data access)",
        "BUG: unable to handle kernel paging request in {frame}",
        alt=PAGE_FAULT_ALT,
    ),
    F(
        r"BUG: (?:unable to handle kernel NULL pointer dereference|kernel NULL pointer dereference)",
        "BUG: unable to handle kernel NULL pointer dereference in {frame}",
        alt=PAGE_FAULT_ALT,
    ),
    F(
        r"BUG: unable to handle kernel",
        "BUG: unable to handle kernel",
        (),
        corrupted=True,
        needs_stack=False,
    ),
    F(
        r"BUG: (?P<kind>spinlock|rwlock) (?P<what>[a-z ]+?) on CPU",
        "BUG: {kind} {what} in {frame}",
        (TRACE,),
    ),
    F(
        r"BUG: (?P<kind>spinlock|rwlock) (?P<what>lockup suspected|already unlocked|recursion"
        r"|bad magic|wrong owner|wrong CPU|cpu recursion)",
        "BUG: {kind} {what} in {frame}",
        (TRACE,),
    ),
    F(
        r"BUG: soft lockup",
        "BUG: soft lockup in {frame}",
        (STALL,),
        alt=("stall in {frame}",),
        blame="stall",
    ),
    F(r"BUG: .*still has locks held!", "BUG: still has locks held in {frame}", (LOCKDEP, TRACE)),
    F(
        r"BUG: lock held when returning to user space",
        "BUG: lock held when returning to user space in {frame}",
        (LOCKDEP, TRACE),
    ),
    F(r"BUG: bad unlock balance detected", "BUG: bad unlock balance in {frame}", (LOCKDEP, TRACE)),
    F(r"BUG: held lock freed", "BUG: held lock freed in {frame}", (LOCKDEP, TRACE)),
    F(r"BUG: Bad rss-counter state", "BUG: Bad rss-counter state", (), needs_stack=False),
    F(
        r"BUG: non-zero (?P<what>nr_ptes|nr_pmds) on freeing mm",
        "BUG: non-zero {what} on freeing mm",
        (),
        needs_stack=False,
    ),
    F(
        r"BUG: Dentry .* still in use \([0-9]+\) \[(?P<um>(?P<what>\w+) of [^\]]+)\]",
        "BUG: Dentry still in use in {what}",
        (),
        alt=("BUG: Dentry still in use [{um}]",),
        needs_stack=False,
    ),
    F(
        r"BUG: Bad page (?P<what>state|cache)",
        "BUG: Bad page {what} in {frame}",
        ("after:page last allocated", TRACE),
        skip=(
            r"alloc",
            r"^get_page_from_freelist",
            r"^__set_page_owner",
            r"folio",
            r"filemap",
            r"^pagecache_get_page",
            r"page_pool",
        ),
    ),
    F(r"BUG: Bad page map", "BUG: Bad page map", (), corrupted=True, needs_stack=False),
    F(r"BUG: workqueue lockup", "BUG: workqueue lockup", (), needs_stack=False),
    F(
        r"BUG: scheduling while atomic",
        "BUG: scheduling while atomic in {frame}",
        (TRACE,),
        # the sleeping primitive is not the bug; its caller slept in atomic context
        skip=(r"schedule", r"^msleep", r"^usleep", r"^ssleep", r"^fsleep", r"^do_nanosleep"),
    ),
    F(
        r"BUG: sleeping function called from invalid context",
        "BUG: sleeping function called from invalid context in {frame}",
        (TRACE,),
    ),
    F(
        r"BUG: using (?P<fn>[A-Za-z0-9_]+\(\)) in preemptible",
        "BUG: using {fn} in preemptible code in {frame}",
        (TRACE,),
        skip=(r"^_*this_cpu", r"^debug_smp_processor_id", r"^check_preemption_disabled"),
    ),
    F(
        r"BUG: workqueue leaked lock or atomic[^\n]*\n\s*last function: " + FUNC,
        "BUG: workqueue leaked lock or atomic in {frame}",
        (HEADER,),
        needs_stack=False,
    ),
    F(
        r"BUG: workqueue leaked lock or atomic",
        "BUG: workqueue leaked lock or atomic in {frame}",
        (TRACE,),
        skip=(r"^process_one_work", r"^worker_thread"),
        blame="stall",
    ),
    F(
        r"BUG: (?:stack guard page was hit|TASK stack guard page was hit)",
        "BUG: stack guard page was hit in {frame}",
        (STALL,),
        alt=("stack-overflow in {frame}",),
        blame="stall",
    ),
    F(r"BUG: Invalid wait context", "WARNING: locking bug in {frame}", (TRACE,)),
    F(
        r"BUG: Object already free",
        "BUG: Object already free",
        (),
        corrupted=True,
        needs_stack=False,
    ),
    F(
        r"BUG: MAX_STACK_TRACE_ENTRIES too low",
        "BUG: MAX_STACK_TRACE_ENTRIES too low!",
        (),
        needs_stack=False,
    ),
    F(
        r"BUG: memory leak",
        "memory leak in {frame}",
        ("backtrace",),
        skip=(
            r"kmemleak",
            r"alloc",
            r"^kobject_set_name",
            r"^kstrdup",
            r"^kvasprintf",
            r"^__kmalloc",
            r"^kmalloc",
            r"^kzalloc",
        ),
    ),
    F(
        r"BUG: (?:KASAN|KFENCE|KMSAN|KCSAN)?$",
        "BUG: corrupted",
        (),
        corrupted=True,
        needs_stack=False,
    ),
)


def _lockdep_formats(prefix: str) -> tuple[Format, ...]:
    """lockdep's reports: ``WARNING:`` since 4.x, ``INFO:`` (in brackets) before."""
    return (
        F(
            prefix + r": possible circular locking dependency detected",
            "possible deadlock in {frame}",
            (LOCKDEP,),
            report=r"\bat:",
        ),
        F(
            prefix + r": possible irq lock inversion dependency detected",
            "possible deadlock in {frame}",
            (IRQSAFE, LOCKDEP),
        ),
        F(
            prefix
            + r": (?:HARDIRQ|SOFTIRQ)-(?:safe|READ-safe) -> (?:HARDIRQ|SOFTIRQ)-unsafe lock order",
            "possible deadlock in {frame}",
            (IRQSAFE, LOCKDEP),
        ),
        F(
            prefix + r": possible recursive locking detected",
            "possible deadlock in {frame}",
            (LOCKDEP,),
            report=r"\bat:",
        ),
        F(prefix + r": inconsistent lock state", "inconsistent lock state in {frame}", (TRACE,)),
    )


_WARN_AT = r"WARNING: (?:\[[^\]\n]*\] )?(?:CPU: \d+ PID: \d+ )?(?:at )?"

WARNING_FORMATS = (
    F(
        _WARN_AT + r"\S*lib/debugobjects\.c:\d+ (?:at )?" + FUNC,
        "WARNING: ODEBUG bug in {frame}",
        (TRACE, PC),
        skip=(r"^debug_", r"^__debug_", r"^free_obj_work", r"^kfree", r"^kvfree"),
    ),
    F(
        _WARN_AT + r"\S*mm/usercopy\.c:\d+ (?:at )?" + FUNC,
        "WARNING: bad usercopy in {frame}",
        (TRACE, PC),
        skip=(r"^check_", r"^usercopy", r"^__check"),
    ),
    F(
        _WARN_AT + r"\S*lib/kobject\.c:\d+ (?:at )?" + FUNC,
        "WARNING: kobject bug in {frame}",
        (TRACE, PC),
        skip=(r"^kobject_", r"^kobj"),
    ),
    F(
        _WARN_AT + r"\S*fs/proc/generic\.c:\d+ (?:at )?" + FUNC,
        "WARNING: proc registration bug in {frame}",
        (TRACE, PC),
        skip=(r"^proc_",),
    ),
    F(
        _WARN_AT + r"\S*lib/refcount\.c:\d+ (?:at )?" + FUNC,
        "WARNING: refcount bug in {frame}",
        (TRACE, PC),
        skip=(r"^refcount", r"^kref_"),
    ),
    F(
        _WARN_AT + r"\S*kernel/locking/lockdep\.c:\d+ (?:at )?" + FUNC,
        "WARNING: locking bug in {frame}",
        (TRACE, PC),
        skip=(r"^lock_", r"^__lock_", r"^lockdep", r"^check_", r"^validate_", r"^mark_lock"),
    ),
    F(
        _WARN_AT + r"\S*mm/\S+\.c:\d+ (?:at )?(?:__)?(?:kmalloc|krealloc|kvmalloc)\w*",
        "WARNING: kmalloc bug in {frame}",
        (TRACE, PC),
        skip=(
            r"^kmalloc",
            r"^krealloc",
            r"^kvmalloc",
            r"^__kmalloc",
            r"^__kvmalloc",
            r"^kzalloc",
            r"^kvzalloc",
            r"^kvcalloc",
            r"^kcalloc",
            r"^kmalloc_array",
            r"^kvmalloc_array",
            r"^__alloc",
            r"^alloc",
        ),
    ),
    F(
        _WARN_AT + r"\S*mm/\S+\.c:\d+ (?:at )?__vmalloc_node",
        "WARNING: zero-size vmalloc in {frame}",
        (TRACE, PC),
        skip=(r"vmalloc",),
    ),
    F(
        _WARN_AT + r"\S*drivers/usb/core/urb\.c:\d+ (?:at )?usb_submit_urb",
        "WARNING in {frame}/usb_submit_urb",
        (TRACE, PC),
    ),
    F(_WARN_AT + r"\S+:\d+ (?:at )?" + FUNC, "WARNING in {frame}", (PC, TRACE)),
    F(_WARN_AT + FUNC + r"\+0x", "WARNING in {frame}", (PC, TRACE)),
    *_lockdep_formats("WARNING"),
    F(
        r"WARNING: suspicious RCU usage",
        "WARNING: suspicious RCU usage in {frame}",
        (TRACE,),
        skip=(r"^rcu_", r"^lockdep_rcu", r"^rcu_read_lock", r"^rcu_dereference"),
        report=r"stack backtrace:",
    ),
    F(
        r"WARNING: kernel stack regs at [0-9a-f]+ in \S+ has bad (?P<reg>'\w+') value",
        "WARNING: kernel stack regs has bad {reg} value",
        (),
        needs_stack=False,
    ),
    F(
        r"WARNING: kernel stack regs at\s+\S+\s+in \S+ has bad",
        "WARNING: kernel stack regs has bad value",
        (),
        needs_stack=False,
    ),
    F(
        r"WARNING: kernel stack frame pointer at\s+\S+\s+in \S+ has bad",
        "WARNING: kernel stack frame pointer has bad value",
        (),
        needs_stack=False,
    ),
    F(
        r"WARNING: bad unlock balance detected",
        "WARNING: bad unlock balance in {frame}",
        (LOCKDEP, TRACE),
    ),
    F(r"WARNING: held lock freed", "WARNING: held lock freed in {frame}", (LOCKDEP, TRACE)),
    F(
        r"WARNING: lock held when returning to user space",
        "WARNING: lock held when returning to user space in {frame}",
        (LOCKDEP, TRACE),
    ),
    F(
        r"WARNING: Nested lock was not taken",
        "WARNING: nested lock was not taken in {frame}",
        (TRACE,),
    ),
    F(r"WARNING: .* still has locks held!", "WARNING: still has locks held in {frame}", (TRACE,)),
    F(r"WARNING: (?:CPU:|at )", "WARNING in {frame}", (PC, TRACE), corrupted=True),
    F(r"WARNING: *$", "WARNING: corrupted", (), corrupted=True, needs_stack=False),
)

INFO_FORMATS = (
    *_lockdep_formats("INFO"),
    F(
        r"INFO: rcu_(?:preempt|sched|bh|tasks\w*) (?:self-)?detected(?: expedited)? stalls?",
        "INFO: rcu detected stall in {frame}",
        (STALL,),
        alt=("stall in {frame}",),
        blame="stall",
    ),
    F(
        r"INFO: task .{1,64}:\d+ blocked (?:in I/O wait )?for more than \d+ seconds",
        "INFO: task hung in {frame}",
        (TRACE,),
        alt=("hang in {frame}",),
        blame="hang",
    ),
    F(
        r"INFO: task .{1,64}:\d+ can't die for more than \d+ seconds",
        "INFO: task can't die in {frame}",
        (TRACE,),
        alt=("hang in {frame}",),
        blame="hang",
    ),
    F(
        r"INFO: trying to register non-static key",
        "INFO: trying to register non-static key in {frame}",
        (TRACE,),
        skip=(
            r"^register_lock_class",
            r"^__lock_acquire",
            r"^lock_acquire",
            r"^assign_lock_key",
            r"^look_up_lock_class",
        ),
    ),
    F(
        r"INFO: suspicious RCU usage",
        "INFO: suspicious RCU usage in {frame}",
        (TRACE,),
        skip=(r"^rcu_", r"^lockdep_rcu"),
    ),
    F(r"INFO: .*still has locks held!", "INFO: still has locks held in {frame}", (TRACE,)),
    F(
        r"INFO: (?P<rest>(?:Allocated|Freed) in [^\n]*)",
        "INFO: {rest}",
        (),
        corrupted=True,
        needs_stack=False,
    ),
    F(r"INFO: *$", "INFO: corrupted", (), corrupted=True, needs_stack=False),
)

GPF_FORMATS = (
    F(
        r"general protection fault(?:, probably for non-canonical address [^:]+)?(?:,| ?:)|"
        r"general protection fault: [0-9a-f]+ \[|segment-related general protection fault",
        "general protection fault in {frame}",
        alt=BAD,
    ),
)

KERNEL_BUG_FORMATS = (
    F(
        r"kernel BUG at mm/usercopy\.c",
        "BUG: bad usercopy in {frame}",
        (TRACE,),
        skip=(r"^usercopy", r"^__check", r"^check_"),
    ),
    F(
        r"kernel BUG at lib/list_debug\.c",
        "BUG: corrupted list in {frame}",
        (PC, TRACE),
        alt=BAD,
        skip=(r"list_debug", r"^__list"),
    ),
    F(
        r"kernel BUG at (?:[^\n]*)",
        "kernel BUG in {frame}",
        (PC, TRACE),
        skip=(r"^skb_", r"^__skb_"),
    ),
    F(r"kernel BUG (?P<rest>[^\n]*)", "kernel BUG {rest}", (), needs_stack=False),
)

PANIC_FORMATS = (
    F(
        r"Kernel panic - not syncing: stack-protector: Kernel stack is corrupted in: "
        r"(?:(?P<func>[A-Za-z0-9_]+)\+0x)?",
        "kernel panic: stack is corrupted in {frame}",
        (HEADER, TRACE),
        skip=(r"^__stack_chk_fail",),
    ),
    F(
        r"Kernel panic - not syncing: corrupted stack end detected inside scheduler",
        "kernel panic: corrupted stack end in {frame}",
        (TRACE,),
        alt=("stack-overflow in {frame}",),
        skip=(r"schedule", r"retint_kernel"),
        blame="stall",
    ),
    F(
        r"Kernel panic - not syncing: Attempted to kill init!",
        "kernel panic: Attempted to kill init!",
        (),
        needs_stack=False,
    ),
    F(
        r"Kernel panic - not syncing: kernel stack overflow",
        "kernel stack overflow in {frame}",
        (TRACE,),
        alt=("stack-overflow in {frame}",),
        blame="stall",
    ),
    F(
        r"Kernel panic - not syncing: (?P<msg>Fatal exception[^\n]*|panic_on_warn set|softlockup: hung"
        r" tasks|hung_task: blocked tasks|[A-Za-z]+: panic_on_warn set)",
        "kernel panic: {msg}",
        (),
        corrupted=True,
        needs_stack=False,
    ),
    F(r"Kernel panic - not syncing: (?P<msg>[^\n]*)", "kernel panic: {msg}", (), needs_stack=False),
)

SIMPLE_TRAPS = (
    ("stack segment: ", r"stack segment: ", "stack segment fault in {frame}"),
    ("PANIC: double fault", r"PANIC: double fault", "PANIC: double fault in {frame}"),
    ("divide error:", r"divide error: ", "divide error in {frame}"),
    ("divide_error:", r"divide_error: ", "divide error in {frame}"),
    ("invalid opcode:", r"invalid opcode: ", "invalid opcode in {frame}"),
    ("int3:", r"int3: ", "int3 in {frame}"),
    ("Internal error:", r"Internal error: ", "Internal error in {frame}"),
    ("Unhandled fault:", r"Unhandled fault: ", "Unhandled fault in {frame}"),
    ("Alignment trap:", r"Alignment trap: ", "Alignment trap in {frame}"),
)

#: Headers that are crashes only when one of their formats matches (a bare "fatal error:" is
#: common in ordinary messages; Go's runtime follows it with a goroutine or runtime stack).
NEEDS_FORMAT = frozenset({"fatal error:"})

GROUPS: dict[str, tuple[Format, ...]] = {
    "BUG:": BUG_FORMATS,
    "WARNING:": WARNING_FORMATS,
    "INFO:": INFO_FORMATS,
    "general protection fault": GPF_FORMATS,
    "kernel BUG": KERNEL_BUG_FORMATS,
    "Kernel BUG": (F(r"Kernel BUG (?P<rest>[^\n]*)", "kernel BUG {rest}", (), needs_stack=False),),
    "Kernel panic": PANIC_FORMATS,
    "Unable to handle kernel": (
        F(
            r"Unable to handle kernel (?P<what>paging request|NULL pointer dereference"
            r"|access to user memory)",
            "BUG: unable to handle kernel {what} in {frame}",
            alt=BAD,
        ),
        F(
            r"Unable to handle kernel (?P<rest>[^\n]*)",
            "BUG: unable to handle kernel {rest}",
            (),
            corrupted=True,
            needs_stack=False,
        ),
    ),
    "UBSAN:": (
        F(
            r"UBSAN: (?P<kind>[a-z\-]+(?: [a-z\-]+)?) in ",
            "UBSAN: {kind} in {frame}",
            (TRACE,),
            skip=(r"ubsan", r"overflow"),
        ),
        F(
            r"UBSAN: Undefined behaviour in",
            "UBSAN: undefined-behaviour in {frame}",
            (TRACE,),
            skip=(r"ubsan", r"overflow"),
        ),
    ),
    "unregister_netdevice: waiting for": (
        F(
            r"unregister_netdevice: waiting for (?:\S+) to become free",
            "unregister_netdevice: waiting for DEV to become free",
            (),
            needs_stack=False,
        ),
    ),
    "VFS: Close: file count is 0": (
        F(
            r"VFS: Close: file count is 0",
            "VFS: Close: file count is zero (use-after-free)",
            (),
            needs_stack=False,
        ),
    ),
    "VFS: Busy inodes after unmount": (
        F(
            r"VFS: Busy inodes after unmount",
            "VFS: Busy inodes after unmount (use-after-free)",
            (),
            needs_stack=False,
        ),
    ),
    "Booting the kernel.": (
        F(r"Booting the kernel\.", "unexpected kernel reboot", (), needs_stack=False),
    ),
    "trusty: panic": (
        F(
            r"trusty: panic \([^)]*\):\s*(?:DEBUG )?ASSERT FAILED(?: at \([^)]*\))?: (?P<msg>[^\n]*)",
            "trusty: ASSERT FAILED: {msg}",
            (),
            needs_stack=False,
        ),
        F(
            r"trusty: panic \([^)]*\):\s*(?P<msg>[^\n]*)",
            "trusty: panic: {msg}",
            (),
            needs_stack=False,
        ),
    ),
    "BUG kmalloc-": (
        F(
            r"BUG kmalloc-[^\n]*: Object already free",
            "BUG: Object already free",
            (),
            corrupted=True,
            needs_stack=False,
        ),
        F(r"BUG kmalloc-(?P<rest>[^\n]*)", "BUG kmalloc-{rest}", (), needs_stack=False),
    ),
    "rust_kernel: panicked": (
        F(r"rust_kernel: panicked at [^\n]*\n(?P<msg>[^\n]+)", "{msg} in {frame}", (TRACE,)),
    ),
    "SYZFAIL:": (F(r"SYZFAIL: (?P<msg>[^\n]*)", "SYZFAIL: {msg}", (), needs_stack=False),),
    "SYZFATAL:": (F(r"SYZFATAL: (?P<msg>[^\n]*)", "SYZFATAL: {msg}", (), needs_stack=False),),
    "panic:": (F(r"panic: (?P<msg>[^\n]*)", "panic: {msg}", (), needs_stack=False),),
    "fatal error:": (
        F(
            r"fatal error: [^\n]*\n(?:[^\n]*\n){0,4}?(?:goroutine \d+|runtime stack:)",
            "go runtime error",
            (),
            needs_stack=False,
        ),
    ),
}

for _name, _rx, _template in SIMPLE_TRAPS:
    _bad = any(w in _rx for w in ("segment", "Internal error", "Unhandled fault", "Alignment"))
    GROUPS[_name] = (F(_rx, _template, alt=BAD if _bad else ()),)
# A double fault prints no call trace of the faulting task: the report is never complete.
GROUPS["PANIC: double fault"] = (
    F(r"PANIC: double fault", "PANIC: double fault in {frame}", corrupted=True),
)
