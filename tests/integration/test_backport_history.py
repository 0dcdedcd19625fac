"""`kmend backport` / `kmend build` on a generated, kernel-shaped git history.

The repository comes from scripts/make-backport-history.py: module kmend-demo, whose later
revisions use kvmemdup() and file_operations.fop_flags — APIs in Debian's 6.12 headers and
not in its 6.1 headers.  Builds are real (gcc + Debian headers); results are checked with
modinfo (kmod), an oracle independent of kmend.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from backport_support import assert_backport_loads
from conftest import REPO, need
from kmend import proc
from kmend.backport.checkhook import check_built
from kmend.cli import main

pytestmark = pytest.mark.integration

KDIR61 = Path("/lib/modules/6.1.0-47-amd64/build")
KDIR612 = Path("/lib/modules/6.12.117+deb12-amd64/build")


def kmend(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    doc = json.loads(out) if "--json" in args and out.strip() else None
    return code, doc, err


@pytest.fixture(scope="session")
def history(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    need(shutil.which("git"), "git")
    dest = tmp_path_factory.mktemp("hist") / "repo"
    res = proc.run([sys.executable, str(REPO / "scripts/make-backport-history.py"), str(dest)],
                   timeout=120)
    shas = dict(line.split() for line in res.stdout.splitlines())
    return dest, shas


@pytest.fixture(scope="session")
def kdir61() -> Path:
    need((KDIR61 / "Module.symvers").is_file(), "linux-headers-6.1.0-47-amd64")
    need(shutil.which("gcc"), "gcc")
    return KDIR61


def _session_backport(tmp: Path, repo: Path, kdir: Path, *args: str) -> tuple[int, Any]:
    out = tmp / "out"
    import io
    from contextlib import redirect_stderr, redirect_stdout

    so, se = io.StringIO(), io.StringIO()
    with redirect_stdout(so), redirect_stderr(se):
        code = main(["backport", "--source", str(repo), "--module", "kmend-demo",
                     "--kdir", str(kdir), "-o", str(out), "--json", *args])
    return code, json.loads(so.getvalue())


@pytest.fixture(scope="session")
def newest(history: tuple[Path, dict[str, str]], kdir61: Path,
           tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Any]:
    repo, shas = history
    return _session_backport(tmp_path_factory.mktemp("newest"), repo, kdir61,
                             "--fix", shas["fix"][:12], "--policy", "newest")


@pytest.fixture(scope="session")
def minimal(history: tuple[Path, dict[str, str]], kdir61: Path,
            tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Any]:
    repo, shas = history
    return _session_backport(tmp_path_factory.mktemp("minimal"), repo, kdir61,
                             "--fix", shas["fix"], "--policy", "minimal")


def modinfo(ko: str, field: str) -> str:
    return proc.run(["modinfo", "-F", field, ko], timeout=30).stdout.strip()


def test_newest_picks_the_last_revision_that_builds(
        newest: tuple[int, Any], history: tuple[Path, dict[str, str]]) -> None:
    code, doc = newest
    shas = history[1]
    assert code == 0
    assert doc["chosen_rev"] == shas["newest_ok"]
    assert doc["module"] == "kmend-demo" and doc["policy"] == "newest"
    probes = {p["rev"]: p for p in doc["probes"]}
    for later in ("kvmemdup", "fop_flags", "head"):
        assert probes[shas[later]]["ok"] is False
    assert "kvmemdup" in probes[shas["kvmemdup"]]["first_diagnostic"]
    assert "function kvmemdup()" in probes[shas["kvmemdup"]]["needs"]
    assert "member struct file_operations.fop_flags" in probes[shas["fop_flags"]]["needs"]
    assert probes[shas["newest_ok"]]["ok"] is True
    # unrelated commits are not candidates
    assert shas["typo"] not in probes and shas["readme"] not in probes
    assert "newest-first" in doc["search"]
    assert doc["base_rev"] == shas["base"]  # found through the v6.1 tag
    [ko] = doc["modules"]
    assert modinfo(ko, "name") == "kmend_demo"
    assert modinfo(ko, "vermagic").startswith("6.1.0-47-amd64 ")
    out = Path(doc["output"])
    assert "MODULE_DESCRIPTION" in (out / "demo_main.c").read_text()
    prov = json.loads((out / "PROVENANCE").read_text())  # JSON, as kmend install reads it
    assert prov["revision"] == prov["revision_commit"] == shas["newest_ok"]
    assert any("function kvmemdup()" in p["needs"] for p in prov["probes"])
    assert prov["fix_commit"] == shas["fix"]  # --fix gave 12 hex digits: the full commit


def test_minimal_puts_the_fix_on_the_targets_own_version(
        minimal: tuple[int, Any], history: tuple[Path, dict[str, str]]) -> None:
    code, doc = minimal
    shas = history[1]
    assert code == 0
    assert doc["chosen_kind"] == "fix-on-base"
    assert doc["chosen_rev"] == f"{shas['base'][:12]}+{shas['fix'][:12]}"
    out = Path(doc["output"])
    ring = (out / "demo_ring.c").read_text()
    assert "r->len + n > DEMO_RING_SIZE) {" in ring  # the fix
    prov = json.loads((out / "PROVENANCE").read_text())
    assert prov["fix_commit"] == shas["fix"]  # the full 40-hex commit
    assert "revision_commit" not in prov  # base+fix is no commit of the repository
    assert "Invariant" not in ring  # ...merged onto v6.1, not the fix's own parent
    assert "opens" not in (out / "demo_main.c").read_text()
    [ko] = doc["modules"]
    assert modinfo(ko, "vermagic").startswith("6.1.0-47-amd64 ")
    assert (out / "dkms.conf").read_text().count("BUILT_MODULE_NAME[0]") == 1


@pytest.mark.parametrize("which", ["newest", "minimal"])
def test_both_results_pass_kmend_check(which: str, request: pytest.FixtureRequest,
                                       kdir61: Path) -> None:
    code, doc = request.getfixturevalue(which)
    assert code == 0
    assert_backport_loads(doc, kdir61)
    other = Path("/lib/modules/6.1.0-57-amd64/build")
    need((other / "Module.symvers").is_file(), "linux-headers-6.1.0-57-amd64")
    refused = check_built(Path(doc["modules"][0]), other)  # another ABI of the same 6.1
    assert not refused.will_load
    assert refused.first_error == "kmend_demo: disagrees about version of symbol module_layout"


def test_the_later_revisions_build_where_the_api_exists(
        history: tuple[Path, dict[str, str]], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    need((KDIR612 / "Module.symvers").is_file(), "linux-headers-6.12.117+deb12-amd64")
    repo, shas = history
    code, doc, _ = kmend(capsys, "backport", "--source", str(repo), "--module",
                         "drivers/kmdemo/demo_main.c", "--kdir", str(KDIR612),
                         "--fix", shas["fix"], "--policy", "newest", "-o", str(tmp_path / "o"),
                         "--json")
    assert code == 0 and doc["chosen_rev"] == shas["head"]
    assert len(doc["probes"]) <= 2  # newest first: the head builds, nothing older is needed


def test_kmend_build_rebuilds_and_reports_missing_apis(
        minimal: tuple[int, Any], history: tuple[Path, dict[str, str]], kdir61: Path,
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, doc = minimal
    src = tmp_path / "ok"
    shutil.copytree(doc["output"], src)
    (src / "kmend-demo.ko").unlink()
    code, bdoc, _ = kmend(capsys, "build", str(src), "--kdir", str(kdir61), "--json")
    assert code == 0 and bdoc["ok"] and (src / "kmend-demo.ko").is_file()
    assert not list(src.glob("*.o"))  # the build ran in a temp dir
    repo, shas = history
    broken = tmp_path / "broken"
    shutil.copytree(src, broken)
    (broken / "kmend-demo.ko").unlink()
    text = proc.run(["git", "-C", str(repo), "show", f"{shas['head']}:drivers/kmdemo/demo_main.c"],
                    timeout=30).stdout
    (broken / "demo_main.c").write_text(text)
    code, bdoc, err = kmend(capsys, "build", str(broken), "--kdir", str(kdir61), "--json")
    assert code == 1 and not bdoc["ok"] and bdoc["modules"] == []
    assert "function kvmemdup()" in bdoc["needs"]
    assert "member struct file_operations.fop_flags" in bdoc["needs"]
    assert not list(broken.glob("*.ko"))
    assert "the target kernel lacks" in err


def test_dkms_add_build_install_accepts_the_output(
        minimal: tuple[int, Any], kdir61: Path, tmp_path: Path) -> None:
    need(shutil.which("dkms"), "dkms (apt-get install dkms)")
    need(os.geteuid() == 0, "root (dkms)")
    _, doc = minimal
    conf = (Path(doc["output"]) / "dkms.conf").read_text()
    version = conf.split('PACKAGE_VERSION="', 1)[1].split('"', 1)[0]
    trees = {"--dkmstree": tmp_path / "dkms", "--sourcetree": tmp_path / "src",
             "--installtree": tmp_path / "inst"}
    for t in trees.values():
        t.mkdir()
    (trees["--installtree"] / "6.1.0-47-amd64").mkdir()
    shutil.copytree(doc["output"], trees["--sourcetree"] / f"kmend-demo-{version}")
    opts = [x for k, v in trees.items() for x in (k, str(v))]
    spec = f"kmend-demo/{version}"
    try:
        proc.run(["dkms", "add", *opts, spec], timeout=120)
        proc.run(["dkms", "build", *opts, spec, "-k", "6.1.0-47-amd64"], timeout=600)
        proc.run(["dkms", "install", *opts, spec, "-k", "6.1.0-47-amd64"], timeout=600)
        installed = list((trees["--installtree"] / "6.1.0-47-amd64").rglob("kmend-demo.ko*"))
        assert len(installed) == 1
        assert modinfo(str(installed[0]), "vermagic").startswith("6.1.0-47-amd64 ")
        status = proc.run(["dkms", "status", *opts], timeout=60).stdout
        assert "installed" in status
    finally:
        proc.run(["dkms", "remove", *opts, spec, "--all"], timeout=300, check=False)
    assert not list((trees["--installtree"] / "6.1.0-47-amd64").rglob("kmend-demo.ko*"))


# -- bad input ---------------------------------------------------------------------------


def test_unknown_module(history: tuple[Path, dict[str, str]], kdir61: Path, tmp_path: Path,
                        capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = kmend(capsys, "backport", "--source", str(history[0]), "--module", "nosuch",
                         "--kdir", str(kdir61), "-o", str(tmp_path / "o"))
    assert code == 4 and "declares module 'nosuch'" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_revision_that_does_not_exist(history: tuple[Path, dict[str, str]], kdir61: Path,
                                      tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = kmend(capsys, "backport", "--source", str(history[0]), "--module",
                         "kmend-demo", "--kdir", str(kdir61), "--fix", "deadbeef1234",
                         "-o", str(tmp_path / "o"))
    assert code == 4 and "revision 'deadbeef1234' not found" in err
    code, _, err = kmend(capsys, "backport", "--source", str(history[0]), "--module",
                         "kmend-demo", "--kdir", str(kdir61), "--base", "v9.9",
                         "-o", str(tmp_path / "o"))
    assert code == 4 and "'v9.9' not found" in err


def test_tree_without_makefiles(kdir61: Path, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "t/drivers/x").mkdir(parents=True)
    (tmp_path / "t/drivers/x/x.c").write_text("int x;\n")
    code, _, err = kmend(capsys, "backport", "--source", str(tmp_path / "t"), "--module", "x",
                         "--kdir", str(kdir61), "-o", str(tmp_path / "o"))
    assert code == 4 and "no Kbuild Makefiles" in err


def test_missing_headers_name_the_package(history: tuple[Path, dict[str, str]], tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = kmend(capsys, "backport", "--source", str(history[0]), "--module",
                         "kmend-demo", "--kernel", "9.9.9-1-amd64", "-o", str(tmp_path / "o"))
    assert code == 3 and "apt-get install linux-headers-9.9.9-1-amd64" in err
    code, _, err = kmend(capsys, "build", str(tmp_path), "--kdir", str(tmp_path / "nokdir"))
    assert code == 4 and f"--kdir {tmp_path / 'nokdir'}: no such directory" in err


def test_compiler_missing(history: tuple[Path, dict[str, str]], kdir61: Path, tmp_path: Path,
                          monkeypatch: pytest.MonkeyPatch,
                          capsys: pytest.CaptureFixture[str]) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in ("git", "make", "tar"):
        found = shutil.which(tool)
        assert found
        (bindir / tool).symlink_to(found)
    monkeypatch.setenv("PATH", str(bindir))
    monkeypatch.delenv("CC", raising=False)
    code, _, err = kmend(capsys, "backport", "--source", str(history[0]), "--module",
                         "kmend-demo", "--kdir", str(kdir61), "-o", str(tmp_path / "o"))
    assert code == 3 and "compiler gcc not found" in err and "apt-get install gcc" in err


def test_a_url_is_cloned_blobless_into_the_cache(
        history: tuple[Path, dict[str, str]], kdir61: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    repo, shas = history
    monkeypatch.setenv("KMEND_CACHE", str(tmp_path / "cache"))
    code, doc, _ = kmend(capsys, "backport", "--source", f"file://{repo}", "--module",
                         "kmend-demo", "--kdir", str(kdir61), "--fix", shas["fix"],
                         "--policy", "minimal", "-o", str(tmp_path / "o"), "--json")
    assert code == 0 and doc["chosen_kind"] == "fix-on-base"
    clones = list((tmp_path / "cache/repos").iterdir())
    assert len(clones) == 1
    assert (clones[0] / "objects/info/commit-graph").is_file() or \
        (clones[0] / ".git/objects/info/commit-graph").is_file()
