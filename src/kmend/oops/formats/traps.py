"""Traps and panics: general protection fault, ``kernel BUG at``, ``Kernel panic``, and the
simple one-line trap headers (divide error, stack segment, arm64 internal errors …)."""

from __future__ import annotations

from kmend.oops.formats.base import BAD, HEADER, PC, TRACE, F

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
        # hardened usercopy's checks (usercopy_abort, __check_object_size, __check_heap_object
        # and any wrapper named after them); the copy's caller passed the bad buffer
        skip=(r"usercopy", r"__check"),
    ),
    F(
        r"kernel BUG at lib/list_debug\.c",
        "BUG: corrupted list in {frame}",
        (PC, TRACE),
        alt=BAD,
        # list_add/list_del are skipped everywhere; the list_debug checkers are not special
    ),
    F(
        r"kernel BUG at (?:[^\n]*)",
        "kernel BUG in {frame}",
        (PC, TRACE),
        skip=(r"^skb_",),
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
        # "Fatal exception in interrupt" is titled "Fatal exception": the panic after an
        # oops, wherever it happened (the real header was missed)
        r"Kernel panic - not syncing: (?P<msg>Fatal exception|panic_on_warn set|softlockup: hung"
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
