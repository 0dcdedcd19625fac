"""Stand-in C files for the generated kernel history.

These are written for kmend's tests: drivers/xen/evtchn.c (and its Kbuild Makefile) is
in evtchn.py; this module adds a small misc driver.  Neither is kernel code.  Each file
is built from a set of feature names so every commit of the generated history is one
small, real diff: adding or removing a feature changes exactly the lines a matching
upstream change would touch.  The misc driver is never built (it has no Makefile).
"""

from __future__ import annotations

from kernel_history.evtchn import (
    EVTCHN_BASE,
    EVTCHN_BUG_LINE,
    EVTCHN_MAKEFILE,
    evtchn_source,
)

__all__ = ["EVTCHN_BASE", "EVTCHN_BUG_LINE", "EVTCHN_MAKEFILE", "WIDGET_BASE",
           "WIDGET_WARN_LINE", "evtchn_source", "widget_source"]

#: Line of the WARN_ON_ONCE in widget_queue_work at the base (v3.10.20).
WIDGET_WARN_LINE = 52


# -- the misc driver of the second scenario (a WARN_ON_ONCE whose condition changes) -------
WIDGET_BASE = frozenset({"queue_irq"})


def widget_source(features: frozenset[str]) -> str:
    """drivers/misc/kmt-widget.c with the given features."""
    cond = "!w->running && !w->stopping" if "stop_fix" in features else "!w->running"
    alloc = "devm_kzalloc(&pdev->dev, sizeof(*w), GFP_KERNEL)" if "devm" in features \
        else "kzalloc(sizeof(*w), GFP_KERNEL)"
    lines = [
        "/*",
        " * kmt-widget: a stand-in misc driver written for kmend's tests.",
        " *",
        " * The widget raises an interrupt when it has data; the handler queues work",
        " * that drains the FIFO.  Stopping the device flushes the work.",
        " */",
        "",
        "#include <linux/module.h>",
        "#include <linux/platform_device.h>",
        "#include <linux/interrupt.h>",
        "#include <linux/workqueue.h>",
        "#include <linux/slab.h>",
        "#include <linux/io.h>",
        "",
        "#define WIDGET_FIFO\t0x10",
        "#define WIDGET_CTRL\t0x14",
        "",
        "struct widget {",
        "\tvoid __iomem *base;",
        "\tstruct work_struct drain;",
        "\tbool running;",
        "\tbool stopping;",
        "\tunsigned long drained;",
        "};",
        "",
        "static void widget_drain(struct work_struct *work)",
        "{",
        "\tstruct widget *w = container_of(work, struct widget, drain);",
        "",
        "\twhile (readl(w->base + WIDGET_CTRL) & 1) {",
        "\t\t(void)readl(w->base + WIDGET_FIFO);",
        "\t\tw->drained++;",
        "\t}",
        "}",
        "",
        "static void widget_stop(struct widget *w)",
        "{",
        "\tw->stopping = true;",
        "\twritel(0, w->base + WIDGET_CTRL);",
        "\tcancel_work_sync(&w->drain);",
        *(["\tflush_work(&w->drain);"] if "stop_flush" in features else []),
        "\tw->running = false;",
        "\tw->stopping = false;",
        "}",
        "",
    ]
    if "queue_irq" in features:
        lines += [
            "/* Called from the interrupt handler with the FIFO non-empty. */",
            "static void widget_queue_work(struct widget *w)",
            "{",
            "\t/*",
            "\t * The device is running whenever it can interrupt, so queueing",
            "\t * work for a stopped widget is a driver bug.",
            "\t */",
            f"\tWARN_ON_ONCE({cond});",
            *(["\tw->queued++;"] if "count_queued" in features else []),
            "\tschedule_work(&w->drain);",
            "}",
            "",
            "static irqreturn_t widget_irq(int irq, void *data)",
            "{",
            "\twidget_queue_work(data);",
            "\treturn IRQ_HANDLED;",
            "}",
        ]
    else:
        lines += [
            "static irqreturn_t widget_irq(int irq, void *data)",
            "{",
            "\tstruct widget *w = data;",
            "",
            "\twidget_drain(&w->drain);",
            "\treturn IRQ_HANDLED;",
            "}",
        ]
    lines += [
        "",
        "static int widget_probe(struct platform_device *pdev)",
        "{",
        "\tstruct widget *w;",
        "\tint irq = platform_get_irq(pdev, 0);",
        "",
        f"\tw = {alloc};",
        "\tif (!w)",
        "\t\treturn -ENOMEM;",
        "\tw->base = devm_platform_ioremap_resource(pdev, 0);",
        "\tINIT_WORK(&w->drain, widget_drain);",
        "\tplatform_set_drvdata(pdev, w);",
        "\tw->running = true;",
        "\treturn devm_request_irq(&pdev->dev, irq, widget_irq, 0, \"kmt-widget\", w);",
        "}",
        "",
        "static int widget_remove(struct platform_device *pdev)",
        "{",
        "\tstruct widget *w = platform_get_drvdata(pdev);",
        "",
        "\twidget_stop(w);",
    ]
    if "leak_fix" in features:
        lines += ["\tflush_work(&w->drain);"]
    if "devm" not in features:
        lines += ["\tkfree(w);"]
    lines += [
        "\treturn 0;",
        "}",
        "",
        "static struct platform_driver widget_driver = {",
        "\t.probe = widget_probe,",
        "\t.remove = widget_remove,",
        "\t.driver = { .name = \"kmt-widget\" },",
        "};",
        "module_platform_driver(widget_driver);",
        "MODULE_LICENSE(\"GPL\");",
    ]
    text = "\n".join(lines) + "\n"
    return text
