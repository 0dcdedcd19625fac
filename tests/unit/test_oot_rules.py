"""Pure rules of the out-of-tree module path: version order, log versions, project
detection, dkms.conf rewriting, release branches, issue numbers."""

from __future__ import annotations

from kmend.backport.project import dkms_conf
from kmend.fixes.project import is_release_branch, issue_number
from kmend.source.project import detect
from kmend.source.versions import version_from_log, version_key


def test_version_order_is_the_projects_not_the_kernels() -> None:
    names = ["v0.4.2", "v0.4.10", "v0.4.1", "v0.5.0", "v0.5.0-rc1", "0.3"]
    ordered = sorted(names, key=lambda n: version_key(n) or ((), 0, 0))
    assert ordered == ["0.3", "v0.4.1", "v0.4.2", "v0.4.10", "v0.5.0-rc1", "v0.5.0"]
    assert version_key("v0.8") == version_key("0.8.0")
    assert version_key("deprecated-branch/feature/timeout") is None


def test_version_from_log_lines() -> None:
    # printed by v4l2loopback's init and by DRM's driver registration
    assert version_from_log(["[    2.550122] v4l2loopback driver version 0.8.0 loaded"],
                            "v4l2loopback") == "0.8.0"
    assert version_from_log(["[drm] Initialized evdi 1.14.7 20240130 for evdi.0 on minor 1"],
                            "evdi") == "1.14.7"
    assert version_from_log(["usb 1-1: new device"], "evdi") is None


def test_detect_kernel_tree_and_projects() -> None:
    files = {"Makefile": "obj-m := foo.o\nall:\n\t$(MAKE) -C $(KDIR) M=$(PWD) modules\n",
             "foo.c": ""}
    p = detect(list(files), files.get)
    assert p is not None and p.root == "" and p.modules == ("foo",)
    assert "M=" in p.why
    nested = {"module/dkms.conf": 'PACKAGE_NAME="bar"\nBUILT_MODULE_NAME[0]="bar_core"\n',
              "module/Kbuild": "obj-m += bar_core.o\nbar_core-y := a.o b.o\n",
              "module/a.c": "", "README": ""}
    p = detect(list(nested), nested.get)
    assert p is not None and p.root == "module" and p.name == "bar"
    assert p.declares("bar-core") and p.dkms_conf == "module/dkms.conf"
    kernel = {"Kconfig": "", "arch/x86/Makefile": "", "Makefile": "obj-m += x.o M=",
              "drivers/xen/Makefile": "obj-$(CONFIG_XEN) += evtchn.o"}
    assert detect(list(kernel), kernel.get) is None
    assert detect(["drivers/xen/Makefile"], {"drivers/xen/Makefile": "obj-y += a.o"}.get) \
        is None


def test_dkms_conf_keeps_the_projects_lines() -> None:
    own = ('PACKAGE_NAME="v4l2loopback"\nPACKAGE_VERSION="0.13.2"\n'
           'if [ -f $kernel_source_dir/.config ]; then\n'
           '    BUILD_EXCLUSIVE_KERNEL="REQUIRES CONFIG_VIDEO_DEV"\nfi\n'
           'MAKE[0]="make KERNEL_DIR=${kernel_source_dir} v4l2loopback"\n'
           'BUILT_MODULE_NAME[0]="$PACKAGE_NAME"\nDEST_MODULE_LOCATION[0]="/extra"\n'
           'POST_INSTALL="post.sh"\nAUTOINSTALL="no"\n')
    out = dkms_conf(own, name="v4l2loopback", version="0.12.5+af1be06", modules=[])
    assert 'PACKAGE_VERSION="0.12.5+af1be06"' in out and 'AUTOINSTALL="yes"' in out
    for kept in ('MAKE[0]="make KERNEL_DIR=${kernel_source_dir} v4l2loopback"',
                 'DEST_MODULE_LOCATION[0]="/extra"', 'POST_INSTALL="post.sh"',
                 'BUILD_EXCLUSIVE_KERNEL="REQUIRES CONFIG_VIDEO_DEV"'):
        assert kept in out
    made = dkms_conf(None, name="foo", version="1.0+abc1234", modules=[("foo", "src")])
    assert 'BUILT_MODULE_LOCATION[0]="src"' in made and 'AUTOINSTALL="yes"' in made


def test_release_branches_and_issues() -> None:
    for name in ("release/v0.10", "0.12.x", "origin/release/v0.10", "stable-1.2"):
        assert is_release_branch(name), name
    for name in ("main", "develop", "feature/split-device", "fix-5.13-5.15"):
        assert not is_release_branch(name), name
    assert issue_number("https://github.com/umlaeute/v4l2loopback/issues/248") == "248"
    assert issue_number("#79") == "79" and issue_number("79") == "79"


def test_dkms_status_lines() -> None:
    from kmend.pipeline.project import parse_dkms_status

    # the lines dkms 3.0.10 (Debian 12) and dkms 2 print
    out = ("v4l2loopback/0.12.7, 6.1.0-47-amd64, x86_64: installed\n"
           "v4l2loopback/0.13.2, 6.12.117+deb12-amd64, x86_64: built\n")
    assert parse_dkms_status(out, "v4l2loopback", "6.1.0-47-amd64") == "0.12.7"
    assert parse_dkms_status(out, "v4l2loopback", "6.12.117+deb12-amd64") is None
    assert parse_dkms_status("evdi, 1.14.7, 6.1.0-47-amd64, x86_64: installed", "evdi",
                             "6.1.0-47-amd64") == "1.14.7"


def test_module_named_by_a_make_variable() -> None:
    # the layout of Realtek wifi driver packages: the name is a variable, the Kconfig-like
    # symbol set in the Makefile itself
    files = {"dkms.conf": 'PACKAGE_NAME="rtl8812au"\nBUILT_MODULE_NAME[0]="8812au"\n',
             "Makefile": "MODULE_NAME := 88XXau\nexport CONFIG_RTL8812AU = m\n"
                         "obj-$(CONFIG_RTL8812AU) := $(MODULE_NAME).o\n",
             "os_dep/linux/os_intfs.c": ""}
    p = detect(list(files), files.get)
    assert p is not None and p.named_by_make and p.modules == ("8812au",)
    plain = {"Makefile": "obj-m := foo.o\nall:\n\t$(MAKE) -C $(KDIR) M=$(PWD) modules\n"}
    q = detect(list(plain), plain.get)
    assert q is not None and not q.named_by_make


def test_several_projects_in_one_repository() -> None:
    files = {"drv_a/dkms.conf": 'PACKAGE_NAME="a"\nBUILT_MODULE_NAME[0]="mod_a"\n',
             "drv_a/Makefile": "obj-m := mod_a.o\n",
             "drv_b/dkms.conf": 'PACKAGE_NAME="b"\nBUILT_MODULE_NAME[0]="mod_b"\n',
             "drv_b/Makefile": "obj-m := mod_b.o\n"}
    first = detect(list(files), files.get)
    assert first is not None and first.root == "drv_a"
    chosen = detect(list(files), files.get, module="mod-b")
    assert chosen is not None and chosen.root == "drv_b" and chosen.name == "b"
