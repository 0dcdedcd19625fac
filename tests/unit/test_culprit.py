"""The culprit module rules (kmend.oops.culprit) on real report lines, and the report fields.

The logs are excerpts of crashes users reported in public issues of out-of-tree projects
(v4l2loopback issue 248 on 5.4.1, issue 79 on 3.19); expected values are read off the
log text by hand.
"""

from __future__ import annotations

from kmend.logs import parse_text
from kmend.oops import parse_reports
from kmend.oops.culprit import choose, header_site, module_flags, oot_loaded

V4L2L_248 = """\
[    3.108679] v4l2loopback: loading out-of-tree module taints kernel.
[    3.108704] v4l2loopback: module verification failed: signature and/or required key missing - tainting kernel
[    3.109053] ------------[ cut here ]------------
[    3.109059] WARNING: CPU: 4 PID: 414 at drivers/media/v4l2-core/v4l2-dev.c:863 __video_register_device+0x6cd/0xfe0 [videodev]
[    3.109060] Modules linked in: v4l2loopback(OE+) videodev mc crypto_user ip_tables x_tables ext4
[    3.109069] CPU: 4 PID: 414 Comm: systemd-modules Tainted: G           OE     5.4.1-zen2-1-zen #1
[    3.109070] Hardware name: BIOSTAR Group B350GT3/B350GT3, BIOS 5.13 08/07/2018
[    3.109074] RIP: 0010:__video_register_device+0x6cd/0xfe0 [videodev]
"""

V4L2L_79_HEADER = ("WARNING: CPU: 2 PID: 1174 at drivers/media/v4l2-core/v4l2-ioctl.c:1025 "
                   "v4l_querycap+0x3b/0x70 [videodev]()")


def test_flags_kept_and_loading_module_is_the_culprit() -> None:
    reps = list(parse_reports(parse_text(V4L2L_248, "v4l2l-248.log")))
    assert len(reps) == 1
    rep = reps[0]
    assert rep.module == "videodev"
    assert rep.modules_flags == {"v4l2loopback": "OE+"}
    assert rep.culprit_module == "v4l2loopback"
    assert "faulted in videodev" in rep.culprit_reason
    assert "being loaded (+)" in rep.culprit_reason


def test_module_flags_and_taint_line() -> None:
    lines = V4L2L_248.splitlines()
    assert module_flags(lines) == {"v4l2loopback": "OE+"}
    assert oot_loaded(lines) == ["v4l2loopback"]
    assert module_flags(["Modules linked in: a(P) b c(O) [last unloaded: d(O)]"]) == {
        "a": "P", "c": "O"}


def test_old_warning_header_names_function_and_module() -> None:
    assert header_site(V4L2L_79_HEADER) == ("v4l_querycap", "videodev")
    assert header_site("WARNING: at kernel/foo.c:1 bar+0x1/0x2") == (None, None)


def test_rules() -> None:
    # the only out-of-tree module, not being loaded
    c = choose("videodev", {"v4l2loopback": "O"}, taint="G O")
    assert c.module == "v4l2loopback" and "only out-of-tree" in c.reason
    # the faulting module itself is out-of-tree
    c = choose("evdi", {"evdi": "OE"}, taint="G OE")
    assert c.module == "evdi" and "an out-of-tree module (OE)" in c.reason
    # no module list, the taint says O: the faulting module
    c = choose("xone_dongle", {}, taint="G OE")
    assert c.module == "xone_dongle"
    # an out-of-tree frame in the trace wins over a loading one
    c = choose("drm", {"evdi": "OE", "nvidia": "POE+"}, frame_modules=["drm", "evdi"])
    assert c.module == "evdi" and "call trace" in c.reason
    # two out-of-tree modules, no other hint: the faulting module, and say so
    c = choose("drm", {"evdi": "OE", "zfs": "POE"})
    assert c.module == "drm" and "give --module" in c.reason
    # in-tree everything
    assert choose("xen_evtchn", {}, taint="G").module == "xen_evtchn"
    # only the "loading out-of-tree" line names it
    c = choose("videodev", {}, oot_lines=["v4l2loopback"])
    assert c.module == "v4l2loopback" and "taints kernel" in c.reason
