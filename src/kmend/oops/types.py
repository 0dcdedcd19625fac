"""Crash type from the title (syzkaller's classes of crash)."""

from __future__ import annotations

_EXACT_PREFIXES: tuple[tuple[str, str], ...] = (
    ("KASAN: use-after-free Read", "KASAN-USE-AFTER-FREE-READ"),
    ("KASAN: use-after-free Write", "KASAN-USE-AFTER-FREE-WRITE"),
    ("KASAN: slab-use-after-free Read", "KASAN-USE-AFTER-FREE-READ"),
    ("KASAN: slab-use-after-free Write", "KASAN-USE-AFTER-FREE-WRITE"),
    ("KASAN: null-ptr-deref Read", "KASAN-NULL-POINTER-DEREFERENCE-READ"),
    ("KASAN: null-ptr-deref Write", "KASAN-NULL-POINTER-DEREFERENCE-WRITE"),
    ("KASAN: invalid-free", "KASAN-INVALID-FREE"),
    ("KASAN: double-free", "KASAN-INVALID-FREE"),
    ("KFENCE: use-after-free read", "KFENCE-USE-AFTER-FREE-READ"),
    ("KFENCE: use-after-free write", "KFENCE-USE-AFTER-FREE-WRITE"),
    ("KFENCE: invalid free", "KFENCE-INVALID-FREE"),
    ("KFENCE: memory corruption", "KFENCE-MEMORY-CORRUPTION"),
    ("KFENCE: out-of-bounds read", "KFENCE-READ"),
    ("KFENCE: out-of-bounds write", "KFENCE-WRITE"),
    ("KFENCE: invalid read", "KFENCE-READ"),
    ("KFENCE: invalid write", "KFENCE-WRITE"),
    ("KMSAN: uninit-value", "KMSAN-UNINIT-VALUE"),
    ("KMSAN: kernel-infoleak", "KMSAN-INFO-LEAK"),
    ("KMSAN: kernel-usb-infoleak", "KMSAN-INFO-LEAK"),
    ("KMSAN: use-after-free", "KMSAN-USE-AFTER-FREE"),
    ("KCSAN: data-race", "KCSAN-DATARACE"),
    ("KCSAN: assert: race in", "KCSAN-ASSERT"),
    ("BUG: unable to handle kernel NULL pointer dereference in", "NULL-POINTER-DEREFERENCE"),
    ("BUG: corrupted list", "MEMORY_SAFETY_BUG"),
    ("BUG: unable to handle kernel paging request", "MEMORY_SAFETY_BUG"),
    ("WARNING: refcount bug", "REFCOUNT_WARNING"),
    ("UBSAN: array-index-out-of-bounds", "MEMORY_SAFETY_UBSAN"),
)

_LOCKDEP = (
    "BUG: bad unlock balance",
    "WARNING: bad unlock balance",
    "BUG: held lock freed",
    "WARNING: held lock freed",
    "BUG: spinlock",
    "BUG: rwlock",
    "BUG: still has locks held",
    "WARNING: still has locks held",
    "INFO: still has locks held",
    "BUG: using",
    "WARNING: lock held",
    "BUG: lock held",
    "WARNING: locking bug",
    "WARNING: nested lock",
    "WARNING: suspicious RCU usage in",
    "inconsistent lock state",
    "possible deadlock",
)

_DOS = (
    "general protection fault",
    "divide error",
    "invalid opcode",
    "int3",
    "PANIC: double fault",
    "Internal error",
    "Unhandled fault",
    "Alignment trap",
    "stack segment",
    "kernel panic",
    "kernel stack overflow",
    "BUG: Object already free",
    "VFS:",
    "unregister_netdevice",
    "trusty:",
    "go runtime error",
    "panic:",
)


def crash_type(title: str) -> str | None:
    """The crash class of a canonical *title*; None for syzkaller's "unknown"."""
    for prefix, kind in _EXACT_PREFIXES:
        if title.startswith(prefix):
            return kind
    if title.startswith("KASAN: "):
        if " Write" in title:
            return "KASAN-WRITE"
        if title.startswith("KASAN: use-after-free"):
            return "KASAN-USE-AFTER-FREE-READ"
        return "KASAN-READ"
    if title.startswith(_LOCKDEP):
        return "LOCKDEP"
    if title.startswith(("BUG: scheduling while atomic", "BUG: sleeping function")):
        return "ATOMIC_SLEEP"
    if title.startswith("memory leak in"):
        return "LEAK"
    if title.startswith(("BUG: bad usercopy in", "kernel BUG")):
        return "BUG"
    if title.startswith("WARNING in"):
        return "WARNING"
    if title.startswith(("BUG: stack guard page", "WARNING: corrupted", "WARNING: kernel stack")):
        return None
    if title.startswith(
        ("BUG: soft lockup", "INFO: rcu detected stall", "INFO: task hung", "INFO: task can't die")
    ):
        return "HANG"
    if title.startswith(_DOS):
        return "DoS"
    if title.startswith("unexpected kernel reboot"):
        return "REBOOT"
    if title.startswith(("SYZFAIL", "SYZFATAL")):
        return "SYZ_FAILURE"
    if title.startswith("WARNING:"):
        return "WARNING"
    for sanitizer in ("KASAN", "KFENCE", "KMSAN", "KCSAN"):
        if title.startswith(sanitizer + ":"):
            return f"{sanitizer}-UNKNOWN"
    if title.startswith("UBSAN:"):
        return "UBSAN"
    return None
