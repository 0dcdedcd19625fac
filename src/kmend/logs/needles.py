"""Byte strings that every line starting a kernel crash report contains.

The log reader uses these to skip, at C speed, the parts of huge logs that cannot hold a
crash (``kmend.logs.prefilter``).  They live here, in the reader, because data flows one way
(logs → oops): the crash parser imports them, never the other way round.  The list is
deliberately broader than the header rules in ``kmend.oops.headers``: a needle hit only means
"parse the lines around here".
"""

from __future__ import annotations

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
)

#: How many lines before a needle hit the reader must keep (report prefix, syzkaller keeps 50
#: same-task lines before the crash line) and after it (the report body).
LINES_BEFORE = 64
LINES_AFTER = 1500
#: How many log lines after its header a report can still take lines (the segmenter closes
#: a report whose header is further back, ``kmend.oops.segment``).  The reader keeps the
#: lines of a host for this long after that host's last needle hit.
REPORT_SPAN_LINES = 4000
