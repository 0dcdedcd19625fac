"""The stand-in drivers/xen/evtchn.c and drivers/xen/Makefile of the generated history.

Written for kmend's tests, not kernel code: shaped like the /dev/xen/evtchn device (a
per-port owner table, bind/unbind/notify ioctls, a ring of pending ports per open file)
and built from a set of feature names so that every commit of the history is one small,
real diff.  The features and the commits that add or remove them (scenario.py):

* ``bug_on`` — the BUG_ON in evtchn_bind_to_user() (line 264 at v3.10.20); the fix drops it;
* ``zalloc`` — kzalloc instead of kmalloc in evtchn_open();
* ``deadlock`` — unbind frees the handler without holding port_lock;
* ``fifo`` — evtchn_make_refcounted() after binding;
* ``enotconn`` — IOCTL_EVTCHN_NOTIFY returns -ENOTCONN for a port of another file;
* ``per_user`` — the fix: a per-file tree of bound ports instead of the global table;
* ``no_irqf_disabled`` — IRQF_DISABLED (and the stand-in's fallback definition) removed;
* ``ring_resize`` — the ring grows as ports are bound, with kvrealloc(p, size, flags).

Every version compiles into xen-evtchn.ko against Debian's 6.1 headers
(``make -C /lib/modules/6.1.0-*-amd64/build M=…``; the fallback ``#define IRQF_DISABLED``
is there for that, since 6.1 has no IRQF_DISABLED) — except ``ring_resize``: it calls
kvrealloc(p, size, flags), the form Linux 6.12 declares (``kvrealloc_noprof`` in
include/linux/slab.h), while 6.1 declares ``kvrealloc(p, oldsize, newsize, flags)``, so
gcc stops with "too few arguments to function 'kvrealloc'".  The newest revision does not
build against 6.1, and the newest-revision policy stops one commit earlier, at the
IRQF_DISABLED removal: the choice the engineer of the founding incident made, for the
same kind of reason.

Each feature's lines are separated from the lines the fix changes by unchanged lines, so
``git merge-file`` applies the fix onto v3.10.20 (which lacks ``fifo`` and ``enotconn``)
without a conflict.
"""

from __future__ import annotations

#: Line of the BUG_ON in evtchn_bind_to_user at the base (v3.10.20), as in the incident.
EVTCHN_BUG_LINE = 264
#: Features of drivers/xen/evtchn.c at the base, v3.10.20.
EVTCHN_BASE = frozenset({"bug_on", "deadlock", "zalloc"})

#: drivers/xen/Makefile, the same in every revision: the module and its one object.
EVTCHN_MAKEFILE = """\
#
# drivers/xen/Makefile of the kmt stand-in tree (written for kmend's tests).
# The other Xen drivers are built into the kernel; only the event-channel
# device is declared here.
#

obj-$(CONFIG_XEN_DEV_EVTCHN)		+= xen-evtchn.o

xen-evtchn-y				:= evtchn.o
"""


def _header(pad: int) -> list[str]:
    lines = [
        "/******************************************************************************",
        " * evtchn.c",
        " *",
        " * Stand-in for the event-channel character device, written for kmend's tests.",
        " * It keeps the shape of the driver (a table of port owners, a ring of pending",
        " * ports per open file, bind/unbind/notify ioctls) but none of its code.",
        " *",
        " * Each open file gets its own ring.  A port delivered by the hypervisor is",
        " * written into the ring of the file that bound it and the reader is woken.",
        " *",
        " * This program is free software; you can redistribute it and/or",
        " * modify it under the terms of the GNU General Public License version 2.",
    ]
    lines += [" *"] * pad
    lines += [" */", ""]
    return lines


_INCLUDES = [
    "#define pr_fmt(fmt) \"xen:\" KBUILD_MODNAME \": \" fmt",
    "",
    "#include <linux/module.h>",
    "#include <linux/kernel.h>",
    "#include <linux/sched.h>",
    "#include <linux/slab.h>",
    "#include <linux/string.h>",
    "#include <linux/errno.h>",
    "#include <linux/fs.h>",
    "#include <linux/miscdevice.h>",
    "#include <linux/poll.h>",
    "#include <linux/interrupt.h>",
    "#include <linux/init.h>",
    "#include <linux/mutex.h>",
    "#include <linux/rbtree.h>",
    "#include <linux/uaccess.h>",
    "",
    "#include <xen/xen.h>",
    "#include <xen/events.h>",
    "#include <xen/evtchn.h>",
    "#include <asm/xen/hypervisor.h>",
    "#include <asm/xen/hypercall.h>",
    "",
]


