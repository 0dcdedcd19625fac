"""The ``BUG:`` family: KASAN, KFENCE, page faults, sleeping in atomic context, stalls,
list corruption and the rest of the ``BUG: …`` headers."""

from __future__ import annotations

from kmend.oops.formats.base import BAD, FUNC, HEADER, HERE, LOCKDEP, STALL, TRACE, F

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
        # the access line never came (the report is cut): the header's function is all
        # there is, taken as printed (even memcpy), with no alternative titles
        r"BUG: KASAN: (?P<kind>[a-z\-]+) in (?P<where>[A-Za-z0-9_]+)",
        "KASAN: {kind} in {where}",
        (),
        corrupted=True,
        needs_stack=False,
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
        # the stack printed under the header, not the header's function, names the crash
        (HERE, TRACE),
        alt=BAD,
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
        # The bad page is found when it is freed or handed out again: the stack printed is
        # the victim's.  Its owner is the stack page_owner recorded at its last allocation;
        # without that section (page_owner off) the culprit is unknown.
        ("after:page last allocated",),
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
        # the this_cpu accessors (any wrapper of them too) and the preemption checker run the
        # check; the code that called them from preemptible context is the subject
        skip=(r"this_cpu", r"^debug_smp_processor_id", r"^check_preemption_disabled"),
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
