// SPDX-License-Identifier: GPL-2.0
/*
 * kmend test module: uses a GPL-only export (synchronize_rcu).  modpost refuses to
 * build a GPL-incompatible module that does this, so the module is built as
 * "Dual MIT/GPL" and scripts/make-ko-variants.py rewrites the license string in
 * .modinfo to "Proprietary" (same length) — exactly what the kernel's license check
 * reads at load time.
 */
#include <linux/module.h>
#include <linux/init.h>
#include <linux/rcupdate.h>

static int __init gplonly_init(void)
{
	synchronize_rcu();
	return 0;
}

static void __exit gplonly_exit(void)
{
}

module_init(gplonly_init);
module_exit(gplonly_exit);
MODULE_LICENSE("Dual MIT/GPL");
MODULE_DESCRIPTION("kmend test module: non-GPL module using a GPL-only symbol");
