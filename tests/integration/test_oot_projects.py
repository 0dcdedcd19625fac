"""Out-of-tree module projects end to end, on real projects and real reported crashes.

The repositories are the git bundles of v4l2loopback and xone in ../shared/oot (cloned
here at test time); the crashes are the logs users posted in those projects' issues, with
the fix the maintainers merged (cases.jsonl beside the bundles).  Expected fixes,
versions and module names come from the issue threads and the projects' histories, not
from kmend.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import need, shared_dir
from kmend.fixes.project import ProjectCrash, find_project_fixes
from kmend.source.git import GitRepo
from kmend.source.project import project_at
from kmend.source.versions import kernel_version, resolve_version

SHARED = shared_dir() / "oot"
KDIR_61 = Path("/lib/modules/6.1.0-47-amd64/build")
KDIR_612 = Path("/lib/modules/6.12.117+deb12-amd64/build")


def _need(path: Path, why: str) -> None:
    need(path.exists(), f"{path} is missing: {why}")


@pytest.fixture(scope="module")
def cases() -> dict[str, dict[str, str]]:
    _need(SHARED / "cases.jsonl", "the real out-of-tree cases")
    out = {}
    for line in (SHARED / "cases.jsonl").read_text().splitlines():
        if line.strip():
            case = json.loads(line)
            out[case["id"]] = case
    return out


@pytest.fixture(scope="module")
def repos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = {}
    top = tmp_path_factory.mktemp("oot")
    for name in ("v4l2loopback", "xone"):
        bundle = SHARED / f"{name}.bundle"
        _need(bundle, "the real project's history")
        subprocess.run(["git", "clone", "-q", str(bundle), str(top / name)], check=True)
        out[name] = top / name
    return out


def test_projects_detected(repos: dict[str, Path]) -> None:
    v4l = project_at(GitRepo.open(repos["v4l2loopback"]), "HEAD")
    assert v4l is not None and v4l.root == "" and v4l.dkms_conf == "dkms.conf"
    assert v4l.declares("v4l2loopback")
    xone = project_at(GitRepo.open(repos["xone"]), "HEAD")
    assert xone is not None
    # dkms.conf lists nine modules: BUILT_MODULE_NAME[0..8]
    assert len(xone.modules) == 9 and xone.declares("xone-dongle")


def test_versions_as_users_write_them(repos: dict[str, Path]) -> None:
    repo = GitRepo.open(repos["v4l2loopback"])
    tag = repo.resolve("refs/tags/v0.12.2^{commit}")
    for spec in ("v0.12.2", "0.12.2", "0.12.2.r0.gd3b198e"):  # the AUR package's version
        assert resolve_version(repo, spec).sha == tag
    xone = GitRepo.open(repos["xone"])
    assert resolve_version(xone, "0.4.1").name == "v0.4.1"


@pytest.mark.parametrize(("case_id", "repo_name", "function"), [
    ("v4l2l-248", "v4l2loopback", "__video_register_device"),
    ("v4l2l-79", "v4l2loopback", "v4l_querycap"),
    ("xone-99", "xone", "xone_mt76_set_wow_enable"),
])
def test_fix_ranked_first(cases: dict[str, dict[str, str]], repos: dict[str, Path],
                          case_id: str, repo_name: str, function: str) -> None:
    case = cases[case_id]
    repo = GitRepo.open(repos[repo_name])
    project = project_at(repo, "HEAD")
    assert project is not None
    base = resolve_version(repo, case["base"])
    release = {"v4l2l-248": "5.4.1-zen2-1-zen", "v4l2l-79": "3.19.0-my",
               "xone-99": "6.15.9-201.fc42.x86_64"}[case_id]
    assert release in case["log"]
    crash = ProjectCrash(functions=(function,), kernel=kernel_version(release))
    found = find_project_fixes(repo, project, (base.name, base.sha),
                               ("HEAD", repo.resolve("HEAD")), crash)
    assert found.candidates[0].commit == case["fix_commit"]
    assert found.candidates[0].first_release == case["first_tag_with_fix"]


def _run(log: Path, source: Path, out: Path, *extra: str,
         kdir: Path = KDIR_61) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kmend", "run", str(log), "--source", str(source),
         "--kdir", str(kdir), "--dry-run", "--json", "-o", str(out), *extra],
        capture_output=True, text=True, timeout=900, check=False)


@pytest.mark.parametrize(("case_id", "base", "kdir"), [
    ("v4l2l-248", "v0.12.2", KDIR_61), ("v4l2l-79", None, KDIR_61),
    ("v4l2l-248", "0.12.2", KDIR_612),  # v4l2loopback supports 6.12 from v0.13.0
    ("xone-99", "0.4.1", KDIR_61)])
def test_run_dry_run(cases: dict[str, dict[str, str]], repos: dict[str, Path],
                     tmp_path: Path, case_id: str, base: str | None, kdir: Path) -> None:
    _need(kdir, "Debian's kernel headers")
    case = cases[case_id]
    project = "xone" if case_id.startswith("xone") else "v4l2loopback"
    log = tmp_path / "crash.log"
    log.write_text(case["log"])
    extra = ("--base", base) if base else ()  # without: the version the log names
    res = _run(log, repos[project], tmp_path / "out", *extra, kdir=kdir)
    assert res.returncode == 0, res.stderr[-2000:]
    doc = json.loads(res.stdout)
    stages = {s["name"]: s for s in doc["stages"]}
    assert stages["triage"]["data"]["culprit_module"] == case["module"]
    assert stages["locate"]["data"]["kind"] == "module project"
    assert stages["fixes"]["data"]["commit"] == case["fix_commit"]
    chosen = stages["backport"]["data"]["chosen_rev"]
    repo = GitRepo.open(repos[project])
    fix = case["fix_commit"]
    assert chosen.endswith("+" + fix[:12]) or repo.is_ancestor(fix, chosen)
    assert stages["check"]["data"]["will_load"] is True
    conf = (tmp_path / "out" / "dkms.conf").read_text()
    assert 'AUTOINSTALL="yes"' in conf
    if project == "v4l2loopback":
        assert 'MAKE[0]="make KERNEL_DIR=${kernel_source_dir}' in conf  # the project's own
    assert (tmp_path / "out" / f"{case['module']}.ko").is_file()


def test_dkms_keeps_the_output(cases: dict[str, dict[str, str]], repos: dict[str, Path],
                               tmp_path: Path) -> None:
    """The output directory is a DKMS package the real dkms adds, builds and installs (into
    scratch trees), and kmend check accepts what dkms installed."""
    _need(KDIR_61, "Debian's 6.1.0-47 headers")
    need(shutil.which("dkms"), "dkms is not installed")
    log = tmp_path / "crash.log"
    log.write_text(cases["v4l2l-248"]["log"])
    out = tmp_path / "out"
    res = _run(log, repos["v4l2loopback"], out, "--base", "0.12.2")
    assert res.returncode == 0, res.stderr[-2000:]
    conf = (out / "dkms.conf").read_text()
    version = re.search(r'^PACKAGE_VERSION="([^"]+)"', conf, re.MULTILINE)
    assert version is not None
    ver = version.group(1)
    chosen = json.loads(res.stdout)["stages"][3]["data"]["chosen_rev"]
    assert ver.endswith("+" + chosen[:7])  # version + short hash of the chosen revision
    src, dkms_tree, inst = tmp_path / "src", tmp_path / "dkms", tmp_path / "install"
    release = "6.1.0-47-amd64"
    (inst / release).mkdir(parents=True)
    dkms_tree.mkdir()
    shutil.copytree(out, src / f"v4l2loopback-{ver}",
                    ignore=shutil.ignore_patterns("*.ko"))
    trees = ["--dkmstree", str(dkms_tree), "--sourcetree", str(src), "--installtree",
             str(inst)]
    for verb in ("add", "build", "install"):
        extra = [] if verb == "add" else ["-k", release, "--kernelsourcedir", str(KDIR_61)]
        done = subprocess.run(["dkms", verb, "-m", "v4l2loopback", "-v", ver, *extra, *trees],
                              capture_output=True, text=True, timeout=600, check=False)
        assert done.returncode == 0, (verb, done.stdout[-1500:], done.stderr[-1500:])
    installed = list((inst / release).rglob("v4l2loopback.ko*"))
    assert len(installed) == 1
    check = subprocess.run([sys.executable, "-m", "kmend", "check", str(installed[0]),
                            "--kdir", str(KDIR_61), "--json"],
                           capture_output=True, text=True, timeout=300, check=False)
    assert check.returncode == 0, check.stderr
    assert json.loads(check.stdout)["will_load"] is True


def test_fixes_verb_on_a_project(cases: dict[str, dict[str, str]], repos: dict[str, Path],
                                 tmp_path: Path) -> None:
    """kmend fixes on a module project: the base from the log's "driver version 0.8.0
    loaded", the in-tree crash function mapped to the project's handler, the real fix
    first; --issue adds the issue evidence."""
    case = cases["v4l2l-79"]
    log = tmp_path / "crash.log"
    log.write_text(case["log"])
    res = subprocess.run([sys.executable, "-m", "kmend", "fixes", "--source",
                          str(repos["v4l2loopback"]), "--log", str(log), "--json",
                          "--issue", "79"],
                         capture_output=True, text=True, timeout=300, check=False)
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["base"] == "v0.8.0"
    assert doc["targets"]["vidioc_querycap"][1] == "v4l2loopback.c"
    best = doc["candidates"][0]
    assert best["commit"] == case["fix_commit"]
    assert any(e["kind"] == "issue" for e in best["evidence"])


def test_xone_builds_its_nine_modules_together(cases: dict[str, dict[str, str]],
                                               repos: dict[str, Path], tmp_path: Path) -> None:
    """xone's modules export symbols to each other (xone_dongle needs xone_gip's
    gip_create_adapter): the project is built whole, and the check finds the siblings."""
    _need(KDIR_61, "Debian's 6.1.0-47 headers")
    from kmend.backport.checkhook import check_built
    from kmend.backport.project import plan, write_project_output
    from kmend.build.kdir import find_kdir
    from kmend.build.project import build_copy, ko_named

    case = cases["xone-99"]
    repo = GitRepo.open(repos["xone"])
    project = project_at(repo, "HEAD")
    assert project is not None
    kd = find_kdir(KDIR_61, None)
    base = resolve_version(repo, case["base"]).sha
    result = plan(repo, project, case["module"], kd, base=base,
                  fix=repo.resolve(case["fix_commit"]))
    assert result.chosen is not None and result.chosen.kind == "fix-on-base"
    assert set(result.probes[-1].modules) == set(project.modules)  # all nine
    out, _, version = write_project_output(repo, result.chosen, tmp_path / "out",
                                           provenance="test\n")
    assert version == f"0.4.1+fix.{case['fix_commit'][:7]}"
    conf = (out / "dkms.conf").read_text()
    assert conf.count("BUILT_MODULE_NAME[") == 9
    assert 'DEST_MODULE_LOCATION[2]="/kernel/drivers/input/joystick"' in conf  # kept
    built = build_copy(out, "", kd)
    ko = ko_named(built.modules, "xone_dongle")
    assert built.ok and ko is not None
    summary = check_built(ko, kd.path, siblings=out)
    assert summary.will_load, summary.first_error
    alone = check_built(ko, kd.path)  # without its siblings the kernel refuses it
    assert not alone.will_load and "gip_" in alone.first_error


def test_distribution_package_versions(repos: dict[str, Path]) -> None:
    repo = GitRepo.open(repos["v4l2loopback"])
    tag = repo.resolve("refs/tags/v0.12.7^{commit}")
    # Debian's package versions (with epoch and revision) and "package version" as typed
    for spec in ("0.12.7-2", "1:0.12.7-2", "v4l2loopback-dkms 0.12.7"):
        assert resolve_version(repo, spec).sha == tag, spec
