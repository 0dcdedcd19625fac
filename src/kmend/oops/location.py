"""The guilty source file and line of a report: where the fix most likely goes.

A symbolized report (``scripts/decode_stacktrace.sh``, syzbot's console logs, a kernel with
CONFIG_DEBUG_INFO and a symbolizer) carries ``path/file.c:LINE`` after its frames, in any of
the forms ``func+0x1/0x2 fs/x.c:12``, ``func+0x1/0x2 [mod] drivers/y.c:7``, ``func (fs/x.c:12)``,
``func fs/x.c:12 [inline]``; an unsymbolized one names a file only in its header
(``kernel BUG at drivers/xen/evtchn.c:264!``, ``WARNING: ... at fs/z.c:9 f+0x..``).

The answer is the first such position, from the header line down, that is not in a generic
file — the code that every crash passes through, skipped for the same reasons the title skips
its functions (``kmend.oops.skip``): headers and library code, sanitizer runtimes, allocators,
locking, RCU, printk/panic, traps and fault handling, the scheduler, timers and workqueues,
the networking and USB core.  When every position is generic, the first one is the answer.
A later position in a deeper directory under the answer's own directory refines it
(``net/bluetooth/l2cap_core.c`` → ``net/bluetooth/hidp/core.c``: the protocol module, not the
core that called it).  Lockdep's bookkeeping lines (where a lock was taken, where irqs were
last enabled) say nothing of the fault and are not read; nor are unreliable ``? f`` frames.
For an RCU stall the scan starts at the timer interrupt that found the stall.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from kmend.oops.model import Location

#: ``path/file.c:LINE`` (also ``.h``, Rust ``.rs``); a column (``:13``) may follow.
POSITION_RE = re.compile(
    r"(?:^|[\s(\[])(?P<path>(?:\.?/)?[A-Za-z0-9_\-][A-Za-z0-9_\-+./]*\.(?:c|h|rs)):(?P<line>\d+)\b"
)

#: The top directories of a kernel tree: an absolute path into a kernel tree on a build
#: machine (``/build/linux-6.1.55/fs/x.c``) is cut there; any other absolute path (an
#: out-of-tree module built under ``/var/lib/dkms/...``) stays as printed.
_TOP_DIRS = (
    "arch", "block", "certs", "crypto", "drivers", "fs", "include", "init", "io_uring", "ipc",
    "kernel", "lib", "mm", "net", "rust", "samples", "security", "sound", "virt", "usr",
)
_ABS_RE = re.compile(
    r"^/(?:[^/]+/)*?linux[^/]*/(?P<rel>(?:" + "|".join(_TOP_DIRS) + r")/.*)$"
)

#: Generic files, by class (the file-level twins of the frame classes in kmend.oops.skip).
_GENERIC = (
    # library code and headers: inline helpers and data structures used by every caller
    r"\.h$", r"^lib/", r"^virt/lib/", r"^arch/[^/]+/lib/crc",
    # sanitizer runtimes and coverage
    r"^mm/kasan/", r"^mm/kmsan/", r"^kernel/kcov\.c$",
    # allocators and the page cache machinery
    r"^mm/sl[aou]b\.c$", r"^mm/slab_common\.c$", r"^mm/filemap\.c$", r"^mm/folio-compat\.c$",
    r"^mm/truncate\.c$",
    r"^mm/memory\.c$", r"^mm/percpu", r"^mm/vmalloc\.c$", r"^mm/page_alloc\.c$",
    r"^mm/mempool\.c$", r"^mm/util\.c$",
    # locking, RCU, softirqs, kthreads, the scheduler, timers and workqueues
    r"^kernel/locking/", r"^kernel/rcu/", r"^kernel/softirq\.c$", r"^kernel/kthread\.c$",
    r"^kernel/sched/[^/]+\.c$", r"^kernel/time/timer\.c$", r"^kernel/workqueue\.c$",
    # reporting: panic, printk, stack walking
    r"^kernel/panic\.c$", r"^kernel/printk/printk[^/]*\.c$", r"^kernel/stacktrace\.c$",
    r"^arch/[^/]+/kernel/stacktrace\.c$", r"^arch/[^/]+/kernel/unwind[^/]*\.c$",
    # traps, exception entry and fault handling
    r"^arch/[^/]+/kernel/traps\.c$", r"^arch/[^/]+/mm/fault\.c$", r"^arch/[^/]+/mm/physaddr\.c$",
    r"^arch/[^/]+/kernel/apic/apic\.c$", r"^arch/arm64/kernel/entry[^/]*\.c$",
    r"^arch/arm64/kernel/process\.c$",
    # subsystem cores that carry every driver's and protocol's calls
    r"^net/core/dev\.c$", r"^net/core/sock\.c$", r"^net/core/skbuff\.c$",
    r"^fs/proc/generic\.c$", r"^drivers/usb/core/urb\.c$", r"^trusty/",
)
_GENERIC_RE = re.compile("|".join(_GENERIC))

#: Lines that name a position for bookkeeping, not for the fault: lockdep's ``at:`` and
#: held-lock lines, the irq-state trail, arm's register annotations.
_BOOKKEEPING_RE = re.compile(
    r"(?:hard|soft)irqs last\s+(?:en|dis)abled at|, at: |^\s*#\d+:|Register r\d+ information"
)
_UNRELIABLE_RE = re.compile(r"^\s*(?:\[<?[0-9a-fA-F]+>?\]\s*)*\?\s+\S")
_STALL_START_RE = re.compile(r"apic_timer_interrupt\+0x|el1h_64_irq\+0x|Exception stack")


def normalize_path(path: str) -> str:
    """``./fs/x.c`` → ``fs/x.c``; ``/build/linux-6.1/fs/x.c`` → ``fs/x.c``."""
    if "/." in path or path.startswith("."):
        parts: list[str] = []
        for part in path.split("/"):
            if part == "..":
                if parts and parts[-1] not in ("", ".."):
                    parts.pop()
                    continue
            elif part == "." :
                continue
            parts.append(part)
        path = "/".join(parts)
    if path.startswith("/"):
        m = _ABS_RE.match(path)
        if m:
            return m.group("rel")
    return path


def is_generic(path: str) -> bool:
    """True for a file every crash passes through (see the module docstring)."""
    return _GENERIC_RE.search(path) is not None


def _positions(lines: Sequence[str]) -> list[tuple[str, int, bool]]:
    """(path, line, bookkeeping?) for every position in *lines*, in order."""
    out: list[tuple[str, int, bool]] = []
    for text in lines:
        if _UNRELIABLE_RE.match(text):
            continue
        bookkeeping = _BOOKKEEPING_RE.search(text) is not None
        for m in POSITION_RE.finditer(text):
            out.append((normalize_path(m.group("path")), int(m.group("line")), bookkeeping))
    return out


def _directory(path: str) -> str:
    return path.rsplit("/", 1)[0] if "/" in path else ""


def guilty_location(lines: Sequence[str], title: str = "") -> Location | None:
    """The guilty file and line of the report whose lines (header line first) are *lines*."""
    if title.startswith("INFO: rcu detected stall"):
        start = next((i for i, t in enumerate(lines) if _STALL_START_RE.search(t)), None)
        if start is not None:
            found = _choose(_positions(lines[start:]))
            if found is not None:
                return found
    return _choose(_positions(lines))


def _choose(positions: Sequence[tuple[str, int, bool]]) -> Location | None:
    if not positions:
        return None
    answer: tuple[str, int] | None = None
    for path, line, bookkeeping in positions:
        if bookkeeping or is_generic(path):
            continue
        if answer is None:
            answer = (path, line)
            continue
        here = _directory(answer[0])
        deeper = _directory(path)
        if here and deeper.startswith(here + "/"):
            answer = (path, line)
    if answer is None:
        answer = positions[0][0], positions[0][1]
    return Location(answer[0], answer[1])
