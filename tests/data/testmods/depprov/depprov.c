// SPDX-License-Identifier: GPL-2.0
/* kmend test module: exports one function for needdep.ko. */
#include <linux/module.h>
#include <linux/init.h>

int kmend_depprov_value(void)
{
	return 42;
}
EXPORT_SYMBOL_GPL(kmend_depprov_value);

static int __init depprov_init(void)
{
	return 0;
}

static void __exit depprov_exit(void)
{
}

module_init(depprov_init);
module_exit(depprov_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kmend test module: exports a symbol");
