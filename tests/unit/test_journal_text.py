"""journalctl's multi-line records (json-pretty, verbose) next to text that only looks
like them.  Real journalctl output of every format is read in
tests/integration/test_journal_files.py; these are the edges, written from the formats."""

from __future__ import annotations

from conftest import REPO
from kmend.logs import parse_text
from kmend.logs.journaltext import MAX_RECORD_LINES
from kmend.oops import parse_reports

EXAMPLE = (REPO / "examples" / "w-xen09-messages.log").read_text()
WHERE = ("drivers/xen/evtchn.c", 264)  # the example's "kernel BUG at" line


def _where(text: str) -> list[tuple[str, int]]:
    return [(r.location.file, r.location.line) for r in parse_reports(parse_text(text))
            if r.location is not None]


def test_a_pasted_c_block_before_the_log_is_not_a_record() -> None:
    code = "static int f(void)\n{\n\treturn 0;\n}\n"
    assert _where(code + EXAMPLE) == [WHERE]
    assert _where("{\n" + EXAMPLE) == [WHERE]


def test_an_endless_json_pretty_record_is_bounded() -> None:
    fields = "".join(f'\t"F{i}" : "x",\n' for i in range(MAX_RECORD_LINES + 10))
    assert _where("{\n" + fields + EXAMPLE) == [WHERE]


def test_a_verbose_record_at_the_end_of_the_input() -> None:
    head = ("Wed 2026-12-23 00:51:38.000001 UTC [s=e6e9806368e340c8b0ff2ab3a1d8be4b;i=17;"
            "b=0123456789abcdef0123456789abcdef;m=218711a02;t=663427e497a82;x=26bc8b41c100ea68]\n")
    text = "".join(
        head + f"    _TRANSPORT=kernel\n    _HOSTNAME=w-xen09\n    MESSAGE={line.split('kernel: ', 1)[1]}\n"
        for line in EXAMPLE.splitlines()
    )
    reports = list(parse_reports(parse_text(text)))
    assert [(r.location.file, r.location.line) for r in reports if r.location] == [WHERE]
    assert reports[0].host == "w-xen09"
    assert reports[0].timestamp is not None
    assert reports[0].timestamp.startswith("2026-12-23T00:51:38.")  # t= is 0x663427e497a82 µs


def test_a_brace_before_an_indented_log_gives_its_lines_back() -> None:
    """A ``{`` line then a log indented by two tabs (as json-pretty indents array items):
    no record, and the lines it held are read as the log they are."""
    indented = "".join("\t\t" + line + "\n" for line in EXAMPLE.splitlines())
    assert _where("int f(void)\n{\n" + indented + "}\n") == [WHERE]
    assert _where("{\n" + indented) == [WHERE]  # and unfinished at the end of the input
    assert _where('{\n\t"MESSAGE" : [\n' + indented) == [WHERE]  # an array that never ends
