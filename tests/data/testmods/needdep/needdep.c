// SPDX-License-Identifier: GPL-2.0
/* kmend test module: needs kmend_depprov_value() from depprov.ko. */
#include <linux/module.h>
#include <linux/init.h>

extern int kmend_depprov_value(void);

static int __init needdep_init(void)
{
	pr_info("needdep: depprov says %d\n", kmend_depprov_value());
	return 0;
}

static void __exit needdep_exit(void)
{
}

module_init(needdep_init);
module_exit(needdep_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kmend test module: depends on depprov");
