"""`kmend check MODULE... | DIR... | --kernel-tree R [--kernel R | --kdir D | --symvers F]`.

One module: the full verdict.  Several (paths, directories, or every module of an installed
kernel tree): one line per module and a summary, the target read once per release.
Exit 0: the kernel will load every module; 1: it will refuse one; others: errors.py codes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kmend.cli import options
from kmend.cli.common import Lines, emit_json, say
from kmend.errors import InputError, KmendError, UsageError

if TYPE_CHECKING:
    from kmend.kernel.target import KernelTarget
    from kmend.ko.model import ModuleFile
    from kmend.loadcheck import LoadVerdict
    from kmend.loadcheck.enforcement import Enforcement, Trust

#: What a kernel module file is called (plain or compressed), as modprobe finds them.
MODULE_SUFFIXES = (".ko", ".ko.xz", ".ko.zst", ".ko.gz")

def is_module_file(name: str) -> bool:
    return name.endswith(MODULE_SUFFIXES)


def collect_modules(paths: list[Path]) -> list[Path]:
    """Every module file named or found under a named directory, in a stable order."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            inside: list[Path] = []
            for dirpath, dirnames, filenames in os.walk(path):
                dirnames.sort()
                base = Path(dirpath)
                inside += [base / f for f in sorted(filenames) if is_module_file(f)]
            if not inside:
                raise InputError(f"{path}: no kernel modules (.ko, .ko.xz, .ko.zst, .ko.gz) "
                                 "under it", "give a module file or a directory holding some")
            found += inside
        elif path.exists():
            found.append(options.module_file(path))
        else:
            try:
                path.stat()
                why = "no such file or directory"
            except OSError as err:  # a dangling or looping symlink, a denied directory
                why = (err.strerror or "cannot be read").lower()
            raise InputError(f"{path}: {why}", "give the module's path")
    return found


def target_from_options(kdir: Path | None, kernel: str | None, symvers: Path | None,
                        root: Path) -> tuple[KernelTarget, str] | None:
    """The target the options name and a note on where it came from ("" or this
    machine's headers standing in for a root without any), or None when none does (then
    each module's vermagic, else the running kernel, picks it)."""
    from kmend.kernel.target import KernelTarget, target_in_root

    given = [x for x in (kdir, kernel, symvers) if x is not None]
    if len(given) > 1:
        raise UsageError("give at most one of --kdir, --kernel or --symvers",
                         "e.g. --kernel 6.1.0-47-amd64 (default: the module's vermagic)")
    if kdir is not None:
        return KernelTarget.from_kdir(kdir), ""
    if symvers is not None:
        return KernelTarget.from_symvers(symvers), ""
    if kernel is not None:
        return target_in_root(kernel, root)
    return None


class Checker:
    """Checks modules against targets read once per release."""

    def __init__(self, fixed: tuple[KernelTarget, str] | None, *, root: Path,
                 modules_dir: Path | None, enforce: dict[str, Any],
                 certs: tuple[Path, ...]) -> None:
        self.fixed = fixed
        self.root = root
        self.modules_dir = modules_dir
        self.enforce = enforce
        self.certs = certs
        self._targets: dict[str, tuple[KernelTarget, str]] = {}
        self._context: dict[str, tuple[Enforcement, Trust | None, Path | None]] = {}

    def target_for(self, mod: ModuleFile) -> tuple[KernelTarget, str]:
        from kmend.kernel.target import target_in_root

        if self.fixed is not None:
            return self.fixed
        release = (mod.vermagic or "").split(" ", 1)[0] or os.uname().release
        if release not in self._targets:
            self._targets[release] = target_in_root(options.kernel_release(release) or "",
                                                    self.root)
        return self._targets[release]

    def check(self, mod: ModuleFile) -> tuple[LoadVerdict, KernelTarget, str]:
        from kmend.loadcheck import check_module

        target, note = self.target_for(mod)
        enforcement, trust, tree = self._context_for(target)
        verdict = check_module(mod, target, modules_tree=tree, enforcement=enforcement,
                               trust=trust)
        return verdict, target, note

    def _context_for(self, target: KernelTarget) -> tuple[Enforcement, Trust | None,
                                                          Path | None]:
        key = target.release
        if key not in self._context:
            from kmend.loadcheck.enforcement import detect, trusted

            enforcement = detect(target, root=self.root, **self.enforce)
            trust = trusted(self.certs, target=target, root=self.root)
            tree = self.modules_dir
            if tree is None:
                mine = self.root / "lib/modules" / target.release
                tree = mine if target.release and mine.is_dir() else target.modules_dir
            self._context[key] = (enforcement, trust, tree)
        return self._context[key]


