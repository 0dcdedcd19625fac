#!/usr/bin/env python3
"""Generate a small git repository shaped like kernel history, for the backport tests.

    scripts/make-backport-history.py DEST

The module ``kmend-demo`` (drivers/kmdemo: a misc character device with a byte ring,
written for kmend; not kernel code) evolves like a real driver does:

    v6.1   kmdemo: add the demo ring device                     (the target's own version)
           docs: describe the tree layout                       (unrelated)
           kmdemo: count opens and note the ring's invariants   (builds on 6.1)
    FIX    kmdemo: fix ring overflow on a full write            (Fixes: the first commit)
           other: add a README                                  (unrelated)
    NEWEST kmdemo: add MODULE_DESCRIPTION                       (last one that builds on 6.1)
           kmdemo: snapshot the ring with kvmemdup()            (6.12 only)
           other: fix a typo                                    (unrelated)
           kmdemo: declare FOP_UNSIGNED_OFFSET in fop_flags     (6.12 only)
           kmdemo: tidy comments                                (6.12 only)

The two later APIs are real differences between Debian's 6.1 and 6.12 headers, found by
grepping them: ``kvmemdup()`` is declared in 6.12's include/linux/string.h and nowhere in
6.1's headers; ``struct file_operations`` gains ``fop_flags`` (and the ``FOP_*`` flags) in
6.12's include/linux/fs.h.  So against 6.1 headers ``--policy newest`` must pick
"add MODULE_DESCRIPTION", and ``--policy minimal`` the fix merged onto v6.1 (the fix's
parent differs from v6.1 in demo_ring.c, so this is a real 3-way merge).

Commit dates are fixed, so the same script always produces the same SHAs.  The script
prints ``name sha`` lines for the commits the tests refer to.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from kmend import proc

MAKEFILE = """\
# SPDX-License-Identifier: GPL-2.0
obj-$(CONFIG_KMDEMO)\t\t+= kmend-demo.o
kmend-demo-y\t\t\t:= demo_main.o demo_ring.o
kmend-demo-$(CONFIG_DEBUG_FS)\t+= demo_debugfs.o
ccflags-y\t\t\t+= -DKMDEMO_NAME=\\"kmdemo\\"
"""

HEADER = """\
/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KMDEMO_H
#define KMDEMO_H

#include <linux/types.h>
#include <linux/mutex.h>

#define DEMO_RING_SIZE 64

struct demo_ring {
\tstruct mutex lock;
\tunsigned int len;
\tu8 data[DEMO_RING_SIZE];
};

void demo_ring_init(struct demo_ring *r);
int demo_ring_put(struct demo_ring *r, const u8 *buf, size_t n);
size_t demo_ring_take(struct demo_ring *r, u8 *buf, size_t n);

#if IS_ENABLED(CONFIG_DEBUG_FS)
void demo_debugfs_init(struct demo_ring *r);
void demo_debugfs_exit(void);
#else
static inline void demo_debugfs_init(struct demo_ring *r) { }
static inline void demo_debugfs_exit(void) { }
#endif

#endif
"""

RING_V1 = """\
// SPDX-License-Identifier: GPL-2.0
#include <linux/errno.h>
#include <linux/string.h>
#include "demo.h"

void demo_ring_init(struct demo_ring *r)
{
\tmutex_init(&r->lock);
\tr->len = 0;
}

int demo_ring_put(struct demo_ring *r, const u8 *buf, size_t n)
{
\tint ret = 0;

\tmutex_lock(&r->lock);
\tif (r->len + n > DEMO_RING_SIZE + 1) {
\t\tret = -ENOSPC;
\t\tgoto out;
\t}
\tmemcpy(r->data + r->len, buf, n);
\tr->len += n;
out:
\tmutex_unlock(&r->lock);
\treturn ret;
}

size_t demo_ring_take(struct demo_ring *r, u8 *buf, size_t n)
{
\tmutex_lock(&r->lock);
\tif (n > r->len)
\t\tn = r->len;
\tmemcpy(buf, r->data, n);
\tmemmove(r->data, r->data + n, r->len - n);
\tr->len -= n;
\tmutex_unlock(&r->lock);
\treturn n;
}
"""

RING_V2 = RING_V1.replace(
    '#include "demo.h"\n',
    '#include "demo.h"\n\n/*\n'
    " * Invariant: 0 <= len <= DEMO_RING_SIZE; bytes are taken from the front.\n */\n",
)
RING_FIXED = RING_V2.replace("DEMO_RING_SIZE + 1)", "DEMO_RING_SIZE)")

DEBUGFS = """\
// SPDX-License-Identifier: GPL-2.0
#include <linux/debugfs.h>
#include "demo.h"