class _Ring:
    """How the ring macros are spelled: a fixed page, or a size per file (ring_resize)."""

    def __init__(self, resize: bool) -> None:
        self.resize = resize
        self.size = "RING_SIZE(u)" if resize else "RING_SIZE"

    def mask(self, index: str) -> str:
        return f"RING_MASK(u, {index})" if self.resize else f"RING_MASK({index})"


def _compat(f: frozenset[str]) -> list[str]:
    out = []
    if "no_irqf_disabled" not in f:
        out += [
            "#ifndef IRQF_DISABLED",
            "#define IRQF_DISABLED 0\t/* newer kernels run every handler with irqs off */",
            "#endif",
            "",
        ]
    out += [
        "/* Ports above the 2-level ABI's limit are refused. */",
        "#define EVTCHN_NR_PORTS\t\tEVTCHN_2L_NR_CHANNELS",
        "",
    ]
    return out


def _structs(f: frozenset[str], r: _Ring) -> list[str]:
    pu = "per_user" in f
    out = [
        "struct per_user_data {",
        "\tstruct mutex bind_mutex;\t/* serialises bind and unbind */",
    ]
    if pu:
        out += [
            "\tstruct rb_root evtchns;\t\t/* ports this file has bound */",
            "\tspinlock_t ring_prod_lock;\t/* producer side of the ring */",
        ]
    out += [
        "",
        "\t/* Ring of ports waiting to be read, written by the interrupt handler. */",
    ]
    if r.resize:
        out += [
            "#define RING_SIZE(u)\t\t((u)->ring_size)",
            "#define RING_MASK(u, _i)\t((_i) & (RING_SIZE(u) - 1))",
            "\tevtchn_port_t *ring;",
            "\tunsigned int ring_size, nr_ports;",
        ]
    else:
        out += [
            "#define RING_SIZE\t\t(PAGE_SIZE / sizeof(evtchn_port_t))",
            "#define RING_MASK(_i)\t\t((_i) & (RING_SIZE - 1))",
            "\tevtchn_port_t *ring;",
        ]
    out += [
        "\tunsigned int ring_cons, ring_prod, ring_overflow;",
        "\tstruct mutex ring_cons_mutex;\t/* consumer side of the ring */",
        "",
        "\t/* Processes waiting for a port, and the async notification list. */",
        "\twait_queue_head_t evtchn_wait;",
        "\tstruct fasync_struct *evtchn_async_queue;",
        "\tconst char *name;",
        "};",
        "",
    ]
    if pu:
        count = "r" if r.resize else ""
        out += [
            "struct user_evtchn {",
            "\tstruct rb_node node;",
            "\tstruct per_user_data *user;",
            "\tevtchn_port_t port;",
            "\tbool enabled;",
            "};",
            "",
            "static int add_port(struct per_user_data *u, struct user_evtchn *evtchn)",
            "{",
            "\tstruct rb_node **new = &u->evtchns.rb_node, *parent = NULL;",
            "",
            "\twhile (*new) {",
            "\t\tstruct user_evtchn *this = rb_entry(*new, struct user_evtchn, node);",
            "",
            "\t\tparent = *new;",
            "\t\tif (this->port < evtchn->port)",
            "\t\t\tnew = &(*new)->rb_left;",
            "\t\telse if (this->port > evtchn->port)",
            "\t\t\tnew = &(*new)->rb_right;",
            "\t\telse",
            "\t\t\treturn -EEXIST;",
            "\t}",
            "\trb_link_node(&evtchn->node, parent, new);",
            "\trb_insert_color(&evtchn->node, &u->evtchns);",
            *(["\tu->nr_ports++;"] if count else []),
            "\treturn 0;",
            "}",
            "",
            "static void del_port(struct per_user_data *u, struct user_evtchn *evtchn)",
            "{",
            "\trb_erase(&evtchn->node, &u->evtchns);",
            *(["\tu->nr_ports--;"] if count else []),
            "\tkfree(evtchn);",
            "}",
            "",
            "static struct user_evtchn *find_port(struct per_user_data *u, unsigned int port)",
            "{",
            "\tstruct rb_node *node = u->evtchns.rb_node;",
            "",
            "\twhile (node) {",
            "\t\tstruct user_evtchn *evtchn = rb_entry(node, struct user_evtchn, node);",
            "",
            "\t\tif (evtchn->port < port)",
            "\t\t\tnode = node->rb_left;",
            "\t\telse if (evtchn->port > port)",
            "\t\t\tnode = node->rb_right;",
            "\t\telse",
            "\t\t\treturn evtchn;",
            "\t}",
            "\treturn NULL;",
            "}",
            "",
        ]
    else:
        out += [
            "/*",
            " * Who owns each port.  The low bit of the pointer says whether the port",
            " * is enabled; the table is indexed by port number.  port_lock guards it",
            " * against the interrupt handler.",
            " */",
            "static unsigned long *port_owner_table;",
            "static DEFINE_SPINLOCK(port_lock);",
            "",
            "static inline struct per_user_data *port_owner(unsigned int port)",
            "{",
            "\treturn (struct per_user_data *)(port_owner_table[port] & ~1UL);",
            "}",
            "",
            "static inline void set_port_owner(unsigned int port, struct per_user_data *u)",
            "{",
            "\tport_owner_table[port] = (unsigned long)u;",
            "}",
            "",
            "static inline bool port_enabled(unsigned int port)",
            "{",
            "\treturn port_owner_table[port] & 1;",
            "}",
            "",
            "static inline void set_port_enabled(unsigned int port, bool on)",
            "{",
            "\tif (on)",
            "\t\tport_owner_table[port] |= 1;",
            "\telse",
            "\t\tport_owner_table[port] &= ~1UL;",
            "}",
            "",
        ]
    return out


