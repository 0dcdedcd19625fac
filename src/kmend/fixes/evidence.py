"""Evidence: why one commit is believed to fix the crash (weights in :mod:`.score`).

:class:`Facts` holds what the search learned about the base (the crash line and function,
who wrote them, which commits change the function, where ``Fixes:`` ids point);
:func:`evidence` turns one commit of the file's history into its list of
:class:`~kmend.fixes.model.Evidence`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kmend.fixes import history
from kmend.fixes.history import FileCommit
from kmend.fixes.model import CrashSite, Evidence, SourceAtCrash
from kmend.fixes.score import weight

_ASSERT_RE = re.compile(r"\b(?:BUG_ON|BUG|WARN_ON_ONCE|WARN_ON|WARN_ONCE|WARN|VM_BUG_ON)\s*\(")


def norm(text: str) -> str:
    return " ".join(text.split())


@dataclass
class Facts:
    """What the search learned about the base, shared by every candidate's scoring."""

    site: CrashSite
    source: SourceAtCrash
    blamed_line: set[str] = field(default_factory=set)
    blamed_function: set[str] = field(default_factory=set)
    function_commits: set[str] | None = None
    fixes_targets: dict[str, str | None] = field(default_factory=dict)
    reachable: dict[str, bool] = field(default_factory=dict)
    reverted_by: dict[str, str] = field(default_factory=dict)
    line_texts: set[str] = field(default_factory=set)
    function_how: str = ""
    file_commits: set[str] = field(default_factory=set)
    blamed_subjects: dict[str, str] = field(default_factory=dict)
    spans: dict[str, tuple[int, int] | None] = field(default_factory=dict)
    parent_lines: dict[str, list[str]] = field(default_factory=dict)
    backported_as: dict[str, str] = field(default_factory=dict)  # upstream → its backport


def _quote_evidence(c: FileCommit, f: Facts) -> list[Evidence]:
    out: list[Evidence] = []
    message = f"{c.subject}\n{c.body}"
    site = f.site
    quoted = next((t for t in (site.title, *site.alt_titles)
                   if t and history.message_quotes(t, message)), None)
    if quoted:
        out.append(Evidence("quotes-title", f'message quotes the crash: "{quoted}"',
                            weight("quotes-title")))
    elif f.source.function and f"{site.file}:" in message and f.source.function in message:
        out.append(Evidence("quotes-site", f"message quotes a crash report at {site.file} "
                            f"in {f.source.function}()", weight("quotes-site")))
    fn = f.source.function or site.function
    if fn and re.search(rf"\b{re.escape(fn)}\b", message):
        out.append(Evidence("names-function", f"message names {fn}()", weight("names-function")))
    callers = [t for t in site.trace_functions if t != fn
               and re.search(rf"\b{re.escape(t)}\b", message)]
    for name in callers[:2]:
        out.append(Evidence("names-caller", f"message names {name}() from the call trace",
                            weight("names-caller")))
    return out


def _assertion_evidence(c: FileCommit, f: Facts) -> list[Evidence]:
    """Without a crash line: the commit deletes a BUG/WARN assertion inside the function."""
    span = f.spans.get(c.sha)
    fn = f.source.function
    if span is None or not fn:
        return []
    added = {norm(a) for a in c.added}
    for h in c.hunks:
        for i, text in enumerate(h.removed):
            m = _ASSERT_RE.search(text)
            if m and span[0] <= h.old_start + i <= span[1] and norm(text) not in added:
                return [Evidence("removes-assertion", f"removes {norm(text)} from {fn}()",
                                 weight("removes-assertion"))]
    return []


def _near_line_evidence(c: FileCommit, f: Facts, reach: int = 3) -> list[Evidence]:
    """The commit changes lines within *reach* of the crashing line (found by its text in
    the commit's parent), without touching the line itself."""
    lines = f.parent_lines.get(c.sha, [])
    where = [n for n, text in enumerate(lines, 1) if norm(text) in f.line_texts]
    if any(history.touches_span(c, (n - reach, n + reach)) for n in where):
        return [Evidence("near-line", f"changes lines next to the crashing line "
                         f"{f.source.line}", weight("near-line"))]
    return []