def _one(checker: Checker, path: Path, json_mode: bool) -> int:
    from kmend.ko import read_module
    from kmend.loadcheck.render import verdict_lines

    mod = read_module(path)
    verdict, target, note = checker.check(mod)
    word = "LOADS" if verdict.will_load else "REFUSED"
    for i, line in enumerate(verdict_lines(verdict, mod)):
        say(json_mode, line, word if i == 0 else None)
    if note:
        say(json_mode, f"  note: {note}")
    if json_mode:
        from kmend.loadcheck.render import verdict_json

        emit_json({**verdict_json(verdict, mod, target), "note": note})
    return 0 if verdict.will_load else 1


#: One module's line: (verdict word, first message, JSON document or None, note).
_Result = tuple[str, str, "dict[str, Any] | None", str]


def _check_path(checker: Checker, path: Path, json_mode: bool) -> _Result:
    from kmend.ko import read_module
    from kmend.loadcheck.render import verdict_json

    try:
        mod = read_module(path)
        verdict, target, note = checker.check(mod)
    except KmendError as err:
        if isinstance(err, UsageError):
            raise
        error = {"path": str(path), "error": err.message, "exit_code": err.exit_code}
        return "ERROR", err.message, error if json_mode else None, ""
    word = "LOADS" if verdict.will_load else "REFUSED"
    found = verdict.first_error or next((f for f in verdict.findings if f.kernel), None)
    first = found.message if found is not None else ""
    # the document only when it is printed (a tree has thousands)
    doc = {**verdict_json(verdict, mod, target), "note": note} if json_mode else None
    return word, first, doc, note


#: Fewer modules than this are checked in this process (a worker costs more than it saves).
PARALLEL_FROM = 256
#: Modules per task given to a worker.
_CHUNK = 64
#: What the forked workers use (set before they are forked, read in them).
_WORK: list[tuple[Checker, bool]] = []


def _worker_init() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C: the parent stops the workers


def _check_chunk(chunk: list[Path]) -> list[_Result] | tuple[str, str]:
    checker, json_mode = _WORK[0]
    try:
        return [_check_path(checker, path, json_mode) for path in chunk]
    except UsageError as err:
        return err.message, err.hint


def _results(checker: Checker, paths: list[Path], json_mode: bool,
             jobs: int) -> Iterator[_Result]:
    """Each module's result, in order; with *jobs* > 1 from forked worker processes."""
    if jobs <= 1 or len(paths) < PARALLEL_FROM or not hasattr(os, "fork"):
        for path in paths:
            yield _check_path(checker, path, json_mode)
        return
    import multiprocessing
    import sys

    chunks = [paths[i:i + _CHUNK] for i in range(0, len(paths), _CHUNK)]
    sys.stdout.flush()
    sys.stderr.flush()
    _WORK[:] = [(checker, json_mode)]
    with multiprocessing.get_context("fork").Pool(min(jobs, len(chunks)),
                                                  initializer=_worker_init) as pool:
        for done in pool.imap(_check_chunk, chunks):
            if isinstance(done, tuple):
                raise UsageError(*done)
            yield from done