def _interrupt(f: frozenset[str], r: _Ring) -> list[str]:
    if "per_user" in f:
        head = [
            "\tstruct user_evtchn *evtchn = data;",
            "\tstruct per_user_data *u = evtchn->user;",
            "\tunsigned int port = evtchn->port;",
            "",
            "\tWARN(!evtchn->enabled,",
        ]
        disable, lock, unlock = ("\tevtchn->enabled = false;",
                                 "\tspin_lock(&u->ring_prod_lock);",
                                 "\tspin_unlock(&u->ring_prod_lock);")
    else:
        head = [
            "\tunsigned int port = (unsigned long)data;",
            "\tstruct per_user_data *u;",
            "",
            "\tspin_lock(&port_lock);",
            "\tu = port_owner(port);",
            "",
            "\tWARN(!port_enabled(port),",
        ]
        disable, lock, unlock = ("\tset_port_enabled(port, false);", "",
                                 "\tspin_unlock(&port_lock);")
    return [
        "static irqreturn_t evtchn_interrupt(int irq, void *data)",
        "{",
        *head,
        "\t     \"Interrupt for port %u, but apparently not enabled; per-user %p\\n\",",
        "\t     port, u);",
        "",
        "\tdisable_irq_nosync(irq);",
        disable,
        *([lock] if lock else []),
        "",
        f"\tif ((u->ring_prod - u->ring_cons) < {r.size}) {{",
        f"\t\tu->ring[{r.mask('u->ring_prod')}] = port;",
        "\t\twmb(); /* the reader sees the port before the new producer index */",
        "\t\tif (u->ring_cons == u->ring_prod++) {",
        "\t\t\twake_up_interruptible(&u->evtchn_wait);",
        "\t\t\tkill_fasync(&u->evtchn_async_queue, SIGIO, POLL_IN);",
        "\t\t}",
        "\t} else",
        "\t\tu->ring_overflow = 1;",
        "",
        unlock,
        "\treturn IRQ_HANDLED;",
        "}",
        "",
    ]


def _resize(f: frozenset[str]) -> list[str]:
    if "ring_resize" not in f:
        return []
    return [
        "/*",
        " * One slot per bound port, so the ring never overflows.  The ring size is",
        " * a power of two; when it doubles, each pending port either stays where it",
        " * is or moves up by the old size, into a slot that was free.",
        " */",
        "static int evtchn_resize_ring(struct per_user_data *u)",
        "{",
        "\tunsigned int old_size = u->ring_size, new_size, i;",
        "\tevtchn_port_t *new_ring;",
        "",
        "\tif (u->nr_ports <= old_size)",
        "\t\treturn 0;",
        "\tnew_size = 2 * old_size;",
        "",
        "\tspin_lock_irq(&u->ring_prod_lock);",
        "\tnew_ring = kvrealloc(u->ring, new_size * sizeof(*new_ring), GFP_ATOMIC);",
        "\tif (new_ring) {",
        "\t\tfor (i = u->ring_cons; i != u->ring_prod; i++)",
        "\t\t\tnew_ring[i & (new_size - 1)] = new_ring[i & (old_size - 1)];",
        "\t\tu->ring = new_ring;",
        "\t\tu->ring_size = new_size;",
        "\t}",
        "\tspin_unlock_irq(&u->ring_prod_lock);",
        "",
        "\treturn new_ring ? 0 : -ENOMEM;",
        "}",
        "",
    ]


