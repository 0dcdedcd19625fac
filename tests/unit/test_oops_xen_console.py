"""A Xen serial console (hypervisor banner + dom0 kernel) holds exactly the dom0's crash.

The lines are those of the replay's captured console (tests/vm/test_replay.py): Xen 4.17
prints its ACPI sleep registers as ``ACPI: SLEEP INFO:`` at boot, which is not a crash.
"""

from __future__ import annotations

from kmend.logs import parse_text
from kmend.oops import parse_reports

XEN_BANNER = """\
(XEN) [000000000fca5548] Xen version 4.17.7 (Debian 4.17.7+13-g2445b30a44-0+deb12u1)
(XEN) [00000000205ef6d3] ACPI: SLEEP INFO: pm1x_cnt[1:604,1:0], pm1x_evt[1:600,1:0]
(XEN) [0000000020648ebc] ACPI: wakeup_vec[fc000ecc], vec_size[20]
"""
DOM0_BUG = """\
[    5.437595] ------------[ cut here ]------------
[    5.438706] kernel BUG at drivers/xen/evtchn.c:546!
[    5.439633] invalid opcode: 0000 [#1] PREEMPT SMP NOPTI
[    5.440339] CPU: 0 PID: 195 Comm: evtchn-poke Tainted: G           OE      6.1.0-47-amd64 #1
[    5.441922] RIP: e030:evtchn_ioctl+0x46c/0x480 [xen_evtchn]
[    5.464957] Modules linked in: xen_gntdev xenfs xen_privcmd xen_evtchn(OE)
[    5.466093] ---[ end trace 0000000000000000 ]---
"""


def test_xen_acpi_sleep_info_is_not_a_crash() -> None:
    assert list(parse_reports(parse_text(XEN_BANNER))) == []


def test_xen_console_has_only_the_dom0_bug() -> None:
    reports = list(parse_reports(parse_text(XEN_BANNER + DOM0_BUG)))
    assert [r.title for r in reports] == ["kernel BUG in evtchn_ioctl"]
