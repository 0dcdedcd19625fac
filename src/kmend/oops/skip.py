"""Functions a crash title never blames, as classes of function.

A crash report's stack starts in the code that noticed the problem: the sanitizer that checked
the access, the printk that printed the warning, the spinlock that found the lock corrupted,
the memcpy handed a bad pointer.  None of these is where the bug is; the bug is in the first
caller that is none of them.  Each class below names such a family once, with why it is never
the culprit; the first frame (function name after demangling) that belongs to no class is the
blamed frame.

Each class is a set of name *pieces*, matched in one of four ways:

* ``anywhere`` — the piece anywhere in the name (``kmalloc`` also catches ``__kmalloc_node``,
  ``devm_kmalloc``, ``sock_kmalloc``: wrappers of a class member are members too);
* ``start``    — at the start, after the given optional underscores (``refcount_`` skips
  ``refcount_inc`` but not a driver's ``foo_refcount_get``);
* ``end``      — at the end (MMIO accessors ``readl``/``writew``, ``*_trap`` handlers);
* ``exact``    — the whole name (``down``, ``kfree``: short words that are part of many
  ordinary names, such as ``shutdown`` or ``kfree_rcu_work``).

These are the naming conventions of syzkaller, the reference for Linux crash titles: its
parser, run as a black box over every function of a current kernel (``/proc/kallsyms``),
agrees with these classes (tests/unit/test_frames_skip.py checks them on generated stacks).
"""

from __future__ import annotations

import re

from kmend._compat import dataclass


@dataclass(frozen=True, slots=True)
class SkipClass:
    name: str
    why: str
    anywhere: tuple[str, ...] = ()
    start: tuple[str, ...] = ()
    end: tuple[str, ...] = ()
    exact: tuple[str, ...] = ()

    def patterns(self) -> list[str]:
        out = [re.escape(p) if p.isidentifier() else p for p in self.anywhere]
        out += ["^" + (p if not p.isidentifier() else re.escape(p)) for p in self.start]
        out += [(re.escape(p) if p.isidentifier() else p) + "$" for p in self.end]
        out += ["^" + re.escape(p) + "$" for p in self.exact]
        return out


