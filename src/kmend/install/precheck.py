"""The hook through which install asks the load check whether the target will accept a .ko.

``Checker`` is the narrow interface install depends on: (module path, target release,
root path) → :class:`CheckSummary`.  :func:`default_checker` wires it to the check
library (``kmend.ko.read_module``, ``kmend.kernel.target.KernelTarget.from_release``,
``kmend.loadcheck.check_module``) when that library is present; until it is, it returns
``available=False`` and install says so instead of pretending the module was checked.
HOOK: the check library is being written on branch ``check``; the calls below follow the
names in DESIGN.md and are resolved at run time so this module type-checks without it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kmend.errors import KmendError
from kmend.install.model import CheckSummary

Checker = Callable[[Path, str, Path], CheckSummary]


def _load() -> tuple[Any, Any, Any] | None:
    try:
        ko = importlib.import_module("kmend.ko")
        target = importlib.import_module("kmend.kernel.target")
        loadcheck = importlib.import_module("kmend.loadcheck")
    except ImportError:
        return None
    read_module = getattr(ko, "read_module", None)
    from_release = getattr(getattr(target, "KernelTarget", None), "from_release", None)
    check_module = getattr(loadcheck, "check_module", None)
    if read_module is None or from_release is None or check_module is None:
        return None
    return read_module, from_release, check_module


def summarize(verdict: Any) -> CheckSummary:
    """Turn a LoadVerdict(will_load, findings[(check, severity, message)], taints) into ours."""
    findings: list[str] = []
    first_error = ""
    for f in getattr(verdict, "findings", ()):
        severity = str(getattr(f, "severity", ""))
        message = str(getattr(f, "message", f))
        findings.append(f"{severity}: {message}" if severity else message)
        if severity == "error" and not first_error:
            first_error = message
    return CheckSummary(available=True, will_load=bool(verdict.will_load),
                        first_error=first_error, findings=tuple(findings))


def default_checker(module: Path, release: str, root: Path) -> CheckSummary:
    lib = _load()
    if lib is None:
        return CheckSummary(available=False, will_load=None,
                            note="the load check (kmend.loadcheck) is not available in this "
                                 "build: the module was NOT checked against the target")
    read_module, from_release, check_module = lib
    try:
        target = from_release(release, root=root)
        verdict = check_module(read_module(module), target)
    except KmendError as exc:
        return CheckSummary(available=False, will_load=None,
                            note=f"the load check could not run: {exc}")
    return summarize(verdict)


def no_check(module: Path, release: str, root: Path) -> CheckSummary:
    """For callers that checked already (``kmend run``) or tests that test install alone."""
    return CheckSummary(available=False, will_load=None, note="check skipped by the caller")