def _bind(f: frozenset[str]) -> list[str]:
    pu = "per_user" in f
    flags = "0" if "no_irqf_disabled" in f else "IRQF_DISABLED"
    out = [
        "static int evtchn_bind_to_user(struct per_user_data *u, int port)",
        "{",
        *(["\tstruct user_evtchn *evtchn;"] if pu else []),
        "\tstruct evtchn_close close;",
        "\tint rc = 0;",
        "",
    ]
    if pu:
        out += [
            "\t/*",
            "\t * Ports are only handed out once, but a port freed by another",
            "\t * file may come back to us: the tree of this file decides.",
            "\t */",
            "\tevtchn = kzalloc(sizeof(*evtchn), GFP_KERNEL);",
            "\tif (!evtchn)",
            "\t\treturn -ENOMEM;",
            "",
            "\tevtchn->user = u;",
            "\tevtchn->port = port;",
            "\tevtchn->enabled = true; /* ports start enabled */",
            "",
            "\trc = add_port(u, evtchn);",
            "\tif (rc < 0) {",
            "\t\tkfree(evtchn);",
            "\t\treturn rc;",
            "\t}",
            "",
        ]
        if "ring_resize" in f:
            out += [
                "\trc = evtchn_resize_ring(u);",
                "\tif (rc < 0)",
                "\t\tgoto err;",
                "",
            ]
    else:
        if "bug_on" in f:
            out += [
                "\t/*",
                "\t * A port is handed out by the hypervisor only once, so nobody",
                "\t * else can own it here.  No lock: the handler is not registered",
                "\t * yet and the caller serialises binds through bind_mutex.",
                "\t */",
                "\tBUG_ON(port_owner(port) != NULL);",
            ]
        out += [
            "\tset_port_owner(port, u);",
            "\tset_port_enabled(port, true); /* ports start enabled */",
            "",
        ]
    out += [
        f"\trc = bind_evtchn_to_irqhandler(port, evtchn_interrupt, {flags},",
        "\t\t\t\t       u->name, " + ("evtchn);" if pu else "(void *)(unsigned long)port);"),
        "\tif (rc < 0)",
        "\t\tgoto err;",
        "",
    ]
    if "fifo" in f:
        out += [
            "\trc = evtchn_make_refcounted(port);",
            "\treturn rc;",
        ]
    else:
        out += ["\treturn 0;"]
    out += [
        "",
        "err:",
        "\t/* bind failed, should close the port now */",
        "\tclose.port = port;",
        "\tif (HYPERVISOR_event_channel_op(EVTCHNOP_close, &close) != 0)",
        "\t\tBUG();",
        "\t" + ("del_port(u, evtchn);" if pu else "set_port_owner(port, NULL);"),
        "\treturn rc;",
        "}",
        "",
    ]
    return out


def _unbind(f: frozenset[str]) -> list[str]:
    if "per_user" in f:
        return [
            "static void evtchn_unbind_from_user(struct per_user_data *u,",
            "\t\t\t\t    struct user_evtchn *evtchn)",
            "{",
            "\tint irq = irq_from_evtchn(evtchn->port);",
            "",
            "\tBUG_ON(irq < 0);",
            "",
            "\tunbind_from_irqhandler(irq, evtchn);",
            "",
            "\tdel_port(u, evtchn);",
            "}",
            "",
        ]
    out = [
        "static void evtchn_unbind_from_user(struct per_user_data *u, int port)",
        "{",
        "\tint irq = irq_from_evtchn(port);",
        "",
    ]
    if "deadlock" in f:
        out += [
            "\tBUG_ON(irq < 0);",
            "",
            "\t/* Free the handler before dropping the owner, so no interrupt",
            "\t * can run against a port nobody owns. */",
            "\tunbind_from_irqhandler(irq, (void *)(unsigned long)port);",
            "",
            "\tset_port_owner(port, NULL);",
        ]
    else:
        out += [
            "\tspin_lock_irq(&port_lock);",
            "\tunbind_from_irqhandler(irq, (void *)(unsigned long)port);",
            "\tset_port_owner(port, NULL);",
            "\tspin_unlock_irq(&port_lock);",
        ]
    return [*out, "}", ""]


