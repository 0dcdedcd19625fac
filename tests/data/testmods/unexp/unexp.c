// SPDX-License-Identifier: GPL-2.0
/* kmend test module: calls kallsyms_lookup_name(), which vmlinux has but no longer exports. */
#include <linux/module.h>
#include <linux/init.h>

extern unsigned long kallsyms_lookup_name(const char *name);

static int __init unexp_init(void)
{
	pr_info("unexp: %lx\n", kallsyms_lookup_name("jiffies"));
	return 0;
}

static void __exit unexp_exit(void)
{
}

module_init(unexp_init);
module_exit(unexp_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kmend test module: unexported symbol");
