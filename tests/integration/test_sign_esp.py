"""The Secure Boot ESP image and variable store, made with the real tools (mkfs.vfat,
mtools, virt-fw-vars) and read back with the real tools (mdir/mtype, the MBR bytes,
virt-fw-vars --print): no mounts, no root needed."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import pytest

from kmend import proc
from kmend.lab.secureboot import (
    SecureBootConfig,
    check_prerequisites,
    make_esp,
    make_vars,
    virt_fw_vars,
)
from kmend.sign import create_key
from kmodbuild import need

pytestmark = pytest.mark.integration


def test_esp_and_mok_vars(tmp_path: Path) -> None:
    cfg0 = SecureBootConfig()
    for path in (cfg0.code, cfg0.vars_template, cfg0.shim, cfg0.grub, cfg0.mokmanager):
        need(path.is_file(), f"{path} missing (ovmf, shim-signed, grub-efi-amd64-signed)")
    need(shutil.which("mcopy") and shutil.which("mkfs.vfat"), "mtools/dosfstools missing")
    pair = create_key(tmp_path / "key", common_name="kmend esp test")
    cfg = SecureBootConfig(mok_certs=(pair.cert,))
    check_prerequisites(cfg)
    kernel = tmp_path / "vmlinuz"
    kernel.write_bytes(b"MZ" + b"\0" * 4096)
    initrd = tmp_path / "initrd.cpio"
    initrd.write_bytes(b"070701" + b"\0" * 100)
    work = tmp_path / "work"
    work.mkdir()
    disk = make_esp(cfg, kernel, initrd, "console=ttyS0 panic=-1", work / "disk.img")
    head = disk.read_bytes()[:512]
    assert head[510:512] == b"\x55\xaa"
    boot, ptype, start = head[446], head[450], struct.unpack("<I", head[454:458])[0]
    assert (boot, ptype, start) == (0x80, 0xEF, 2048)
    listing = proc.run(["mdir", "-b", "-/", "-i", f"{disk}@@1M", "::/"], timeout=60).stdout
    for name in ("BOOTX64.EFI", "grubx64.efi", "mmx64.efi", "grub.cfg", "vmlinuz",
                 "initrd.cpio", "kmend-lab.tag"):
        assert name.lower() in listing.lower(), (name, listing)
    assert "fbx64" not in listing.lower()  # shim would run the fallback and reset
    cfg_text = proc.run(["mtype", "-i", f"{disk}@@1M", "::/EFI/BOOT/grub.cfg"],
                        timeout=60).stdout
    assert "linux /vmlinuz console=ttyS0 panic=-1" in cfg_text
    vars_fd = make_vars(cfg, work / "vars.fd")
    printed = proc.run([virt_fw_vars(), "--input", str(vars_fd), "--print", "--verbose"],
                       timeout=60)
    text = printed.stdout + printed.stderr
    assert "MokList" in text and "kmend esp test" in text
    template = proc.run([virt_fw_vars(), "--input", str(cfg.vars_template), "--print"],
                        timeout=60)
    assert "MokList" not in template.stdout + template.stderr
    assert not (work / "esp.part").exists()  # the partition image went into the disk
