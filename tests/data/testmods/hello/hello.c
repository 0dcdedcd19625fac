// SPDX-License-Identifier: GPL-2.0
/* kmend test module: loads cleanly, says hello. */
#include <linux/module.h>
#include <linux/init.h>
#include <generated/utsrelease.h>

static int __init hello_init(void)
{
	pr_info("Hello from hello.ko (built for " UTS_RELEASE ")\n");
	return 0;
}

static void __exit hello_exit(void)
{
	pr_info("Goodbye from hello.ko\n");
}

module_init(hello_init);
module_exit(hello_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kmend test module: loads cleanly");
