"""Clear errors before anything boots."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kmend.errors import EnvironmentMissing, InputError
from kmend.lab import BootCase, boot, kernel_image
from kmend.lab.xen import hypervisor_elf, multiboot_modules


def test_missing_qemu_names_the_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(EnvironmentMissing) as info:
        boot(BootCase(kernel=tmp_path / "vmlinuz"))
    assert "qemu-system-x86" in str(info.value)
    assert info.value.exit_code == 3


def test_missing_kernel_is_input_error(tmp_path: Path) -> None:
    if shutil.which("qemu-system-x86_64") is None:
        pytest.skip("needs qemu on PATH to get past the first check")
    with pytest.raises(InputError) as info:
        boot(BootCase(kernel=tmp_path / "vmlinuz-none"))
    assert info.value.exit_code == 4
    with pytest.raises(InputError, match=r"vmlinuz-9\.9\.9-none"):
        kernel_image("9.9.9-none")


def test_xen_image_checks(tmp_path: Path) -> None:
    with pytest.raises(EnvironmentMissing, match="xen-hypervisor"):
        hypervisor_elf(tmp_path / "absent.gz", tmp_path / "x")
    junk = tmp_path / "junk"
    junk.write_bytes(b"MZ not elf")
    with pytest.raises(InputError, match="not an ELF"):
        hypervisor_elf(junk, tmp_path / "x")


def test_multiboot_commas_are_doubled() -> None:
    value = multiboot_modules(Path("/b/vmlinuz"), "a=1,2 b", Path("/t/i,x.cpio"))
    assert value == "/b/vmlinuz a=1,,2 b,/t/i,,x.cpio"
