"""Evidence rules on hand-made commits (pure: no git)."""

from __future__ import annotations

from kmend.fixes.evidence import Facts, evidence
from kmend.fixes.history import FileCommit, Hunk
from kmend.fixes.model import CrashSite
from kmend.fixes.source import source_at_crash

SRC = """\
static int bind_port(struct user *u, int port)
{
\tint rc = 0;

\tBUG_ON(owner(port) != NULL);
\tset_owner(port, u);
\treturn rc;
}
"""
BLAMED = "b" * 40
OTHER = "c" * 40
NEWER = "d" * 40


def facts(**kw: object) -> Facts:
    site = CrashSite(file="drivers/x/port.c", function="bind_port", line=5,
                     title="kernel BUG in bind_port", trace_functions=("port_ioctl",))
    f = Facts(site=site, source=source_at_crash(SRC, site.file, "v1", 5, "bind_port"))
    f.line_texts = {"BUG_ON(owner(port) != NULL);"}
    f.blamed_line = {BLAMED}
    f.blamed_function = {BLAMED, OTHER}
    f.fixes_targets = {BLAMED[:12]: BLAMED, OTHER[:12]: OTHER, NEWER[:12]: NEWER}
    f.reachable = {BLAMED: True, OTHER: True, NEWER: False}
    for key, value in kw.items():
        setattr(f, key, value)
    return f


def commit(sha: str, body: str, *hunks: Hunk) -> FileCommit:
    return FileCommit(sha * 40, ("p" * 40,), 0, body.split("\n", maxsplit=1)[0], body, hunks)


def kinds(c: FileCommit, f: Facts) -> dict[str, int]:
    f.file_commits.add(c.sha)
    return {e.kind: e.weight for e in evidence(c, f)}


def test_removing_changing_and_moving_the_line() -> None:
    removed = commit("1", "x: drop the assertion", Hunk(5, 1, 4, 0, "", (
        "\tBUG_ON(owner(port) != NULL);",), ()))
    assert kinds(removed, facts())["removes-line"] == 50
    changed = commit("2", "x: relax", Hunk(5, 1, 5, 1, "", (
        "\tBUG_ON(owner(port) != NULL);",), ("\tBUG_ON(owner(port) && owner(port) != u);",)))
    f = facts()
    assert "changes-condition" in kinds(changed, f)
    # The rewritten line is followed: a later commit removing it still counts.
    later = commit("3", "x: drop", Hunk(5, 1, 4, 0, "", (
        "\tBUG_ON(owner(port) && owner(port) != u);",), ()))
    assert "removes-line" in kinds(later, f)
    moved = commit("4", "x: reindent", Hunk(5, 1, 5, 1, "", (
        "\tBUG_ON(owner(port) != NULL);",), ("\tBUG_ON(owner(port)  !=  NULL);",)))
    assert set(kinds(moved, facts())) == {"moves-line", "touches-file"}


def test_fixes_tags_are_weighed_by_what_they_name() -> None:
    body = "x: fix\n\nFixes: {} (\"x: add\")\n"
    assert "fixes-blamed" in kinds(commit("5", body.format(BLAMED[:12])), facts())
    assert "fixes-function" in kinds(commit("6", body.format(OTHER[:12])), facts())
    newer = kinds(commit("7", body.format(NEWER[:12])), facts())
    assert newer["fixes-newer"] < 0
    unknown = kinds(commit("8", body.format("0123456789ab")), facts())
    assert set(unknown) == {"touches-file"}


def test_messages_quoting_the_crash_and_naming_functions() -> None:
    body = ("x: fix\n\n  kernel BUG in bind_port\nseen from port_ioctl()\n"
            "Cc: stable@vger.kernel.org\n")
    got = kinds(commit("9", body), facts())
    assert {"quotes-title", "names-function", "names-caller", "cc-stable"} <= set(got)
    plain = kinds(commit("a", "x: unrelated cleanup\n\nbind_ports() is not bind_port.\n"),
                  facts())
    assert "names-function" in plain  # the exact word bind_port is there
    assert "names-function" not in kinds(commit("b", "x: tidy bind_ports()\n"), facts())


def test_changes_next_to_the_line() -> None:
    parent = SRC.splitlines()
    near = commit("c", "x: count", Hunk(5, 0, 6, 1, "", (), ("\tu->binds++;",)))
    far = commit("d", "x: elsewhere", Hunk(30, 1, 30, 1, "", ("a",), ("b",)))
    f = facts(parent_lines={near.sha: parent, far.sha: parent})
    assert "near-line" in kinds(near, f)
    assert "near-line" not in kinds(far, f)
