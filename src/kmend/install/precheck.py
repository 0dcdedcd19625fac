"""The hook through which install asks the load check whether the target will accept a .ko.

``Checker`` is the narrow interface install depends on: (module path, target release,
root path) → :class:`CheckSummary`.  :func:`default_checker` runs the check library
(``kmend.ko.read_module`` → ``KernelTarget.from_release`` → ``kmend.loadcheck.check_module``)
against the target kernel as the root describes it.  An image root often carries no
headers (no Module.symvers); then the host's headers of the *same release* are used and
the summary says so.  When no description of the target exists at all, the summary says
the module was not checked — install prints that rather than pretending.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from kmend.errors import KmendError
from kmend.install.model import CheckSummary
from kmend.kernel.target import target_in_root
from kmend.ko import read_module
from kmend.loadcheck import ERROR, LoadVerdict, check_module

Checker = Callable[[Path, str, Path], CheckSummary]


def summarize(verdict: LoadVerdict, note: str = "") -> CheckSummary:
    findings = tuple(f"{f.severity}: {f.message}" for f in verdict.findings)
    first = next((f.message for f in verdict.findings if f.severity == ERROR), "")
    return CheckSummary(available=True, will_load=verdict.will_load, first_error=first,
                        findings=findings, note=note)


def default_checker(module: Path, release: str, root: Path) -> CheckSummary:
    try:
        target, note = target_in_root(release, root)
        tree = root / "lib/modules" / release
        # Signature enforcement as the target has it: live, /sys and mokutil say (Secure
        # Boot turns on sig_enforce through the IMA arch policy); an image, its config.
        # Trusted keys: DKMS's MOK certificate under the root and the enrolled MOKs.
        from kmend.loadcheck.enforcement import detect, trusted

        verdict = check_module(read_module(module), target,
                               modules_tree=tree if tree.is_dir() else None,
                               enforcement=detect(target, root=root),
                               trust=trusted((), target=target, root=root))
    except KmendError as exc:
        return CheckSummary(available=False, will_load=None,
                            note=f"the load check could not run ({exc.message}): the module "
                                 "was NOT checked against the target")
    return summarize(verdict, note)


def no_check(module: Path, release: str, root: Path) -> CheckSummary:
    """For callers that checked already (``kmend run``) or benchmarks of install alone."""
    return CheckSummary(available=False, will_load=None, note="check skipped by the caller")