static struct dentry *demo_dir;

void demo_debugfs_init(struct demo_ring *r)
{
\tdemo_dir = debugfs_create_dir(KMDEMO_NAME, NULL);
\tdebugfs_create_u32("len", 0444, demo_dir, &r->len);
}

void demo_debugfs_exit(void)
{
\tdebugfs_remove_recursive(demo_dir);
}
"""

MAIN_V1 = """\
// SPDX-License-Identifier: GPL-2.0
/* kmdemo: a character device holding a small byte ring (a kmend test fixture). */
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include "demo.h"

static struct demo_ring ring;

static ssize_t demo_read(struct file *f, char __user *ubuf, size_t n, loff_t *pos)
{
\tu8 tmp[DEMO_RING_SIZE];
\tsize_t got;

\tgot = demo_ring_take(&ring, tmp, min_t(size_t, n, sizeof(tmp)));
\tif (copy_to_user(ubuf, tmp, got))
\t\treturn -EFAULT;
\treturn got;
}

static ssize_t demo_write(struct file *f, const char __user *ubuf, size_t n, loff_t *pos)
{
\tu8 tmp[DEMO_RING_SIZE];
\tint ret;

\tif (n > sizeof(tmp))
\t\treturn -EMSGSIZE;
\tif (copy_from_user(tmp, ubuf, n))
\t\treturn -EFAULT;
\tret = demo_ring_put(&ring, tmp, n);
\treturn ret ? ret : n;
}

static const struct file_operations demo_fops = {
\t.owner = THIS_MODULE,
\t.read = demo_read,
\t.write = demo_write,
\t.llseek = noop_llseek,
};

static struct miscdevice demo_dev = {
\t.minor = MISC_DYNAMIC_MINOR,
\t.name = KMDEMO_NAME,
\t.fops = &demo_fops,
};

static int __init demo_init(void)
{
\tdemo_ring_init(&ring);
\tdemo_debugfs_init(&ring);
\treturn misc_register(&demo_dev);
}

static void __exit demo_exit(void)
{
\tmisc_deregister(&demo_dev);
\tdemo_debugfs_exit();
}

