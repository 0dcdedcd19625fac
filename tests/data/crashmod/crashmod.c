// SPDX-License-Identifier: GPL-2.0
/*
 * crashmod - a test module for kmend that crashes the kernel on request.
 *
 *   echo <kind> > /proc/crashmod
 *
 * The writing process is the one that crashes (its comm appears in the report),
 * except for "timer", which crashes in a hard hrtimer callback (hardirq context) while
 * the writer spins.  Loading with trigger=<kind> crashes in module_init instead (the
 * process is insmod).  Every trigger statement carries a marker comment of the form
 * "KMEND-TRIGGER: <kind>"; scripts/gen-crash-fixtures.py reads the line number and
 * the enclosing function from this file, never from a log.
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/proc_fs.h>
#include <linux/uaccess.h>
#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/sched.h>
#include <linux/hrtimer.h>
#include <linux/list.h>
#include <linux/preempt.h>
#include <linux/string.h>
#include <linux/slab.h>
#include <linux/kfence.h>

/* A non-canonical address (bits 63..47 not all equal): #GP, not #PF. */
#define CRASHMOD_NONCANONICAL 0xdead000000000000UL
/* Canonical but unmapped: the guard hole at the start of the kernel half (x86_64 mm.rst). */
#define CRASHMOD_UNMAPPED 0xffff800000001000UL

struct crashmod_obj {
	long pad[2];
	long val;
};

static struct hrtimer crashmod_timer;

static noinline void crashmod_bug(void)
{
	BUG(); /* KMEND-TRIGGER: bug */
}

static noinline void crashmod_warn(void)
{
	WARN_ON(1); /* KMEND-TRIGGER: warn */
}

static noinline void crashmod_null(void)
{
	struct crashmod_obj *volatile obj = NULL;

	obj->val = 1; /* KMEND-TRIGGER: null */
}

static noinline void crashmod_paging(void)
{
	unsigned long *volatile p = (unsigned long *)CRASHMOD_UNMAPPED;

	pr_info("crashmod: read %lx\n", *p); /* KMEND-TRIGGER: paging */
}

static noinline void crashmod_gpf(void)
{
	unsigned long *volatile p = (unsigned long *)CRASHMOD_NONCANONICAL;

	pr_info("crashmod: read %lx\n", *p); /* KMEND-TRIGGER: gpf */
}

static noinline void crashmod_divide(void)
{
	volatile int zero = 0;
	int hundred = 100;

	pr_info("crashmod: %d\n", hundred / zero); /* KMEND-TRIGGER: divide */
}

static noinline void crashmod_panic(void)
{
	panic("crashmod: panic requested by %s", current->comm); /* KMEND-TRIGGER: panic */
}

/* Spins with preemption off; lower /proc/sys/kernel/watchdog_thresh first. */
static noinline void crashmod_softlockup(void)
{
	unsigned long end = jiffies + 8 * HZ;

	preempt_disable();
	while (time_before(jiffies, end)) /* KMEND-TRIGGER: softlockup */
		cpu_relax();
	preempt_enable();
}

/* Sleeps uninterruptibly; lower /proc/sys/kernel/hung_task_timeout_secs first. */
static noinline void crashmod_hung(void)
{
	msleep(7000); /* KMEND-TRIGGER: hung */
}

static noinline void crashmod_atomic_sleep(void)
{
	preempt_disable();
	msleep(10); /* KMEND-TRIGGER: atomic_sleep */
	preempt_enable();
}

static noinline void crashmod_listcorrupt(void)
{
	struct list_head head, other, item;

	INIT_LIST_HEAD(&head);
	INIT_LIST_HEAD(&other);
	head.next = &other;		/* other.prev no longer points back at head */
	list_add(&item, &head); /* KMEND-TRIGGER: listcorrupt */
}

/* A hard hrtimer runs its callback in hardirq context, on top of whatever it interrupts. */
static enum hrtimer_restart crashmod_timer_fn(struct hrtimer *t)
{
	struct crashmod_obj *volatile obj = NULL;

	obj->val = 2; /* KMEND-TRIGGER: timer */
	return HRTIMER_NORESTART;
}

