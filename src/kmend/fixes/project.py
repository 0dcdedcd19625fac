"""Find the fix of a crash in an out-of-tree module project's history.

A crash in an out-of-tree module rarely names a source line (the module is built without
debug info), and a WARNING may even be raised in an in-tree module the project misused.
So the search starts from functions, not from a file:line:

* **crash functions** — the function the crash names (and ``--function``), where the
  project defines it;
* **callers** — project functions whose body calls a crash function (two levels up);
* **handlers** — for a function of in-tree code (``v4l_querycap`` in videodev), the
  project's functions named after the same operation (``vidioc_querycap``): in-tree
  dispatchers call a driver's operation of the same name (not for a generic verb that
  more than three project functions end in, ``_register``);
* **the call trace** — the project's functions among the trace's frames.

Candidates are the commits after the base (``BASE..HEAD``) that change the project's
source files.  Evidence (weights below, score = sum; ties go to the older commit, so the
first commit that fixed the crash comes first):

==================  ======  ============================================================
kind                weight  meaning
==================  ======  ============================================================
issue                 +40   its message references the issue given with ``--issue``
quotes-title          +25   its message quotes the crash title or header
kernel-series         +25   it adds a ``KERNEL_VERSION(X, Y, …)`` conditional for the
                            crashed kernel's series X.Y (a port to the kernel that crashed)
                            when the crash was raised in in-tree code (an API the kernel
                            changed); +8 when it was raised in the project's own code
fixes-base            +20   its ``Fixes:`` names a commit the base contains
changes-function      +15   it changes a crash function
changes-caller        +12   it changes a caller, a handler or a call-trace function of a
                            crash function (only the strongest change-kind counts)
changes-caller2        +6   it changes a caller of a caller
names-function        +10   its message names a crash function
names-caller           +6   its message names a caller, handler or call-trace function
names-caller2          +3   its message names only callers of callers
names-kernel          +10   its message names the crashed kernel's series ("5.4")
names-words        +4 each  its message names words of the crash path's function names
                            (``suspend``, ``radio`` of ``xone_mt76_suspend_radio``; not
                            the project's prefixes), at most three
references-issue       +3   its message references an issue (``#79``, ``…/issues/79``)
release-branch         +5   it was picked onto a release branch that contains the base
                            (same subject, or "cherry picked from commit" it)
touches-source         +1   it changes the project's sources (every candidate)
fixes-newer           -15   its ``Fixes:`` names only commits the base does not contain
bulk                  -15   it changes more than 40 files or 5000 lines (an import, a
                            reformat, a new upstream drop): fixes are targeted
reverted              -30   a later commit reverts it
==================  ======  ============================================================
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from kmend.fixes import history
from kmend.fixes.history import FileCommit
from kmend.fixes.model import Evidence, FixCandidate
from kmend.fixes.source import definitions
from kmend.source.git import GitRepo, read_blobs, resolve_many
from kmend.source.project import Project

WEIGHTS: dict[str, int] = {
    "issue": 40, "quotes-title": 25, "kernel-series": 25, "fixes-base": 20,
    "changes-function": 15, "changes-caller": 12, "changes-caller2": 6,
    "names-function": 10, "names-caller": 6, "names-caller2": 3, "bulk": -15,
    "names-kernel": 10, "names-words": 4, "kernel-series-own": 8,
    "references-issue": 3, "release-branch": 5, "touches-source": 1,
    "fixes-newer": -15, "reverted": -30,
}
MAX_FILES = 2000
#: More project functions than this ending in an operation's name: the name is a generic
#: verb, not one operation.
MAX_HANDLERS = 3
#: A commit changing more files or lines than these is a bulk change.
BULK_FILES = 40
BULK_LINES = 5000
_KV_RE = re.compile(r"KERNEL_VERSION\s*\(\s*(\d+)\s*,\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)")
_ISSUE_RE = re.compile(r"(?:#|/issues/|/pull/)(\d+)\b")
_RELEASE_BRANCH_RE = re.compile(
    r"^(?:release|stable|maint|branch)[-/_]?v?\d+(?:\.\d+)*(?:\.x)?$|^v?\d+\.\d+(?:\.x|\.y)$")
Progress = Callable[[str], None]


def is_release_branch(name: str) -> bool:
    """``release/v0.10``, ``stable-1.2``, ``0.12.x``, ``v1.2.y``: a project's stable branch
    (also under a remote, ``origin/release/v0.10``)."""
    parts = name.split("/")
    return any(_RELEASE_BRANCH_RE.match("/".join(parts[i:])) for i in range(len(parts)))


def release_branches(repo: GitRepo) -> list[str]:
    out = repo.git("for-each-ref", "--format=%(refname:short)", "refs/heads",
                   "refs/remotes").stdout.split()
    return [r for r in out if is_release_branch(r.removeprefix("origin/"))]


def issue_number(spec: str | None) -> str | None:
    """The issue number of ``--issue 248`` or ``--issue https://…/issues/248``."""
    if not spec:
        return None
    m = re.search(r"(?:^#?|/issues/|/pull/)(\d+)/?$", spec.strip())
    return m.group(1) if m else None


