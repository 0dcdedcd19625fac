"""Boot under UEFI Secure Boot: OVMF → Debian's signed shim → signed grub → signed kernel.

Direct ``-kernel`` boots bypass the firmware, so Secure Boot needs a disk: an ESP image
(MBR, one FAT partition of type 0xEF, made with ``mkfs.vfat -C`` and mtools — no mounts,
no root) holding::

    EFI/BOOT/BOOTX64.EFI   shimx64.efi.signed (Microsoft UEFI CA signature)
    EFI/BOOT/grubx64.efi   grubx64.efi.signed (Debian's key, in shim's vendor cert)
    EFI/BOOT/mmx64.efi     MokManager
    EFI/BOOT/grub.cfg      (also EFI/debian/ and boot/grub/: where Debian's grub looks)
    vmlinuz, initrd.cpio   the kernel (signed: grub asks shim to verify it) and the
                           generated initramfs
    kmend-lab.tag          grub finds its root by this file

No fallback (fbx64.efi) is put there: shim would run it and reset.  The firmware is
OVMF_CODE_4M.secboot.fd (SMM, so QEMU runs ``-machine q35,smm=on`` with secure pflash)
with a copy of OVMF_VARS_4M.ms.fd (Microsoft keys enrolled, Secure Boot on); the test
certificates are added to shim's ``MokList`` variable with ``virt-fw-vars --add-mok``,
which is what MokManager would write after a person confirmed ``mokutil --import``.
Shim hands MokList to the kernel as MokListRT; the kernel loads it into a keyring
module verification falls back to ("integrity: Loaded X.509 cert ..." at boot).
"""

from __future__ import annotations

import re
import shutil
import struct
import sys
from dataclasses import dataclass
from pathlib import Path

from kmend import proc
from kmend.errors import EnvironmentMissing, InputError

OVMF = Path("/usr/share/OVMF")
#: owner GUID recorded with kmend's MokList entries (any GUID will do for shim)
MOK_OWNER = "a4c5f8b0-2c3d-4e9b-9d7e-6b6d656e6431"
_SECTOR = 512
_PART_START = 2048  # sectors: the partition begins at 1 MiB
#: what grub.cfg prints when the boot command returned (the kernel was not started)
GRUB_FAILED = "KMEND-LAB-GRUB: the boot chain did not start the kernel"
_SAFE_CMDLINE = re.compile(r"[A-Za-z0-9_.,:=/+ -]*\Z")


@dataclass(frozen=True)
class SecureBootConfig:
    """Firmware, boot chain and the certificates enrolled as Machine Owner Keys."""

    mok_certs: tuple[Path, ...] = ()
    code: Path = OVMF / "OVMF_CODE_4M.secboot.fd"
    vars_template: Path = OVMF / "OVMF_VARS_4M.ms.fd"
    shim: Path = Path("/usr/lib/shim/shimx64.efi.signed")
    grub: Path = Path("/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed")
    mokmanager: Path = Path("/usr/lib/shim/mmx64.efi.signed")
    min_memory_mb: int = 768


_PACKAGES = {"code": "ovmf", "vars_template": "ovmf", "shim": "shim-signed",
             "grub": "grub-efi-amd64-signed", "mokmanager": "shim-signed"}


def virt_fw_vars() -> str:
    """The virt-fw-vars program (virt-firmware, a Python package): beside this Python
    first (the venv kmend runs in), else on PATH."""
    beside = Path(sys.executable).parent / "virt-fw-vars"
    if beside.is_file():
        return str(beside)
    found = shutil.which("virt-fw-vars")
    if found is None:
        raise EnvironmentMissing("virt-fw-vars not found",
                                 "pip install virt-firmware (into kmend's environment)")
    return found


def check_prerequisites(cfg: SecureBootConfig) -> None:
    """Raise EnvironmentMissing naming the package of whatever is absent."""
    for name, package in _PACKAGES.items():
        path = getattr(cfg, name)
        if not Path(path).is_file():
            raise EnvironmentMissing(f"{path} not found (Secure Boot boot chain)",
                                     f"apt-get install {package}")
    for tool, package in (("mkfs.vfat", "dosfstools"), ("mcopy", "mtools"),
                          ("mmd", "mtools")):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").is_file():
            raise EnvironmentMissing(f"{tool} not found", f"apt-get install {package}")
    virt_fw_vars()
    for cert in cfg.mok_certs:
        if not cert.is_file():
            raise InputError(f"{cert}: no such certificate", "give a PEM or DER X.509 file")


def make_vars(cfg: SecureBootConfig, out: Path) -> Path:
    """A writable variable store: the template plus every MOK certificate."""
    argv = [virt_fw_vars(), "--input", str(cfg.vars_template), "--output", str(out)]
    for cert in cfg.mok_certs:
        argv += ["--add-mok", MOK_OWNER, str(cert)]
    proc.run(argv, timeout=60)
    return out