CLASSES: tuple[SkipClass, ...] = (
    SkipClass(
        "sanitizer runtimes",
        "KASAN/KMSAN/KCSAN/HWASAN and the compiler's instrumentation run on every checked "
        "access and report it; the access was made by their caller",
        anywhere=(
            "kasan", "kmsan", "__msan", "__asan", "hwasan", "__sanitizer",
            "kcsan_setup_watchpoint", "check_memory_region", "read_word_at_a_time",
            r"(?:read|write)_once_\w*nocheck", "print_address_description", "print_report",
            "__fortify_report", "check_heap_object", "check_object", "__phys_addr",
        ),
    ),
    SkipClass(
        "bug reporting and traps",
        "the code that raises the BUG/WARN trap, prints the report or walks the stack for it",
        anywhere=(
            "panic", "invalid_op", "fixup_bug", "report_bug", "__warn", "warn_slowpath",
            "warn_alloc", "dump_stack", "show_stack", "dump_backtrace", "print_tainted",
            "print_usage_bug", "assertfail", "rust_begin_unwind", "stack_trace_save", "stack_trace_consume_entry",
            "arch_stack_walk", "walk_stack", "do_trap", "program_check_exception",
            "program_check_common", "do_mem_abort", "el1_abort", "el1h_64_sync",
            "do_translation_fault", "do_kernel_fault",
        ),
        end=("_trap",),
        exact=("get_taint",),
    ),
    SkipClass(
        "debug objects and might_sleep checks",
        "debugobjects, might_sleep and seqcount assertions detect a misuse made by the caller "
        "(the timer and work-item is_static_object callbacks run inside debugobjects' check "
        "on every del_timer/cancel_work, and fault there on the caller's freed object)",
        anywhere=(
            "debug_object", "work_is_static_object", "timer_is_static_object", "might_sleep",
            "might_fault",
            "__might_resched", "seqprop_assert",
        ),
    ),
    SkipClass(
        "printk and formatting",
        "printing and formatting helpers run for the message, not for the bug",
        anywhere=(
            "printk", "dev_info", "dev_notice", "dev_warn", "dev_err", "dev_alert", "dev_crit",
            "dev_emerg", "va_format", "print_hex_dump", "hex_dump_to_buffer", "string",
            "pointer", "snprintf", "scnprintf", "kasprintf", "kvasprintf",
        ),
    ),
    SkipClass(
        "string, memory and checksum helpers",
        "library routines that faulted on the memory their caller handed them",
        anywhere=(
            "memcpy", "memset", "memmove", "memcmp", "memchr", "memdup", "strcmp", "strncmp",
            "strcpy", "strncpy", "strlcpy", "strscpy", "strlen", "strnlen", "strchr",
            "strstr", "strnstr", "strdup", "strndup", "crc_itu_t",
        ),
        start=(r"crc\d",),
    ),
    SkipClass(
        "MMIO accessors",
        "readl/writew and friends fault on the address the driver mapped",
        end=(r"read[bwlq]", r"write[bwlq]"),
    ),
    SkipClass(
        "bit operations and atomics",
        "single-instruction helpers on a word the caller owns",
        anywhere=(
            "set_bit", "clear_bit", "test_bit", "change_bit",
            r"atomic(?:64)?_(?:read|set|add|sub|inc|dec|and|or|xor|xchg|cmpxchg|try_cmpxchg"
            r"|fetch)",
        ),
    ),
    SkipClass(
        "locking primitives and lockdep",
        "spinlocks, rwlocks, mutexes, semaphores and lockdep's bookkeeping report or suffer a "
        "misuse made by the code that takes the lock",
        anywhere=(
            "spin_lock", "spin_trylock", "spin_unlock", "read_lock", "read_trylock",
            "read_unlock", "write_lock", "write_trylock", "write_unlock", "raw_spin_rq",
            "lock_acquire", "lock_release", "lock_class", "lockdep", "mark_lock",
            "mark_held_locks", "reacquire_held_locks", "down_read", "down_write",
            "down_trylock", "up_read", "up_write", "osq_lock", "osq_unlock", "bh_enable",
            "bh_disable", "trace_hardirq", "trace_softirq", "lock_timer_base",
        ),
        start=(r"(?:__)?mutex_", "rt_mutex_"),
        exact=("down",),
    ),
    SkipClass(
        "tracepoints",
        "perf/ftrace tracepoint glue (lockdep's lock tracepoints most of all) runs inside the "
        "locking call it traces",
        anywhere=("perf_trace",),
    ),
    SkipClass(
        "allocator internals",
        "the slab, page and vmalloc allocators fail or detect corruption on behalf of their "
        "caller (a double free is the freeing caller's bug)",
        anywhere=(
            "malloc", "zalloc", "calloc", "krealloc", "kmem_cache", "slab_", "allocate_slab",
            "alloc_page", "__alloc_frozen_pages_noprof", "folio_alloc", "filemap_alloc_folio",
            "kfree_skb", "ida_free",
        ),
        exact=("kfree", "kvfree"),
    ),
    SkipClass(
        "user copies and iterators",
        "copy_{to,from}_user and iov_iter helpers fault on the buffer the caller passed",
        anywhere=(
            "copy_from_user", "copy_to_user", "get_user", "put_user", "copy_to_iter",
            "copy_from_iter", "copy_page_to_iter", "copy_page_from_iter", "extract_iter_to_sg",
        ),
    ),
    SkipClass(
        "list, tree and array helpers",
        "list debugging and container helpers detect corruption left by the code that "
        "owns the container",
        anywhere=(
            "list_add", "list_del", "list_move", "list_replace", "list_splice", "rhashtable_lookup",
            "xas_find", "xas_load", "xas_start",
        ),
        start=(r"(?:__)?rb_", "klist_"),
    ),
    SkipClass(
        "reference counting",
        "refcount/kref/ref_tracker and the object put helpers warn about the caller's "
        "imbalance (fast_dput, iput: the caller dropped one reference too many)",
        anywhere=("ref_tracker", "dput"),
        start=("refcount_", "kref_"),
        exact=("iput", "ihold", "put_device"),
    ),
    SkipClass(
        "driver core teardown",
        "kobject/sysfs/device registration and removal complain about the driver that "
        "registered or removed the object",
        anywhere=(
            "kobject_", "device_add", "device_del", "device_release", "device_unregister",
            "device_destroy", "device_for_each_child", "device_remove_file",
            "get_device_parent", "add_uevent_var", "devres_release_all", "sysfs_remove",
            "unregister_netdev", "rollback_registered", "tty_unregister_device",
            "i2c_del_adapter", "hwrng_unregister",
        ),
    ),
    SkipClass(
        "USB transfer helpers",
        "URB submission and synchronous control messages fail on the URB the driver built",
        anywhere=(
            "usb_submit_urb", "usb_hcd_submit_urb", "usb_kill_urb", "usb_kill_anchored_urbs",
            "usb_control_msg",
        ),
    ),
    SkipClass(
        "workqueues, timers and completions",
        "deferred-work and wait machinery: the work item, timer or waiter was set up wrong "
        "by its owner",
        anywhere=(
            "queue_work", "queue_delayed_work_on", "__queue_delayed_work", "insert_work",
            "flush_work", "cancel_work_sync", "__cancel_work_timer", "try_to_grab_pending",
            "drain_workqueue", "destroy_workqueue", "kthread_stop", "del_timer",
            "__mod_timer", "__timer_delete_sync", "sk_stop_timer_sync", "wait_for_completion",
            "finish_wait", "__wake_up", "cleanup_srcu_struct",
        ),
        exact=("complete",),
    ),
    SkipClass(
        "page cache helpers",
        "page cache lookup, locking and truncation run for the filesystem that called them",
        anywhere=(
            "pagecache_get_page", "__filemap_get_folio", "read_cache_page",
            "do_read_cache_folio", "grab_cache_page_write_begin", "folio_unlock",
            "find_lock_entries", "truncate_inode_pages_range", "mark_buffer_dirty",
            "drop_nlink",
        ),
        start=("lock_page", "unlock_page"),
    ),
    SkipClass(
        "retpoline thunks",
        "compiler-generated indirect-call thunks are not functions of the kernel's own",
        anywhere=("x86_indirect_thunk_",),
    ),
)

