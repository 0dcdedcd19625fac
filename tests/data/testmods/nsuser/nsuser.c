// SPDX-License-Identifier: GPL-2.0
/*
 * kmend test module: uses dma_buf_put(), which vmlinux exports in the DMA_BUF symbol
 * namespace, and imports that namespace.  Its "nsmissing" variant has the import_ns
 * string edited, so the kernel must refuse it.  The function is referenced, never called.
 */
#include <linux/module.h>
#include <linux/init.h>
#include <linux/dma-buf.h>

static void (*nsuser_keep)(struct dma_buf *) __used = dma_buf_put;

static int __init nsuser_init(void)
{
	pr_info("nsuser: dma_buf_put is %s\n", nsuser_keep ? "resolved" : "missing");
	return 0;
}

static void __exit nsuser_exit(void)
{
}

module_init(nsuser_init);
module_exit(nsuser_exit);
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(DMA_BUF);
MODULE_DESCRIPTION("kmend test module: uses a namespaced symbol");
