"""The fleet lab end to end: scripts/fleet-demo.sh over real SSH, then the hosts' trees.

The demo drives 4 hosts (one sshd each on the loopback, each its own root with a reduced
copy of a real Debian 6.1.0-47 or 6.1.0-57 module tree) with the kmend.fleet collection:
triage, rollout --check, a rollout whose second batch crashes again after the install,
a rerun, and the report.  Its summary line is checked against the hosts themselves:
the real ``modprobe --show-depends`` says which crashmod each host would load, the
rolled-back and untouched trees are compared byte for byte with the pristine copies, the
installed file with the module the build produced, and the report (rendered by chromium)
against ``kmend scan --json`` of the same logs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, need

pytestmark = pytest.mark.integration

K47, K57 = "6.1.0-47-amd64", "6.1.0-57-amd64"
HOSTS = {"web1": K47, "web2": K47, "web3": K57, "web4": K57}


def prerequisites() -> None:
    need(os.geteuid() == 0, "the lab's sshd processes and root logins need root")
    need(Path("/usr/sbin/sshd").exists(), "openssh-server not installed")
    need(shutil.which("ssh"), "openssh-client not installed")
    need(Path(sys.executable).with_name("ansible-playbook").exists(),
         "ansible-core not installed in the venv (pip install -e '.[dev]')")
    for rel in (K47, K57):
        need(Path(f"/lib/modules/{rel}/build/Makefile").exists(), f"linux-headers-{rel} missing")
        need(Path(f"/lib/modules/{rel}/kernel/drivers/xen").is_dir(), f"linux-image-{rel} missing")
    need(shutil.which("depmod") and shutil.which("modprobe"), "kmod not installed")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object], str]:
    prerequisites()
    lab = tmp_path_factory.mktemp("fleet") / "lab"
    env = dict(os.environ, KMEND_SKIP_SETUP="1", KMEND_PYTHON=sys.executable, KMEND_LAB=str(lab))
    res = subprocess.run(["bash", str(REPO / "scripts/fleet-demo.sh")], capture_output=True,
                         text=True, env=env, timeout=1500, check=False)
    assert res.returncode == 0, res.stderr[-5000:]
    last = res.stdout.strip().splitlines()[-1]
    return lab, json.loads(last), res.stderr


def tree_digest(tree: Path) -> dict[str, str]:
    import hashlib

    return {str(p.relative_to(tree)): hashlib.sha256(p.read_bytes()).hexdigest()
            if p.is_file() and not p.is_symlink() else "other" for p in sorted(tree.rglob("*"))}


def resolves_to(root: Path, release: str) -> str | None:
    res = subprocess.run(["modprobe", "-d", str(root), "-S", release, "--show-depends",
                          "crashmod"], capture_output=True, text=True, timeout=60, check=False)
    return res.stdout.strip() if res.returncode == 0 else None


def test_summary_line(demo: tuple[Path, dict[str, object], str]) -> None:
    lab, summary, _ = demo
    assert summary["hosts"] == len(HOSTS)
    assert summary["builds"] == len(set(HOSTS.values()))  # one build per kernel release
    assert summary["installed"] == ["web1"]
    assert summary["rolled_back"] == ["web2"]
    assert summary["untouched"] == ["web3", "web4"]
    assert summary["rerun_changed"] == 0
    assert Path(str(summary["report"])).is_file()
    # signatures: what kmend scan groups in the logs the hosts hold
    logs = [str(lab / "hosts" / h / "root/var/log/kern.log") for h in HOSTS]
    scan = subprocess.run([sys.executable, "-m", "kmend", "scan", "--json", *logs],
                          capture_output=True, text=True, timeout=300, check=True,
                          env=dict(os.environ, PYTHONPATH=str(REPO / "src")))
    assert summary["signatures"] == len(json.loads(scan.stdout)["groups"]) >= 2


def test_hosts_trees_after_the_rollout(demo: tuple[Path, dict[str, object], str]) -> None:
    lab, _, _ = demo
    built = lab / "out/build" / K47 / "src/crashmod.ko"
    installed = lab / "hosts/web1/root/lib/modules" / K47 / "updates/kmend/crashmod.ko"
    assert installed.read_bytes() == built.read_bytes()
    vermagic = subprocess.run(["modinfo", "-F", "vermagic", str(installed)], capture_output=True,
                              text=True, timeout=60, check=True).stdout
    assert vermagic.startswith(K47 + " ")
    web1 = resolves_to(lab / "hosts/web1/root", K47)
    assert web1 is not None and "updates/kmend/crashmod.ko" in web1
    # web2: rolled back to the byte-identical tree; web3/web4: never touched
    for host, rel in (("web2", K47), ("web3", K57), ("web4", K57)):
        tree = lab / "hosts" / host / "root/lib/modules"
        assert tree_digest(tree) == tree_digest(lab / f"pristine-{rel}/lib/modules"), host
        assert resolves_to(lab / "hosts" / host / "root", rel) is None, host


def test_lab_is_gone_after_the_demo(demo: tuple[Path, dict[str, object], str]) -> None:
    lab, _, _ = demo
    mine = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if str(lab).encode() in cmdline.read_bytes():
                mine.append(cmdline.parent.name)
        except OSError:
            continue
    assert not mine, f"lab processes still running: {mine}"


def test_check_mode_and_gate_in_the_logs(demo: tuple[Path, dict[str, object], str]) -> None:
    lab, _, _ = demo
    check = (lab / "check.log").read_text()
    assert "failed=0" in check
    # --check --diff: the plan's old and new sha256 and vermagic of each host's module file
    import hashlib

    for rel in (K47, K57):
        ko = lab / "out/build" / rel / "src/crashmod.ko"
        vermagic = subprocess.run(["modinfo", "-F", "vermagic", str(ko)], capture_output=True,
                                  text=True, timeout=60, check=True).stdout.strip()
        assert f"+sha256: {hashlib.sha256(ko.read_bytes()).hexdigest()}" in check
        assert f"+vermagic: {vermagic}" in check
        assert f"--- before: lib/modules/{rel}/updates/kmend/crashmod.ko" in check
    assert (lab / "trees-before.json").read_bytes() == (lab / "trees-check.json").read_bytes()
    rollout = (lab / "rollout.log").read_text()
    assert "health gate failed in this batch (web2)" in rollout
    rerun = (lab / "rerun.log").read_text()
    assert "rolled back on web2 before" in rerun


def test_report_shows_the_rollout(demo: tuple[Path, dict[str, object], str],
                                  tmp_path: Path) -> None:
    from test_report_html import chromium_dom, parse

    lab, summary, _ = demo
    scan = subprocess.run([sys.executable, "-m", "kmend", "scan", "--json", str(lab / "out/logs")],
                          capture_output=True, text=True, timeout=300, check=True,
                          env=dict(os.environ, PYTHONPATH=str(REPO / "src")))
    groups = json.loads(scan.stdout)["groups"]
    dom = parse(chromium_dom(Path(str(summary["report"])), tmp_path / "profile"))
    rows = [a["data-signature"] for tag, a in dom.elements
            if tag == "tr" and "sig" in (a.get("class") or "")]
    assert sorted(rows) == sorted(g["signature"] for g in groups)
    status = " ".join(dom.text.get("status", []))
    assert "installed on 1 of 4 hosts" in status
    assert "rolled back on web2" in status
    assert "recurred on web2" in status


def test_collection_builds_and_documents(tmp_path: Path) -> None:
    ansible_bin = Path(sys.executable).parent
    need((ansible_bin / "ansible-galaxy").exists(), "ansible-core not installed in the venv")
    coll = REPO / "ansible/ansible_collections/kmend/fleet"
    res = subprocess.run([str(ansible_bin / "ansible-galaxy"), "collection", "build", str(coll),
                          "--output-path", str(tmp_path)], capture_output=True, text=True,
                         timeout=300, check=False)
    assert res.returncode == 0, res.stderr
    assert list(tmp_path.glob("kmend-fleet-*.tar.gz"))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / "ansible"),
               ANSIBLE_HOME=str(tmp_path / "home"))
    for module in ("scan", "install", "rollback", "status", "doctor"):
        doc = subprocess.run([str(ansible_bin / "ansible-doc"), "--json", f"kmend.fleet.{module}"],
                             capture_output=True, text=True, timeout=300, env=env, check=False)
        assert doc.returncode == 0, doc.stderr
        data = json.loads(doc.stdout)[f"kmend.fleet.{module}"]
        assert data["doc"]["options"]["root"]["default"] == "/"
        assert data["examples"] and data["return"]
