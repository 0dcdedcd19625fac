"""Build kmend's test modules (tests/data/testmods) against installed Debian headers.

Shared by the integration and vm tiers: ``build_all(base)`` builds once per process
(cached) and returns {release: {label: Path}} for the plain modules and the doctored
variants (scripts/make_ko_variants.py) — the cases the oracle matrix loads.
"""

from __future__ import annotations

import functools
import importlib.util
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType

import pytest

from kmend import proc
from kmend.build.kdir import find_kdir
from kmend.build.runner import build_dir
from kmend.errors import KmendError

REPO = Path(__file__).resolve().parent.parent
TESTMODS = REPO / "tests/data/testmods"
#: two Debian 6.1 ABIs and one 6.12 (HELPERS.md: installed here and in CI)
KERNELS = ("6.1.0-47-amd64", "6.1.0-57-amd64", "6.12.117+deb12-amd64")
PLAIN = ("hello", "badsym", "unexp", "gplonly", "depprov", "needdep", "nsuser")
WARN_ONLY = {"badsym", "unexp"}  # unresolved on purpose: KBUILD_MODPOST_WARN=1


def _root_conftest() -> ModuleType:
    spec = importlib.util.spec_from_file_location("kmend_root_conftest", REPO / "tests/conftest.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


#: tests/conftest.py's need(): skip outside CI, fail in CI
need = _root_conftest().need


def kdir_of(release: str) -> Path:
    """The headers tree of *release*, found as kmend finds it (the product's lookup); the
    path it would be at when the headers are not installed (the caller's ``need`` says so)."""
    try:
        return find_kdir(kernel=release).path.resolve()
    except KmendError:
        return Path("/lib/modules") / release / "build"


def build(moddir: Path, release: str, make_vars: dict[str, str] | None = None) -> None:
    """Build the module in *moddir* for *release* with the product's build
    (``kmend.build.runner.build_dir``): its .ko files and Module.symvers land in *moddir*."""
    result = build_dir(moddir, find_kdir(kernel=release), make_vars=make_vars)
    assert result.ok, result.log


def available_kernels() -> tuple[str, ...]:
    return tuple(k for k in KERNELS if (kdir_of(k) / "Module.symvers").is_file())


def variants_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_ko_variants", REPO / "scripts/make_ko_variants.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def build_kernel(release: str, base: Path) -> dict[str, Path]:
    out: dict[str, Path] = {}
    root = base / release
    for name in PLAIN:
        d = root / name
        if d.exists():
            shutil.rmtree(d)
        shutil.copytree(TESTMODS / name, d)
        make_vars = {}
        if name in WARN_ONLY:
            make_vars["KBUILD_MODPOST_WARN"] = "1"
        if name == "needdep":
            make_vars["KBUILD_EXTRA_SYMBOLS"] = str(root / "depprov" / "Module.symvers")
        build(d, release, make_vars)
        out[name] = d / f"{name}.ko"
    mkv = variants_module()
    var = root / "variants"
    out.update(mkv.make_variants(out["hello"], var))
    out.update(mkv.make_variants(out["gplonly"], var,
                                 modinfo_edit=("license", "license", "Dual MIT/GPL", "Proprietary")))
    out.update(mkv.make_variants(out["nsuser"], var,
                                 modinfo_edit=("nsmissing", "import_ns", "DMA_BUF", "DMA_BUX")))
    stripped = var / "hello-stripped.ko"
    shutil.copyfile(out["hello"], stripped)
    proc.run(["strip", "--strip-all", str(stripped)], timeout=60)
    out["stripped"] = stripped
    return out


@functools.cache
def build_all(base: Path) -> dict[str, dict[str, Path]]:
    kernels = available_kernels()
    with ThreadPoolExecutor(max_workers=2) as pool:
        built = list(pool.map(lambda k: build_kernel(k, base), kernels))
    return dict(zip(kernels, built, strict=True))


@pytest.fixture(scope="session")
def built_modules(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Path]]:
    """{release: {label: .ko}} for every test kernel, built once per session.

    Test modules import this fixture (no conftest.py of their own: a second ``conftest``
    module would shadow tests/conftest.py for ``from conftest import ...``).
    """
    need(shutil.which("make") and shutil.which("gcc"), "make/gcc not installed")
    need(len(available_kernels()) == len(KERNELS),
         f"headers of all test kernels needed, have {available_kernels()}")
    return build_all(tmp_path_factory.getbasetemp() / "testmods")
