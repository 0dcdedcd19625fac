"""A fix that survives a kernel upgrade: kmend build → install for 6.1.0-47 → Debian's
kernel postinst hook for 6.1.0-57 → rebuilt, checked and installed for 57 (or retired when
57 already contains the fix) → status says why → rollbacks byte-identical.

Real parts: gcc + Debian's 6.1.0-47 and 6.1.0-57 headers, reduced copies of the real
module trees (depmod), git histories made here, ``run-parts`` called exactly as the
linux-image postinst calls it, ``modprobe -S R -d ROOT --show-depends`` and ``modinfo`` as
the oracles.  Each step's time is recorded as a figure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import REPO, need
from install_support import kmend, kmend_json, pristine_tree, show_depends, snapshot

pytestmark = pytest.mark.integration

K47 = "6.1.0-47-amd64"
K57 = "6.1.0-57-amd64"
HDR47 = Path(f"/usr/src/linux-headers-{K47}")

MODULE_C = r"""
#include <linux/module.h>
#include <linux/init.h>
#define KT_FIXED %d
static int __init kt_init(void) { pr_info("kmend stand-in fixed=%%d\n", KT_FIXED); return 0; }
static void __exit kt_exit(void) { }
module_init(kt_init);
module_exit(kt_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kmend test stand-in for an in-tree module");
"""


def git(repo: Path, *args: str) -> str:
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.org",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.org",
               GIT_AUTHOR_DATE="2024-01-01T00:00:00Z", GIT_COMMITTER_DATE="2024-01-01T00:00:00Z")
    res = subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                         text=True, env=env, timeout=60)
    return res.stdout.strip()


def project(tmp: Path, name: str, *, stable_tag: str | None) -> tuple[Path, str]:
    """A module project whose history has the buggy module, then its fix (tagged as the
    mainline release v6.2-rc1); with *stable_tag*, a 6.1.y branch carries a backport of
    the fix ("commit X upstream.") tagged *stable_tag*.  Returns (module dir, fix sha)."""
    repo = tmp / f"proj-{name}"
    mod = repo / "module"
    mod.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "master")
    (mod / "Kbuild").write_text(f"obj-m := {name}.o\n")
    (mod / f"{name}.c").write_text(MODULE_C % 0)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", f"{name}: stand-in module")
    git(repo, "tag", "v6.1")
    (mod / f"{name}.c").write_text(MODULE_C % 1)
    git(repo, "commit", "-q", "-am", f"{name}: fix the crash")
    fix = git(repo, "rev-parse", "HEAD")
    git(repo, "tag", "v6.2-rc1")
    if stable_tag:
        git(repo, "checkout", "-q", "-b", "linux-6.1.y", "v6.1")
        (mod / f"{name}.c").write_text(MODULE_C % 1)
        git(repo, "commit", "-q", "-am", f"{name}: fix the crash\n\ncommit {fix} upstream.")
        git(repo, "tag", stable_tag)
        git(repo, "checkout", "-q", "master")
    return mod, fix


def two_kernel_root(dst: Path) -> Path:
    for release in (K47, K57):
        shutil.copytree(pristine_tree(release), dst, symlinks=True, dirs_exist_ok=True)
    # the kernel packages' changelogs: where kmend reads 57's upstream version (6.1.192)
    for pkg in (f"linux-image-{K57}-unsigned", f"linux-image-{K47}"):
        src = Path("/usr/share/doc") / pkg
        if src.is_dir():
            shutil.copytree(src, dst / "usr/share/doc" / pkg)
    return dst


@pytest.fixture
def timed(figure: Callable[[str], None]) -> Callable[..., object]:
    def run(label: str, fn: Callable[[], object]) -> object:
        start = time.monotonic()
        out = fn()
        figure(f"rebuild-upgrade: {label}: {time.monotonic() - start:.2f} s")
        return out
    return run


def test_upgrade_hook_rebuilds_or_retires_and_rollbacks_are_exact(
        tmp_path: Path, timed: Callable[..., object]) -> None:
    need(HDR47.is_dir() and Path(f"/usr/src/linux-headers-{K57}").is_dir(),
         "linux-headers-6.1.0-47-amd64 and -57-amd64 not installed")
    need(shutil.which("run-parts") and shutil.which("modprobe"), "run-parts/kmod missing")
    root = timed("scratch root (reduced 47 + 57 trees, depmod)",
                 lambda: two_kernel_root(tmp_path / "root"))
    assert isinstance(root, Path)
    evtchn_dir, evtchn_fix = project(tmp_path, "xen-evtchn", stable_tag="v6.1.200")
    gntdev_dir, gntdev_fix = project(tmp_path, "xen-gntdev", stable_tag="v6.1.180")

    # 1. kmend build records where the sources are (the oracle: git itself)
    for mod, fix in ((evtchn_dir, evtchn_fix), (gntdev_dir, gntdev_fix)):
        res = timed(f"kmend build {mod.parent.name} for 47",
                    lambda mod=mod, fix=fix: kmend("build", str(mod), "--kdir", str(HDR47),
                                                   "--fix", fix[:10], "--json"))
        assert isinstance(res, subprocess.CompletedProcess)
        assert res.returncode == 0, res.stderr
        prov = json.loads((mod / "PROVENANCE").read_text())
        assert prov["fix_commit"] == fix
        assert prov["revision_commit"] == git(mod.parent, "rev-parse", "HEAD")
        assert prov["source"] == str(mod.parent.resolve())
        assert prov["recipe"]["kbuild_dir"] == "module"
        assert prov["fix_first_release"] == "v6.2-rc1"
        assert "revision_note" not in prov  # built from the committed sources
    assert json.loads((evtchn_dir / "PROVENANCE").read_text())["fix_stable_releases"] == [
        "v6.1.200"]
    assert json.loads((gntdev_dir / "PROVENANCE").read_text())["fix_stable_releases"] == [
        "v6.1.180"]
    pristine = snapshot(root)

    # 2. install both for 47 (the provenance beside each .ko goes into the transaction)
    t47e = timed("kmend install xen-evtchn for 47 (+ hooks)", lambda: kmend_json(
        "install", str(evtchn_dir / "xen-evtchn.ko"), "--kernel", K47, "--root", str(root),
        "--hook"))
    t47g = timed("kmend install xen-gntdev for 47", lambda: kmend_json(
        "install", str(gntdev_dir / "xen-gntdev.ko"), "--kernel", K47, "--root", str(root)))
    assert isinstance(t47e, dict) and isinstance(t47g, dict)
    assert t47e["state"] == "committed" and t47g["state"] == "committed"
    assert t47e["provenance"]["fix_commit"] == evtchn_fix
    assert t47e["provenance"]["sources_kept"] == "sources"
    hook = root / "etc/kernel/postinst.d/zz-kmend"
    plugin = root / "etc/kernel/install.d/90-kmend.install"
    assert os.access(hook, os.X_OK) and os.access(plugin, os.X_OK)
    assert {h["path"] for h in t47e["hooks"]} == {str(hook), str(plugin)}
    assert show_depends(root, K47) == f"insmod {root}/lib/modules/{K47}/updates/kmend/xen-evtchn.ko"
    assert show_depends(root, K57) == (
        f"insmod {root}/lib/modules/{K57}/kernel/drivers/xen/xen-evtchn.ko")
    # the source directories may vanish: the transaction kept the sources
    shutil.rmtree(evtchn_dir.parent)
    shutil.rmtree(gntdev_dir.parent)

    # DKMS's module signing key in the image, made the way dkms makes it: the hook signs with it
    need(shutil.which("openssl"), "openssl missing")
    mok = root / "var/lib/dkms"
    mok.mkdir(parents=True)
    subprocess.run(["openssl", "req", "-new", "-x509", "-nodes", "-days", "36500", "-subj",
                    "/CN=DKMS module signing key", "-newkey", "rsa:2048", "-keyout",
                    str(mok / "mok.key"), "-outform", "DER", "-out", str(mok / "mok.pub")],
                   check=True, capture_output=True, timeout=120)
    installed_47 = snapshot(root)

    # a dry run decides and writes nothing, not even kmend's own state
    state = snapshot(root, include_state=True)
    plan = timed("kmend rebuild --dry-run for 57", lambda: kmend_json(
        "rebuild", "--kernel", K57, "--root", str(root), "--dry-run"))
    assert isinstance(plan, dict)
    assert {d["module"]: d["action"] for d in plan["decisions"]} == {
        "xen_evtchn": "planned", "xen_gntdev": "retired"}
    assert plan["upstream"] == "6.1.192"  # from the image's copy of 57's changelog
    assert plan["version_from"] == "the package version 6.1.192-3"
    assert snapshot(root, include_state=True) == state

    # 3. Debian's linux-image postinst runs the hooks exactly like this
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"), DEB_MAINT_PARAMS="configure 6.1.192-3")
    res = timed("postinst.d hook for 57 (run-parts: rebuild, check, install)",
                lambda: subprocess.run(
                    ["run-parts", "--report", "--exit-on-error", f"--arg={K57}",
                     f"--arg=/boot/vmlinuz-{K57}", str(root / "etc/kernel/postinst.d")],
                    check=False, capture_output=True, text=True, env=env, timeout=600))
    assert isinstance(res, subprocess.CompletedProcess)
    assert res.returncode == 0, res.stdout + res.stderr
    new57 = root / f"lib/modules/{K57}/updates/kmend/xen-evtchn.ko"
    assert show_depends(root, K57) == f"insmod {new57}"
    vermagic = subprocess.run(["modinfo", "-F", "vermagic", str(new57)], capture_output=True,
                              text=True, check=True, timeout=60).stdout
    assert vermagic.startswith(K57 + " ")
    signer = subprocess.run(["modinfo", "-F", "signer", str(new57)], capture_output=True,
                            text=True, check=True, timeout=60).stdout.strip()
    algo = subprocess.run(["modinfo", "-F", "sig_hashalgo", str(new57)], capture_output=True,
                          text=True, check=True, timeout=60).stdout.strip()
    assert signer == "DKMS module signing key"
    assert f'CONFIG_MODULE_SIG_HASH="{algo}"' in Path(
        f"/usr/src/linux-headers-{K57}/.config").read_text()
    # 57 is upstream 6.1.192 and v6.1.180 has gntdev's fix: nothing installed for it
    assert show_depends(root, K57, "xen_gntdev") == (
        f"insmod {root}/lib/modules/{K57}/kernel/drivers/xen/xen-gntdev.ko")
    assert not (root / f"lib/modules/{K57}/updates/kmend/xen-gntdev.ko").exists()

    st = kmend_json("status", "--root", str(root))
    by_kernel = {k["kernel"]: {f["module"]: f for f in k["fixes"]} for k in st["kernel_states"]}
    assert by_kernel[K47]["xen_evtchn"]["state"] == "installed"
    assert by_kernel[K47]["xen_gntdev"]["state"] == "installed"
    rebuilt = by_kernel[K57]["xen_evtchn"]
    assert rebuilt["state"] == "rebuilt" and rebuilt["active"] is True
    assert t47e["id"] in rebuilt["why"]
    retired = by_kernel[K57]["xen_gntdev"]
    assert retired["state"] == "retired" and retired["active"] is False
    assert "6.1.192" in retired["why"] and "v6.1.180" in retired["why"]
    text = kmend("status", "--root", str(root)).stdout
    assert "retired" in text and "v6.1.180" in text
    txn57 = rebuilt["transaction"]
    journal = json.loads((root / f"var/lib/kmend/txn/{txn57}/journal.json").read_text())
    assert journal["kernel"] == K57 and journal["check"]["will_load"] is True
    assert journal["provenance"]["rebuilt_from"] == t47e["id"]
    assert "dkms key" in journal["provenance"]["signed"]

    # 4. the hook again, and the kernel-install plugin as systemd's kernel-install calls it:
    # nothing changes (the fix is already active on 57)
    after_hook = snapshot(root)
    res = subprocess.run([str(plugin), "add", K57, str(root / "boot/efi/entry"),
                          f"/boot/vmlinuz-{K57}"], check=False, capture_output=True,
                         text=True, env=env, timeout=600)
    assert res.returncode == 0, res.stderr
    assert "already" in res.stdout + res.stderr
    assert snapshot(root) == after_hook

    # 5. rollbacks: each transaction gives back exactly the tree it found
    timed("kmend rollback of the 57 transaction",
          lambda: kmend_json("rollback", txn57, "--root", str(root)))
    assert snapshot(root) == installed_47
    assert show_depends(root, K57) == (
        f"insmod {root}/lib/modules/{K57}/kernel/drivers/xen/xen-evtchn.ko")
    st = kmend_json("status", "--root", str(root))
    states = {k["kernel"]: {f["module"]: f["state"] for f in k["fixes"]}
              for k in st["kernel_states"]}
    assert states[K57]["xen_evtchn"] == "rolled-back"
    for txn in (t47g["id"], t47e["id"]):
        timed(f"kmend rollback of {txn}", lambda txn=txn: kmend_json(
            "rollback", txn, "--root", str(root)))
    # what stays: the hooks, and the signing key this test put there
    added = {"etc", "etc/kernel", "etc/kernel/postinst.d", "etc/kernel/install.d",
             "etc/kernel/postinst.d/zz-kmend", "etc/kernel/install.d/90-kmend.install",
             "var/lib/dkms", "var/lib/dkms/mok.key", "var/lib/dkms/mok.pub"}
    final = snapshot(root)
    assert added <= set(final)
    assert {k: v for k, v in final.items() if k not in added} == pristine


def test_rebuild_reports_unknown_sources_and_reads_the_package_changelog(
        tmp_path: Path) -> None:
    need(HDR47.is_dir() and Path(f"/usr/src/linux-headers-{K57}").is_dir(),
         "linux-headers-6.1.0-47-amd64 and -57-amd64 not installed")
    root = two_kernel_root(tmp_path / "root")
    need((root / f"usr/share/doc/linux-image-{K57}-unsigned/changelog.Debian.gz").is_file(),
         "linux-image-6.1.0-57-amd64's changelog not installed")
    mod = tmp_path / "plain"
    mod.mkdir()
    (mod / "Kbuild").write_text("obj-m := xen-evtchn.o xen-gntdev.o\n")
    (mod / "xen-evtchn.c").write_text(MODULE_C % 1)
    (mod / "xen-gntdev.c").write_text(MODULE_C % 1)
    res = subprocess.run(["make", "-C", str(HDR47), f"M={mod}", "modules"], check=False,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    # built by make, not kmend: no provenance, so nothing says where the sources are
    txn = kmend_json("install", str(mod / "xen-evtchn.ko"), "--kernel", K47,
                     "--root", str(root))
    # a fix known only by its subject, one that Debian imported in 6.1.192 (57's changelog)
    prov = tmp_path / "prov.json"
    subject = "io_uring/io-wq: don't strand work when a worker exits"
    prov.write_text(json.dumps({"format": "kmend-provenance/1", "fix_subject": subject}))
    kmend_json("install", str(mod / "xen-gntdev.ko"), "--kernel", K47, "--root", str(root),
               "--provenance", str(prov))
    before = snapshot(root)
    res = kmend("rebuild", "--kernel", K57, "--root", str(root), "--json")
    assert res.returncode == 1, res.stderr  # documented: a fix not carried over
    doc = json.loads(res.stdout)
    by_module = {d["module"]: d for d in doc["decisions"]}
    assert by_module["xen_evtchn"]["action"] == "sources-unknown"
    assert by_module["xen_evtchn"]["origin"] == txn["id"]
    assert by_module["xen_gntdev"]["action"] == "retired"
    assert "changelog" in by_module["xen_gntdev"]["reason"]
    assert snapshot(root) == before  # nothing installed
    st = kmend_json("status", "--root", str(root))
    states = {k["kernel"]: {f["module"]: f for f in k["fixes"]} for k in st["kernel_states"]}
    assert states[K57]["xen_evtchn"]["state"] == "sources-unknown"
    assert states[K57]["xen_gntdev"]["state"] == "retired"
    # for 47, where both fixes are installed, there is nothing to carry over
    res = kmend("rebuild", "--kernel", K47, "--root", str(root), "--json")
    assert res.returncode == 0, res.stderr
    assert {d["action"] for d in json.loads(res.stdout)["decisions"]} == {"already"}


DKMS_CONF = """PACKAGE_NAME="kmend-dkmsdemo"
PACKAGE_VERSION="1.0"
BUILT_MODULE_NAME[0]="kmend_dkmsdemo"
DEST_MODULE_LOCATION[0]="/updates/dkms"
AUTOINSTALL="yes"
"""


def test_a_dkms_autoinstall_fix_is_built_by_dkms_and_verified(
        tmp_path: Path, timed: Callable[..., object]) -> None:
    need(HDR47.is_dir() and Path(f"/usr/src/linux-headers-{K57}").is_dir(),
         "linux-headers-6.1.0-47-amd64 and -57-amd64 not installed")
    need(shutil.which("dkms") and shutil.which("openssl"), "dkms/openssl not installed")
    root = two_kernel_root(tmp_path / "root")
    src = root / "usr/src/kmend-dkmsdemo-1.0"
    src.mkdir(parents=True)
    (src / "Kbuild").write_text("obj-m := kmend_dkmsdemo.o\n")
    (src / "kmend_dkmsdemo.c").write_text(MODULE_C % 1)
    (src / "dkms.conf").write_text(DKMS_CONF)
    mok = root / "var/lib/dkms"
    mok.mkdir(parents=True)
    subprocess.run(["openssl", "req", "-new", "-x509", "-nodes", "-days", "36500", "-subj",
                    "/CN=image signing key", "-newkey", "rsa:2048", "-keyout",
                    str(mok / "mok.key"), "-outform", "DER", "-out", str(mok / "mok.pub")],
                   check=True, capture_output=True, timeout=120)
    trees = ["--dkmstree", str(mok), "--sourcetree", str(root / "usr/src"),
             "--installtree", str(root / "lib/modules")]
    subprocess.run(["dkms", "add", "-m", "kmend-dkmsdemo", "-v", "1.0", *trees], check=True,
                   capture_output=True, timeout=120)
    res = kmend("build", str(src), "--kdir", str(HDR47))
    assert res.returncode == 0, res.stderr
    txn = kmend_json("install", str(src / "kmend_dkmsdemo.ko"), "--kernel", K47,
                     "--root", str(root))
    assert txn["provenance"]["sources"]["dir"] == str(src)

    res = timed("kmend rebuild for 57 through DKMS (dkms install + verify)", lambda: kmend(
        "rebuild", "--kernel", K57, "--root", str(root), "--json", timeout=600))
    assert isinstance(res, subprocess.CompletedProcess)
    assert res.returncode == 0, res.stdout + res.stderr
    (d,) = json.loads(res.stdout)["decisions"]
    assert d["action"] == "dkms" and d["check"] == "will load", d
    built = root / f"lib/modules/{K57}/updates/dkms/kmend_dkmsdemo.ko"
    assert show_depends(root, K57, "kmend_dkmsdemo") == f"insmod {built}"
    signer = subprocess.run(["modinfo", "-F", "signer", str(built)], capture_output=True,
                            text=True, check=True, timeout=60).stdout.strip()
    assert signer == "image signing key"  # DKMS signed with the image's key, not the host's
    st = kmend_json("status", "--root", str(root))
    states = {k["kernel"]: {f["module"]: f for f in k["fixes"]} for k in st["kernel_states"]}
    assert states[K57]["kmend_dkmsdemo"]["state"] == "dkms"
    assert states[K47]["kmend_dkmsdemo"]["state"] == "installed"
