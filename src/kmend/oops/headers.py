"""Which lines start a kernel crash report.

A line starts a report when it contains one of the header strings below (first in the
table wins when several occur on one line) and none of that header's exclusions.  The
table and the exclusions were derived from the kernel's own message formats and from the
syzkaller corpus's no-crash cases (lines that look like headers but are not).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from kmend._compat import dataclass


@dataclass(frozen=True, slots=True)
class Header:
    name: str  # the header string, e.g. "BUG:"
    exclude: tuple[re.Pattern[str], ...] = ()
    at_start: bool = False  # must begin the message (not just appear inside it)


def _rx(*patterns: str, flags: int = 0) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p, flags) for p in patterns)


#: The Go runtime's own crash lines: "panic: runtime error: invalid memory address or nil
#: pointer dereference", "panic: X [recovered]", "fatal error: concurrent map writes",
#: "fatal error: all goroutines are asleep - deadlock!", "fatal error: runtime: out of
#: memory", "fatal error: unexpected signal during runtime execution", "fatal error: stack
#: overflow".  The bare "panic:" and "fatal error:" headers are there for the Go tools that
#: drive a fuzzed kernel (syzkaller's logs name them so), but a Go program's crash pasted
#: with no kernel line — docker, kubelet, any CLI — is user space, never a kernel crash.
_GO_RUNTIME = re.compile(
    r"^\s*(?:panic: (?:runtime error: |.*\[recovered\]$)"
    r"|fatal error: (?:concurrent map |all goroutines are asleep|runtime: "
    r"|unexpected signal during runtime|stack overflow))"
)

#: Lines only a kernel report has after its header: a call trace and its frames, registers,
#: the "CPU: N PID: N" identity, the module list, a lockdep or RCU checker's ruler and help.
_KERNEL_BODY_RE = re.compile(
    r"Call [Tt]race:|\b[RE]IP: |\bpc : |\blr : |Modules linked in|CPU: \d{1,5} PID: \d"
    r"|Hardware name: |stack backtrace:|Backtrace:|\[<[0-9a-f]{8,16}>\]"
    r"|\w\+0x[0-9a-f]{1,16}/0x[0-9a-f]{1,16}|---\[ end trace|Code: |^-{8,}\s*$"
    r"|other info that might help|Tainted: |Not tainted"
)
#: __warn()'s own header lines: "WARNING: CPU: 0 PID: 1 at f.c:1 fn+0x1/0x2" (4.x on),
#: "WARNING: at f.c:1 fn()" (2.6 to 3.x).
_WARN_SITE_RE = re.compile(r"WARNING: (?:CPU: \d{1,5} PID: \d{1,10} at |at \S{1,255}:\d)")
#: A goroutine's stack (the Go runtime's "goroutine 1 [running]:").
_GOROUTINE_RE = re.compile(r"goroutine \d{1,12} \[[\w ,]{1,64}\]:")


def user_space_report(header: str, texts: list[str]) -> str | None:
    """Why a report that opened on a bare line (no printk stamp, level or syslog prefix: a
    paste) is a user-space program's message and no kernel crash, or None.

    * A "WARNING:" line that is not __warn()'s own and has no kernel report after it: the
      warnings of apt, pip, docker and every other tool people paste next to their logs
      ("WARNING: apt does not have a stable CLI interface.").  A kernel checker's WARNING
      ("WARNING: possible circular locking dependency detected") is followed by its ruler,
      locks and stack.
    * A "panic:" or "fatal error:" whose lines hold a goroutine's stack: a Go program's.
      syzkaller names these "go runtime error" (its own Go tools run on the fuzzed
      machine's console); kmend mends kernel modules, and no kernel prints a goroutine.
    """
    if (
        header == "WARNING:"
        and texts
        and texts[0].lstrip().startswith("WARNING:")  # a driver's "usb 5-1: WARNING: …" is
        and not _WARN_SITE_RE.search(texts[0])         # the kernel's dev_warn()
        and not any(_KERNEL_BODY_RE.search(t) for t in texts[1:])
    ):
        return "a program's WARNING line with no kernel report after it"
    if header in ("panic:", "fatal error:") and any(_GOROUTINE_RE.match(t.lstrip()) for t in texts):
        return "a Go program's panic (a goroutine's stack follows)"
    return None


HEADERS: tuple[Header, ...] = (
    Header("BUG:", _rx(r"ODEBUG:", r"(?<![A-Za-z_])DEBUG:", r"Boot_DEBUG:")),
    Header(
        "WARNING:",
        _rx(
            r"sshd",
            r"mount option",
            r"eIBRS",
            r"Speculative Return Stack Overflow",
            r"\bfbcon\b",
            r"EXT4-fs",
            r"XFS \(\S+\): WARNING",
            r"uses deprecated v2 capabilities",
            r"uses wireless extensions",
            r"Unsupported flag value\(s\)",
            # user-space sanitizer runtimes ("WARNING: ThreadSanitizer: data race (pid=12)");
            # the kernel's own sanitizers say "BUG: KCSAN:", "BUG: KASAN:", "UBSAN:"
            r"WARNING: [a-z]{0,16}Sanitizer:",
            flags=re.IGNORECASE,
        ),
    ),
    Header(
        "INFO:",
        _rx(
            r"INFO: lockdep is turned off",
            r"INFO: NMI handler",
            r"took too long",
            r"_INFO:",
            r"INFO: Stall ended before state dump start",
            r"EXT4-fs \(",
            r"INFO: recovery required",
            # Xen's boot banner: "(XEN) ACPI: SLEEP INFO: pm1x_cnt[...], pm1x_evt[...]"
            r"ACPI: SLEEP INFO:",
        ),
    ),
    Header("Unable to handle kernel"),
    Header(
        "general protection fault",
        _rx(r"general protection fault\b.*\berror:\s*\d+ in ", r"traps: \S+\[\d+\] general"),
    ),
    Header("stack segment: "),
    Header("Kernel panic"),
    Header("PANIC: double fault"),
    Header("rust_kernel: panicked"),
    Header("kernel BUG"),
    Header("Kernel BUG"),
    Header("BUG kmalloc-"),
    Header("divide error:"),
    Header("divide_error:"),
    Header("invalid opcode:"),
    Header("int3:"),
    Header("UBSAN:"),
    Header(
        "Booting the kernel.", _rx(r"Parsing ELF", r"Decompressing Linux", r"Unknown parameter '")
    ),
    Header("unregister_netdevice: waiting for"),
    Header("VFS: Close: file count is 0"),
    Header("VFS: Busy inodes after unmount"),
    Header("Internal error:"),
    Header("Unhandled fault:"),
    Header("Alignment trap:"),
    Header("trusty: panic"),
    Header("fatal error:", (*_rx(r"ALSA"), _GO_RUNTIME), at_start=True),
    Header("SYZFAIL:"),
    Header("SYZFATAL:"),
    Header("panic:", (*_rx(r"_panic:"), _GO_RUNTIME), at_start=True),
    # The NMI watchdog: "watchdog: Watchdog detected hard LOCKUP on cpu 30" (4.15+),
    # "NMI watchdog: Watchdog detected hard LOCKUP on cpu 2" (4.x), powerpc's
    # "watchdog: CPU 5 self-detected hard LOCKUP @ f+0x10/0x20" and "Watchdog CPU:59 Hard
    # LOCKUP".  The panic it may cause ("Kernel panic - not syncing: Hard LOCKUP") is the
    # Kernel panic header, earlier in this table.
    Header("detected hard LOCKUP"),
    Header("Hard LOCKUP"),
    # A paste that starts at the die line: "Oops: 0000 [#1] SMP" (x86 page fault, its "BUG:"
    # line not pasted), "Oops: Oops: 0000 [#1]" (6.11+), "Oops: 0000 [1] SMP" (2.6),
    # "Oops[#1]:" (MIPS), "Oops [#1]" (RISC-V), "Oops: Kernel access of bad area, sig: 11
    # [#1]" (powerpc).  Only a line of that shape: "Oops, I forgot..." is no header.
    Header(
        "Oops",
        _rx(r"^(?!\s{0,16}Oops(?:\[#?\d{1,4}\]|[^\n]{0,120}?\[#?\d{1,4}\]))"),
        at_start=True,
    ),
)

#: Headers that, inside an open report, always continue it: the die line of the report
#: itself, and the hard-lockup line a 3.x kernel prints under its WARNING.
CONTINUING_HEADERS = frozenset({"Oops", "detected hard LOCKUP"})

#: Header lines that, inside a report, continue it rather than start a second crash:
#: BUG() prints "kernel BUG at" then "invalid opcode: 0000"; a panic follows an oops.
CONTINUES_REPORT: tuple[str, ...] = (
    "invalid opcode: 0000",
    "Kernel panic - not syncing",
    "unregister_netdevice: waiting for",
    "PANIC: double fault",
    "Internal error:",
    "Kernel BUG [#",  # RISC-V die() after "kernel BUG at file:line!"
)

#: Messages that carry a stack trace but are not crashes; they corrupt a report they land in.
INFO_WITH_STACK: tuple[str, ...] = (
    "vmalloc: allocation failure:",
    "FAULT_INJECTION: forcing a failure",
    "FAULT_FLAG_ALLOW_RETRY missing",
)

REPLAYING = "** replaying previous printk message **"


@dataclass(frozen=True, slots=True)
class HeaderHit:
    header: Header
    pos: int  # column where the header string starts


#: What may stand before a header on a line with no container (no printk stamp, level or
#: syslog prefix: a pasted line): nothing, or up to three subsystem tags (``watchdog: ``,
#: ``NMI watchdog: ``, ``rcu: ``, ``CPU 0 ``, ``[drm] ``), the ``[ `` of lockdep's banners
#: before 4.x (``[ BUG: Invalid wait context ]``, ``[ INFO: possible circular locking
#: dependency detected ]``), or the hint x86 puts before a general protection fault caused by
#: a bad segment (``segment-related general protection fault: beec [#2]``).  Anything else is
#: prose that mentions a crash ("Here is a sample BUG: ..."), which never opens a report.
_KERNEL_PREFIX_RE = re.compile(
    r"\s{0,16}(?:\[ |segment-related )?"
    r"(?:(?:\[[^\]\s]{1,64}\]:?|[\w.\-/]{1,40}(?: [\w.\-/]{1,40})?:|CPU \d{1,5}) ){0,3}"
)


def starts_second_crash(text: str, *, bare: bool = False) -> bool:
    """True when *text*, seen inside a report, is the start of another crash."""
    hit = find_header(text, bare=bare)
    if hit is None or hit.header.name in CONTINUING_HEADERS:
        return False
    return not any(marker in text for marker in CONTINUES_REPORT)


def _make_hint() -> Callable[[str], bool]:
    """A fast test for "this line contains some header string" (one automaton pass)."""
    names = [h.name for h in HEADERS]
    try:
        import ahocorasick_rs
    except ImportError:  # pragma: no cover - the package is a dependency
        rx = re.compile("|".join(re.escape(n) for n in names))
        return lambda text: rx.search(text) is not None
    automaton = ahocorasick_rs.AhoCorasick(names)
    return lambda text: bool(automaton.find_matches_as_indexes(text))


may_be_header = _make_hint()


def find_header(text: str, *, bare: bool = False) -> HeaderHit | None:
    """The header that makes *text* the first line of a crash report, if any.

    *bare*: the line had no container (a pasted line): the header must then start a kernel
    line, not stand in a sentence.
    """
    if not may_be_header(text):
        return None
    for header in HEADERS:
        pos = text.find(header.name)
        if pos < 0:
            continue
        if header.at_start and text[:pos].strip():
            continue
        if bare and pos and _KERNEL_PREFIX_RE.fullmatch(text, 0, pos) is None:
            continue
        if any(rx.search(text) for rx in header.exclude):
            continue
        return HeaderHit(header, pos)
    return None