@dataclass(frozen=True, slots=True)
class ProjectCrash:
    """What the search starts from."""

    functions: tuple[str, ...]  # the crashing function first (then --function)
    trace: tuple[str, ...] = ()  # other functions of the call trace
    texts: tuple[str, ...] = ()  # title and header line
    kernel: tuple[int, int, int] | None = None  # the crashed kernel's version
    issue: str | None = None  # issue number given by the user
    file: str | None = None  # --file: only functions of this file


@dataclass
class Targets:
    """Project functions the crash points at: name → (role, file)."""

    roles: dict[str, tuple[str, str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    words: tuple[str, ...] = ()  # distinctive words of the crash path's function names

    def add(self, name: str, role: str, path: str) -> None:
        if name not in self.roles:
            self.roles[name] = (role, path)


def _strip(name: str) -> str:
    return name.split(".", 1)[0].lstrip("_")


def _operation(name: str) -> str | None:
    """``v4l_querycap`` → ``querycap``: the operation an in-tree dispatcher is named after."""
    parts = _strip(name).split("_", 1)
    return parts[1] if len(parts) == 2 and len(parts[1]) >= 5 else None


def locate_functions(texts: dict[str, str], crash: ProjectCrash) -> Targets:
    """Where the crash's functions, their callers and handlers are in the project files."""
    t = Targets()
    defs: dict[str, list[tuple[str, int, int]]] = {}
    lines_of = {p: text.splitlines() for p, text in texts.items()}
    for path, lines in lines_of.items():
        if path.endswith((".c", ".h")):
            for name, first, last in definitions(lines):
                defs.setdefault(name, []).append((path, first, last))
    wanted = [_strip(f) for f in crash.functions if f]
    crash_names: list[str] = []
    for name in wanted:
        for path, _, _ in defs.get(name, []):
            if crash.file is None or path == crash.file or path.endswith("/" + crash.file):
                t.add(name, "crash function", path)
                crash_names.append(name)
    for name in (_strip(f) for f in crash.trace):
        for path, _, _ in defs.get(name, [])[:1]:
            t.add(name, "in the call trace", path)
    in_tree = [n for n in wanted if n not in crash_names]
    for name in in_tree:
        op = _operation(name)
        if op is None:
            continue
        named = [o for o in defs if o != name and (o.endswith("_" + op) or o == op)]
        if len(named) > MAX_HANDLERS:
            continue  # a generic verb (``_register``, ``_init``): names no one operation
        for other in named:
            t.add(other, f"handler of {name}() (same operation)", defs[other][0][0])
    level1 = list(dict.fromkeys([*crash_names, *wanted]))
    found1 = _callers(defs, lines_of, level1, t, "caller")
    _callers(defs, lines_of, found1, t, "caller of a caller")
    t.words = _path_words([*wanted, *t.roles], list(defs))
    return t


def _path_words(path: Sequence[str], every: Sequence[str]) -> tuple[str, ...]:
    """Words of the crash path's function names that are not the project's prefixes (a
    word leading more than three of its function names, ``xone``, ``mt76``, ``dongle``)
    and not too short."""
    leading: dict[str, int] = {}
    for name in every:
        for w in set(_strip(name).lower().split("_")[:2]):
            leading[w] = leading.get(w, 0) + 1
    out: list[str] = []
    for name in path:
        for w in _strip(name).lower().split("_"):
            if len(w) >= 4 and w.isalpha() and leading.get(w, 0) <= 3 and w not in out:
                out.append(w)
    return tuple(out)


def _callers(defs: dict[str, list[tuple[str, int, int]]], lines_of: dict[str, list[str]],
             callees: Sequence[str], t: Targets, role: str) -> list[str]:
    """Project functions whose body calls one of *callees*; added to *t* with *role*."""
    found: list[str] = []
    for callee in callees:
        call = re.compile(rf"\b_*{re.escape(_strip(callee))}\s*\(")
        for name, places in defs.items():
            if name in t.roles:
                continue
            for path, first, last in places:
                if call.search("\n".join(lines_of[path][first:last])):
                    t.add(name, f"{role} of {callee}()", path)
                    found.append(name)
                    break
    return found


def _evidence(c: FileCommit, crash: ProjectCrash, targets: Targets, *,
              fixes_targets: dict[str, str | None], reachable: dict[str, bool],
              reverted_by: dict[str, str]) -> list[Evidence]:
    ev: list[Evidence] = []
    message = f"{c.subject}\n{c.body}"

    def add(kind: str, detail: str) -> None:
        ev.append(Evidence(kind, detail, WEIGHTS[kind]))

    if crash.issue and re.search(rf"(?:#|/issues/|/pull/|issue\s+){crash.issue}\b", message,
                                 re.IGNORECASE):
        add("issue", f"references issue {crash.issue} (--issue)")
    elif (m := _ISSUE_RE.search(message)) is not None:
        add("references-issue", f"references an issue ({m.group(0)})")
    quoted = next((t for t in crash.texts if t and history.message_quotes(t, message)), None)
    if quoted:
        add("quotes-title", f'message quotes the crash: "{quoted}"')
    if crash.kernel is not None:
        series = crash.kernel[:2]
        added = "\n".join(c.added)
        kvs = {(int(a), int(b), int(s or 0)) for a, b, s in _KV_RE.findall(added)}
        hit = sorted(v for v in kvs if v[:2] == series and v <= crash.kernel)
        if hit:
            own = any(r == "crash function" for r, _ in targets.roles.values())
            version = ", ".join(map(str, hit[0]))
            add("kernel-series-own" if own else "kernel-series",
                f"adds a KERNEL_VERSION({version}) conditional: code for the crashed "
                f"kernel's series {series[0]}.{series[1]}")
        if re.search(rf"(?<![\d.]){series[0]}\.{series[1]}(?![\d])(?:\.\d+)?\+?", message) \
                and re.search(r"\b(?:kernel|linux)\b", message, re.IGNORECASE):
            add("names-kernel", f"message names kernel {series[0]}.{series[1]}")
    changed: dict[str, str] = {}
    for h in c.hunks:
        heads = [h.context, *(x for x in (*h.removed, *h.added) if x[:1].isalpha())]
        for name, (role, _) in targets.roles.items():
            if name not in changed and any(re.search(rf"\b{re.escape(name)}\s*\(", x)
                                           for x in heads):
                changed[name] = role
    if changed:  # the strongest only: a commit rewriting everything is no better a fix
        rank = {"changes-function": 0, "changes-caller": 1, "changes-caller2": 2}

        def kind(role: str) -> str:
            if role == "crash function":
                return "changes-function"
            return "changes-caller2" if role.startswith("caller of a caller") else \
                "changes-caller"

        name, role = min(changed.items(), key=lambda kv: rank[kind(kv[1])])
        more = f" (and {len(changed) - 1} more of the crash path)" if len(changed) > 1 else ""
        add(kind(role), f"changes {name}(), " + ("the crashing function" if role ==
                                                  "crash function" else role) + more)
    named = [_strip(f) for f in crash.functions
             if f and re.search(rf"\b_*{re.escape(_strip(f))}\b", message)]
    if named:
        add("names-function", f"message names {named[0]}(), the crashing function")
    else:
        near = [(n, r) for n, (r, _) in targets.roles.items()
                if re.search(rf"\b{re.escape(n)}\b", message)]
        if near:
            far = all(r.startswith("caller of a caller") for _, r in near)
            add("names-caller2" if far else "names-caller",
                f"message names {near[0][0]}(), {near[0][1]}")
    # Prose only: identifiers (``drm_fb_helper``, ``foo()``) are code references, and a
    # named function's words are already counted by names-function.
    prose = re.sub(r"\b\w*_\w*\b|\b\w+\(\)", " ", message)
    words = [w for w in targets.words if re.search(
        rf"{w}" if len(w) >= 5 else rf"\b{w}\b", prose, re.IGNORECASE)]
    for w in words[:3]:
        add("names-words", f"message names '{w}' of the crash path")
    out_fixes: list[str] = []
    for abbrev, _ in history.fixes_tags(c.body):
        target = fixes_targets.get(abbrev)
        if target is None:
            continue
        if reachable.get(target):
            add("fixes-base", f"Fixes: {abbrev[:12]}, a commit the base contains")
        else:
            out_fixes.append(abbrev[:12])
    if out_fixes and not any(e.kind == "fixes-base" for e in ev):
        add("fixes-newer", f"Fixes: {', '.join(out_fixes)}, not in the base")
    if c.sha in reverted_by:
        add("reverted", f"reverted by {reverted_by[c.sha][:12]}")
    lines = sum(len(h.removed) + len(h.added) for h in c.hunks)
    if len(c.paths) > BULK_FILES or lines > BULK_LINES:
        add("bulk", f"a bulk change ({len(c.paths)} files, {lines} lines): an import, "
            "a reformat or a new upstream drop, not a targeted fix")
    add("touches-source", "changes the project's sources")
    return ev


@dataclass(frozen=True)
class ProjectFixReport:
    base: str
    base_commit: str
    head: str
    head_commit: str
    targets: dict[str, tuple[str, str]]
    candidates: tuple[FixCandidate, ...]
    touching_commits: int
    release_branches: tuple[str, ...]
    notes: tuple[str, ...] = ()


def find_project_fixes(repo: GitRepo, project: Project, base: tuple[str, str],
                       head: tuple[str, str], crash: ProjectCrash, *, limit: int = 10,
                       progress: Progress = lambda _m: None) -> ProjectFixReport:
    """Rank the commits of ``base..head`` that change *project*'s sources."""
    base_name, base_sha = base
    head_name, head_sha = head
    root = project.root
    files = repo.git("ls-tree", "-r", "-z", "--name-only", base_sha,
                     *(["--", root + "/"] if root else [])).stdout.split("\0")
    sources = [p for p in files if p.endswith((".c", ".h"))][:MAX_FILES]
    progress(f"reading {len(sources)} source file(s) of {project.name} at {base_name}")
    blobs = read_blobs(repo, [f"{base_sha}:{p}" for p in sources])
    texts = {p: t for p in sources if (t := blobs.get(f"{base_sha}:{p}")) is not None}
    targets = locate_functions(texts, crash)
    notes = list(targets.notes)
    pathspec = [f"{root}/*.{ext}" if root else f"*.{ext}" for ext in ("c", "h", "S")]
    out = repo.git("log", "-p", "-U0", "--no-color", "--no-ext-diff", "--no-renames",
                   f"--format={history.LOG_FORMAT}", f"{base_sha}..{head_sha}", "--",
                   *pathspec).stdout
    commits = history.parse_log_with_patches(out)
    abbrevs = [a for c in commits for a, _ in history.fixes_tags(c.body)]
    fixes_targets = resolve_many(repo, abbrevs)
    reachable = {t: repo.is_ancestor(t, base_sha) for t in {v for v in fixes_targets.values()
                                                             if v}}
    shas = [c.sha for c in commits]
    reverted_by: dict[str, str] = {}
    for c in commits:
        for ref in history.reverted(c.body):
            hit = [s for s in shas if s.startswith(ref)]
            if len(hit) == 1:
                reverted_by[hit[0]] = c.sha
    branches = tuple(release_branches(repo))
    picked = _picked(repo, base_sha, branches, pathspec)
    cands: list[FixCandidate] = []
    for c in commits:
        ev = _evidence(c, crash, targets, fixes_targets=fixes_targets, reachable=reachable,
                       reverted_by=reverted_by)
        pick = picked.get(c.sha) or picked.get(c.subject)
        if pick is not None and pick[0] != c.sha:
            ev.append(Evidence("release-branch", f"picked onto {pick[1]} as {pick[0][:12]}",
                               WEIGHTS["release-branch"]))
        cands.append(FixCandidate(commit=c.sha, subject=c.subject,
                                  score=sum(e.weight for e in ev),
                                  evidence=tuple(sorted(ev, key=lambda e: -e.weight)),
                                  first_release=None, author_date=c.author_date))
    order = {sha: i for i, sha in enumerate(reversed(shas))}  # topological, oldest first
    cands.sort(key=lambda k: (-k.score, order[k.commit]))
    top = cands[:limit] if limit > 0 else cands
    top = [_with_tag(repo, c) for c in top]
    return ProjectFixReport(base=base_name, base_commit=base_sha, head=head_name,
                            head_commit=head_sha, targets=dict(targets.roles),
                            candidates=tuple(top), touching_commits=len(commits),
                            release_branches=branches,
                            notes=tuple(notes))


def _picked(repo: GitRepo, base_sha: str, branches: Sequence[str],
            pathspec: Sequence[str]) -> dict[str, tuple[str, str]]:
    """Commits on the release branches that contain the base, after the base: keyed by the
    commit they were cherry-picked from and by subject → (their sha, the branch)."""
    out: dict[str, tuple[str, str]] = {}
    for branch in branches:
        if not repo.is_ancestor(base_sha, branch):
            continue
        for c in history.parse_log_with_patches(repo.git(
                "log", f"--format={history.LOG_FORMAT}", f"{base_sha}..{branch}", "--",
                *pathspec).stdout):
            out.setdefault(c.subject, (c.sha, branch))
            for up in history.upstream_refs(c.body):
                full = repo.git("rev-parse", "--verify", "--quiet", f"{up}^{{commit}}",
                                check=False).stdout.strip()
                if full:
                    out.setdefault(full, (c.sha, branch))
    return out


def _with_tag(repo: GitRepo, cand: FixCandidate) -> FixCandidate:
    from dataclasses import replace

    from kmend.source.versions import project_tags

    containing = set(repo.git("tag", "--contains", cand.commit).stdout.split())
    tags = [t.name for t in project_tags(repo) if t.name in containing]
    first = tags[0] if tags else None
    return replace(cand, first_tag=first, first_release=first)


def describe(report: ProjectFixReport, say: Progress, shown: int = 3) -> None:
    """The search's findings, as ``kmend run`` prints them."""
    for name, (role, path) in list(report.targets.items())[:8]:
        say(f"{name}() in {path}: {role}")
    if not report.targets:
        say("no function of the crash is defined in the project: candidates are ranked by "
            "their messages and kernel-version changes only")
    for rank, cand in enumerate(report.candidates[:shown], 1):
        say(f"#{rank} score {cand.score} {cand.commit[:12]} {cand.subject!r}, first release "
            f"{cand.first_release or 'unreleased'}")
        for e in cand.evidence:
            if e.kind != "touches-source":
                say(f"     {e.detail}")
