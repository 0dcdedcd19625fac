"""Run ``kmend check`` on a freshly built module.

The check library (``kmend.ko.read_module``, ``kmend.kernel.target.KernelTarget.from_kdir``,
``kmend.loadcheck.check_module``) is written by another part of the project.  Until it is
importable this hook returns None and the caller says "check not run" — a narrow,
clearly-marked seam, not a fake verdict.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class CheckSummary:
    module: str
    will_load: bool
    first_error: str
    verdict: Any  # the LoadVerdict, serialised as-is


def check_available() -> bool:
    try:
        _load()
    except (ImportError, AttributeError):
        return False
    return True


def _load() -> tuple[Any, Any, Any]:
    ko = importlib.import_module("kmend.ko")
    target = importlib.import_module("kmend.kernel.target")
    loadcheck = importlib.import_module("kmend.loadcheck")
    return ko.read_module, target.KernelTarget.from_kdir, loadcheck.check_module


def check_built(ko_path: Path, kdir: Path) -> CheckSummary | None:
    """The load verdict for *ko_path* against *kdir*, or None when the checker is absent."""
    try:
        read_module, from_kdir, check_module = _load()
    except (ImportError, AttributeError):
        return None
    verdict = check_module(read_module(ko_path), from_kdir(kdir))
    errors = [f for f in getattr(verdict, "findings", ()) if getattr(f, "severity", "") == "error"]
    return CheckSummary(module=str(ko_path), will_load=bool(verdict.will_load),
                        first_error=str(getattr(errors[0], "message", "")) if errors else "",
                        verdict=verdict)
