// SPDX-License-Identifier: GPL-2.0
/* kmend test module: calls a function that nobody exports. */
#include <linux/module.h>
#include <linux/init.h>

extern int kmend_nonexistent_symbol_xyz(void);

static int __init badsym_init(void)
{
	return kmend_nonexistent_symbol_xyz();
}

static void __exit badsym_exit(void)
{
}

module_init(badsym_init);
module_exit(badsym_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kmend test module: unknown symbol");
