"""Find the shared libraries a host executable needs, so it can run inside an initramfs.

Reads ``DT_NEEDED``, ``DT_RUNPATH``/``DT_RPATH`` and the ``PT_INTERP`` program header with
pyelftools (no ``ldd``: it would execute the loader on the file) and resolves each library
in the run path and the standard Debian multiarch directories, recursively.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from elftools.common.exceptions import ELFError
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile
from elftools.elf.segments import InterpSegment

from kmend.errors import EnvironmentMissing, InputError

SEARCH_DIRS = (
    Path("/lib/x86_64-linux-gnu"),
    Path("/usr/lib/x86_64-linux-gnu"),
    Path("/lib64"),
    Path("/usr/lib64"),
    Path("/lib"),
    Path("/usr/lib"),
)

#: Libraries glibc loads with dlopen(), invisible in DT_NEEDED but needed at run time
#: (libgcc_s for pthread_cancel: without it `xl create` aborts with "libgcc_s.so.1 must be
#: installed for pthread_cancel to work", exit 134).
DLOPENED = ("libgcc_s.so.1",)


@dataclass(frozen=True)
class ElfInfo:
    needed: tuple[str, ...]
    runpath: tuple[str, ...]
    interpreter: str | None


def read_elf_info(path: Path) -> ElfInfo:
    """Return the dynamic dependencies recorded in the ELF file *path*."""
    try:
        with path.open("rb") as handle:
            elf = ELFFile(handle)
            interp: str | None = None
            for segment in elf.iter_segments():
                if isinstance(segment, InterpSegment):
                    interp = segment.get_interp_name()
            needed: list[str] = []
            runpath: list[str] = []
            for section in elf.iter_sections():
                if not isinstance(section, DynamicSection):
                    continue
                for raw_tag in section.iter_tags():
                    tag = cast(Any, raw_tag)
                    if tag.entry.d_tag == "DT_NEEDED":
                        needed.append(tag.needed)
                    elif tag.entry.d_tag == "DT_RUNPATH":
                        runpath.extend(tag.runpath.split(":"))
                    elif tag.entry.d_tag == "DT_RPATH":
                        runpath.extend(tag.rpath.split(":"))
    except (OSError, ELFError) as exc:
        raise InputError(f"cannot read ELF file {path}: {exc}") from exc
    origin = str(path.parent)
    runpath = [p.replace("$ORIGIN", origin).replace("${ORIGIN}", origin) for p in runpath if p]
    return ElfInfo(tuple(needed), tuple(runpath), interp)


def _find(name: str, extra: tuple[str, ...]) -> Path:
    for directory in (*map(Path, extra), *SEARCH_DIRS):
        candidate = directory / name
        if candidate.is_file():
            return candidate
    raise EnvironmentMissing(
        f"shared library {name} not found on this machine",
        "install the package that provides it (apt-file search " + name + ")",
    )


def library_closure(executables: list[Path], *, dlopened: bool = False) -> dict[str, Path]:
    """Map each guest path (``lib/x86_64-linux-gnu/libc.so.6``, ``lib64/ld-…``) to a host file.

    Libraries are installed under their soname in ``lib/x86_64-linux-gnu``; the dynamic
    loader goes to the path recorded in ``PT_INTERP``.
    """
    result: dict[str, Path] = {}
    todo = list(executables)
    seen: set[Path] = set()
    extra_names = list(DLOPENED) if dlopened else []
    while todo:
        exe = todo.pop()
        if exe in seen:
            continue
        seen.add(exe)
        info = read_elf_info(exe)
        if info.interpreter:
            interp = Path(info.interpreter)
            result[info.interpreter.lstrip("/")] = interp
        for name in info.needed:
            guest = f"lib/x86_64-linux-gnu/{name}"
            if guest in result:
                continue
            host = _find(name, info.runpath)
            result[guest] = host
            todo.append(host.resolve())
    for name in extra_names:
        host = _find(name, ())
        result[f"lib/x86_64-linux-gnu/{name}"] = host
    return result
