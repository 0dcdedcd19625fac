"""The record of a ``kmend run``: each stage's result and timing, and the provenance the
install keeps with the fix (``kmend status`` prints it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Stage names, in order.
STAGES: tuple[str, ...] = ("triage", "locate", "fixes", "backport", "build", "check",
                           "preflight", "install")

DONE = "done"
SKIPPED = "skipped"
FAILED = "failed"  # the stage raised; the run stopped there


@dataclass(frozen=True)
class StageResult:
    """One stage: what it found (``lines``, as printed), its data and how long it took."""

    name: str
    status: str  # "done" | "skipped" | "failed"
    seconds: float
    summary: str  # one line: what was found or chosen
    lines: tuple[str, ...] = ()  # the explanation, as printed
    source: str = ""  # what the stage ran against (a repository, headers, a root)
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunRecord:
    """``kmend run --json``: the whole run."""

    logs: tuple[str, ...]
    source: str
    target: str  # kernel release of the headers ("" when the run stopped before)
    dry_run: bool
    stages: tuple[StageResult, ...]
    provenance: dict[str, Any]  # what the install keeps with the fix
    outcome: str  # the last line: what happened and what to do next
    output: str = ""  # the directory holding the built module
    module: str = ""  # the built .ko
    transaction: str = ""  # the install transaction id
    seconds: float = 0.0


def provenance(record: dict[str, Any]) -> dict[str, Any]:
    """The provenance kept with an installed fix: only non-empty values, in a fixed order."""
    keys = ("run", "crash_signature", "crash_title", "crash_log", "crashed_kernel",
            "fix_commit", "fix_patch", "fix_subject", "fix_first_release", "source", "revision",
            "revision_kind", "policy", "probes", "check", "preflight", "transaction")
    return {k: record[k] for k in keys if record.get(k) not in (None, "")}
