"""The crash formats: for each header, the report shapes it introduces and how each is named.

A format says: the pattern that identifies it in the report text (searched from the header
line on; the earliest match in the header's group wins), the title template (``{1}``… are the
pattern's groups, ``{frame}`` the blamed function), where the blamed frame is read from
(``parts``), the alternative-title templates, extra functions never to blame, and whether the
shape is a fallback that marks the report corrupted.  Derived from the kernel's own message
formats and syzkaller's title conventions (observed with its parser as a black box).

The tables live per header family in :mod:`.bug`, :mod:`.warning` and :mod:`.traps`; the
format record in :mod:`.base`.  This module assembles them into :data:`GROUPS`.
"""

from __future__ import annotations

from kmend.oops.formats.base import (
    BAD,
    HEADER,
    HERE,
    INTERRUPTED,
    IRQSAFE,
    LOCKDEP,
    PC,
    STALL,
    TRACE,
    WARN,
    F,
    Format,
)
from kmend.oops.formats.bug import BUG_FORMATS
from kmend.oops.formats.traps import GPF_FORMATS, KERNEL_BUG_FORMATS, PANIC_FORMATS, SIMPLE_TRAPS
from kmend.oops.formats.warning import INFO_FORMATS, WARNING_FORMATS

__all__ = ["GROUPS", "HEADER", "HERE", "INTERRUPTED", "IRQSAFE", "LOCKDEP", "NEEDS_FORMAT", "PC",
           "STALL", "TRACE", "WARN", "Format"]

#: Headers that are crashes only when one of their formats matches (a bare "fatal error:" is
#: common in ordinary messages; Go's runtime follows it with a goroutine or runtime stack).
NEEDS_FORMAT = frozenset({"fatal error:"})

#: Functions of the NMI watchdog's own path: never the place a hard lockup is stuck in.
_NMI_SKIP = (
    r"nmi",
    r"^__?perf_event",
    r"^perf_",
    r"watchdog",
    r"^intel_pmu",
    r"^x86_pmu",
    r"^amd_pmu",
    r"panic",
    r"^dump_stack",
    r"^show_regs",
    r"^arch_trigger_cpumask_backtrace",
)
#: The x86 die line of a page fault: "Oops: 0000 [#1] SMP", "Oops: Oops: 0002 [#1]" (6.11+),
#: "Oops: 0000 [1] SMP" (2.6).
_OOPS_X86 = r"^\s{0,16}Oops: (?:Oops: )?[0-9a-f]{4} \[#?\d{1,4}\][^\n]*\n"

_HARD_LOCKUP = (
    F(
        r"(?:detected hard LOCKUP|Hard LOCKUP)",
        "watchdog: hard LOCKUP in {frame}",
        alt=("stall in {frame}",),
        skip=_NMI_SKIP,
    ),
)

GROUPS: dict[str, tuple[Format, ...]] = {
    "BUG:": BUG_FORMATS,
    "WARNING:": WARNING_FORMATS,
    "INFO:": INFO_FORMATS,
    "general protection fault": GPF_FORMATS,
    "kernel BUG": KERNEL_BUG_FORMATS,
    "Kernel BUG": (
        # A vendor kernel without CONFIG_DEBUG_BUGVERBOSE prints where BUG() fired only as an
        # address: the faulting PC names the function (the address would make every such BUG
        # one title).  With a symbol, the line is the title, as syzkaller has it.
        F(
            r"Kernel BUG at (?:0x)?[0-9a-f]{8,16} \[verbose debug info unavailable\]",
            "kernel BUG in {frame}",
        ),
        F(r"Kernel BUG (?P<rest>[^\n]*)", "kernel BUG {rest}", (), needs_stack=False),
    ),
    "detected hard LOCKUP": _HARD_LOCKUP,
    "Hard LOCKUP": _HARD_LOCKUP,
    # An x86 die line "Oops: <error code>" comes from a page fault whose "BUG: unable to
    # handle ..." line was not pasted; the kernel called it a NULL pointer dereference when
    # the faulting address (CR2) was below one page, else a paging request: the same title
    # as the whole report gets.  Other architectures' die lines name no address here.
    "Oops": (
        F(
            _OOPS_X86 + r"(?:[^\n]*\n){1,60}?[^\n]*\bCR2: 0{0,13}[0-9a-f]{1,3}\b",
            "BUG: unable to handle kernel NULL pointer dereference in {frame}",
            alt=BAD,
        ),
        F(
            _OOPS_X86 + r"(?:[^\n]*\n){1,60}?[^\n]*\bCR2: [0-9a-f]{8,16}\b",
            "BUG: unable to handle kernel paging request in {frame}",
            alt=BAD,
        ),
        F(
            r"^\s{0,16}Oops(?:\[#?\d{1,4}\]|[^\n]{0,120}?\[#?\d{1,4}\])",
            "Oops in {frame}",
            alt=BAD,
        ),
    ),
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
            "Unable to handle kernel {rest}",
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
    # every fatal executor failure also answers to the one title "SYZFATAL"
    "SYZFATAL:": (
        F(r"SYZFATAL: (?P<msg>[^\n]*)", "SYZFATAL: {msg}", (), alt=("SYZFATAL",), needs_stack=False),
    ),
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
