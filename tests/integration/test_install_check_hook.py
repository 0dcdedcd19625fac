"""The load-check hook: install refuses what the check says the kernel will refuse,
unless --force, and says so loudly.  Until kmend.loadcheck lands, a stand-in checker
(named as such) drives the hook; the default checker is tested for both of its states."""

from __future__ import annotations

from pathlib import Path

import pytest

from install_support import K61, K612, build_module, make_root, snapshot
from kmend.install import ModuleRefused, SafeRoot, install, plan_install
from kmend.install.model import CheckSummary
from kmend.install.precheck import default_checker

pytestmark = pytest.mark.integration

MESSAGE = "xen_evtchn: disagrees about version of symbol module_layout"


def refusing_checker_standin(module: Path, release: str, root: Path) -> CheckSummary:
    """Stand-in for kmend.loadcheck (not on main yet): the kernel would refuse it."""
    return CheckSummary(available=True, will_load=False, first_error=MESSAGE,
                        findings=(f"error: {MESSAGE}",))


def test_refused_module_is_not_installed_without_force(tmp_path: Path) -> None:
    ko = build_module(K61)
    root_dir = make_root(tmp_path / "root", K61)
    before = snapshot(root_dir, include_state=True)
    with SafeRoot(root_dir) as root, pytest.raises(ModuleRefused) as err:
        plan_install(root, ko, checker=refusing_checker_standin)
    assert err.value.exit_code == 4
    assert MESSAGE in str(err.value) and "--force" in str(err.value)
    assert snapshot(root_dir, include_state=True) == before


def test_force_installs_and_records_it_loudly(tmp_path: Path) -> None:
    ko = build_module(K61)
    root_dir = make_root(tmp_path / "root", K61)
    with SafeRoot(root_dir) as root:
        plan = plan_install(root, ko, checker=refusing_checker_standin, force=True)
        txn = install(root, plan)
    assert txn.forced is True
    assert any(m.startswith("WARNING: --force") and MESSAGE in m for m in txn.messages)
    assert txn.check is not None and txn.check.will_load is False


def test_default_checker_checks_or_says_it_did_not() -> None:
    ko = build_module(K61)
    # the host's own headers are the target (read-only): built for 6.1, refused by 6.12
    refused = default_checker(ko, K612, Path("/"))
    accepted = default_checker(ko, K61, Path("/"))
    if refused.available:
        assert refused.will_load is False and refused.first_error
        assert accepted.available and accepted.will_load is True
    else:
        for summary in (refused, accepted):
            assert summary.will_load is None
            assert "NOT checked" in summary.note
