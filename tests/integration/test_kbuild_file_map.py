"""A module tree kmend writes names the module's in-tree file in its BUG()/WARN() lines,
whoever builds it.

Out of tree, gcc is given the build directory's absolute path, and ``__FILE__`` (what
``kernel BUG at`` and ``WARNING: … at`` print) would be ``/tmp/…/where.c`` or
``/var/lib/dkms/…/where.c``.  The generated Kbuild maps it to ``drivers/xen/``.  The
expected string is read back from the ``.ko`` that gcc wrote, built by kmend's build and
by plain ``make`` with the generated Makefile (as DKMS and people build the tree), for
every kernel's headers here.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kmend import proc
from kmend.build.kbuildfile import MAKEFILE, kbuild_text
from kmend.build.kdir import find_kdir
from kmend.build.runner import build_dir
from kmend.source.kbuild import find_module
from kmend.source.tree import TreeView
from kmodbuild import KERNELS, kdir_of, need

pytestmark = pytest.mark.integration

SOURCE = ('#include <linux/module.h>\nconst char *kmend_where(void) { return __FILE__; }\n'
          'EXPORT_SYMBOL(kmend_where);\nMODULE_LICENSE("GPL");\n')


def _tree(root: Path) -> Path:
    """A kernel tree holding drivers/xen/where.c, and the module tree kmend writes for it."""
    need(shutil.which("make") and shutil.which("gcc"), "make/gcc not installed")
    src = root / "linux"
    (src / "drivers/xen").mkdir(parents=True)
    (src / "drivers/xen/Makefile").write_text("obj-$(CONFIG_XEN_WHERE) += where.o\n")
    (src / "drivers/xen/where.c").write_text(SOURCE)
    module = find_module(TreeView(src), "where")
    out = root / "out"
    out.mkdir()
    (out / "where.c").write_text(SOURCE)
    (out / "Kbuild").write_text(kbuild_text(module))
    (out / "Makefile").write_text(MAKEFILE)
    return out


@pytest.mark.parametrize("kernel", KERNELS)
def test_kmend_build_names_the_in_tree_file(tmp_path: Path, kernel: str) -> None:
    out = _tree(tmp_path)
    need((kdir_of(kernel) / "Makefile").is_file(), f"headers of {kernel} not installed")
    built = build_dir(out, find_kdir(kdir_of(kernel)), jobs=1)
    assert built.ok, built.log
    data = (out / "where.ko").read_bytes()
    assert b"drivers/xen/where.c\0" in data
    assert str(out).encode() + b"/where.c\0" not in data


@pytest.mark.parametrize("kernel", KERNELS)
def test_plain_make_of_the_tree_names_the_in_tree_file(tmp_path: Path, kernel: str) -> None:
    out = _tree(tmp_path)
    need((kdir_of(kernel) / "Makefile").is_file(), f"headers of {kernel} not installed")
    res = proc.run(["make", "-C", str(out), f"KDIR={kdir_of(kernel)}"], timeout=600,
                   check=False, extra_env={"MAKEFLAGS": ""})
    try:
        assert res.ok, res.stdout + res.stderr
        assert b"drivers/xen/where.c\0" in (out / "where.ko").read_bytes()
    finally:
        shutil.rmtree(out)
