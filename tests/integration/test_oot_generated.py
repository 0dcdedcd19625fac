"""A generated out-of-tree module project in a real git history, built by the real
toolchain: a fix picked onto a release branch, and a fix no revision of which builds on
the target (exit 1 naming what the target lacks).

The project is made here (a Makefile calling Kbuild with M=, a dkms.conf, one C file); the
crash log is written the way the kernel prints a WARNING in a module.  Expected values
come from the history as made here and from gcc's diagnostics.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import need
from kmend.fixes.project import ProjectCrash, find_project_fixes
from kmend.source.git import GitRepo
from kmend.source.project import project_at

KDIR_61 = Path("/lib/modules/6.1.0-47-amd64/build")

MAKEFILE = "obj-m := demo.o\nall:\n\t$(MAKE) -C $(KDIR) M=$(PWD) modules\n"
DKMS = 'PACKAGE_NAME="demo"\nPACKAGE_VERSION="1.0"\nBUILT_MODULE_NAME[0]="demo"\n' \
       'DEST_MODULE_LOCATION[0]="/extra"\nAUTOINSTALL="no"\n'
BASE_C = """\
#include <linux/module.h>
#include <linux/bug.h>

static int demo_count;

static int demo_start(void)
{
\tWARN_ON(demo_count == 0);
\treturn 0;
}

static int __init demo_init(void)
{
\treturn demo_start();
}

static void __exit demo_exit(void)
{
}

module_init(demo_init);
module_exit(demo_exit);
MODULE_LICENSE("GPL");
MODULE_VERSION("1.0");
"""
FIXED_C = BASE_C.replace("\tWARN_ON(demo_count == 0);\n", "\tdemo_count++;\n")
UNBUILDABLE_C = BASE_C.replace("\tWARN_ON(demo_count == 0);\n",
                               "\tdemo_count = kmend_missing_api();\n")
LOG = """\
[   12.000001] demo: loading out-of-tree module taints kernel.
[   12.000100] ------------[ cut here ]------------
[   12.000101] WARNING: CPU: 1 PID: 300 at /var/lib/dkms/demo/1.0/build/demo.c:8 demo_start+0x9/0x20 [demo]
[   12.000102] Modules linked in: demo(OE+) ext4 mbcache jbd2
[   12.000103] CPU: 1 PID: 300 Comm: insmod Tainted: G           OE      6.1.0-47-amd64 #1  Debian 6.1.170-1
[   12.000104] RIP: 0010:demo_start+0x9/0x20 [demo]
"""


def _git(repo: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org",
           "GIT_AUTHOR_DATE": "2024-01-01T00:00:00Z", "GIT_COMMITTER_DATE":
           "2024-01-01T00:00:00Z", "PATH": "/usr/bin:/bin"}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True, env=env).stdout.strip()


def _make(tmp: Path, fixed: str) -> tuple[Path, str]:
    repo = tmp / "demo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    (repo / "Makefile").write_text(MAKEFILE)
    (repo / "dkms.conf").write_text(DKMS)
    (repo / "demo.c").write_text(BASE_C)
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "demo 1.0")
    _git(repo, "tag", "v1.0")
    (repo / "README").write_text("demo\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "readme")
    (repo / "demo.c").write_text(fixed)
    _git(repo, "commit", "-q", "-am", "count starts in demo_start\n\nFixes #7")
    fix = _git(repo, "rev-parse", "HEAD")
    _git(repo, "tag", "v1.1")
    _git(repo, "checkout", "-q", "-b", "release/v1.0", "v1.0")
    _git(repo, "cherry-pick", "-x", fix)
    _git(repo, "checkout", "-q", "main")
    return repo, fix


def test_fix_search_sees_the_release_branch(tmp_path: Path) -> None:
    need(shutil.which("git"), "git is not installed")
    path, fix = _make(tmp_path, FIXED_C)
    repo = GitRepo.open(path)
    project = project_at(repo, "HEAD")
    assert project is not None and project.modules == ("demo",)
    crash = ProjectCrash(functions=("demo_start",), kernel=(6, 1, 170))
    base = repo.resolve("v1.0")
    found = find_project_fixes(repo, project, ("v1.0", base), ("HEAD", repo.resolve("HEAD")),
                               crash)
    assert found.release_branches == ("release/v1.0",)
    best = found.candidates[0]
    assert best.commit == fix  # the README commit touches no source
    kinds = {e.kind for e in best.evidence}
    assert {"changes-function", "release-branch", "references-issue"} <= kinds


def test_no_revision_builds_exits_1_naming_what_the_target_lacks(tmp_path: Path) -> None:
    need((KDIR_61 / "Module.symvers").is_file(), "linux-headers-6.1.0-47-amd64")
    need(shutil.which("gcc") and shutil.which("make"), "gcc and make")
    path, fix = _make(tmp_path, UNBUILDABLE_C)
    log = tmp_path / "crash.log"
    log.write_text(LOG)
    res = subprocess.run([sys.executable, "-m", "kmend", "run", str(log), "--source",
                          str(path), "--kdir", str(KDIR_61), "--base", "1.0", "--dry-run",
                          "--json", "-o", str(tmp_path / "out")],
                         capture_output=True, text=True, timeout=600, check=False)
    assert res.returncode == 1, res.stderr
    doc = json.loads(res.stdout)
    stages = {s["name"]: s for s in doc["stages"]}
    assert stages["triage"]["data"]["culprit_module"] == "demo"
    assert stages["fixes"]["data"]["commit"] == fix
    assert stages["backport"]["status"] == "failed"
    assert stages["backport"]["summary"].startswith("no revision of demo with the fix")
    assert "lacks function kmend_missing_api()" in res.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.mark.parametrize("spec", ["v1.0", "1.0"])
def test_run_builds_the_fix_on_the_base(tmp_path: Path, spec: str) -> None:
    need((KDIR_61 / "Module.symvers").is_file(), "linux-headers-6.1.0-47-amd64")
    need(shutil.which("gcc") and shutil.which("make"), "gcc and make")
    path, fix = _make(tmp_path, FIXED_C)
    log = tmp_path / "crash.log"
    log.write_text(LOG)
    out = tmp_path / "out"
    res = subprocess.run([sys.executable, "-m", "kmend", "run", str(log), "--source",
                          str(path), "--kdir", str(KDIR_61), "--base", spec, "--dry-run",
                          "--json", "-o", str(out)],
                         capture_output=True, text=True, timeout=600, check=False)
    assert res.returncode == 0, res.stderr
    stages = {s["name"]: s for s in json.loads(res.stdout)["stages"]}
    assert stages["backport"]["data"]["chosen_kind"] == "fix-on-base"
    assert (out / "demo.c").read_text() == FIXED_C
    conf = (out / "dkms.conf").read_text()
    assert f'PACKAGE_VERSION="1.0+fix.{fix[:7]}"' in conf
    assert 'AUTOINSTALL="yes"' in conf and 'DEST_MODULE_LOCATION[0]="/extra"' in conf
    assert (out / "demo.ko").is_file()
