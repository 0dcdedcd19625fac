"""`kmend build`: out-of-tree build of a module directory against the target headers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from kmend.backport.checkhook import check_built
from kmend.build import diagnostics
from kmend.build.kdir import find_kdir
from kmend.build.project import ProjectBuild
from kmend.build.runner import BuildResult, build_dir
from kmend.cli import options
from kmend.cli.common import console_for, emit_json
from kmend.errors import InputError
from kmend.sign.step import describe, key_for_build, sign_built


def _say(console: Console, text: str) -> None:
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    @app.command("build")
    def _cmd(  # noqa: PLR0917 (one parameter per CLI option)
        directory: Annotated[Path, typer.Argument(
            help="module source directory (with Kbuild, or a DKMS package with dkms.conf)")],
        kdir: options.Kdir = None,
        kernel: options.Kernel = None,
        jobs: options.Jobs = None,
        fix: Annotated[str | None, typer.Option("--fix", help="the fix commit these sources "
                                                "carry (recorded in PROVENANCE)")] = None,
        sign: options.Sign = False,
        key: options.Key = None,
        cert: options.Cert = None,
        json_mode: options.Json = False,
    ) -> int:
        """Build DIRECTORY with make -C KDIR M=… modules; .ko files land in DIRECTORY, and
        DIRECTORY/PROVENANCE (JSON) records where the sources are (kmend install keeps it)."""
        if not directory.is_dir():  # before the headers: the argument is checked first
            raise InputError(f"{directory}: not a directory", "give a module source directory")
        console = console_for(json_mode)
        kd = find_kdir(kdir, kernel)
        pair = key_for_build(sign, key, cert)
        project = (directory / "dkms.conf").is_file()
        if project:
            # A module project (a kmend run/backport output or any DKMS package): a copy of
            # the whole directory, binary files included, built by its own Makefile/Kbuild.
            from kmend.build.project import build_copy

            result: BuildResult | ProjectBuild = build_copy(directory, "", kd,
                                                            jobs=jobs or None)
        else:
            result = build_dir(directory, kd, jobs=jobs or None)
        signed = sign_built(result.modules, pair, kd.path) if pair and result.ok else []
        for res in signed:
            _say(console, describe(res))
        checks = []
        for ko in result.modules:
            _say(console, f"built: {ko}")
            summary = check_built(ko, kd.path, siblings=directory if project else None)
            checks.append(summary)
            _say(console, "check: " + "\n".join(summary.lines))
        errs = diagnostics.errors(list(result.diagnostics))
        for d in errs[:20]:
            _say(console, f"{d.one_line()}" + (f"  [needs {d.needs}]" if d.needs else ""))
        if not result.ok:
            _say(console, f"build failed against {kd.release} (make exit {result.returncode})")
            needs = diagnostics.needed_apis(errs)
            if needs:
                _say(console, "the target kernel lacks: " + "; ".join(needs))
        prov_path = None
        if result.ok and result.modules:
            prov_path = _record(directory, kd.release, result.modules, fix)
            _say(console, f"provenance: {prov_path}")
        if json_mode:
            emit_json({"ok": result.ok, "provenance": str(prov_path) if prov_path else None,
                       "kdir": str(kd.path), "target": kd.release,
                       "modules": [str(m) for m in result.modules],
                       "diagnostics": list(result.diagnostics),
                       "needs": diagnostics.needed_apis(errs), "seconds": result.seconds,
                       "check": [c.doc for c in checks], "signed": signed})
        return 0 if result.ok and all(c.will_load for c in checks) else 1


def _record(directory: Path, release: str, modules: tuple[Path, ...], fix: str | None) -> Path:
    """Write (or update) DIRECTORY/PROVENANCE for the module just built."""
    from kmend import provenance as pv
    from kmend.install.modtree import module_name
    from kmend.rebuild import describe as prov_dir

    files = prov_dir.source_files(directory)
    existing = directory / pv.FILENAME
    try:
        old = pv.read(existing) if existing.is_file() and not existing.is_symlink() else None
    except InputError:
        old = None  # not kmend's JSON (an older text PROVENANCE): written anew
    if old is not None:
        prov = prov_dir.updated(old, directory, files, kernel=release, fix=fix)
    else:
        name = module_name(modules[0].name)
        prov = prov_dir.for_directory(directory, files, module=name, kernel=release, fix=fix)
    return prov_dir.write(directory, prov)