def _bind_case(name: str, kind: str, op: str, setup: list[str], port: str) -> list[str]:
    return [
        f"\tcase IOCTL_EVTCHN_{name}: {{",
        f"\t\tstruct ioctl_evtchn_{kind} bind;",
        f"\t\tstruct evtchn_{kind} {kind};",
        "",
        "\t\trc = -EFAULT;",
        "\t\tif (copy_from_user(&bind, uarg, sizeof(bind)))",
        "\t\t\tbreak;",
        "",
        *setup,
        f"\t\trc = HYPERVISOR_event_channel_op({op}, &{kind});",
        "\t\tif (rc != 0)",
        "\t\t\tbreak;",
        "",
        f"\t\trc = evtchn_bind_to_user(u, {kind}.{port});",
        "\t\tif (rc == 0)",
        f"\t\t\trc = {kind}.{port};",
        "\t\tbreak;",
        "\t}",
        "",
    ]


def _ioctl(f: frozenset[str]) -> list[str]:
    pu = "per_user" in f
    notconn = "-ENOTCONN" if "enotconn" in f else "-EINVAL"
    return [
        "static long evtchn_ioctl(struct file *file,",
        "\t\t\t unsigned int cmd, unsigned long arg)",
        "{",
        *(["\tstruct user_evtchn *evtchn;"] if pu else []),
        "\tint rc;",
        "\tstruct per_user_data *u = file->private_data;",
        "\tvoid __user *uarg = (void __user *) arg;",
        "",
        "\t/* Prevent bind from racing with unbind */",
        "\tmutex_lock(&u->bind_mutex);",
        "",
        "\tswitch (cmd) {",
        *_bind_case("BIND_VIRQ", "bind_virq", "EVTCHNOP_bind_virq",
                    ["\t\tbind_virq.virq = bind.virq;",
                     "\t\tbind_virq.vcpu = 0;"], "port"),
        *_bind_case("BIND_INTERDOMAIN", "bind_interdomain", "EVTCHNOP_bind_interdomain",
                    ["\t\tbind_interdomain.remote_dom  = bind.remote_domain;",
                     "\t\tbind_interdomain.remote_port = bind.remote_port;"],
                    "local_port"),
        "\tcase IOCTL_EVTCHN_UNBIND: {",
        "\t\tstruct ioctl_evtchn_unbind unbind;",
        "",
        "\t\trc = -EFAULT;",
        "\t\tif (copy_from_user(&unbind, uarg, sizeof(unbind)))",
        "\t\t\tbreak;",
        "",
        "\t\trc = -EINVAL;",
        "\t\tif (unbind.port >= EVTCHN_NR_PORTS)",
        "\t\t\tbreak;",
        "",
        "\t\trc = -ENOTCONN;",
        *(["\t\tevtchn = find_port(u, unbind.port);",
           "\t\tif (!evtchn)"] if pu else
          ["\t\tif (port_owner(unbind.port) != u)"]),
        "\t\t\tbreak;",
        "",
        "\t\tdisable_irq(irq_from_evtchn(unbind.port));",
        "\t\tevtchn_unbind_from_user(u, " + ("evtchn);" if pu else "unbind.port);"),
        "\t\trc = 0;",
        "\t\tbreak;",
        "\t}",
        "",
        "\tcase IOCTL_EVTCHN_NOTIFY: {",
        "\t\tstruct ioctl_evtchn_notify notify;",
        "",
        "\t\trc = -EFAULT;",
        "\t\tif (copy_from_user(&notify, uarg, sizeof(notify)))",
        "\t\t\tbreak;",
        "",
        "\t\tif (notify.port >= EVTCHN_NR_PORTS) {",
        "\t\t\trc = -EINVAL;",
        "\t\t\tbreak;",
        "\t\t}",
        f"\t\trc = {notconn};",
        "\t\t/* Only the file that bound a port may notify through it. */",
        ("\t\tif (!find_port(u, notify.port))" if pu
         else "\t\tif (port_owner(notify.port) != u)"),
        "\t\t\tbreak;",
        "",
        "\t\tnotify_remote_via_evtchn(notify.port);",
        "\t\trc = 0;",
        "\t\tbreak;",
        "\t}",
        "",
        "\tdefault:",
        "\t\trc = -ENOSYS;",
        "\t\tbreak;",
        "\t}",
        "\tmutex_unlock(&u->bind_mutex);",
        "",
        "\treturn rc;",
        "}",
        "",
    ]


