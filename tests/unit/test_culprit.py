"""The culprit module rules (kmend.oops.culprit) on real report lines, and the report fields.

The logs are excerpts of crashes users reported in public issues of out-of-tree projects
(v4l2loopback issue 248 on 5.4.1, issue 79 on 3.19); expected values are read off the
log text by hand.
"""

from __future__ import annotations

from pathlib import Path

from kmend.logs import parse_text, read_paths
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


def _syslog(host: str, lines: list[tuple[float, str]]) -> list[str]:
    return [f"Dec  3 10:00:00 {host} kernel: [{up:12.6f}] {text}" for up, text in lines]


def test_out_of_tree_line_of_the_same_boot_is_read_however_far_back(tmp_path: Path) -> None:
    """The taint line is printed once per boot, when the module loads; the crash may come
    thousands of lines later (here without flags in "Modules linked in", as kernels before
    3.x print it).  It names the culprit with the reader's prefilter on and off, and a
    crash of the next boot (printk time back near zero) is not blamed on it."""
    warning = [
        "------------[ cut here ]------------",
        "WARNING: CPU: 4 PID: 414 at drivers/media/v4l2-core/v4l2-dev.c:863 "
        "__video_register_device+0x6cd/0xfe0 [videodev]",
        "Modules linked in: v4l2loopback videodev mc crypto_user ip_tables x_tables ext4",
        "CPU: 4 PID: 414 Comm: systemd-modules Tainted: G           O      5.4.1-zen2-1-zen #1",
        "RIP: 0010:__video_register_device+0x6cd/0xfe0 [videodev]",
        "---[ end trace 5a6e4cb3b2b8d1c1 ]---",
    ]
    boot1 = [(3.1, "v4l2loopback: loading out-of-tree module taints kernel.")]
    boot1 += [(4.0 + i / 100, f"eth0: rx queue {i} reset") for i in range(6000)]
    boot1 += [(90.0, text) for text in warning]
    boot2 = [(2.0, "Linux version 5.4.1-zen2-1-zen (linux-zen@archlinux) (gcc version 9.2.0)")]
    boot2 += [(5.0, text) for text in warning]
    noise = [f"Dec  3 10:00:00 db-02 sshd[77]: session {i} opened" for i in range(3000)]
    log = tmp_path / "messages"
    mine = _syslog("cam-01", boot1) + _syslog("cam-01", boot2)
    log.write_text("\n".join(mine[:3000] + noise + mine[3000:]) + "\n")
    for prefilter in (True, False):
        reps = list(parse_reports(read_paths([str(log)], prefilter=prefilter)))
        assert [r.module for r in reps] == ["videodev", "videodev"], prefilter
        assert [r.culprit_module for r in reps] == ["v4l2loopback", "videodev"], prefilter
        assert "taints kernel" in reps[0].culprit_reason