_HUNG_TASK = SkipClass(
    "waiting and scheduling",
    "a hung task's stack is the way it went to sleep: scheduling, waits, completions, "
    "sleeping locks and semaphores, kthread management, RCU grace periods; the task "
    "hangs in the first function that is none of them",
    anywhere=(
        "sched", "wait", "completion", "_lock", "rwsem", "down", "kthread",
        "cancel_delayed_work", "synchronize", "context_switch", "__switch_to", "rcu_barrier",
        "rtlock_slowlock",
    ),
    # the in-kernel sleep helpers (msleep, usleep_range, ssleep, fsleep): syzkaller blames
    # the helper itself; a task hung in msleep was put to sleep by its caller, which kmend
    # names (a real hung crashmod task blames crashmod_run, not msleep).  Other names that
    # contain "sleep" (the nanosleep syscall a task asked for, ...) are ordinary functions.
    start=("msleep", "usleep", "ssleep", "fsleep"),
)

_RCU_USAGE = SkipClass(
    "RCU and allocator internals",
    "lockdep's RCU checker fires inside RCU, slab and kmemleak code that the caller "
    "reached with the wrong protection, and from lockdep's own graph walk",
    anywhere=("rcu", "slab", "kmem", "circular"),
)

#: Classes a kind of report adds, keyed by the start of its title: functions that
#: are ordinary elsewhere but, in that report, are the machinery that produced it.
FORMAT_CLASSES: tuple[tuple[str, SkipClass], ...] = (
    (
        "memory leak in",
        SkipClass(
            "allocation paths",
            "kmemleak prints the allocation's stack: every allocator, mmap and slab layer on "
            "it is the way to the leaked object, the leak is in the code that asked for it",
            anywhere=(
                "alloc", "mmap", "slab", "create_object", "idr_get", "kmem", "list_lru_init",
                "pcpu_create",
            ),
        ),
    ),
    (
        "WARNING: ODEBUG bug in",
        SkipClass(
            "deferred freeing and timers",
            "debugobjects notices a timer, work item or RCU head freed while active; the "
            "freeing, RCU, timer and workqueue layers below are how it got there, the bug is "
            "in the owner that freed it",
            anywhere=("__free_", "vfree", "vunmap", "rcu", "timer_", "debug_", "percpu_", "work_"),
        ),
    ),
    (
        "KASAN:",
        SkipClass(
            "arm64 fault entry",
            "with hardware tag-based KASAN the report comes through the arm64 fault handlers "
            "(el1 exception entry, tag-check and kernel faults)",
            anywhere=("tag_check", "kernel_fault"),
            start=("el1_", "el1h_"),
        ),
    ),
    (
        "KASAN: invalid-free in",
        SkipClass(
            "freeing functions",
            "KASAN finds a double or invalid free inside the function that frees: kfree, "
            "vfree and vunmap and every wrapper of them (kvfree, kfree_sensitive, "
            "kvfree_call_rcu...); the caller freed what it did not own",
            anywhere=("kfree", "vfree", "vunmap"),
        ),
    ),
    (
        "WARNING: locking bug in",
        SkipClass(
            "socket lock wrappers",
            "lock_sock/release_sock take the socket lock whose class lockdep complains about; "
            "the socket code that called them is the report's subject",
            anywhere=("lock_sock", "release_sock"),
        ),
    ),
    (
        "INFO: trying to register non-static key in",
        SkipClass(
            "lock registration",
            "lockdep meets the uninitialised lock inside a locking call, often from interrupt "
            "or stack-walking code: anything about locks, stacks or IRQs is on that path",
            anywhere=("lock", "stack", "IRQ"),
        ),
    ),
    (
        "WARNING in {frame}/usb_submit_urb",
        SkipClass(
            "synchronous USB transfers",
            "usb_submit_urb warns about an URB the driver described wrong (a bulk pipe for "
            "an interrupt endpoint...); the blocking helpers that built and submitted it for "
            "the driver (usb_bulk_msg, usb_interrupt_msg and their usb_start_wait_urb) are "
            "on the way, the driver that called them is the subject",
            anywhere=("usb_start_wait_urb", "usb_bulk_msg", "usb_interrupt_msg"),
        ),
    ),
    ("INFO: task hung in", _HUNG_TASK),
    ("INFO: task can't die in", _HUNG_TASK),
    ("INFO: suspicious RCU usage in", _RCU_USAGE),
    ("WARNING: suspicious RCU usage in", _RCU_USAGE),
    (
        "BUG: using",
        SkipClass(
            "preemption checks",
            "the this_cpu/smp_processor_id checker runs inside preemption and debug helpers",
            anywhere=("preempt", "debug_"),
        ),
    ),
    (
        "WARNING: kmalloc bug in",
        SkipClass(
            "slab internals",
            "the slab allocator warns about a size its caller asked for",
            anywhere=("slab", "kmem"),
        ),
    ),
    (
        "WARNING: refcount bug in",
        SkipClass(
            "reference counters",
            "the refcount saturation warning fires inside any refcount helper, a Rust "
            "driver's included; the caller's get/put is wrong",
            anywhere=("refcount",),
        ),
    ),
    (
        "KMSAN:",
        SkipClass(
            "consumers of other code's bytes",
            "KMSAN reports uninitialised bytes where generic layers consume them, not where "
            "they were left uninitialised: the crypto API, the DRBG, single-block ciphers and "
            "the ciphers' encrypt routines (aes_encrypt, xts_encrypt, a mode's or a driver's "
            "*_encrypt) read the caller's plaintext; the hwrng core (rng_*) reads a device "
            "driver's bytes; skb allocation and netlink's generic receive and ack paths carry "
            "a protocol's message; the code that produced the bytes is the subject",
            anywhere=("alloc_skb", "netlink_ack", "netlink_rcv_skb"),
            start=("crypto_", "drbg_", "cipher_", "rng_"),
            end=("_encrypt",),
        ),
    ),
    (
        "BUG: spinlock",
        SkipClass(
            "lock internals",
            "spinlock debugging reports from inside the lock code: any *_lock/*_unlock "
            "helper and spin_dump/spin_bug are on the path, the caller holds the bad lock",
            anywhere=("spin_", "_lock", "_unlock"),
        ),
    ),
    (
        "BUG: rwlock",
        SkipClass(
            "lock internals",
            "the rwlock twin of the spinlock reports",
            anywhere=("spin_", "_lock", "_unlock"),
        ),
    ),
)

