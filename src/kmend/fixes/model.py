"""Data types of the fix search: FixCandidate and the ``kmend fixes --json`` document."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kmend.errors import InputError

_PATH_RE = re.compile(r"^[A-Za-z0-9_+,.=-]+(?:/[A-Za-z0-9_+,.=-]+)*$")
_FUNC_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def clean_path(path: str) -> str:
    """A source path as git sees it: relative, no ``..``, no pathspec magic."""
    path = path.strip().removeprefix("./")
    if not _PATH_RE.match(path) or any(p in {".", ".."} for p in path.split("/")):
        raise InputError(f"{path!r} is not a source path inside the kernel tree",
                         "give a relative path such as drivers/xen/evtchn.c")
    return path


def clean_function(name: str | None) -> str | None:
    """A C function name; compiler suffixes (``foo.isra.0``, ``foo.cold``) are dropped."""
    if name is None:
        return None
    base = name.strip().split(".", 1)[0]
    if not _FUNC_RE.match(base):
        raise InputError(f"{name!r} is not a C function name",
                         "give the function as it appears in the source, e.g. evtchn_ioctl")
    return base


@dataclass(frozen=True, slots=True)
class CrashSite:
    """What the search starts from: a file, a function, maybe a line, and crash text.

    ``trace_functions`` are the other function names of the call trace (callers), and
    ``title`` the crash title as printed or as syzbot names it.
    """

    file: str
    function: str | None
    line: int | None = None
    title: str | None = None
    trace_functions: tuple[str, ...] = ()
    kind: str | None = None  # "BUG", "WARNING", ... when known
    alt_titles: tuple[str, ...] = ()  # the printed header line, other names of the crash

    def __post_init__(self) -> None:
        object.__setattr__(self, "file", clean_path(self.file))
        object.__setattr__(self, "function", clean_function(self.function))
        names = []
        for name in self.trace_functions:
            try:
                cleaned = clean_function(name)
            except InputError:
                continue
            if cleaned:
                names.append(cleaned)
        object.__setattr__(self, "trace_functions", tuple(dict.fromkeys(names)))


@dataclass(frozen=True, slots=True)
class SourceAtCrash:
    """The crash site in the source at the base revision."""

    file: str
    revision: str
    line: int | None
    text: str | None  # the crashing line, as written (no trailing newline)
    function: str | None  # the function enclosing the line (or the one given)
    function_start: int | None
    function_end: int | None
    assertion: str | None  # BUG_ON / WARN_ON_ONCE / BUG / WARN ... when the line is one
    condition: str | None  # the asserted condition expression
    context: tuple[tuple[int, str], ...] = ()  # (line number, text): the function or nearby


@dataclass(frozen=True, slots=True)
class Evidence:
    """One reason a commit is a candidate; ``weight`` is its share of the score."""

    kind: str
    detail: str
    weight: int


@dataclass(frozen=True, slots=True)
class StableBackport:
    """The same fix in a stable branch: the backport commit and its first stable tag."""

    commit: str
    branch: str
    first_release: str | None
    in_base: bool = False


@dataclass(frozen=True, slots=True)
class FixCandidate:
    commit: str
    subject: str
    score: int
    evidence: tuple[Evidence, ...]
    first_release: str | None  # first final release tag containing it (v3.18)
    stable_backports: tuple[StableBackport, ...] = ()
    first_tag: str | None = None  # first tag of any kind containing it (v3.18-rc1)
    author_date: int = 0


@dataclass(frozen=True, slots=True)
class FixReport:
    """The ``kmend fixes --json`` document."""

    base: str
    file: str
    function: str | None
    line: int | None
    source_line: str | None
    candidates: tuple[FixCandidate, ...]
    head: str = ""
    base_commit: str = ""
    release: str | None = None
    source: SourceAtCrash | None = None
    stable_branch: str | None = None
    touching_commits: int = 0  # commits after the base that change the file
    warnings: tuple[str, ...] = field(default=())
    checks: tuple[str, ...] = ()  # commands to see whether the distro kernel has a fix