def _many(checker: Checker, paths: list[Path], json_mode: bool, jobs: int = 1) -> int:
    docs: list[dict[str, Any]] = []
    counts = {"LOADS": 0, "REFUSED": 0, "ERROR": 0}
    notes: set[str] = set()
    width = max(len(p.name) for p in paths)
    with Lines(json_mode) as out:
        results = _results(checker, paths, json_mode, jobs)
        for path, (word, first, doc, note) in zip(paths, results, strict=True):
            if doc is not None:
                docs.append(doc)
            if note:
                notes.add(note)
            counts[word] += 1
            out.say(f"{path.name:<{width}} : {word}" + (f"  {first}" if first else ""), word)
        out.say(f"{len(paths)} modules: {counts['LOADS']} load, {counts['REFUSED']} refused"
                + (f", {counts['ERROR']} unreadable" if counts["ERROR"] else ""))
        for note in sorted(notes):
            out.say(f"note: {note}")
    if json_mode:
        emit_json(docs)
    if counts["ERROR"] and not counts["REFUSED"]:
        raise InputError(f"{counts['ERROR']} of {len(paths)} modules could not be read",
                         "the lines marked ERROR say why")
    return 1 if counts["REFUSED"] else 0


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def register(app: typer.Typer) -> None:
    @app.command("check")
    def _cmd(  # noqa: PLR0917 (one parameter per CLI option)
        modules: Annotated[list[Path] | None, typer.Argument(
            help="module files (.ko, .ko.xz, .ko.zst, .ko.gz) or directories holding them")
        ] = None,
        kernel_tree: Annotated[str | None, typer.Option(
            "--kernel-tree", help="check every module of this installed kernel release "
            "(ROOT/lib/modules/RELEASE) against it, or against --kernel")] = None,
        kernel: options.Kernel = None,
        kdir: options.Kdir = None,
        symvers: Annotated[Path | None, typer.Option(
            help="a Module.symvers file (CRCs only) instead of a kernel")] = None,
        root: options.Root = Path("/"),
        modules_dir: options.ModulesDir = None,
        secure_boot: Annotated[bool | None, typer.Option(
            "--secure-boot/--no-secure-boot",
            help="the target boots under UEFI Secure Boot (default: as detected live)")] = None,
        sig_enforce: Annotated[bool | None, typer.Option(
            "--sig-enforce/--no-sig-enforce", help="module.sig_enforce in effect")] = None,
        lockdown: Annotated[str | None, typer.Option(
            help="lockdown level: none, integrity or confidentiality")] = None,
        cert: Annotated[list[Path] | None, typer.Option(
            help="a certificate the target trusts (enrolled MOK; repeatable); default: "
                 "DKMS's mok.pub and, live, the enrolled MOKs")] = None,
        json: options.Json = False,
        jobs: options.Jobs = None,
    ) -> int:
        """Will the kernel accept MODULE, and what will it print?  (0 loads, 1 refused)"""
        from kmend.loadcheck.enforcement import LOCKDOWN_LEVELS

        if lockdown is not None and lockdown not in LOCKDOWN_LEVELS:
            raise UsageError(f"--lockdown {lockdown!r}: not a lockdown level",
                             "give none, integrity or confidentiality")
        options.kernel_release(kernel)
        options.existing_dir(modules_dir, "--modules-dir")
        options.existing_dir(root, "--root")
        paths = list(modules or ())
        if kernel_tree is not None:
            options.kernel_release(kernel_tree, "--kernel-tree")
            tree = root / "lib/modules" / kernel_tree
            options.existing_dir(tree, "--kernel-tree")
            paths.append(tree)
            if kernel is None and kdir is None and symvers is None:
                kernel = kernel_tree
            if modules_dir is None:
                modules_dir = tree
        if not paths:
            raise UsageError("no module given", "kmend check MODULE.ko, a directory, or "
                             "--kernel-tree RELEASE")
        files = collect_modules(paths)
        checker = Checker(target_from_options(kdir, kernel, symvers, root), root=root,
                          modules_dir=modules_dir, certs=tuple(cert or ()),
                          enforce={"secure_boot": secure_boot, "sig_enforce": sig_enforce,
                                   "lockdown": lockdown})
        if len(files) == 1 and kernel_tree is None and not paths[0].is_dir():
            return _one(checker, files[0], json)
        return _many(checker, files, json, jobs or _cpus())