GLOBAL_SKIP: re.Pattern[str] = re.compile(
    "|".join(f"(?:{p})" for cls in CLASSES for p in cls.patterns())
)


def compile_skips(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p) for p in patterns)


_FORMAT_SEEN: dict[str, tuple[re.Pattern[str], ...]] = {}


def format_skips(template: str) -> tuple[re.Pattern[str], ...]:
    """The extra classes of the report kind whose title starts as *template*."""
    hit = _FORMAT_SEEN.get(template)
    if hit is None:
        if len(_FORMAT_SEEN) > 4096:
            _FORMAT_SEEN.clear()
        patterns = [p for prefix, cls in FORMAT_CLASSES if template.startswith(prefix)
                    for p in cls.patterns()]
        hit = _FORMAT_SEEN[template] = (
            (re.compile("|".join(f"(?:{p})" for p in patterns)),) if patterns else ()
        )
    return hit


def skip_class(name: str) -> SkipClass | None:
    """The class that *name* belongs to (None: a function a title may blame)."""
    for cls in CLASSES:
        if any(re.search(p, name) for p in cls.patterns()):
            return cls
    return None


_GLOBAL_SEEN: dict[str, bool] = {}


def is_skipped(name: str, extra: tuple[re.Pattern[str], ...] = ()) -> bool:
    """True when the title must not blame function *name* (after demangling)."""
    hit = _GLOBAL_SEEN.get(name)
    if hit is None:  # the same few hundred function names recur in every report
        if len(_GLOBAL_SEEN) > 65536:
            _GLOBAL_SEEN.clear()
        hit = _GLOBAL_SEEN[name] = GLOBAL_SKIP.search(name) is not None
    return hit or any(rx.search(name) for rx in extra)