def _read_write(f: frozenset[str], r: _Ring) -> list[str]:
    if "per_user" in f:
        enable = [
            "\tmutex_lock(&u->bind_mutex);",
            "",
            "\tfor (i = 0; i < (count/sizeof(evtchn_port_t)); i++) {",
            "\t\tstruct user_evtchn *evtchn = find_port(u, kbuf[i]);",
            "",
            "\t\tif (evtchn && !evtchn->enabled) {",
            "\t\t\tevtchn->enabled = true;",
            "\t\t\tenable_irq(irq_from_evtchn(evtchn->port));",
            "\t\t}",
            "\t}",
            "",
            "\tmutex_unlock(&u->bind_mutex);",
        ]
    else:
        enable = [
            "\tspin_lock_irq(&port_lock);",
            "",
            "\tfor (i = 0; i < (count/sizeof(evtchn_port_t)); i++) {",
            "\t\tunsigned int port = kbuf[i];",
            "",
            "\t\tif (port < EVTCHN_NR_PORTS && port_owner(port) == u &&",
            "\t\t    !port_enabled(port)) {",
            "\t\t\tset_port_enabled(port, true);",
            "\t\t\tenable_irq(irq_from_evtchn(port));",
            "\t\t}",
            "\t}",
            "",
            "\tspin_unlock_irq(&port_lock);",
        ]
    return [
        "static ssize_t evtchn_read(struct file *file, char __user *buf,",
        "\t\t\t   size_t count, loff_t *ppos)",
        "{",
        "\tint rc;",
        "\tunsigned int c, p, bytes1 = 0, bytes2 = 0;",
        "\tstruct per_user_data *u = file->private_data;",
        "",
        "\t/* Whole number of ports only. */",
        "\tcount &= ~(sizeof(evtchn_port_t) - 1);",
        "\tif (count == 0)",
        "\t\treturn 0;",
        "\tif (count > PAGE_SIZE)",
        "\t\tcount = PAGE_SIZE;",
        "",
        "\tfor (;;) {",
        "\t\tmutex_lock(&u->ring_cons_mutex);",
        "",
        "\t\trc = -EFBIG;",
        "\t\tif (u->ring_overflow)",
        "\t\t\tgoto unlock_out;",
        "",
        "\t\tc = u->ring_cons;",
        "\t\tp = u->ring_prod;",
        "\t\tif (c != p)",
        "\t\t\tbreak;",
        "",
        "\t\tmutex_unlock(&u->ring_cons_mutex);",
        "",
        "\t\tif (file->f_flags & O_NONBLOCK)",
        "\t\t\treturn -EAGAIN;",
        "",
        "\t\trc = wait_event_interruptible(u->evtchn_wait,",
        "\t\t\t\t\t      u->ring_cons != u->ring_prod);",
        "\t\tif (rc)",
        "\t\t\treturn rc;",
        "\t}",
        "",
        "\t/* The ring may wrap: copy up to two chunks. */",
        f"\tif (((c ^ p) & {r.size}) != 0) {{",
        f"\t\tbytes1 = ({r.size} - {r.mask('c')}) * sizeof(evtchn_port_t);",
        f"\t\tbytes2 = {r.mask('p')} * sizeof(evtchn_port_t);",
        "\t} else {",
        "\t\tbytes1 = (p - c) * sizeof(evtchn_port_t);",
        "\t\tbytes2 = 0;",
        "\t}",
        "",
        "\t/* Never copy more than the caller asked for. */",
        "\tif (bytes1 > count) {",
        "\t\tbytes1 = count;",
        "\t\tbytes2 = 0;",
        "\t} else if ((bytes1 + bytes2) > count) {",
        "\t\tbytes2 = count - bytes1;",
        "\t}",
        "",
        "\trc = -EFAULT;",
        "\trmb(); /* read the ports only after the producer index */",
        f"\tif (copy_to_user(buf, &u->ring[{r.mask('c')}], bytes1) ||",
        "\t    ((bytes2 != 0) &&",
        "\t     copy_to_user(&buf[bytes1], &u->ring[0], bytes2)))",
        "\t\tgoto unlock_out;",
        "",
        "\tu->ring_cons += (bytes1 + bytes2) / sizeof(evtchn_port_t);",
        "\trc = bytes1 + bytes2;",
        "",
        " unlock_out:",
        "\tmutex_unlock(&u->ring_cons_mutex);",
        "\treturn rc;",
        "}",
        "",
        "static ssize_t evtchn_write(struct file *file, const char __user *buf,",
        "\t\t\t    size_t count, loff_t *ppos)",
        "{",
        "\tint rc, i;",
        "\tevtchn_port_t *kbuf = (evtchn_port_t *)__get_free_page(GFP_KERNEL);",
        "\tstruct per_user_data *u = file->private_data;",
        "",
        "\tif (kbuf == NULL)",
        "\t\treturn -ENOMEM;",
        "",
        "\t/* Whole number of ports only. */",
        "\tcount &= ~(sizeof(evtchn_port_t) - 1);",
        "",
        "\trc = 0;",
        "\tif (count == 0)",
        "\t\tgoto out;",
        "",
        "\tif (count > PAGE_SIZE)",
        "\t\tcount = PAGE_SIZE;",
        "",
        "\trc = -EFAULT;",
        "\tif (copy_from_user(kbuf, buf, count) != 0)",
        "\t\tgoto out;",
        "",
        *enable,
        "",
        "\trc = count;",
        "",
        " out:",
        "\tfree_page((unsigned long)kbuf);",
        "\treturn rc;",
        "}",
        "",
    ]


