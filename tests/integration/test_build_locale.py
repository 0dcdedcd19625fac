"""Module builds speak the C locale whatever the caller's: gcc's diagnostics, which kmend
reports and reads (the API a revision lacks), must not change with the machine.

A Python started with no LANG (a fresh Debian 12 over ssh, ``env -i``, cron) exports
LC_CTYPE=C.UTF-8 to its children (PEP 538); the kernel's Makefile unexports LC_ALL, so
gcc then quotes names as ‘f’.  The expected message is gcc's own, run here in the C locale.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from install_support import K61
from kmend.build.kdir import find_kdir
from kmend.build.runner import compile_files
from kmodbuild import kdir_of

pytestmark = pytest.mark.integration

SOURCE = "int f(int a, int b);\nint g(void) { return f(1); }\n"


def test_gcc_messages_in_the_c_locale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "q.c").write_text(SOURCE)
    ref = subprocess.run(["gcc", "-c", "q.c", "-o", "/dev/null"], cwd=tmp_path, text=True,
                         capture_output=True, env={"PATH": os.environ["PATH"], "LC_ALL": "C"},
                         check=False)  # fmt: skip
    want = next(line for line in ref.stderr.splitlines() if "error:" in line)
    want = want.split("error: ", 1)[1]
    assert want == "too few arguments to function 'f'"
    for var in ("LC_ALL", "LANG", "LC_MESSAGES"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LC_CTYPE", "C.UTF-8")
    kdir = find_kdir(kdir_of(K61))
    files = {"q.c": SOURCE, "Kbuild": "obj-m := q.o\n"}
    result, tmp = compile_files(files, kdir)
    try:
        errors = [d.message for d in result.diagnostics if d.severity == "error"]
    finally:
        shutil.rmtree(tmp)
    assert not result.ok and want in errors, errors


def test_file_macro_names_the_mapped_directory(tmp_path: Path) -> None:
    """``macro_prefix``: what the module's BUG()/WARN() print for its file (``__FILE__``) is
    the given directory, not the temp build dir (read back from the .ko gcc wrote; the
    debug information, not ``__FILE__``, still names the build dir)."""
    src = ('#include <linux/module.h>\nconst char *kmend_where(void) { return __FILE__; }\n'
           'EXPORT_SYMBOL(kmend_where);\nMODULE_LICENSE("GPL");\n')
    files = {"where.c": src, "Kbuild": "obj-m := where.o\n"}
    result, tmp = compile_files(files, find_kdir(kdir_of(K61)), macro_prefix="drivers/xen")
    try:
        assert result.ok, result.log
        data = (tmp / "where.ko").read_bytes()
        assert b"drivers/xen/where.c\0" in data
    finally:
        shutil.rmtree(tmp)