# -- stalls ------------------------------------------------------------------------------------
# A stall (RCU stall, soft lockup, stack overflow) interrupts a loop at a random point: the
# top of the stack says little.  The function that runs the loop sits just above the first
# *dispatcher* on the stack — the generic code that hands work to it: a syscall or an ioctl
# being dispatched, a work item, a softirq or timer, a VFS or socket call, a page fault, the
# netlink or packet receive path.  Each class is matched anywhere in the name unless anchored.

DISPATCHERS: tuple[SkipClass, ...] = (
    SkipClass(
        "task and syscall entry",
        "where a task's work starts: kernel threads, fork return, the syscall entry and exit "
        "paths, the idle/boot entry of a CPU",
        anywhere=(
            "smpboot_thread_fn", "cpu_startup_entry", "start_secondary", "ret_from_fork",
            "process_one_work", "task_work_run", "__fput", "exit_to_usermode_loop",
            "prepare_exit_to_usermode", "do_syscall_64", "do_fast_syscall_32", "invoke_syscall",
            "el0_svc_handler", "ret_fast_syscall", "sysenter_dispatch", "tracesys_phase2",
        ),
        start=(r"(?:__pfx_)?kthread$",),
    ),
    SkipClass(
        "syscalls that dispatch to a driver or protocol",
        "ioctl, connect, socketpair, setsockopt, accept and listen hand the call to whatever "
        "file or socket they act on (the syscall itself and its in-kernel kernel_* forms; "
        "accept4 and the *x variants are other calls)",
        start=(
            r"(?:__pfx_)?(?:(?:SYSC|SyS|sys|ksys|__se_sys|__do_sys|__sys|___sys|____sys|compat_SyS"
            r"|__x64_sys|__ia32_sys|__arm64_sys|__ia32_compat_sys|__x64_compat_sys)_)?"
            r"(?:ioctl|connect|socketpair)",
            r"(?:__pfx_)?(?:(?:SYSC|SyS|sys|ksys|__se_sys|__do_sys|__sys|___sys|____sys|compat_SyS)"
            r"_)?(?:setsockopt|accept)$",
            r"(?:(?:SYSC|SyS|sys|ksys|__se_sys|__do_sys|__sys|___sys|____sys|compat_SyS)_)?listen$",
            r"(?:__pfx_)?(?:compat_sock_ioctl|ioctl_has_perm|ioctl_preallocate)",
        ),
        anywhere=(
            "vfs_ioctl", "blkdev_ioctl", "compat_ioctl", "kernel_accept", "kernel_setsockopt",
            "kernel_listen",
        ),
    ),
    SkipClass(
        "softirqs and timers",
        "softirq, tasklet and timer dispatch run callbacks registered elsewhere",
        anywhere=(
            "do_softirq", "run_ksoftirqd", "hrtimer_run_softirq", "hrtimer_run_queues",
            "__run_timers", "run_timer_softirq", "call_timer_fn", r"tasklet_\w*action",
        ),
    ),
    SkipClass(
        "page faults",
        "a fault is dispatched to the mapping's fault handler",
        anywhere=("do_page_fault", "__do_fault"),
        start=(r"(?:__pfx_)?page_fault$",),
    ),
    SkipClass(
        "VFS and socket calls",
        "read/write/open/mmap and socket operations dispatch to the file's or socket's ops",
        anywhere=(
            "vfs_read", "vfs_write", "vfs_iter_read", "vfs_iter_write", "vfs_open",
            "do_dentry_open", "new_sync_read", "new_sync_write", "do_iter_read",
            "do_iter_write", "do_iter_readv_writev", "do_mmap", "mmap_region",
            "sk_common_release",
        ),
        start=(
            r"(?:__pfx_)?(?:__)?sock_release",
            r"(?:__pfx_)?sock_(?:sendmsg|recvmsg|ioctl|do_ioctl|mmap|common_setsockopt)",
        ),
    ),
    SkipClass(
        "packet and netlink receive",
        "received packets and netlink messages are dispatched to a protocol's handler",
        anywhere=("netif_receive_skb",),
        start=(r"(?:__pfx_)?(?:rtnetlink_rcv_msg|nfnetlink_rcv_msg|netlink_dump)",),
    ),
)

DISPATCH_RE: re.Pattern[str] = re.compile(
    "|".join(f"(?:{p})" for cls in DISPATCHERS for p in cls.patterns())
)


def is_dispatcher(name: str) -> bool:
    """True for a frame that dispatches work (see DISPATCHERS): a stall blames its callee."""
    return DISPATCH_RE.search(name) is not None