/* Arms the timer and spins, so the interrupted task is the writer itself. */
static noinline void crashmod_timer_arm(void)
{
	unsigned long end = jiffies + 4 * HZ;

	hrtimer_init(&crashmod_timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_HARD);
	crashmod_timer.function = crashmod_timer_fn;
	hrtimer_start(&crashmod_timer, ms_to_ktime(20), HRTIMER_MODE_REL_HARD);
	while (time_before(jiffies, end))
		cpu_relax();
}

static volatile int crashmod_deeper = 1;

/* Recurses until the stack guard page below the (vmapped) task stack is hit. */
static noinline int crashmod_recurse(int depth)
{
	volatile char frame[256];

	frame[0] = (char)depth;
	if (!crashmod_deeper)
		return frame[0];
	return crashmod_recurse(depth + 1) + frame[0]; /* KMEND-TRIGGER: stackoverflow */
}

static noinline void crashmod_stackoverflow(void)
{
	pr_info("crashmod: %d\n", crashmod_recurse(0));
}

#ifdef CONFIG_KFENCE
/* Needs kfence.sample_interval > 0: retries until KFENCE samples the allocation. */
static noinline void crashmod_kfence(void)
{
	char *volatile p = NULL;
	int tries;

	for (tries = 0; tries < 20000; tries++) {
		p = kmalloc(32, GFP_KERNEL);
		if (!p || is_kfence_address(p))
			break;
		kfree(p);
		p = NULL;
		usleep_range(200, 400);
	}
	if (!p) {
		pr_err("crashmod: no KFENCE allocation (is kfence.sample_interval set?)\n");
		return;
	}
	kfree(p);
	pr_info("crashmod: read %d\n", p[0]); /* KMEND-TRIGGER: kfence */
}
#endif

struct crashmod_trigger {
	const char *name;
	void (*fn)(void);
};

static const struct crashmod_trigger crashmod_triggers[] = {
	{ "bug", crashmod_bug },
	{ "warn", crashmod_warn },
	{ "null", crashmod_null },
	{ "paging", crashmod_paging },
	{ "gpf", crashmod_gpf },
	{ "divide", crashmod_divide },
	{ "panic", crashmod_panic },
	{ "softlockup", crashmod_softlockup },
	{ "hung", crashmod_hung },
	{ "atomic_sleep", crashmod_atomic_sleep },
	{ "listcorrupt", crashmod_listcorrupt },
	{ "timer", crashmod_timer_arm },
	{ "stackoverflow", crashmod_stackoverflow },
#ifdef CONFIG_KFENCE
	{ "kfence", crashmod_kfence },
#endif
};

static char *trigger;
module_param(trigger, charp, 0);
MODULE_PARM_DESC(trigger, "crash kind to trigger while loading");

static int crashmod_run(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(crashmod_triggers); i++) {
		if (strcmp(name, crashmod_triggers[i].name) == 0) {
			pr_info("crashmod: triggering %s\n", crashmod_triggers[i].name);
			crashmod_triggers[i].fn();
			return 0;
		}
	}
	return -EINVAL;
}

static ssize_t crashmod_write(struct file *file, const char __user *buf, size_t len,
			      loff_t *off)
{
	char kind[32];
	size_t n = min(len, sizeof(kind) - 1);
	int err;

	if (copy_from_user(kind, buf, n))
		return -EFAULT;
	kind[n] = '\0';
	err = crashmod_run(strim(kind));
	return err ? err : len;
}

static const struct proc_ops crashmod_ops = {
	.proc_write = crashmod_write,
};

static int __init crashmod_init(void)
{
	if (!proc_create("crashmod", 0200, NULL, &crashmod_ops))
		return -ENOMEM;
	pr_info("crashmod: ready, write a crash kind to /proc/crashmod\n");
	if (trigger && crashmod_run(trigger)) {
		remove_proc_entry("crashmod", NULL);
		return -EINVAL;
	}
	return 0;
}

static void __exit crashmod_exit(void)
{
	remove_proc_entry("crashmod", NULL);
}

module_init(crashmod_init);
module_exit(crashmod_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kmend test module: crashes the kernel on request");