def _line_evidence(c: FileCommit, f: Facts) -> list[Evidence]:
    src = f.source
    if src.line is None:
        return _assertion_evidence(c, f)
    if src.text is None:
        return []
    removed = {norm(r) for r in c.removed}
    hit = f.line_texts & removed
    if not hit:
        return _near_line_evidence(c, f)
    added = [a for a in c.added if a.strip()]
    if any(norm(a) in f.line_texts for a in added):
        return [Evidence("moves-line", f"moves the crashing line {src.line} unchanged",
                         weight("moves-line"))]
    where = f"line {src.line}"
    if src.assertion:
        macro = src.assertion
        rewritten = [a for a in added if re.search(rf"\b{macro}\s*\(", a)]
        if rewritten:
            f.line_texts.update(norm(a) for a in rewritten)
            return [Evidence("changes-condition",
                             f"changes the {macro} condition at {where}: "
                             f"{norm(next(iter(hit)))} → {norm(rewritten[0])}",
                             weight("changes-condition"))]
        return [Evidence("removes-line", f"removes the {macro} at {where}",
                         weight("removes-line"))]
    return [Evidence("rewrites-line", f"removes or rewrites the crashing {where}: "
                     f"{norm(src.text)}", weight("rewrites-line"))]


def _fixes_evidence(c: FileCommit, f: Facts) -> list[Evidence]:
    out: list[Evidence] = []
    newer: list[str] = []
    for abbrev, subject in history.fixes_tags(c.body):
        target = f.fixes_targets.get(abbrev)
        label = f'{abbrev[:12]} ("{subject}")' if subject else abbrev[:12]
        if target is None and subject and subject in f.blamed_subjects:
            # The id is from another tree (a distro or a rebased branch): the subject
            # names one of the commits that wrote the crash function.
            target = f.blamed_subjects[subject]
            label += " (matched by subject)"
        if target is None:
            continue
        local = f.backported_as.get(target, target)
        if local != target:
            label += f", backported to the base as {local[:12]}"
        if local in f.blamed_line:
            out.append(Evidence("fixes-blamed", f"Fixes: {label}, the commit that last changed "
                                f"line {f.source.line} at the base", weight("fixes-blamed")))
        elif local in f.blamed_function:
            out.append(Evidence("fixes-function", f"Fixes: {label}, which wrote part of "
                                f"{f.source.function}() at the base", weight("fixes-function")))
        elif f.reachable.get(target):
            out.append(Evidence("fixes-base", f"Fixes: {label}, a commit the base contains",
                                weight("fixes-base")))
        else:
            newer.append(label)
    if newer and not out:
        out.append(Evidence("fixes-newer", f"Fixes: {', '.join(newer)}, not in the base: it "
                            "fixes a bug the crashed kernel cannot have", weight("fixes-newer")))
    return out


def evidence(c: FileCommit, f: Facts) -> list[Evidence]:
    ev = _line_evidence(c, f)
    ev += _fixes_evidence(c, f)
    fn = f.source.function
    if f.function_commits is not None and c.sha in f.function_commits and fn:
        how = f" ({f.function_how})" if f.function_how else ""
        ev.append(Evidence("changes-function", f"changes {fn}(){how}",
                           weight("changes-function")))
    elif f.function_commits is None and fn and any(fn in h.context or
                                                   any(fn in x for x in h.removed + h.added)
                                                   for h in c.hunks):
        ev.append(Evidence("changes-function", f"changes {fn}() (hunk context)",
                           weight("changes-function")))
    ev += _quote_evidence(c, f)
    if history.cc_stable(c.body):
        ev.append(Evidence("cc-stable", "Cc: stable (asked for backports)", weight("cc-stable")))
    if c.sha in f.reverted_by:
        ev.append(Evidence("reverted", f"reverted by {f.reverted_by[c.sha][:12]}",
                           weight("reverted")))
    if c.sha in f.file_commits:
        ev.append(Evidence("touches-file", f"changes {f.site.file}", weight("touches-file")))
    return ev
