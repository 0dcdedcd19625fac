"""Build a small out-of-tree test module against a kernel's headers, in a temp dir.

For the lab's own test modules (crashmod, hello): copy the sources to a fresh build
directory, run ``make -C <kdir> M=<dir> modules`` and move the .ko into place.
``macro_prefix`` maps the build directory in ``__FILE__`` (what ``kernel BUG at`` and
``WARNING: ... at`` print) to a stable path, so captures do not depend on a temp name.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from kmend import proc
from kmend.errors import EnvironmentMissing


def headers_dir(release: str) -> Path:
    kdir = Path("/lib/modules") / release / "build"
    if not (kdir / "Makefile").is_file():
        raise EnvironmentMissing(
            f"kernel headers for {release} not found at {kdir}",
            f"apt-get install linux-headers-{release}",
        )
    return kdir


def build_module(
    source: Path,
    kdir: Path,
    out_dir: Path,
    *,
    macro_prefix: str | None = None,
    make_args: tuple[str, ...] = (),
    timeout: float = 300.0,
) -> list[Path]:
    """Build every module of the Kbuild directory *source*; return the .ko paths in *out_dir*."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="kmend-kbuild-") as tmp:
        build = Path(tmp) / source.name
        shutil.copytree(source, build, symlinks=False)
        argv = ["make", "-C", str(kdir), f"M={build}"]
        if macro_prefix is not None:
            argv.append(f"KCFLAGS=-fmacro-prefix-map={build}/={macro_prefix.rstrip('/')}/")
        argv += [*make_args, "modules"]
        proc.run(argv, timeout=timeout)
        built = sorted(build.glob("*.ko"))
        results = []
        for ko in built:
            dest = out_dir / ko.name
            tmp_dest = out_dir / f".{ko.name}.tmp"
            shutil.copyfile(ko, tmp_dest)
            tmp_dest.replace(dest)
            results.append(dest)
    return results
