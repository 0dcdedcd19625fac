"""Pure parsing in kmend.fixes: source at the crash, commit messages, patches, tags."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kmend.cli import main
from kmend.errors import InputError
from kmend.fixes import history
from kmend.fixes.crash import site_from_log
from kmend.fixes.source import assertion_at, enclosing_function, source_at_crash
from kmend.fixes.tags import parse_tag

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "w-xen09-messages.log"

C_FILE = """\
/* a small file written for this test */
#include <linux/bug.h>

static int helper(int x)
{
\treturn x + 1;
}

static long
frob_the_widget(struct widget *w,
\t\tint port)
{
\tint rc = 0;

\tWARN(w->busy && port > 3,
\t     "busy widget %p\\n", w);
\tif (port < 0 ||
\t    port > 10)
\t\tBUG();
\tBUG_ON(lookup(port, (w->flags & 1)) != NULL);
\treturn rc;
}
"""
LINES = C_FILE.splitlines()


def test_enclosing_function_over_a_multiline_signature() -> None:
    assert enclosing_function(LINES, 20) == ("frob_the_widget", 9, 22)
    assert enclosing_function(LINES, 6) == ("helper", 4, 7)
    assert enclosing_function(LINES, 2) is None


def test_assertions_and_their_conditions() -> None:
    assert assertion_at(LINES, 20) == ("BUG_ON", "lookup(port, (w->flags & 1)) != NULL")
    assert assertion_at(LINES, 15) == ("WARN", "w->busy && port > 3")
    assert assertion_at(LINES, 19) == ("BUG", "port < 0 || port > 10")
    assert assertion_at(LINES, 13) is None


def test_source_at_crash_by_line_and_by_function() -> None:
    at_line = source_at_crash(C_FILE, "x.c", "v1.0", 20, None)
    assert at_line.function == "frob_the_widget"
    assert at_line.text == "\tBUG_ON(lookup(port, (w->flags & 1)) != NULL);"
    assert at_line.assertion == "BUG_ON"
    assert (17, "\tif (port < 0 ||") in at_line.context
    by_name = source_at_crash(C_FILE, "x.c", "v1.0", None, "helper")
    assert (by_name.function_start, by_name.function_end) == (4, 7)
    assert by_name.text is None


BACKPORT = """\
xen/evtchn: do the thing

commit 73cc4bb0c79eabcdef0123456789abcdef012345 upstream.

Body text mentioning Fixes: in prose should not count.

