"""The Secure Boot boot path's pure parts: grub.cfg, the QEMU command line, the boot
chain's refusal in a console."""

from __future__ import annotations

from pathlib import Path

import pytest

from kmend.lab.secureboot import (
    GRUB_FAILED,
    SecureBootConfig,
    boot_chain_error,
    grub_cfg,
    qemu_argv,
)


def test_grub_cfg_boots_the_kernel_then_powers_off() -> None:
    text = grub_cfg("console=ttyS0 panic=-1 quiet")
    lines = text.splitlines()
    assert "linux /vmlinuz console=ttyS0 panic=-1 quiet" in lines
    assert lines.index("initrd /initrd.cpio") > lines.index("linux /vmlinuz console=ttyS0 "
                                                            "panic=-1 quiet")
    assert lines[-2:] == [f"echo {GRUB_FAILED}", "halt"]


@pytest.mark.parametrize("bad", ["a; halt", "x\nlinux /evil", "$(id)", "a\"b", "{x}"])
def test_grub_cfg_refuses_what_grub_would_interpret(bad: str) -> None:
    with pytest.raises(ValueError):
        grub_cfg(bad)


def test_qemu_argv_secure_pflash_and_smm(tmp_path: Path) -> None:
    cfg = SecureBootConfig()
    argv = qemu_argv(cfg, qemu="qemu-system-x86_64", accel="tcg", memory_mb=512, smp=1,
                     disk=tmp_path / "disk.img", vars_fd=tmp_path / "vars.fd",
                     console=tmp_path / "c.log")
    joined = " ".join(argv)
    assert "q35,smm=on" in argv
    assert "driver=cfi.pflash01,property=secure,value=on" in argv
    assert f"if=pflash,format=raw,unit=0,readonly=on,file={cfg.code}" in argv
    assert f"if=pflash,format=raw,unit=1,file={tmp_path / 'vars.fd'}" in argv
    assert argv[argv.index("-m") + 1] == str(cfg.min_memory_mb)  # OVMF needs more than 512
    assert "-kernel" not in argv  # the firmware boots shim from the disk
    assert "-no-reboot" in argv and f"file:{tmp_path / 'c.log'}" in joined


def test_boot_chain_refusal_in_console() -> None:
    assert boot_chain_error("error: bad shim signature.\r\nerror: you need to load the "
                            "kernel first.\r\n") == "bad shim signature"
    assert boot_chain_error(f"...\r\n{GRUB_FAILED}\r\n") == GRUB_FAILED
    assert boot_chain_error("[    0.000000] Linux version 6.1.0-47-amd64\r\n") is None
