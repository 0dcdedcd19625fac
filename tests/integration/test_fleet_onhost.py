"""The fleet's on-host verbs as a host runs them: the zipapp under ``python3 -I -S``.

``-S`` leaves out every site-packages directory, so the verbs run with the standard
library and the zipapp alone — no typer, rich, capstone, numpy, zstandard or
Aho-Corasick, as on a fresh Debian host.  The root is a reduced copy of the real Debian
6.1.0-47 module tree; the module is built by the real gcc against Debian's headers; the
real ``modprobe`` and ``modinfo`` are the oracles.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import REPO
from install_support import K61, build_module, make_root, snapshot

pytestmark = pytest.mark.integration

BUILD_PYZ = REPO / "ansible/ansible_collections/kmend/fleet/playbooks/files/build_pyz.py"
CRASH = REPO / "tests/data/crashes/6.1.0-47-amd64/bug.rsyslog.log"
HOST_PYTHON = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable


@pytest.fixture(scope="module")
def pyz(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pyz") / "kmend.pyz"
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    subprocess.run([sys.executable, str(BUILD_PYZ), "-o", str(out)], check=True, env=env,
                   timeout=120, capture_output=True)
    return out


def host(pyz: Path, *args: str, ok: tuple[int, ...] = (0,)) -> Any:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    res = subprocess.run([HOST_PYTHON, "-I", "-S", str(pyz), *args], capture_output=True,
                         text=True, timeout=300, env=env, check=False)
    assert res.returncode in ok, res.stderr
    return json.loads(res.stdout)


def show_depends(root: Path) -> str:
    res = subprocess.run(["modprobe", "-d", str(root), "-S", K61, "--show-depends",
                          "kmendfleet"], capture_output=True, text=True, timeout=60, check=False)
    return res.stdout if res.returncode == 0 else ""


def test_zipapp_holds_no_compiled_or_cli_code(pyz: Path) -> None:
    import zipfile

    names = zipfile.ZipFile(pyz).namelist()
    assert "kmend/onhost.py" in names and "elftools/__init__.py" in names
    assert not [n for n in names if n.endswith((".so", ".pyd"))]
    assert not [n for n in names if n.startswith(("kmend/cli/", "typer/", "rich/"))]


def test_install_identical_again_and_rollback(pyz: Path, tmp_path: Path) -> None:
    root = make_root(tmp_path / "root", K61)
    ko = build_module(K61, name="kmendfleet")
    before = snapshot(root)
    sha = hashlib.sha256(ko.read_bytes()).hexdigest()
    vermagic = subprocess.run(["modinfo", "-F", "vermagic", str(ko)], capture_output=True,
                              text=True, check=True, timeout=60).stdout.strip()

    plan = host(pyz, "install", str(ko), "--root", str(root), "--dry-run")
    assert plan["changed"] is True and plan["dry_run"] is True
    assert plan["diff"]["before"]["sha256"] is None
    assert plan["diff"]["after"] == {"sha256": sha, "vermagic": vermagic}
    assert snapshot(root) == before and not (root / "var/lib/kmend/txn").exists()

    done = host(pyz, "install", str(ko), "--root", str(root), "--provenance",
                '{"crash_signature": "0ac9f34937656ab9"}')
    assert done["changed"] is True and done["transaction"]["state"] == "committed"
    assert done["reboot_required"] is True  # a --root tree: the fix waits for its boot
    assert "updates/kmend/kmendfleet.ko" in show_depends(root)
    txns = sorted(p.name for p in (root / "var/lib/kmend/txn").iterdir())
    assert len(txns) == 1

    again = host(pyz, "install", str(ko), "--root", str(root))
    assert again["changed"] is False and again["identical"] is True
    assert again["transaction"]["id"] == txns[0]
    assert sorted(p.name for p in (root / "var/lib/kmend/txn").iterdir()) == txns

    status = host(pyz, "status", "--root", str(root))
    assert status["kernels"] == [K61]
    assert status["status"]["kernels"][0]["fixes"][0]["sha256"] == sha

    back = host(pyz, "rollback", "--root", str(root))
    assert back["changed"] is True and back["transaction"]["state"] == "rolled-back"
    assert snapshot(root) == before
    assert show_depends(root) == ""
    assert host(pyz, "rollback", "--root", str(root))["changed"] is False


def test_scan_since_and_doctor(pyz: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    log = root / "var/log/kern.log"
    log.parent.mkdir(parents=True)
    lines = CRASH.read_text().splitlines()
    log.write_text("\n".join(lines) + "\n")
    first = lines[0].split(" ", 1)[0]  # RFC 3339 time of the capture's first line
    last = lines[-1].split(" ", 1)[0]
    everything = host(pyz, "scan", "--root", str(root))
    assert everything["count"] == 1 and everything["files"] == [str(log)]
    sig = everything["reports"][0]["signature"]
    assert everything["reports"][0]["location"]["line"] == 42  # crashmod.c's BUG() line
    assert host(pyz, "scan", "--root", str(root), "--since", first, "--signature", sig)[
        "count"] == 1
    assert host(pyz, "scan", "--root", str(root), "--since", last)["count"] == 0
    assert host(pyz, "scan", "--root", str(root), "--signature", "0" * 16)["count"] == 0

    sick = host(pyz, "doctor", "--root", str(root), ok=(1,))
    assert sick["healthy"] is False and len(sick["crashes"]) == 1
    with log.open("a") as fh:  # the host booted again after the crash
        fh.write(f"{last} web-lab01 kernel: Linux version {K61} (debian-kernel@lists.debian.org)"
                 " #1 SMP PREEMPT_DYNAMIC Debian 6.1.170-3\n")
    well = host(pyz, "doctor", "--root", str(root))
    assert well["healthy"] is True and well["crashes"] == []


def test_bad_input_is_one_line(pyz: Path, tmp_path: Path) -> None:
    res = subprocess.run([HOST_PYTHON, "-I", "-S", str(pyz), "install", str(tmp_path / "nope.ko"),
                          "--root", str(tmp_path)], capture_output=True, text=True, timeout=120,
                         check=False)
    assert res.returncode == 4
    assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr
    res = subprocess.run([HOST_PYTHON, "-I", "-S", str(pyz), "scan", "--since", "yesterday"],
                         capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 2 and "Traceback" not in res.stderr
