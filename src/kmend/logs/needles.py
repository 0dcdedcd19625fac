"""Byte strings that every line starting a kernel crash report contains.

The log reader uses these to skip, at C speed, the parts of huge logs that cannot hold a
crash (``kmend.logs.prefilter``).  They live here, in the reader, because data flows one way
(logs → oops): the crash parser imports them, never the other way round.  The list is
deliberately broader than the header rules in ``kmend.oops.headers``: a needle hit only means
"parse the lines around here".
"""

from __future__ import annotations

import re

PREFILTER_NEEDLES: tuple[bytes, ...] = (
    b"BUG",  # BUG:, kernel BUG at, Kernel BUG, BUG kmalloc-, KASAN/KFENCE/KCSAN/KMSAN (BUG: ...)
    b"WARNING",
    b"INFO:",
    b"Oops",
    b"panic",  # Kernel panic, panic:, rust_kernel: panicked, trusty: panic
    b"PANIC",
    b"Unable to handle",
    b"general protection",
    b"stack segment",
    b"divide",
    b"invalid opcode",
    b"int3:",
    b"UBSAN",
    b"Internal error",
    b"Unhandled fault",
    b"Alignment trap",
    b"fatal error:",
    b"unregister_netdevice",
    b"VFS: ",
    b"cut here",
    b"Booting the kernel",
    b"SYZF",
    b"LOCKUP",  # the NMI watchdog's "Watchdog detected hard LOCKUP on cpu N"
)

#: Lines a report reads from long before it, kept by the reader alone (no report window):
#: the "loading out-of-tree module taints kernel" line, printed once per boot when the first
#: out-of-tree module loads, names the module a later crash may be the fault of.
CONTEXT_NEEDLES: tuple[bytes, ...] = (b"out-of-tree",)
OUT_OF_TREE = "out-of-tree"

#: How many lines before a needle hit the reader must keep (report prefix, syzkaller keeps 50
#: same-task lines before the crash line) and after it (the report body).
LINES_BEFORE = 64
LINES_AFTER = 1500
#: How many log lines after its header a report can still take lines (the segmenter closes
#: a report whose header is further back, ``kmend.oops.segment``).  The reader keeps the
#: lines of a host for this long after that host's last needle hit.
REPORT_SPAN_LINES = 4000

#: A report's tail: after its ``---[ end trace`` line, 4.x+ kernels repeat RIP/Code/registers
#: and a panic may follow.  The segmenter keeps the report open while its stream's lines
#: continue the tail (or are crash headers), for at most ``TAIL_LINES`` lines; the reader's
#: prefilter ends a host's window where that tail ends.
END_TRACE = "---[ end trace"
TAIL_LINES = 60
_TAIL_RE = re.compile(
    r"^\s*(?:$|RIP|EIP|RSP|R[A-Z0-9]{1,2}:|FS:|CS:|CR2:|DR\d|Code:|Kernel panic|Kernel Offset|"
    r"---\[ end Kernel panic|Rebooting in|PKRU:|note: |Fixing recursive fault|"
    r"Dumping ftrace|\(ftrace buffer empty\)|Shutting down cpus|pc : |lr : |sp : |x\d+:)"
)


def continues_tail(text: str) -> bool:
    """Whether a message after a report's ``---[ end trace`` still belongs to its tail (a
    crash header does too)."""
    return bool(_TAIL_RE.match(text))