def grub_cfg(cmdline: str) -> str:
    """The grub.cfg that boots /vmlinuz with /initrd.cpio (nothing else)."""
    if not _SAFE_CMDLINE.match(cmdline):
        raise ValueError(f"kernel command line {cmdline!r} has characters grub.cfg "
                         "would interpret")
    return ("set timeout=0\n"
            "search --no-floppy --file --set=root /kmend-lab.tag\n"
            f"linux /vmlinuz {cmdline}\n"
            "initrd /initrd.cpio\n"
            "boot\n"
            # only reached when the kernel was refused: say so and power off (QEMU exits)
            f"echo {GRUB_FAILED}\n"
            "halt\n")


def _mkfs() -> str:
    return shutil.which("mkfs.vfat") or "/usr/sbin/mkfs.vfat"


def make_esp(cfg: SecureBootConfig, kernel: Path, initrd: Path, cmdline: str,
             out: Path) -> Path:
    """Write a bootable disk image (MBR + ESP) to *out*; return *out*."""
    work = out.parent
    part = work / "esp.part"
    config = work / "grub.cfg"
    tag = work / "kmend-lab.tag"
    config.write_text(grub_cfg(cmdline))
    tag.write_text("kmend lab ESP\n")
    payload = sum(p.stat().st_size for p in (kernel, initrd, cfg.shim, cfg.grub,
                                                 cfg.mokmanager))
    size_kib = max(32 * 1024, (payload * 5 // 4) // 1024 + 8 * 1024)
    size_kib -= size_kib % 32
    part.unlink(missing_ok=True)
    proc.run([_mkfs(), "-C", "-n", "KMENDESP", str(part), str(size_kib)], timeout=60)
    img = f"{part}"
    proc.run(["mmd", "-i", img, "::/EFI", "::/EFI/BOOT", "::/EFI/debian", "::/boot",
              "::/boot/grub"], timeout=60)
    copies = [
        (cfg.shim, "::/EFI/BOOT/BOOTX64.EFI"),
        (cfg.grub, "::/EFI/BOOT/grubx64.efi"),
        (cfg.mokmanager, "::/EFI/BOOT/mmx64.efi"),
        (config, "::/EFI/BOOT/grub.cfg"),
        (config, "::/EFI/debian/grub.cfg"),
        (config, "::/boot/grub/grub.cfg"),
        (kernel, "::/vmlinuz"),
        (initrd, "::/initrd.cpio"),
        (tag, "::/kmend-lab.tag"),
    ]
    for src, dest in copies:
        proc.run(["mcopy", "-i", img, str(src), dest], timeout=120)
    sectors = part.stat().st_size // _SECTOR
    mbr = bytearray(_SECTOR)
    # one bootable partition of type 0xEF (EFI System), CHS fields at their LBA-only value
    mbr[446:462] = struct.pack("<B3sB3sII", 0x80, b"\xfe\xff\xff", 0xEF, b"\xfe\xff\xff",
                               _PART_START, sectors)
    mbr[510:512] = b"\x55\xaa"
    with open(out, "wb") as disk, open(part, "rb") as src_fh:
        disk.write(bytes(mbr))
        disk.write(bytes(_PART_START * _SECTOR - _SECTOR))
        shutil.copyfileobj(src_fh, disk, 1 << 20)
    part.unlink()
    return out


def qemu_argv(cfg: SecureBootConfig, *, qemu: str, accel: str, memory_mb: int, smp: int,
              disk: Path, vars_fd: Path, console: Path) -> list[str]:
    """QEMU for a Secure Boot boot: q35 with SMM, secure pflash, the ESP as virtio disk."""
    argv = [qemu, "-machine", "q35,smm=on", "-accel", accel]
    if accel == "kvm":
        argv += ["-cpu", "host"]
    argv += [
        "-global", "driver=cfi.pflash01,property=secure,value=on",
        "-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={cfg.code}",
        "-drive", f"if=pflash,format=raw,unit=1,file={vars_fd}",
        "-m", str(max(memory_mb, cfg.min_memory_mb)), "-smp", str(smp),
        "-nodefaults", "-display", "none", "-no-reboot",
        "-serial", f"file:{console}",
        "-drive", f"if=none,id=esp,format=raw,file={disk}",
        "-device", "virtio-blk-pci,drive=esp",
    ]  # fmt: skip
    return argv


#: what the boot chain prints when it refuses the kernel image (grub via shim_lock)
UNSIGNED_KERNEL = ("bad shim signature", "Verification failed",
                   "you need to load the kernel first", GRUB_FAILED)


def boot_chain_error(console: str) -> str | None:
    """The boot chain's refusal of the kernel image, if the console shows one."""
    for needle in UNSIGNED_KERNEL:
        if needle in console:
            return needle
    return None
