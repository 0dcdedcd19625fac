"""install asks the load check (kmend.loadcheck) first: a module the target kernel would
refuse is not installed unless --force, and then loudly.  The targets are the real Debian
headers on this machine; a 6.1 module is refused by 6.12 (struct module differs)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from install_support import K61, K612, build_module, kmend, kmend_json, make_root, snapshot

pytestmark = pytest.mark.integration


def test_module_the_target_refuses_is_not_installed(tmp_path: Path) -> None:
    ko = build_module(K61)
    root = make_root(tmp_path / "root", K612)
    before = snapshot(root, include_state=True)
    res = kmend("install", str(ko), "--root", str(root), "--kernel", K612)
    assert res.returncode == 1, res.stderr  # a negative verdict, as `kmend check` gives
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr
    assert f"kernel {K612} would refuse xen-evtchn.ko" in lines[0] and "--force" in lines[0]
    assert snapshot(root, include_state=True) == before


def test_force_installs_it_and_says_so_loudly(tmp_path: Path) -> None:
    ko = build_module(K61)
    root = make_root(tmp_path / "root", K612)
    res = kmend("install", str(ko), "--root", str(root), "--kernel", K612, "--force", "--json")
    assert res.returncode == 0, res.stderr
    assert "WARNING: --force" in res.stderr
    txn = json.loads(res.stdout)
    assert txn["forced"] is True
    assert txn["check"]["available"] is True and txn["check"]["will_load"] is False
    assert txn["check"]["first_error"] in res.stderr
    kmend_json("rollback", "--root", str(root))


def test_accepted_module_records_the_verdict(tmp_path: Path) -> None:
    ko = build_module(K61)
    root = make_root(tmp_path / "root", K61)  # no headers in the image: the host's are used
    txn = kmend_json("install", str(ko), "--root", str(root))
    assert txn["forced"] is False
    assert txn["check"]["available"] is True and txn["check"]["will_load"] is True
    assert "this machine's headers" in txn["check"]["note"]
