"""Run ``make -C KDIR M=DIR modules`` in a throwaway copy and collect what it left.

The build happens in a temporary directory (so a failed or interrupted build never leaves
half-made objects in the user's tree); on success the ``.ko`` files are renamed into the
source directory (:func:`build_dir`).  Output is parsed into :class:`Diagnostic` findings.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from kmend import proc
from kmend.build import diagnostics
from kmend.build.diagnostics import Diagnostic
from kmend.build.kdir import Kdir, require_compiler
from kmend.errors import InputError

BUILD_TIMEOUT = 900.0
_SKIP = {".git", ".tmp_versions"}

#: The environment of every module build: gcc's messages in the C locale, whatever the
#: caller's.  Setting LC_ALL is not enough: the kernel's top Makefile unexports it, and
#: a Python started with no LANG (a fresh machine over ssh, ``env -i``) exports
#: LC_CTYPE=C.UTF-8 to its children (PEP 538), with which gcc quotes names as ‘x’ instead
#: of 'x'.  So each category that gcc reads is set too.  No inherited MAKEFLAGS either.
MAKE_ENV: Mapping[str, str] = {
    "LC_ALL": "C", "LANG": "C", "LC_CTYPE": "C", "LC_MESSAGES": "C", "KBUILD_VERBOSE": "0",
    "MAKEFLAGS": "", "MFLAGS": "",
}


@dataclass(frozen=True, slots=True)
class BuildResult:
    ok: bool
    modules: tuple[Path, ...]  # built .ko files (in their final place when ok)
    diagnostics: tuple[Diagnostic, ...]
    log: str
    seconds: float
    returncode: int

    @property
    def first_error(self) -> Diagnostic | None:
        errs = diagnostics.errors(list(self.diagnostics))
        return errs[0] if errs else None


def write_files(dest: Path, files: Mapping[str, str]) -> None:
    """Write *files* (relative POSIX paths → text) under *dest*, refusing to escape it."""
    root = dest.resolve()
    for rel, text in files.items():
        target = (dest / rel).resolve()
        if not target.is_relative_to(root) or rel.startswith("/"):
            raise InputError(f"refusing to write {rel!r} outside {dest}", "")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)


#: The form of a make variable kmend passes on (``KBUILD_EXTRA_SYMBOLS``: the
#: Module.symvers of another out-of-tree module whose symbols this one uses;
#: ``KBUILD_MODPOST_WARN=1``: unresolved symbols are warnings).
_MAKE_VAR_RE = re.compile(r"[A-Z][A-Z0-9_]{0,63}")


def compile_files(files: Mapping[str, str], kdir: Kdir, *, timeout: float = BUILD_TIMEOUT,
                  jobs: int = 1, workdir: Path | None = None,
                  make_vars: Mapping[str, str] | None = None,
                  macro_prefix: str | None = None) -> tuple[BuildResult, Path]:
    """Build the module whose sources (incl. ``Kbuild``) are *files*, in a new temp dir,
    with *make_vars* (``NAME=value`` arguments of make) if any.  *macro_prefix*: the path
    ``__FILE__`` gives for the temp dir (what ``kernel BUG at`` and ``WARNING: … at`` print),
    e.g. the module's in-tree directory ``drivers/xen``, instead of the temp dir's name.

    Returns the result and the temp dir (the caller removes it, or keeps the .ko files).
    """
    require_compiler(kdir)
    variables = dict(make_vars or {})
    for name, value in variables.items():
        if not _MAKE_VAR_RE.fullmatch(name) or "\n" in value:
            raise InputError(f"{name!r}: not a make variable kmend passes on",
                             "a name in capitals, a one-line value")
    tmp = Path(tempfile.mkdtemp(prefix="kmend-build-", dir=workdir))
    if macro_prefix is not None:
        mapping = f"-fmacro-prefix-map={tmp}/={macro_prefix.rstrip('/')}/"
        variables["KCFLAGS"] = " ".join(filter(None, (variables.get("KCFLAGS"), mapping)))
    assigns = [f"{name}={value}" for name, value in variables.items()]
    write_files(tmp, files)
    start = time.monotonic()
    res = proc.run(
        ["make", "-C", str(kdir.path), f"M={tmp}", f"-j{max(1, jobs)}", *assigns, "modules"],
        timeout=timeout, check=False,
        extra_env=MAKE_ENV,
    )
    seconds = time.monotonic() - start
    log = res.stdout + res.stderr
    diags = diagnostics.parse(log, str(tmp))
    kos = tuple(sorted(tmp.rglob("*.ko")))
    ok = res.ok and bool(kos)
    if res.ok and not kos:
        diags.append(Diagnostic(kind="error", severity="error", file="", line=0, column=0,
                                message="make succeeded but produced no .ko"))
    return BuildResult(ok=ok, modules=kos, diagnostics=tuple(diags), log=log,
                       seconds=seconds, returncode=res.returncode), tmp


def read_dir(src: Path) -> dict[str, str]:
    files: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames[:] = [d for d in dirnames if d not in _SKIP]
        for name in filenames:
            full = Path(dirpath) / name
            if full.is_symlink() or name.endswith((".ko", ".o", ".cmd", ".mod", ".mod.c")):
                continue
            rel = full.relative_to(src).as_posix()
            if rel.startswith(".") or name in ("Module.symvers", "modules.order"):
                continue
            files[rel] = full.read_text(errors="replace")
    return files


def place_modules(modules: tuple[Path, ...], built_in: Path, dest: Path) -> tuple[Path, ...]:
    """Move the files built under the work copy *built_in* (.ko, Module.symvers) to the
    same relative places under *dest*, each replaced atomically (a staged copy renamed over
    the old file)."""
    placed: list[Path] = []
    for ko in modules:
        final = dest / ko.relative_to(built_in)
        final.parent.mkdir(parents=True, exist_ok=True)
        staged = final.with_name(final.name + ".kmend-new")
        shutil.copyfile(ko, staged)
        os.replace(staged, final)
        placed.append(final)
    return tuple(placed)


def build_dir(src: Path, kdir: Kdir, *, jobs: int | None = None,
              timeout: float = BUILD_TIMEOUT,
              make_vars: Mapping[str, str] | None = None) -> BuildResult:
    """Build the module in *src* (which has a Kbuild or Makefile); .ko files land in *src*,
    and so does the build's Module.symvers (another module that uses these symbols names
    it in KBUILD_EXTRA_SYMBOLS)."""
    src = Path(src)
    if not src.is_dir():
        raise InputError(f"{src}: not a directory", "give a module source directory")
    if not (src / "Kbuild").is_file() and not (src / "Makefile").is_file():
        raise InputError(f"{src} has neither a Kbuild nor a Makefile",
                         "write one (obj-m += NAME.o) or use kmend backport -o DIR")
    result, tmp = compile_files(read_dir(src), kdir, jobs=jobs or (os.cpu_count() or 1),
                                timeout=timeout, make_vars=make_vars)
    try:
        placed = place_modules(result.modules, tmp, src) if result.ok else ()
        if result.ok and (tmp / "Module.symvers").is_file():
            place_modules((tmp / "Module.symvers",), tmp, src)
        return BuildResult(ok=result.ok, modules=placed, diagnostics=result.diagnostics,
                           log=result.log.replace(str(tmp), str(src)), seconds=result.seconds,
                           returncode=result.returncode)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
