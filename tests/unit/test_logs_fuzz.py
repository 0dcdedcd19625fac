"""Fuzz: arbitrary bytes and text never make the log reader raise or misnumber lines."""

from __future__ import annotations

import gzip
import io

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kmend.errors import InputError
from kmend.logs import LogLine, iter_stream, parse_text

# fragments that steer the fuzzer into the containers' code paths
FRAGMENTS = [
    "Dec 23 00:51:38 h kernel: ", "Dec  3 01:02:03 h sshd[1]: ", "<4>", "<13>",
    "[   12.345678] ", "[ T123] ", "[    C3]", "2026-11-26T03:04:05.1+00:00 h kernel: ",
    "[Sat Nov 28 22:51:21 2026] ", "6,1234,5678901,-;", " SUBSYSTEM=pci", "#012", "#011",
    "\\012", "\\n", "\\x41", "** 3 printk messages dropped ** ", "x login: ",
    '{"MESSAGE":[65,66],"_TRANSPORT":"kernel"}', '{"MESSAGE":', "BUG: ", "Call Trace: ",
    " [<ffffffff81000000>] f+0x1/0x2", " g+0x3/0x4 [m]", "Code: 0f 0b ", "RIP: 0010:",
    "Stack: ", "------------[ cut here ]------------ ", "\n", "\r\n", " ", "\x00", "\ufffd",
]  # fmt: skip

texts = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=30)), max_size=40).map(
    "".join
)


def check(lines: list[LogLine], nlines: int) -> None:
    previous = 0
    for ll in lines:
        assert isinstance(ll.text, str)
        assert "\n" not in ll.text
        assert 1 <= ll.lineno <= max(nlines, 1)
        assert ll.lineno >= previous
        previous = ll.lineno
        assert ll.level is None or 0 <= ll.level <= 7
        assert ll.uptime is None or ll.uptime >= 0


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts)
def test_parse_text_never_raises(text: str) -> None:
    check(list(parse_text(text)), text.count("\n") + 1)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=2000), texts.map(lambda t: t.encode("utf-8", "surrogatepass"))))
@example(b"\x1f\x8b")  # gzip magic and nothing more
@example(b"BZh9garbage\n")
@example(b"__CURSOR=x\nMESSAGE\n\xff\xff\xff\xff\xff\xff\xff\x7fabc")  # export, absurd size
@example(b"__CURSOR=x\n_TRANSPORT=kernel\nMESSAGE=hi\n\nMESSAGE\n\x02")
@example(b"LPKSHHRH")  # a systemd journal file's signature: read through journalctl, by path
def test_iter_stream_never_raises(data: bytes) -> None:
    for prefilter in (False, True):
        try:
            got = list(iter_stream(io.BytesIO(data), "fuzz", prefilter=prefilter))
        except InputError as err:  # bytes that start like a compressed stream and are not,
            assert str(err).startswith("fuzz: ")  # or like a journal file (not a stream)
            assert data[:1] in (b"\x1f", b"\xfd", b"B", b"\x28") or \
                data.startswith(b"LPKSHHRH"), err
            continue
        check(got, data.count(b"\n") + 1)


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=500), st.integers(min_value=0, max_value=40))
def test_corrupt_gzip_raises_only_input_error(data: bytes, cut: int) -> None:
    blob = gzip.compress(data)
    blob = blob[: max(2, len(blob) - cut)]
    try:
        list(iter_stream(io.BytesIO(blob), "fuzz.gz"))
    except InputError as err:
        assert "fuzz.gz" in str(err)
