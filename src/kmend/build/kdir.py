"""Finding the target kernel's build tree (its headers, ``Module.symvers``, Kbuild scripts).

Order: ``--kdir`` as given; else ``/lib/modules/RELEASE/build`` for ``--kernel RELEASE`` or
the running kernel.  When nothing usable is there, the error names the package that
provides the headers on the distribution the release string belongs to (exit 3).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from kmend import proc
from kmend.errors import EnvironmentMissing, InputError


@dataclass(frozen=True, slots=True)
class Kdir:
    """A usable kernel build tree."""

    path: Path
    release: str  # UTS_RELEASE, e.g. "6.1.0-47-amd64"
    version: tuple[int, int, int]  # VERSION.PATCHLEVEL.SUBLEVEL from the Makefile
    compiler: str  # the program the build will run as CC, e.g. "gcc"
    compiler_text: str  # CONFIG_CC_VERSION_TEXT


def headers_package(release: str, os_release: str | None = None) -> str:
    """The package that provides the build tree for *release*, as an install command."""
    ident = (os_release or _os_release_ids()).lower()
    if re.search(r"\.el\d+|\.fc\d+", release) or any(
        d in ident for d in ("rhel", "fedora", "centos", "rocky", "almalinux")
    ):
        return f"dnf install kernel-devel-{release}"
    suse = re.match(r"^(?P<ver>[\d.]+-[\d.]+)-(?P<flavor>default|azure|rt|64kb)$", release)
    if suse or "suse" in ident:
        flavor = suse.group("flavor") if suse else "default"
        ver = suse.group("ver") if suse else release
        return f"zypper install kernel-{flavor}-devel-{ver}"
    return f"apt-get install linux-headers-{release}"


def _os_release_ids() -> str:
    try:
        text = Path("/etc/os-release").read_text(errors="replace")
    except OSError:
        return ""
    ids = re.findall(r"^(?:ID|ID_LIKE)=\"?([^\"\n]*)", text, re.MULTILINE)
    return " ".join(ids)


def running_release() -> str:
    return os.uname().release


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def _version_from_makefile(kdir: Path) -> tuple[int, int, int]:
    text = _read(kdir / "Makefile")
    include = re.search(r"^include\s+(\S+/Makefile)\s*$", text, re.MULTILINE)
    if include and "VERSION =" not in text:  # Debian: the arch tree includes the common one
        text = _read(Path(include.group(1)))
    nums = []
    for key in ("VERSION", "PATCHLEVEL", "SUBLEVEL"):
        m = re.search(rf"^{key}\s*=\s*(\d+)", text, re.MULTILINE)
        nums.append(int(m.group(1)) if m else 0)
    return (nums[0], nums[1], nums[2])


def _compiler(kdir: Path) -> tuple[str, str]:
    config = _read(kdir / ".config") or _read(kdir / "include/config/auto.conf")
    m = re.search(r'^CONFIG_CC_VERSION_TEXT="([^"]*)"', config, re.MULTILINE)
    text = m.group(1) if m else ""
    if os.environ.get("CC"):
        return os.environ["CC"], text
    if re.search(r"^CONFIG_CC_IS_CLANG=y", config, re.MULTILINE):
        return "clang", text
    return "gcc", text


def find_kdir(kdir: Path | None = None, kernel: str | None = None) -> Kdir:
    """Locate and validate the target build tree (EnvironmentMissing naming the package)."""
    release = kernel or running_release()
    path = Path(kdir) if kdir is not None else Path("/lib/modules") / release / "build"
    if kdir is not None and not path.exists():
        raise EnvironmentMissing(f"{path}: no such kernel build directory",
                                 "give the headers tree of the target kernel "
                                 "(/lib/modules/RELEASE/build)")
    if kdir is None and not path.exists():
        raise EnvironmentMissing(f"no kernel headers for {release} ({path} is missing)",
                                 f"install them: {headers_package(release)}, or give --kdir")
    uts = _read(path / "include/generated/utsrelease.h")
    m = re.search(r'UTS_RELEASE\s+"([^"]+)"', uts)
    if not (path / "Makefile").is_file() or m is None:
        guess = kernel or (path.parent.name if path.name == "build" else path.name)
        guess = guess.removeprefix("linux-headers-")
        raise EnvironmentMissing(
            f"{path} is not a configured kernel build tree "
            "(no Makefile or include/generated/utsrelease.h)",
            f"install the headers package ({headers_package(guess)}) or give its directory",
        )
    if not (path / "Module.symvers").is_file():
        raise InputError(f"{path}/Module.symvers is missing",
                         "modpost needs it; reinstall the headers package")
    cc, text = _compiler(path)
    return Kdir(path=path, release=m.group(1), version=_version_from_makefile(path),
                compiler=cc, compiler_text=text)


def require_compiler(kd: Kdir) -> None:
    """EnvironmentMissing when the compiler the kernel was configured with is absent."""
    try:
        proc.which(kd.compiler)
    except EnvironmentMissing as err:
        detail = f" (the kernel was built with {kd.compiler_text})" if kd.compiler_text else ""
        raise EnvironmentMissing(
            f"compiler {kd.compiler} not found on PATH{detail}",
            "install it (apt-get install gcc; on RHEL dnf install gcc) or set CC",
        ) from err
    proc.which("make")