module_init(demo_init);
module_exit(demo_exit);
MODULE_LICENSE("GPL");
"""

MAIN_V2 = MAIN_V1.replace(
    "static struct demo_ring ring;\n",
    "static struct demo_ring ring;\nstatic atomic_t opens = ATOMIC_INIT(0);\n\n"
    "static int demo_open(struct inode *inode, struct file *f)\n{\n"
    "\tatomic_inc(&opens);\n\treturn 0;\n}\n",
).replace("\t.read = demo_read,\n", "\t.open = demo_open,\n\t.read = demo_read,\n")
MAIN_V3 = MAIN_V2.replace(
    'MODULE_LICENSE("GPL");\n',
    'MODULE_DESCRIPTION("kmend demo ring device");\nMODULE_LICENSE("GPL");\n')
MAIN_V4 = MAIN_V3.replace(
    "\tu8 tmp[DEMO_RING_SIZE];\n\tsize_t got;\n\n"
    "\tgot = demo_ring_take(&ring, tmp, min_t(size_t, n, sizeof(tmp)));\n"
    "\tif (copy_to_user(ubuf, tmp, got))\n\t\treturn -EFAULT;\n\treturn got;\n",
    "\tu8 tmp[DEMO_RING_SIZE];\n\tu8 *snap;\n\tsize_t got;\n\tint ret = 0;\n\n"
    "\tgot = demo_ring_take(&ring, tmp, min_t(size_t, n, sizeof(tmp)));\n"
    "\tsnap = kvmemdup(tmp, got, GFP_KERNEL);\n\tif (!snap)\n\t\treturn -ENOMEM;\n"
    "\tif (copy_to_user(ubuf, snap, got))\n\t\tret = -EFAULT;\n\tkvfree(snap);\n"
    "\treturn ret ? ret : got;\n",
)
MAIN_V5 = MAIN_V4.replace("\t.llseek = noop_llseek,\n",
                          "\t.llseek = noop_llseek,\n\t.fop_flags = FOP_UNSIGNED_OFFSET,\n")
MAIN_V6 = MAIN_V5.replace("(a kmend test fixture)", "(a fixture for kmend's tests)")

DOCS = "The demo tree: drivers/kmdemo holds the module; drivers/other is unrelated.\n"

# (name, subject, body, files, tag)
HISTORY: list[tuple[str, str, str, dict[str, str], str | None]] = [
    ("base", "kmdemo: add the demo ring device", "", {
        "Makefile": "VERSION = 6\nPATCHLEVEL = 1\n",
        "drivers/kmdemo/Makefile": MAKEFILE, "drivers/kmdemo/demo.h": HEADER,
        "drivers/kmdemo/demo_ring.c": RING_V1, "drivers/kmdemo/demo_debugfs.c": DEBUGFS,
        "drivers/kmdemo/demo_main.c": MAIN_V1,
        "drivers/other/Makefile": "obj-$(CONFIG_OTHER) += other.o\n",
        "drivers/other/other.c": "// SPDX-License-Identifier: GPL-2.0\n"}, "v6.1"),
    ("docs", "docs: describe the tree layout", "", {"Documentation/layout.txt": DOCS}, None),
    ("opens", "kmdemo: count opens and note the ring's invariants", "",
     {"drivers/kmdemo/demo_main.c": MAIN_V2, "drivers/kmdemo/demo_ring.c": RING_V2}, None),
    ("fix", "kmdemo: fix ring overflow on a full write",
     "demo_ring_put() accepted one byte more than the ring holds and wrote past\n"
     "the end of data[].\n\n"
     "Fixes: the first kmdemo commit (\"kmdemo: add the demo ring device\")\n",
     {"drivers/kmdemo/demo_ring.c": RING_FIXED}, None),
    ("readme", "other: add a README", "", {"drivers/other/README": "Unrelated driver.\n"}, None),
    ("newest_ok", "kmdemo: add MODULE_DESCRIPTION", "",
     {"drivers/kmdemo/demo_main.c": MAIN_V3}, None),
    ("kvmemdup", "kmdemo: snapshot the ring with kvmemdup()", "",
     {"drivers/kmdemo/demo_main.c": MAIN_V4}, None),
    ("typo", "other: fix a typo", "", {"drivers/other/README": "An unrelated driver.\n"}, None),
    ("fop_flags", "kmdemo: declare FOP_UNSIGNED_OFFSET in fop_flags", "",
     {"drivers/kmdemo/demo_main.c": MAIN_V5}, None),
    ("head", "kmdemo: tidy comments", "", {"drivers/kmdemo/demo_main.c": MAIN_V6}, None),
]

EPOCH = 1_700_000_000


def git(dest: Path, *args: str, env: dict[str, str] | None = None) -> str:
    base = {"GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "Demo Author", "GIT_AUTHOR_EMAIL": "demo@example.org",
            "GIT_COMMITTER_NAME": "Demo Author", "GIT_COMMITTER_EMAIL": "demo@example.org"}
    return proc.run(["git", "-C", str(dest), *args], extra_env={**base, **(env or {})},
                    timeout=60).stdout


def make_history(dest: Path) -> dict[str, str]:
    """Create the repository at *dest* (must not exist); return name → commit SHA."""
    dest.mkdir(parents=True)
    git(dest, "init", "-q", "-b", "master")
    shas: dict[str, str] = {}
    for i, (name, subject, body, files, tag) in enumerate(HISTORY):
        for rel, text in files.items():
            path = dest / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        git(dest, "add", "-A")
        stamp = f"@{EPOCH + i * 86400} +0000"
        msg = subject + ("\n\n" + body if body else "")
        git(dest, "commit", "-q", "-m", msg,
            env={"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp})
        shas[name] = git(dest, "rev-parse", "HEAD").strip()
        if tag:
            git(dest, "tag", tag)
    return shas


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: make-backport-history.py DEST", file=sys.stderr)
        return 2
    dest = Path(argv[0])
    if dest.exists():
        print(f"{dest} exists; give a new directory", file=sys.stderr)
        return 2
    for name, sha in make_history(dest).items():
        print(name, sha)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
