"""The commits of the two crash stories in the generated history.

Story 1 (the founding incident): ``kernel BUG at drivers/xen/evtchn.c:264!`` in
``evtchn_bind_to_user`` on 3.10.20.  The BUG_ON was added before v3.9; the upstream fix
("xen/evtchn: improve scalability by using per-user locks") removed it in the v3.18 merge
window; decoys touch the same function (a FIFO-ABI change, the IRQF_DISABLED removal, a
later fix whose ``Fixes:`` names the fix itself) and the same file (an ioctl errno change
whose ``Fixes:`` names a commit newer than the base; a deadlock fix already backported
into 3.10.12, i.e. present in the crashed kernel).

Every version of drivers/xen/evtchn.c builds into xen-evtchn.ko against Debian's 6.1
headers except the newest: ``ring_resize`` (v3.19) grows the ring with kvrealloc() in the
form 6.12 declares, so the newest-revision policy stops at ``irqf`` (see evtchn.py).

Story 2: ``WARNING ... at drivers/misc/kmt-widget.c:52 widget_queue_work``.  The fix
changes the WARN_ON_ONCE condition (it does not remove the line), carries
``Fixes: <12 hex> ("...")`` naming the commit that added the line, ``Cc: stable`` and
quotes the splat; decoys are a devm conversion and a leak fix whose ``Fixes:`` names a
commit reachable from the base that did not touch the crashing line.

Each entry: (role, cycle, slot, path, features-after, subject, body).  ``slot`` is
``xen``/``misc`` (a topic branch merged in that cycle's merge window), ``rcN`` (a commit
straight on master after the -rcN tag's predecessor), or ``pre`` (early in the cycle).
Bodies may use {sha12:role}/{sha:role}/{subject:role} of earlier entries.
"""

from __future__ import annotations

from dataclasses import dataclass

from kernel_history.sources import EVTCHN_BASE, WIDGET_BASE

EVTCHN = "drivers/xen/evtchn.c"
WIDGET = "drivers/misc/kmt-widget.c"
WIDGET_NEW = "drivers/misc/kmt/widget.c"  # where the widget driver moves in v3.17

XEN_MAINT = "Konrad Example <konrad@example.org>"
XEN_DEV = "David Sample <david.sample@example.com>"
MISC_DEV = "Wanda Widget <wanda@example.net>"
GREG = "Greg Stable <greg@example.org>"


@dataclass(frozen=True)
class Change:
    role: str
    cycle: tuple[int, int]
    slot: str
    path: str
    features: frozenset[str]
    subject: str
    body: str
    author: str = XEN_DEV
    renamed_from: str | None = None