Fixes: 1234567890ab ("xen/evtchn: the bad commit")
fixes: abcdef012345
Cc: <stable@vger.kernel.org> # 3.10.x
Signed-off-by: A <a@example.org>
"""


def test_message_parsing() -> None:
    assert history.fixes_tags(BACKPORT) == [("1234567890ab", "xen/evtchn: the bad commit"),
                                            ("abcdef012345", None)]
    assert history.upstream_refs(BACKPORT) == ["73cc4bb0c79eabcdef0123456789abcdef012345"]
    assert history.upstream_refs("[ Upstream commit 0123456789abcdef ]\n") == \
        ["0123456789abcdef"]
    assert history.upstream_refs("(cherry picked from commit 0123456789abcdef)") == \
        ["0123456789abcdef"]
    assert history.cc_stable(BACKPORT)
    assert not history.cc_stable("Cc: someone@example.org\n")
    assert history.reverted('This reverts commit 0123456789abcdef0123.\n') == \
        ["0123456789abcdef0123"]


def test_log_with_patches_parsing() -> None:
    out = ("\x00" + "a" * 40 + "\x1f" + "b" * 40 + "\x1f1400000000\x1fsubj\x1fsubj\n\nbody\n"
           "\x1e\ndiff --git a/f.c b/f.c\n--- a/f.c\n+++ b/f.c\n"
           "@@ -264 +263,0 @@ static int evtchn_bind_to_user(struct per_user_data *u)\n"
           "-\tBUG_ON(x);\n@@ -300,2 +299,2 @@\n-a\n-b\n+c\n+--d\n")
    [c] = history.parse_log_with_patches(out)
    assert c.sha == "a" * 40 and c.parents == ("b" * 40,) and c.author_date == 1400000000
    assert c.body == "subj\n\nbody"
    assert c.hunks[0].context.startswith("static int evtchn_bind_to_user")
    assert c.removed == ("\tBUG_ON(x);", "a", "b")
    assert c.added == ("c", "--d")


def test_tag_order() -> None:
    names = ["v3.18", "v3.10.25", "v3.18-rc1", "v3.9", "v3.10", "v3.18-rc10", "v3.10.3"]
    ordered = sorted(t for t in map(parse_tag, names) if t is not None)
    assert [t.name for t in ordered] == ["v3.9", "v3.10", "v3.10.3", "v3.10.25", "v3.18-rc1",
                                         "v3.18-rc10", "v3.18"]
    assert parse_tag("for-linus") is None
    assert parse_tag("v3.10.1-rc1") is None


def test_crash_site_cleans_untrusted_names() -> None:
    import pytest

    from kmend.errors import InputError
    from kmend.fixes.model import CrashSite

    site = CrashSite(file="./drivers/xen/evtchn.c", function="evtchn_ioctl.isra.3",
                     trace_functions=("do_vfs_ioctl", "bad name!", "evtchn_ioctl.cold"))
    assert site.file == "drivers/xen/evtchn.c"
    assert site.function == "evtchn_ioctl"
    assert site.trace_functions == ("do_vfs_ioctl", "evtchn_ioctl")
    for bad in ("../etc/passwd", "/abs/path.c", ":(glob)**", "a//b.c", ""):
        with pytest.raises(InputError):
            CrashSite(file=bad, function="f")
    with pytest.raises(InputError):
        CrashSite(file="a.c", function="-Lfoo:bar")


def test_touches_span_and_first_final() -> None:
    from kmend.fixes.history import FileCommit, Hunk
    from kmend.fixes.tags import first_final

    def commit(*hunks: Hunk) -> FileCommit:
        return FileCommit("c" * 40, ("p" * 40,), 0, "s", "", hunks)

    inside = Hunk(260, 1, 260, 0, "", ("x",), ())
    before = Hunk(100, 3, 100, 3, "", ("a",), ("b",))
    insert_in = Hunk(270, 0, 271, 2, "", (), ("y", "z"))
    insert_after = Hunk(280, 0, 281, 1, "", (), ("w",))
    assert history.touches_span(commit(inside), (255, 280))
    assert not history.touches_span(commit(before), (255, 280))
    assert history.touches_span(commit(before, insert_in), (255, 280))
    assert not history.touches_span(commit(insert_after), (255, 280))
    overlap = Hunk(250, 6, 250, 1, "", ("a",) * 6, ("b",))
    assert history.touches_span(commit(overlap), (255, 280))

    tags = [t for t in map(parse_tag, ["v3.17", "v3.18-rc1", "v3.18", "v3.19-rc1"]) if t]
    assert first_final("v3.18-rc1", tags) == "v3.18"
    assert first_final("v3.19-rc1", tags) is None
    assert first_final("v3.10.25", tags) == "v3.10.25"
    assert first_final("v3.17", tags) == "v3.17"


def test_message_quotes_a_crash_across_versions() -> None:
    message = ("xen/evtchn: fix it\n\nSeen on 3.12:\n  kernel BUG at drivers/xen/evtchn.c:271!\n"
               "  RIP: evtchn_bind_to_user+0xa8/0xb0 [xen_evtchn]\n")
    assert history.message_quotes("kernel BUG at drivers/xen/evtchn.c:264!", message)
    assert history.message_quotes("RIP: evtchn_bind_to_user+0xb8/0xc0", message)
    assert not history.message_quotes("kernel BUG at drivers/xen/events.c:264!", message)
    assert not history.message_quotes("BUG", message)  # too short to mean anything



def test_a_crash_without_file_and_line_names_options_that_exist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The hint named "--log", an option `kmend fixes -h` does not list.  The crash: the
    # example with its BUG line's number made unreadable (5000 digits: no file:line).
    log = tmp_path / "messages"
    log.write_text(EXAMPLE.read_text().replace("evtchn.c:264!", "evtchn.c:" + "7" * 5000 + "!"))
    with pytest.raises(InputError) as err:
        site_from_log([log], None)
    assert main(["fixes", "-h"]) == 0
    help_text = capsys.readouterr().out
    named = re.findall(r"--[a-z-]+", err.value.hint)
    assert named and all(f"{option} " in help_text for option in named), named
