"""What the guest's /init does, one step at a time.

A boot runs a tuple of steps in order.  Each has a *label* (a short token used in the
console markers, unique within a boot):

* :class:`Insmod` — load a .ko given by its host path (copied into the initramfs,
  decompressed when it is ``.ko.xz``/``.ko.zst``/``.ko.gz``).
* :class:`Modprobe` — load a module by name from the module tree put in the initramfs
  (kmod's modprobe resolves its dependencies with modules.dep).
* :class:`Run` — an arbitrary shell command (tests use it to trigger crashes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}\Z")
_MODNAME = re.compile(r"[A-Za-z0-9_-]{1,64}\Z")
_COMPRESSED = (".xz", ".zst", ".gz")


def check_label(label: str) -> str:
    if not _LABEL.match(label):
        raise ValueError(
            f"step label {label!r} must be 1-64 characters of letters, digits, '_', '.', '+', '-'"
        )
    return label


def guest_ko_name(path: Path) -> str:
    """The file name a module gets in the guest: compression suffixes dropped."""
    name = path.name
    for suffix in _COMPRESSED:
        if name.endswith(".ko" + suffix):
            return name[: -len(suffix)]
    return name


@dataclass(frozen=True)
class Insmod:
    """``insmod [flags] /lab/mods/<label>/<name>.ko [args]``; ``unload`` rmmods it on success."""

    label: str
    ko: Path
    args: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    unload: bool = False

    def __post_init__(self) -> None:
        check_label(self.label)

    @property
    def guest_path(self) -> str:
        return f"/lab/mods/{self.label}/{guest_ko_name(self.ko)}"


@dataclass(frozen=True)
class Modprobe:
    """``modprobe [flags] <module> [args]`` against the initramfs module tree."""

    label: str
    module: str
    args: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_label(self.label)
        if not _MODNAME.match(self.module):
            raise ValueError(f"invalid module name {self.module!r}")


@dataclass(frozen=True)
class Run:
    """``sh -c <command>``; its output and exit status are reported under *label*.

    ``capture_dmesg=False`` leaves the kernel log alone (no replay of the step's kernel
    messages under ``msg`` markers), e.g. when the console itself is the capture.
    """

    label: str
    command: str
    timeout: int | None = field(default=None)
    capture_dmesg: bool = True

    def __post_init__(self) -> None:
        check_label(self.label)


Step = Insmod | Modprobe | Run


def step_kind(step: Step) -> str:
    if isinstance(step, Insmod):
        return "insmod"
    if isinstance(step, Modprobe):
        return "modprobe"
    return "run"


def check_steps(steps: tuple[Step, ...]) -> None:
    seen: set[str] = set()
    for step in steps:
        if step.label in seen:
            raise ValueError(f"duplicate step label {step.label!r}")
        seen.add(step.label)
