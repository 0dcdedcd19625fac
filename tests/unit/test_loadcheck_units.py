"""Pure parts of the check: Module.symvers layouts, vermagic composition, same_magic,
the signature trailer, ELF rejections — no toolchain needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from kmend.errors import InputError
from kmend.kernel.kconfig import compose_vermagic, parse_config
from kmend.kernel.paths import resolve_in_root
from kmend.kernel.symvers import SymversEntry, parse_line, parse_symvers
from kmend.ko import parse_module
from kmend.ko.signature import MAGIC, split_signature
from kmend.loadcheck import same_magic


@pytest.mark.parametrize(
    "line,entry",
    [
        ("0x1234abcd\tprintk\tvmlinux", SymversEntry(0x1234ABCD, "printk", "vmlinux")),
        ("0x00000001\tfoo\tdrivers/x/bar\tEXPORT_SYMBOL_GPL",
         SymversEntry(1, "foo", "drivers/x/bar", "EXPORT_SYMBOL_GPL")),
        # v5.4 (cb9b55d21fe0): namespace third
        ("0x00000002\tusb_x\tUSB_STORAGE\tdrivers/usb/storage/usb-storage\tEXPORT_SYMBOL_GPL",
         SymversEntry(2, "usb_x", "drivers/usb/storage/usb-storage", "EXPORT_SYMBOL_GPL", "USB_STORAGE")),
        # v5.6+: namespace last, maybe empty
        ("0x00000003\tusb_y\tdrivers/usb/storage/usb-storage\tEXPORT_SYMBOL_GPL\tUSB_STORAGE",
         SymversEntry(3, "usb_y", "drivers/usb/storage/usb-storage", "EXPORT_SYMBOL_GPL", "USB_STORAGE")),
        ("0xf7370f56\tsystem_state\tvmlinux\tEXPORT_SYMBOL\t",
         SymversEntry(0xF7370F56, "system_state", "vmlinux", "EXPORT_SYMBOL", "")),
    ],
)
def test_symvers_layouts(line: str, entry: SymversEntry) -> None:
    assert parse_line(line) == entry


def test_symvers_garbage_is_one_line_error() -> None:
    with pytest.raises(InputError, match=r"x:2: not a Module.symvers line"):
        parse_symvers(["0x1\ta\tvmlinux", "this is not symvers"], "x")


def test_symvers_owner_name() -> None:
    assert SymversEntry(0, "s", "drivers/xen/xen-evtchn").module_name == "xen_evtchn"


CONFIG = """
CONFIG_SMP=y
CONFIG_PREEMPT_BUILD=y
CONFIG_MODULE_UNLOAD=y
CONFIG_MODVERSIONS=y
# CONFIG_MODULE_SIG_FORCE is not set
CONFIG_LOCALVERSION="-amd64"
"""


def test_vermagic_debian_6x() -> None:
    config = parse_config(CONFIG.splitlines())
    assert config["CONFIG_LOCALVERSION"] == "-amd64"
    assert compose_vermagic("6.1.0-57-amd64", config) == "6.1.0-57-amd64 SMP preempt mod_unload modversions "


def test_vermagic_rhel7_style() -> None:
    config = parse_config(["CONFIG_SMP=y", "CONFIG_MODULE_UNLOAD=y", "CONFIG_MODVERSIONS=y"])
    assert compose_vermagic("3.10.0-1160.el7.x86_64", config) == "3.10.0-1160.el7.x86_64 SMP mod_unload modversions "


def test_vermagic_old_preempt_and_rt() -> None:
    assert compose_vermagic("5.4.0", {"CONFIG_PREEMPT": "y"}) == "5.4.0 preempt "
    assert compose_vermagic("6.6.0", {"CONFIG_PREEMPT_RT": "y"}) == "6.6.0 preempt_rt "


def test_same_magic_ignores_release_only_with_crcs() -> None:
    a, b = "6.1.0-99-amd64 SMP preempt ", "6.1.0-57-amd64 SMP preempt "
    assert same_magic(a, b, has_crcs=True)
    assert not same_magic(a, b, has_crcs=False)
    assert not same_magic("6.1.0-57-amd64 SMP PREEMPT ", b, has_crcs=True)


def test_signature_trailer_without_pkcs7_details() -> None:
    body = b"\x7fELF" + b"\0" * 60
    sig = b"\x30\x03\x02\x01\x01"  # not a SignedData: details stay empty
    trailer = bytes([0, 0, 2, 0, 0, 0, 0, 0]) + len(sig).to_bytes(4, "big") + MAGIC
    rest, parsed = split_signature(body + sig + trailer)
    assert rest == body
    assert parsed is not None and parsed.id_type == "PKCS#7" and parsed.sig_len == 5
    assert split_signature(body) == (body, None)


@pytest.mark.parametrize(
    "data,words",
    [
        (b"", "empty file"),
        (b"MZ\x90\x00" * 40, "not an ELF file"),
        (b"\x7fELF\x02\x01\x01", "truncated ELF header"),
        (b"\x1f\x8b\x08\x00" + b"\x00" * 30, "corrupt or truncated gz"),
        (b"\x28\xb5\x2f\xfd" + b"\x01" * 30, "corrupt or truncated zst"),
    ],
)
def test_bad_module_bytes(data: bytes, words: str) -> None:
    with pytest.raises(InputError, match=words):
        parse_module(data, Path("x.ko"))


def test_resolve_in_root_keeps_symlinks_inside(tmp_path: Path) -> None:
    (tmp_path / "usr/src/h").mkdir(parents=True)
    (tmp_path / "lib/modules/R").mkdir(parents=True)
    (tmp_path / "lib/modules/R/build").symlink_to("/usr/src/h")
    (tmp_path / "lib/modules/R/evil").symlink_to("../../../../../../etc")
    assert resolve_in_root(tmp_path, "/lib/modules/R/build") == (tmp_path / "usr/src/h").resolve()
    assert resolve_in_root(tmp_path, "/lib/modules/R/evil") is None


def test_dmesg_first_error_skips_taint_notices() -> None:
    from kmend.loadcheck.dmesg import first_error, taint_letters

    msgs = ("badsym: loading out-of-tree module taints kernel.",
            "badsym: module verification failed: signature and/or required key missing - "
            "tainting kernel",
            "badsym: Unknown symbol foo (err -2)",
            "badsym: Unknown symbol bar (err -2)")
    assert first_error(msgs) == "badsym: Unknown symbol foo (err -2)"
    assert first_error(msgs[:2]) is None
    assert taint_letters(12288) == "OE" and taint_letters(12290) == "FOE" and taint_letters(0) == ""


def _fake_root(tmp_path: Path, release: str, *, headers: bool) -> Path:
    import gzip

    root = tmp_path / "root"
    (root / f"lib/modules/{release}").mkdir(parents=True)
    (root / "boot").mkdir()
    (root / f"boot/config-{release}").write_text("CONFIG_SMP=y\nCONFIG_MODVERSIONS=y\n")
    symvers = "0x12345678\tmodule_layout\tvmlinux\tEXPORT_SYMBOL\t\n"
    if headers:
        hdr = root / f"usr/src/linux-headers-{release}"
        (hdr / "include/generated").mkdir(parents=True)
        (hdr / "include/generated/utsrelease.h").write_text(f'#define UTS_RELEASE "{release}"\n')
        (hdr / "Module.symvers").write_text(symvers)
        # absolute, as Debian ships it: must be read inside the root, not on the host
        (root / f"lib/modules/{release}/build").symlink_to(f"/usr/src/linux-headers-{release}")
    else:
        (root / f"boot/symvers-{release}.gz").write_bytes(gzip.compress(symvers.encode()))
    return root


def test_target_from_release_under_root(tmp_path: Path) -> None:
    from kmend.kernel.target import KernelTarget

    root = _fake_root(tmp_path, "9.9.9-kmend", headers=True)
    target = KernelTarget.from_release("9.9.9-kmend", root=root)
    assert target.kdir == (root / "usr/src/linux-headers-9.9.9-kmend").resolve()
    assert target.vermagic == "9.9.9-kmend SMP modversions "
    assert target.symvers["module_layout"].crc == 0x12345678 and target.modversions


def test_target_from_release_rhel_boot_symvers(tmp_path: Path) -> None:
    from kmend.kernel.target import KernelTarget

    root = _fake_root(tmp_path, "3.10.0-1160.el7.x86_64", headers=False)
    target = KernelTarget.from_release("3.10.0-1160.el7.x86_64", root=root)
    assert target.kdir is None and target.symvers_path == root / "boot/symvers-3.10.0-1160.el7.x86_64.gz"
    assert target.vermagic == "3.10.0-1160.el7.x86_64 SMP modversions "


def test_target_bad_release_names(tmp_path: Path) -> None:
    from kmend.errors import EnvironmentMissing
    from kmend.kernel.target import KernelTarget

    with pytest.raises(InputError):
        KernelTarget.from_release("../../etc", root=tmp_path)
    with pytest.raises(EnvironmentMissing, match=r"linux-headers-1\.2\.3"):
        KernelTarget.from_release("1.2.3", root=tmp_path)


def test_read_module_refuses_devices_and_directories(tmp_path: Path) -> None:
    from kmend.ko import read_module

    with pytest.raises(InputError, match="not a regular file"):
        read_module("/dev/zero")
    with pytest.raises(InputError, match="is a directory"):
        read_module(tmp_path)
