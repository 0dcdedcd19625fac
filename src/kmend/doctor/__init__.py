"""``kmend doctor``: is this Xen host (dom0) healthy, and if not, which kernel crash broke it.

It reads facts, decides with pure functions (:mod:`kmend.doctor.verdict`) and prints a
verdict such as ``xl hangs because xenstored died in kernel BUG at
drivers/xen/evtchn.c:264 in xen_evtchn`` and the next command to run.

The same code reads a live system (``--root /``) and a captured tree (``--root DIR``).
Every path is taken relative to the root::

    proc/<pid>/stat, proc/<pid>/comm   processes named xenstored / oxenstored (state letter:
                                       D stuck in the kernel, Z zombie, T stopped …)
    proc/xen/                          xenfs mounted (a Xen host); capabilities: control_d = dom0
    sys/hypervisor/type                "xen" on any Xen guest, even without xenfs
    dev/xen/evtchn                     the event-channel device (any file type in a tree)
    proc/modules, sys/module/<name>    xen_evtchn, xen_privcmd, xenfs, xen_gntdev, xen_gntalloc
    var/log/messages, var/log/kern.log kernel logs (crashes after the last boot banner)

What cannot be a file on a live system — the answer of ``xl list`` and the kernel ring
buffer — is probed live only when the root is ``/`` (``xl list`` under a hard timeout,
``journalctl -k -b -o json``, ``dmesg`` or ``/dev/kmsg``).  A captured tree holds them in
``kmend-capture/``::

    kmend-capture/xl-list.rc        exit status of ``timeout N xl list`` (124/137/143: killed)
    kmend-capture/xl-list.out       its output
    kmend-capture/xl-list.seconds   how long it ran
    kmend-capture/xl-list.timeout   N
    kmend-capture/dmesg.log         ``dmesg`` output
    kmend-capture/journal.json      ``journalctl -k -b -o json`` output (optional)

A tree without ``kmend-capture/xl-list.rc`` simply has no xl check.
"""

from kmend.doctor.gather import examine
from kmend.doctor.model import Check, CrashSummary, DoctorReport, ProcState, XenFacts, XlProbe
from kmend.doctor.verdict import decide, describe_crash

__all__ = [
    "Check",
    "CrashSummary",
    "DoctorReport",
    "ProcState",
    "XenFacts",
    "XlProbe",
    "decide",
    "describe_crash",
    "examine",
]
