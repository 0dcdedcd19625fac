"""``WARNING:`` (every era's wording), lockdep reports and ``INFO:`` (RCU stalls, hung
tasks, lockdep)."""

from __future__ import annotations

from kmend.oops.formats.base import (
    FUNC,
    HEADER,
    INTERRUPTED,
    IRQSAFE,
    LOCKDEP,
    TRACE,
    WARN,
    F,
    Format,
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
#: The rest of the WARNING line, then (within 40 lines) the identity line of the report body.
_BODY = r"[^\n]*\n(?:[^\n]*\n){0,40}?[ \t]{0,16}(?:CPU: \d+ (?:UID: \d+ )?PID: \d+ |Pid: \d+, comm: )"

WARNING_FORMATS = (
    F(
        _WARN_AT + r"\S*lib/debugobjects\.c:\d+ (?:at )?" + FUNC,
        "WARNING: ODEBUG bug in {frame}",
        (WARN,),
        skip=(r"^debug_", r"^__debug_"),
    ),
    F(
        _WARN_AT + r"\S*mm/usercopy\.c:\d+ (?:at )?" + FUNC,
        "WARNING: bad usercopy in {frame}",
        (WARN,),
        skip=(r"usercopy", r"__check"),  # as kernel BUG at mm/usercopy.c
    ),
    F(
        _WARN_AT + r"\S*lib/kobject\.c:\d+ (?:at )?" + FUNC,
        "WARNING: kobject bug in {frame}",
        (WARN,),
        skip=(r"^kobject_",),
    ),
    F(
        _WARN_AT + r"\S*fs/proc/generic\.c:\d+ (?:at )?" + FUNC,
        "WARNING: proc registration bug in {frame}",
        (WARN,),
        # procfs registration helpers (proc_register, proc_mkdir_data, a driver's proc_* and
        # *_proc_* wrappers); the module that registered the duplicate name is the subject
        skip=(r"proc_",),
    ),
    F(
        _WARN_AT + r"\S*lib/refcount\.c:\d+ (?:at )?" + FUNC,
        "WARNING: refcount bug in {frame}",
        (WARN,),
        skip=(r"^refcount", r"^kref_"),
    ),
    F(
        _WARN_AT + r"\S*kernel/locking/lockdep\.c:\d+ (?:at )?" + FUNC,
        "WARNING: locking bug in {frame}",
        (WARN,),
        # lockdep's own bookkeeping; the locking class (lock_acquire, *lock_class...) is
        # skipped everywhere; check_*/validate_* names are as often the caller's
        skip=(r"^lockdep", r"^mark_lock"),
    ),
    F(
        _WARN_AT + r"\S*mm/\S+\.c:\d+ (?:at )?(?:__)?(?:kmalloc|krealloc|kvmalloc)\w*",
        "WARNING: kmalloc bug in {frame}",
        (WARN,),
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
        (WARN,),
        skip=(r"vmalloc",),
    ),
    F(
        _WARN_AT + r"\S*drivers/usb/core/urb\.c:\d+ (?:at )?usb_submit_urb",
        "WARNING in {frame}/usb_submit_urb",
        (WARN,),
    ),
    # The function on the WARNING line is where WARN() fired: the PC.  Once the report's body
    # was printed (the "CPU: N PID: N" / "Pid: N, comm:" line __warn prints before the stack)
    # it names the report when the PC line and the trace are missing or useless: a pre-4.x
    # WARNING has no register dump, and a paste may end before the call trace.  A WARNING line
    # with no body at all is a cut log: its frame stays unknown ("corrupted").
    F(
        _WARN_AT + r"\S+:\d+ (?:at )?" + FUNC + _BODY,
        "WARNING in {frame}",
        (WARN, HEADER),
    ),
    F(_WARN_AT + FUNC + r"\+0x" + _BODY, "WARNING in {frame}", (WARN, HEADER)),
    F(_WARN_AT + r"\S+:\d+ (?:at )?" + FUNC, "WARNING in {frame}", (WARN,)),
    F(_WARN_AT + FUNC + r"\+0x", "WARNING in {frame}", (WARN,)),
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
    F(r"WARNING: (?:CPU:|at )", "WARNING in {frame}", (WARN,), corrupted=True),
    F(r"WARNING: *$", "WARNING: corrupted", (), corrupted=True, needs_stack=False),
)

INFO_FORMATS = (
    *_lockdep_formats("INFO"),
    F(
        r"INFO: rcu_(?:preempt|sched|bh|tasks\w*) (?:self-)?detected(?: expedited)? stalls?",
        "INFO: rcu detected stall in {frame}",
        (INTERRUPTED,),
        alt=("stall in {frame}",),
        blame="stall",
    ),
    # The task's name and pid are the only variable fields of the hung-task header; reporters
    # anonymise them ("INFO: task $NAME:$PID blocked for more than 120 seconds." in a vendor
    # article), so the pid is any short word: the fixed wording around it names the report.
    F(
        r"INFO: task .{1,64}:\S{1,16} blocked (?:in I/O wait )?for more than \d+ seconds",
        "INFO: task hung in {frame}",
        (TRACE,),
        alt=("hang in {frame}",),
        blame="hang",
    ),
    F(
        r"INFO: task .{1,64}:\S{1,16} can't die for more than \d+ seconds",
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