MAINLINE: list[Change] = [
    Change("bug_intro", (3, 8), "xen", EVTCHN, frozenset({"bug_on"}),
           "xen/evtchn: track the owner of each port in one table",
           "Keep a single table indexed by port number instead of walking every\n"
           "open file on each interrupt.  A port is only ever handed out once by\n"
           "the hypervisor, so binding asserts that it has no owner yet.\n"),
    Change("zalloc", (3, 9), "xen", EVTCHN, frozenset({"bug_on", "zalloc"}),
           "xen/evtchn: allocate the per-user data zeroed",
           "The ring indexes were left uninitialised until the first bind.\n"),
    Change("widget_intro", (3, 9), "misc", WIDGET, frozenset({"queue_irq"}),
           "misc: kmt-widget: queue work from the interrupt handler",
           "Draining the FIFO in hard-irq context takes too long on big FIFOs;\n"
           "queue a work item from the handler instead.\n", MISC_DEV),
    Change("deadlock", (3, 11), "xen", EVTCHN, frozenset({"bug_on", "zalloc", "deadlock"}),
           "xen/evtchn: avoid a deadlock when unbinding an event channel",
           "Unbinding took port_lock and then freed the irq handler, which waits\n"
           "for a running handler that needs port_lock.  Free the handler first.\n"
           "\nFixes: {sha12:bug_intro} (\"{subject:bug_intro}\")\n"
           "Cc: stable@vger.kernel.org\n"),
    Change("widget_devm", (3, 12), "misc", WIDGET, frozenset({"queue_irq", "devm"}),
           "misc: kmt-widget: convert to devm_kzalloc",
           "Let the device core free the widget; widget_remove() and the probe\n"
           "error paths get simpler.\n", MISC_DEV),
    Change("widget_fixes_other", (3, 12), "misc", WIDGET,
           frozenset({"queue_irq", "devm", "leak_fix"}),
           "misc: kmt-widget: fix a leak of the drain work on remove",
           "widget_remove() left the work item queued.\n"
           "\nFixes: {sha12:initial} (\"{subject:initial}\")\n"
           "Cc: stable@vger.kernel.org\n", MISC_DEV),
    Change("widget_fix", (3, 13), "rc3", WIDGET,
           frozenset({"queue_irq", "devm", "leak_fix", "stop_fix"}),
           "misc: kmt-widget: don't warn when an interrupt races with stop",
           "widget_stop() clears running only after cancel_work_sync(), but an\n"
           "interrupt arriving while the device is being stopped still queues\n"
           "work and trips the warning:\n\n"
           "  WARNING: CPU: 2 PID: 0 at drivers/misc/kmt-widget.c:52 "
           "widget_queue_work+0x3c/0x50 [kmt_widget]()\n"
           "  Call Trace:\n"
           "   <IRQ>  [<ffffffffa0001234>] widget_irq+0x12/0x20 [kmt_widget]\n\n"
           "Allow the stopping window in the condition.\n"
           "\nFixes: {sha12:widget_intro} (\"{subject:widget_intro}\")\n"
           "Cc: stable@vger.kernel.org # 3.9+\n", MISC_DEV),
    Change("widget_subject_fix", (3, 14), "misc", WIDGET,
           frozenset({"queue_irq", "devm", "leak_fix", "stop_fix", "stop_flush"}),
           "misc: kmt-widget: flush the drain work before clearing running",
           "Picked from the vendor tree, where the commit it fixes has another id.\n"
           "\nFixes: 0badc0ffee00 (\"{subject:widget_intro}\")\n", MISC_DEV),
    Change("fifo", (3, 14), "xen", EVTCHN,
           frozenset({"bug_on", "zalloc", "deadlock", "fifo"}),
           "xen/events: refcount the irq of ports bound through evtchn",
           "With the FIFO-based ABI a port can be bound by evtchn_bind_to_user()\n"
           "and by the kernel at once; take a reference on the irq so unbinding\n"
           "from one does not free it under the other.\n"),
    Change("enotconn", (3, 16), "xen", EVTCHN,
           frozenset({"bug_on", "zalloc", "deadlock", "fifo", "enotconn"}),
           "xen/evtchn: return -ENOTCONN when notifying a port we do not own",
           "evtchn_ioctl() returned -EINVAL for a port owned by someone else,\n"
           "which userspace cannot tell apart from a bad port number.\n"
           "\nFixes: {sha12:fifo} (\"{subject:fifo}\")\n"),
    Change("header_fix", (3, 15), "xen", "include/xen/events.h", frozenset(),
           "xen/events: refuse to hand out a port that is still bound",
           "The evtchn device trusted the hypervisor never to return a bound\n"
           "port; check it in the core instead, where the binding is known.\n"
           "\nFixes: {sha12:bug_intro} (\"{subject:bug_intro}\")\n"),
    Change("widget_rename", (3, 17), "misc", WIDGET_NEW,
           frozenset({"queue_irq", "devm", "leak_fix", "stop_fix", "stop_flush"}),
           "misc: kmt-widget: move the driver into drivers/misc/kmt/",
           "Make room for the other kmt drivers.\n", MISC_DEV, renamed_from=WIDGET),
    Change("widget_after_rename", (3, 18), "misc", WIDGET_NEW,
           frozenset({"queue_irq", "devm", "leak_fix", "stop_fix", "stop_flush",
                      "count_queued"}),
           "misc: kmt-widget: count the drain work queued",
           "Export how often the interrupt handler queued work, for debugging.\n",
           MISC_DEV),
    Change("fix", (3, 18), "xen", EVTCHN,
           frozenset({"zalloc", "deadlock", "fifo", "enotconn", "per_user"}),
           "xen/evtchn: improve scalability by using per-user locks",
           "The global port_lock and the table of port owners serialise every\n"
           "interrupt and every bind on the host.  Keep the bound ports of each\n"
           "open file in a per-user tree with its own lock instead.\n\n"
           "A port freed by one file and bound again by another is now found in\n"
           "the tree of the file that binds it, so the BUG_ON() on a port that\n"
           "still had an owner goes away: evtchn_bind_to_user() returns -EEXIST\n"
           "for a port the same file already bound.\n"),
    Change("irqf", (3, 18), "xen", EVTCHN,
           frozenset({"zalloc", "deadlock", "fifo", "enotconn", "per_user",
                      "no_irqf_disabled"}),
           "xen: remove deprecated IRQF_DISABLED",
           "IRQF_DISABLED is a no-op since interrupt handlers always run with\n"
           "interrupts disabled; drop it.\n", "Michael Example <michael@example.org>"),
    Change("ring_resize", (3, 19), "xen", EVTCHN,
           frozenset({"zalloc", "deadlock", "fifo", "enotconn", "per_user",
                      "no_irqf_disabled", "ring_resize"}),
           "xen/evtchn: grow the ring when binding more ports",
           "evtchn_bind_to_user() can bind more ports than the ring holds since\n"
           "the per-user tree has no fixed size.  Grow the ring on bind.\n"
           "\nFixes: {sha12:fix} (\"{subject:fix}\")\n"),
]

#: Stable backports on linux-3.10.y: (role of the upstream commit, stable tag, style).
STABLE_BACKPORTS: list[tuple[str, int, str]] = [
    ("deadlock", 12, "commit"),
    ("widget_fix", 22, "commit"),
    ("fix", 25, "bracket"),
]

#: Features of each file in the initial import (role "initial", before v3.7).
INITIAL: dict[str, frozenset[str]] = {EVTCHN: frozenset(), WIDGET: frozenset()}
#: Features of each file at the base, v3.10.20.
BASE_FEATURES = {EVTCHN: EVTCHN_BASE, WIDGET: WIDGET_BASE}
