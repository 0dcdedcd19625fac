"""The backport stage's data types (``BackportPlan`` and the probes behind it)."""

from __future__ import annotations

from dataclasses import dataclass, field

from kmend.build.diagnostics import Diagnostic
from kmend.source.view import SourceView

#: Candidate kinds.
REVISION = "revision"  # a commit of the upstream history that touches the module
FIX_ON_BASE = "fix-on-base"  # the target's own version with the fix applied (3-way)
BASE = "base"  # the target's own version, unchanged (a reference: it lacks the fix)
TREE = "tree"  # an unpacked source tree (one version, no history)


@dataclass(frozen=True)
class Candidate:
    """One version of the module's sources that can be compile-probed."""

    rev: str  # commit SHA, or a label such as "base+fix" for versions made by kmend
    label: str  # commit subject or a description
    kind: str
    view: SourceView = field(repr=False, compare=False)
    contains_fix: bool | None = None
    change_size: int = -1  # lines added+removed relative to the base version (-1: unknown)
    note: str = ""  # e.g. how the fix was applied


@dataclass(frozen=True, slots=True)
class Probe:
    """The result of compiling one candidate against the target headers."""

    rev: str
    label: str
    kind: str
    ok: bool
    diagnostics: tuple[Diagnostic, ...]  # errors first, then warnings
    first_diagnostic: str
    needs: tuple[str, ...]  # the kernel APIs the failing code needs and the target lacks
    seconds: float
    change_size: int = -1


@dataclass(frozen=True, slots=True)
class BackportPlan:
    """What was probed, what was chosen, and why."""

    module: str
    files: tuple[str, ...]  # tree-relative paths of the module's files
    base_rev: str | None
    chosen_rev: str | None
    probes: tuple[Probe, ...]
    policy: str = "newest"
    chosen_label: str = ""
    chosen_kind: str = ""
    fix: str | None = None
    source: str = ""
    target: str = ""  # kernel release of the headers
    kdir: str = ""
    search: str = ""  # how the search decided, in words
    candidates: int = 0
    explanation: tuple[str, ...] = ()  # why nothing (or something older) was chosen; what to do