def _open_release(f: frozenset[str], r: _Ring) -> list[str]:
    pu = "per_user" in f
    alloc = "kzalloc" if "zalloc" in f else "kmalloc"
    if r.resize:
        ring = ["\tu->ring_size = 64;",
                "\tu->ring = kvmalloc_array(u->ring_size, sizeof(*u->ring), GFP_KERNEL);"]
        free_ring = "\tkvfree(u->ring);"
    else:
        ring = ["\tu->ring = (evtchn_port_t *)__get_free_page(GFP_KERNEL);"]
        free_ring = "\tfree_page((unsigned long)u->ring);"
    if pu:
        unbind_all = [
            "\tstruct rb_node *node;",
            "",
            "\twhile ((node = u->evtchns.rb_node) != NULL) {",
            "\t\tstruct user_evtchn *evtchn = rb_entry(node, struct user_evtchn, node);",
            "",
            "\t\tdisable_irq(irq_from_evtchn(evtchn->port));",
            "\t\tevtchn_unbind_from_user(u, evtchn);",
            "\t}",
        ]
    else:
        unbind_all = [
            "\tunsigned int port;",
            "",
            "\tfor (port = 0; port < EVTCHN_NR_PORTS; port++) {",
            "\t\tif (port_owner(port) != u)",
            "\t\t\tcontinue;",
            "\t\tdisable_irq(irq_from_evtchn(port));",
            "\t\tevtchn_unbind_from_user(u, port);",
            "\t}",
        ]
    return [
        "static __poll_t evtchn_poll(struct file *file, poll_table *wait)",
        "{",
        "\t__poll_t mask = EPOLLOUT | EPOLLWRNORM;",
        "\tstruct per_user_data *u = file->private_data;",
        "",
        "\tpoll_wait(file, &u->evtchn_wait, wait);",
        "\tif (u->ring_cons != u->ring_prod)",
        "\t\tmask |= EPOLLIN | EPOLLRDNORM;",
        "\tif (u->ring_overflow)",
        "\t\tmask = EPOLLERR;",
        "\treturn mask;",
        "}",
        "",
        "static int evtchn_fasync(int fd, struct file *filp, int on)",
        "{",
        "\tstruct per_user_data *u = filp->private_data;",
        "",
        "\treturn fasync_helper(fd, filp, on, &u->evtchn_async_queue);",
        "}",
        "",
        "static int evtchn_open(struct inode *inode, struct file *filp)",
        "{",
        "\tstruct per_user_data *u;",
        "",
        f"\tu = {alloc}(sizeof(*u), GFP_KERNEL);",
        "\tif (u == NULL)",
        "\t\treturn -ENOMEM;",
        "",
        "\tu->name = kasprintf(GFP_KERNEL, \"evtchn:%s\", current->comm);",
        "\tif (u->name == NULL) {",
        "\t\tkfree(u);",
        "\t\treturn -ENOMEM;",
        "\t}",
        "",
        "\tinit_waitqueue_head(&u->evtchn_wait);",
        *ring,
        "\tif (u->ring == NULL) {",
        "\t\tkfree(u->name);",
        "\t\tkfree(u);",
        "\t\treturn -ENOMEM;",
        "\t}",
        "",
        "\tmutex_init(&u->bind_mutex);",
        "\tmutex_init(&u->ring_cons_mutex);",
        *(["\tspin_lock_init(&u->ring_prod_lock);"] if pu else []),
        "",
        "\tfilp->private_data = u;",
        "",
        "\treturn nonseekable_open(inode, filp);",
        "}",
        "",
        "static int evtchn_release(struct inode *inode, struct file *filp)",
        "{",
        "\tstruct per_user_data *u = filp->private_data;",
        *unbind_all,
        "",
        free_ring,
        "\tkfree(u->name);",
        "\tkfree(u);",
        "\treturn 0;",
        "}",
        "",
    ]


