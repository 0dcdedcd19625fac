"""The one wrapper through which kmend runs every external program.

Rules: argv lists only, never a shell; every call has a timeout; output
is captured; a non-zero exit raises :class:`~kmend.errors.CommandFailed` unless the
caller says ``check=False``; a timeout kills the whole process group and raises
:class:`~kmend.errors.CommandTimeout`.  A missing program raises
:class:`~kmend.errors.EnvironmentMissing` with the Debian package that provides it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from kmend.errors import CommandFailed, CommandTimeout, EnvironmentMissing

log = logging.getLogger(__name__)

#: Which Debian package provides a program kmend may run (used in hints).
PACKAGES: dict[str, str] = {
    "git": "git",
    "make": "make",
    "gcc": "gcc",
    "depmod": "kmod",
    "modprobe": "kmod",
    "modinfo": "kmod",
    "insmod": "kmod",
    "kmod": "kmod",
    "qemu-system-x86_64": "qemu-system-x86",
    "busybox": "busybox-static",
    "cpio": "cpio",
    "dkms": "dkms",
    "update-initramfs": "initramfs-tools",
    "xl": "xen-utils-4.17",
    "objcopy": "binutils",
    "strip": "binutils",
    "xz": "xz-utils",
    "zstd": "zstd",
    "dpkg-deb": "dpkg",
    "journalctl": "systemd",
    "gzip": "gzip",
    "lsinitramfs": "initramfs-tools-core",
    "lsinitrd": "dracut-core",
    "dracut": "dracut",
}

DEFAULT_TIMEOUT = 600.0


@dataclass(frozen=True)
class Result:
    """What a finished command left behind."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def which(program: str) -> str:
    """Return the full path of *program* or raise EnvironmentMissing naming its package."""
    found = shutil.which(program)
    if found is None:
        package = PACKAGES.get(program)
        hint = f"install it (apt-get install {package})" if package else "install it"
        raise EnvironmentMissing(f"{program} not found on PATH", hint)
    return found


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def run(
    argv: Sequence[str | os.PathLike[str]],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    extra_env: Mapping[str, str] | None = None,
    input: bytes | str | None = None,
    check: bool = True,
    stdout_path: Path | None = None,
) -> Result:
    """Run *argv* and return its :class:`Result`.

    ``env`` replaces the environment; ``extra_env`` adds to the current one.  With
    ``stdout_path`` the standard output goes to that file (for long console captures)
    and ``Result.stdout`` is empty.  Output is decoded as UTF-8 with replacement, so
    hostile bytes never raise.
    """
    args = tuple(os.fspath(a) for a in argv)
    if not args:
        raise ValueError("empty argv")
    program = args[0]
    if os.sep not in program:
        which(program)
    full_env: dict[str, str] | None = None
    if env is not None or extra_env is not None:
        full_env = dict(os.environ if env is None else env)
        full_env.update(extra_env or {})
    data = input.encode() if isinstance(input, str) else input
    log.debug("run %s (timeout %ss, cwd %s)", args, timeout, cwd)
    out_file = open(stdout_path, "wb") if stdout_path is not None else None  # noqa: SIM115
    try:
        try:
            proc = subprocess.Popen(
                args,
                cwd=cwd,
                env=full_env,
                stdin=subprocess.PIPE if data is not None else subprocess.DEVNULL,
                stdout=out_file if out_file is not None else subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except FileNotFoundError as exc:
            raise EnvironmentMissing(f"{program} not found", "install it") from exc
        except PermissionError as exc:
            raise EnvironmentMissing(f"{program} is not executable", "check its mode") from exc
        try:
            out, err = proc.communicate(data, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            _kill_group(proc)
            out, err = proc.communicate()
            raise CommandTimeout(
                f"{Path(program).name} did not finish within {timeout:g} s and was killed",
                "raise the timeout or check why it hangs",
                argv=args,
                stdout=(out or b"").decode("utf-8", "replace"),
                stderr=(err or b"").decode("utf-8", "replace"),
            ) from exc
        finally:
            if proc.poll() is None:
                _kill_group(proc)
                proc.wait()
    finally:
        if out_file is not None:
            out_file.close()
    result = Result(
        argv=args,
        returncode=proc.returncode,
        stdout=(out or b"").decode("utf-8", "replace"),
        stderr=(err or b"").decode("utf-8", "replace"),
    )
    if check and result.returncode != 0:
        last = (result.stderr.strip() or result.stdout.strip()).splitlines()
        detail = last[-1] if last else f"exit status {result.returncode}"
        raise CommandFailed(
            f"{Path(program).name} failed (exit {result.returncode}): {detail}",
            argv=args,
            returncode=result.returncode,
            stdout=result.stdout,
            stderr=result.stderr,
        )
    return result
