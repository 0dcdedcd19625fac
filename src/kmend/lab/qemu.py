"""Boot a kernel under QEMU with a generated initramfs and collect what happened.

One boot per :class:`BootCase`; a hard timeout per boot (QEMU is killed, the result says
``timed_out``); :func:`run_many` runs boots in parallel threads, up to the core count.
Software emulation (TCG) unless KVM really works: ``/dev/kvm`` may exist and still fail
(seen here: KVM_GET_API_VERSION answers, yet a guest hangs after the firmware banner
or QEMU aborts in kvm_buf_set_msrs), so ``accel="auto"`` probes it once per host kernel
and caches the answer; ``KMEND_LAB_ACCEL=tcg|kvm`` overrides.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from kmend import proc
from kmend.errors import CommandTimeout, InputError
from kmend.lab.console import BootResult, CommandResult, LoadResult, parse_markers
from kmend.lab.initramfs import InitramfsSpec, build_initramfs
from kmend.lab.secureboot import SecureBootConfig, check_prerequisites, make_esp, make_vars
from kmend.lab.secureboot import qemu_argv as secure_boot_argv
from kmend.lab.steps import Insmod, Modprobe, Run
from kmend.lab.xen import DOM0_ARGS, XenConfig, hypervisor_elf, multiboot_modules

QEMU = "qemu-system-x86_64"
DEFAULT_APPEND = "console=ttyS0 panic=-1 quiet"


@dataclass(frozen=True)
class BootCase:
    """One boot: a kernel image, what its initramfs does, and how to run QEMU.

    ``append`` is the Linux command line (default: serial console, reboot at once on
    panic — QEMU then exits because of ``-no-reboot`` — and ``quiet``); under Xen it is
    dom0's command line (default ``console=hvc0 earlyprintk=xen panic=-1``).
    ``console_path`` keeps a copy of the raw serial console.
    """

    kernel: Path
    initramfs: InitramfsSpec = field(default_factory=InitramfsSpec)
    append: str | None = None
    extra_append: str = ""
    memory_mb: int = 512
    smp: int = 1
    timeout: float = 180.0
    accel: str = "auto"
    xen: XenConfig | None = None
    console_path: Path | None = None
    name: str = ""
    #: boot through OVMF Secure Boot → shim → grub (kmend.lab.secureboot), not -kernel
    secure_boot: SecureBootConfig | None = None

    def cmdline(self) -> str:
        base = self.append
        if base is None:
            base = DOM0_ARGS if self.xen is not None else DEFAULT_APPEND
        return f"{base} {self.extra_append}".strip()


_accel_lock = threading.Lock()
_accel_cache: dict[str, str] = {}


def _cache_file() -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "kmend" / f"kvm-probe-{os.uname().release}.json"


def probe_kvm(kernel: Path, timeout: float = 25.0) -> bool:
    """Boot *kernel* once with KVM; True only if the guest reaches its /init and powers off."""
    case = BootCase(kernel=kernel, accel="kvm", timeout=timeout, name="kvm-probe")
    return boot(case).done


def choose_accel(kernel: Path) -> str:
    """``tcg`` or ``kvm`` for this host (see the module docstring)."""
    forced = os.environ.get("KMEND_LAB_ACCEL", "").strip().lower()
    if forced in {"tcg", "kvm"}:
        return forced
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return "tcg"
    with _accel_lock:
        if "answer" in _accel_cache:
            return _accel_cache["answer"]
        cache = _cache_file()
        answer = ""
        try:
            answer = str(json.loads(cache.read_text()).get("accel", ""))
        except (OSError, ValueError, AttributeError):
            answer = ""
        if answer not in {"tcg", "kvm"}:
            answer = "kvm" if probe_kvm(kernel) else "tcg"
            try:
                cache.parent.mkdir(parents=True, exist_ok=True)
                cache.write_text(json.dumps({"accel": answer}))
            except OSError:
                pass
        _accel_cache["answer"] = answer
        return answer


def qemu_argv(
    case: BootCase, accel: str, initrd: Path, console: Path, xen_elf: Path | None
) -> list[str]:
    """The full QEMU command line for *case* (pure apart from the paths given)."""
    memory, smp = case.memory_mb, case.smp
    if case.xen is not None:
        memory, smp = max(memory, case.xen.memory_mb), case.xen.smp
    argv = [QEMU, "-accel", accel]
    if accel == "kvm":
        argv += ["-cpu", "host"]
    argv += [
        "-m", str(memory), "-smp", str(smp),
        "-nodefaults", "-display", "none", "-no-reboot",
        "-serial", f"file:{console}",
    ]  # fmt: skip
    if case.xen is not None and xen_elf is not None:
        argv += [
            "-kernel", str(xen_elf),
            "-append", case.xen.xen_args,
            "-initrd", multiboot_modules(case.kernel, case.cmdline(), initrd),
        ]  # fmt: skip
    else:
        argv += ["-kernel", str(case.kernel), "-initrd", str(initrd), "-append", case.cmdline()]
    return argv


_Parsed = tuple[tuple[LoadResult, ...], tuple[CommandResult, ...], int | None, str | None, bool]


def _results(case: BootCase, console: str) -> _Parsed:
    parsed = parse_markers(console)
    loads: list[LoadResult] = []
    commands: list[CommandResult] = []
    for step in case.initramfs.steps:
        _kind, rc, out, msg, taint = parsed.steps.get(step.label, ("", None, (), (), None))
        if isinstance(step, Insmod):
            loads.append(LoadResult(step.label, str(step.ko), rc, msg, taint, out, "insmod"))
        elif isinstance(step, Modprobe):
            loads.append(LoadResult(step.label, step.module, rc, msg, taint, out, "modprobe"))
        elif isinstance(step, Run):
            commands.append(CommandResult(step.label, step.command, rc, out, msg, taint))
    taint = parsed.taint
    if not parsed.done:
        # the final marker never came: report the last taint any step saw, in step order
        seen = [parsed.steps[s.label][4] for s in case.initramfs.steps if s.label in parsed.steps]
        known = [t for t in seen if t is not None]
        taint = known[-1] if known else taint
    return tuple(loads), tuple(commands), taint, parsed.release, parsed.done


def boot(case: BootCase, *, workdir: Path | None = None) -> BootResult:
    """Boot *case* once and return what the console showed.

    Raises EnvironmentMissing (QEMU, busybox, kmod absent) and InputError (kernel image
    absent) before anything runs; a boot that exceeds ``case.timeout`` is killed and
    returned with ``timed_out=True``.
    """
    proc.which(QEMU)
    if not case.kernel.is_file():
        raise InputError(
            f"kernel image {case.kernel} not found",
            "install the linux-image package or give the path of a vmlinuz",
        )
    if case.secure_boot is not None:
        check_prerequisites(case.secure_boot)
    accel = choose_accel(case.kernel) if case.accel == "auto" else case.accel
    with tempfile.TemporaryDirectory(prefix="kmend-lab-", dir=workdir) as tmp:
        tmpdir = Path(tmp)
        initrd = build_initramfs(case.initramfs, tmpdir / "initramfs.cpio")
        xen_elf = hypervisor_elf(case.xen.hypervisor, tmpdir / "xen.elf") if case.xen else None
        console_file = tmpdir / "console.log"
        console_file.touch()
        if case.secure_boot is not None:
            sb = case.secure_boot
            argv = secure_boot_argv(
                sb, qemu=QEMU, accel=accel, memory_mb=case.memory_mb, smp=case.smp,
                disk=make_esp(sb, case.kernel, initrd, case.cmdline(), tmpdir / "disk.img"),
                vars_fd=make_vars(sb, tmpdir / "vars.fd"), console=console_file)
        else:
            argv = qemu_argv(case, accel, initrd, console_file, xen_elf)
        start = time.monotonic()
        timed_out = False
        qemu_rc: int | None = None
        stderr = ""
        try:
            result = proc.run(argv, timeout=case.timeout, check=False)
            qemu_rc, stderr = result.returncode, result.stderr
        except CommandTimeout as exc:
            timed_out, stderr = True, exc.stderr
        seconds = time.monotonic() - start
        raw = console_file.read_bytes().decode("utf-8", "replace")
        if case.console_path is not None:
            case.console_path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(console_file, case.console_path)
    loads, commands, taint, release, done = _results(case, raw)
    return BootResult(
        console=raw,
        loads=loads,
        commands=commands,
        taint=taint,
        release=release,
        done=done,
        timed_out=timed_out,
        seconds=seconds,
        qemu_rc=qemu_rc,
        qemu_stderr=stderr,
        accel=accel,
        kernel=str(case.kernel),
    )


def run_many(cases: Iterable[BootCase], jobs: int | None = None) -> list[BootResult]:
    """Boot every case (in parallel threads, at most *jobs* at once); results in order."""
    items = list(cases)
    if not items:
        return []
    if any(c.accel == "auto" for c in items):
        accel = choose_accel(items[0].kernel)  # probe once, before the threads start
        items = [replace(c, accel=accel) if c.accel == "auto" else c for c in items]
    workers = max(1, min(jobs or os.cpu_count() or 1, len(items)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(boot, items))