def _tail(f: frozenset[str]) -> list[str]:
    pu = "per_user" in f
    table = [] if pu else [
        "\tport_owner_table = kcalloc(EVTCHN_NR_PORTS, sizeof(port_owner_table[0]),",
        "\t\t\t\t   GFP_KERNEL);",
        "\tif (port_owner_table == NULL)",
        "\t\treturn -ENOMEM;",
        "",
    ]
    free_table = [] if pu else ["\t\tkfree(port_owner_table);"]
    return [
        "static const struct file_operations evtchn_fops = {",
        "\t.owner   = THIS_MODULE,",
        "\t.read    = evtchn_read,",
        "\t.write   = evtchn_write,",
        "\t.unlocked_ioctl = evtchn_ioctl,",
        "\t.poll    = evtchn_poll,",
        "\t.fasync  = evtchn_fasync,",
        "\t.open    = evtchn_open,",
        "\t.release = evtchn_release,",
        "\t.llseek  = no_llseek,",
        "};",
        "",
        "static struct miscdevice evtchn_miscdev = {",
        "\t.minor        = MISC_DYNAMIC_MINOR,",
        "\t.name         = \"xen/evtchn\",",
        "\t.fops         = &evtchn_fops,",
        "};",
        "",
        "static int __init evtchn_init(void)",
        "{",
        "\tint err;",
        "",
        "\tif (!xen_domain())",
        "\t\treturn -ENODEV;",
        "",
        *table,
        "\terr = misc_register(&evtchn_miscdev);",
        "\tif (err != 0) {",
        "\t\tpr_err(\"Could not register /dev/xen/evtchn\\n\");",
        *free_table,
        "\t\treturn err;",
        "\t}",
        "",
        "\tpr_info(\"Event-channel device installed\\n\");",
        "\treturn 0;",
        "}",
        "",
        "static void __exit evtchn_cleanup(void)",
        "{",
        "\tmisc_deregister(&evtchn_miscdev);",
        *([] if pu else ["\tkfree(port_owner_table);"]),
        "}",
        "",
        "module_init(evtchn_init);",
        "module_exit(evtchn_cleanup);",
        "",
        "MODULE_LICENSE(\"GPL\");",
    ]


def _evtchn_lines(features: frozenset[str], pad: int) -> list[str]:
    r = _Ring("ring_resize" in features)
    body = (_INCLUDES + _compat(features) + _structs(features, r) + _interrupt(features, r)
            + _read_write(features, r) + _resize(features) + _bind(features)
            + _unbind(features) + _ioctl(features) + _open_release(features, r)
            + _tail(features))
    return _header(pad) + body


def _evtchn_pad() -> int:
    lines = _evtchn_lines(EVTCHN_BASE, 0)
    bug = next(i for i, t in enumerate(lines, 1) if t.strip().startswith("BUG_ON(port_owner"))
    pad = EVTCHN_BUG_LINE - bug
    if pad < 0:
        raise AssertionError("the evtchn stand-in is too long above the BUG_ON")
    return pad


def evtchn_source(features: frozenset[str]) -> str:
    """drivers/xen/evtchn.c with the given features."""
    return "\n".join(_evtchn_lines(features, _evtchn_pad())) + "\n"
