"""The shape of the package: data flows one way between stages, and nothing test-only ships."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "kmend"


def _imports() -> dict[str, set[str]]:
    """package → the kmend packages its modules import (module level or inside functions)."""
    graph: dict[str, set[str]] = {}
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).parts
        pkg = rel[0] if len(rel) > 1 else rel[0].removesuffix(".py")
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                parts = name.split(".")
                if parts[0] == "kmend" and len(parts) > 1 and parts[1] != pkg:
                    graph.setdefault(pkg, set()).add(parts[1])
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycle_between_packages() -> None:
    graph = _imports()
    assert "oops" in graph.get("triage", set())  # the graph is really read
    assert _cycle(graph) is None, " → ".join(_cycle(graph) or [])


#: The one place a stage calls a later one: the backport stage compile-probes candidate
#: revisions with the build stage's runner and checks the result with the load check;
#: nothing flows back (the probes' verdicts are the backport's own data).
SERVICES = {("backport", "build"), ("backport", "loadcheck")}


def test_the_stages_flow_one_way() -> None:
    """logs → oops → triage → … → install: an earlier stage never imports a later one."""
    order = ["logs", "oops", "triage", "fixes", "backport", "build", "loadcheck", "install"]
    graph = _imports()
    for i, stage in enumerate(order):
        later = {s for s in set(order[i + 1:]) & graph.get(stage, set())
                 if (stage, s) not in SERVICES}
        assert not later, f"kmend.{stage} imports later stage(s) {sorted(later)}"


def test_only_the_cli_uses_the_report_layer() -> None:
    users = {pkg for pkg, deps in _imports().items() if "report" in deps}
    assert users <= {"cli"}, sorted(users)


def test_revisions_are_shown_one_way() -> None:
    from kmend.revs import short_rev

    full = "73cc4bb0c79eabcdef0123456789abcdef012345"
    assert short_rev(full) == "73cc4bb0c79e"
    assert short_rev("v6.1.170+fix") == "v6.1.170+fix"
    # no other place cuts a revision to a width of its own
    cuts = [p for p in SRC.rglob("*.py")
            for line in p.read_text().splitlines() if ".rev[:" in line]
    assert cuts == []


def test_comments_point_at_nothing_outside_the_repository() -> None:
    """The rule is written where it is used, not in a document beside the clone."""
    repo = SRC.parents[1]
    pointers = ("../shared", "DESIGN.md", "reference/", "crash-formats", "corpus/README",
                "corpus README", "issue #", "lab.md", "§")
    found = [f"{p.relative_to(repo)}: {word}"
             for top in ("src/kmend", "scripts", "bench", "ansible", ".ci")
             for p in (repo / top).rglob("*") if p.is_file() and p.suffix in
             {".py", ".sh", ".yml", ".md", ".j2", ""} and "egg-info" not in str(p)
             for word in pointers if word in p.read_text(errors="replace")]
    # tests read data beside the clone (the corpus, the bundles, syzparse), so "../shared"
    # may name where that data is; the documents there are still not cited
    found += [f"{p.relative_to(repo)}: {word}"
              for p in (repo / "tests").rglob("*.py") if p.name != "test_house.py"
              for word in pointers[1:] if word in p.read_text(errors="replace")]
    assert found == []
