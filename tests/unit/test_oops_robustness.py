"""Hostile and damaged input: the crash decoder never raises and flags damage."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kmend.logs import parse_text
from kmend.oops import parse_reports

HEADERS = [
    "kernel BUG at drivers/xen/evtchn.c:264!",
    "invalid opcode: 0000 [#3] SMP",
    "BUG: KASAN: use-after-free in foo+0x1/0x2",
    "WARNING: CPU: 0 PID: 1 at kernel/x.c:1 f+0x1/0x2",
    "general protection fault: 0000 [#1] SMP",
    "Call Trace:",
    " ? foo+0x1/0x2",
    "RIP: 0010:bar+0x5/0x10 [mod]",
    "Code: 00 00 <0f> 0b",
    "Kernel panic - not syncing: Fatal exception",
    "INFO: task x:1 blocked for more than 120 seconds.",
    "---[ end trace 0000000000000000 ]---",
    "Modules linked in: a(OE) b [last unloaded: c]",
    "CPU: 1 PID: 2 Comm: x Tainted: G W O 6.1.0 #1",
]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(st.sampled_from(HEADERS), st.text(max_size=200)),
        max_size=60,
    )
)
def test_any_mix_of_lines_never_raises(parts: list[str]) -> None:
    text = "\n".join(parts)
    for rep in parse_reports(parse_text(text)):
        assert isinstance(rep.title, str) and rep.title
        assert len(rep.title) <= 120
        assert rep.source is not None and rep.source.first_line <= rep.source.last_line


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=4000))
def test_binary_garbage_never_raises(data: bytes) -> None:
    list(parse_reports(parse_text(data.decode("utf-8", "replace"))))


def test_truncated_example_is_returned_and_flagged(examples_dir: Path) -> None:
    lines = (examples_dir / "w-xen09-messages.log").read_text().splitlines()
    rip_at = next(i for i, t in enumerate(lines) if " RIP: " in t)
    trace_at = next(i for i, t in enumerate(lines) if "Call Trace:" in t)
    for cut in range(2, len(lines)):
        reps = list(parse_reports(parse_text("\n".join(lines[:cut]) + "\n")))
        assert len(reps) == 1, cut
        rep = reps[0]
        if cut <= rip_at:  # nothing names the function: corrupted
            assert rep.title == "kernel BUG in corrupted" and rep.corrupted, (cut, rep.title)
        else:  # the RIP line names it, as the kernel's own BUG() does
            assert rep.title == "kernel BUG in evtchn_bind_to_user", (cut, rep.title)
        if cut <= trace_at + 1:
            assert any("call trace" in n for n in rep.notes), (cut, rep.notes)
    full = next(iter(parse_reports(parse_text("\n".join(lines) + "\n"))))
    assert not full.corrupted


def test_megabyte_line_inside_a_report() -> None:
    text = "kernel BUG at a.c:1!\n" + "x" * 2_000_000 + "\ninvalid opcode: 0000 [#1] SMP\n"
    reps = list(parse_reports(parse_text(text)))
    assert reps and reps[0].title.startswith("kernel BUG")


def test_two_hosts_interleaved_are_separated() -> None:
    def host_lines(host: str, func: str) -> list[str]:
        return [
            f"Dec 23 00:51:38 {host} kernel: kernel BUG at drivers/a/{func}.c:10!",
            f"Dec 23 00:51:38 {host} kernel: invalid opcode: 0000 [#1] SMP",
            f"Dec 23 00:51:38 {host} kernel: CPU: 0 PID: 1 Comm: x Not tainted 6.1.0-47-amd64 #1",
            f"Dec 23 00:51:38 {host} kernel: RIP: 0010:{func}+0x10/0x20 [amod]",
            f"Dec 23 00:51:38 {host} kernel: Call Trace:",
            f"Dec 23 00:51:38 {host} kernel:  <TASK>",
            f"Dec 23 00:51:38 {host} kernel:  {func}_caller+0x1/0x2 [amod]",
            f"Dec 23 00:51:38 {host} kernel:  do_syscall_64+0x1/0x2",
            f"Dec 23 00:51:38 {host} kernel:  </TASK>",
        ]

    a, b = host_lines("hosta", "alpha"), host_lines("hostb", "beta")
    mixed = [x for pair in zip(a, b, strict=True) for x in pair]
    reps = list(parse_reports(parse_text("\n".join(mixed) + "\n")))
    titles = {(r.host, r.title) for r in reps}
    assert titles == {("hosta", "kernel BUG in alpha"), ("hostb", "kernel BUG in beta")}
    for r in reps:
        assert r.module == "amod" and r.kernel_release == "6.1.0-47-amd64"
        assert [f.function for f in r.frames][:1] == [f"{r.title.split()[-1]}_caller"]


def test_second_crash_in_a_report_starts_a_new_one() -> None:
    text = "\n".join(
        [
            "[  1.0] WARNING: CPU: 0 PID: 1 at kernel/a.c:1 first_fn+0x1/0x2",
            "[  1.0] RIP: 0010:first_fn+0x1/0x2",
            "[  1.0] Call Trace:",
            "[  1.0]  caller_one+0x1/0x2",
            "[  1.0]  caller_two+0x1/0x2",
            "[  1.0]  caller_three+0x1/0x2",
            "[  1.0]  caller_four+0x1/0x2",
            "[  2.0] BUG: kernel NULL pointer dereference, address: 0000000000000008",
            "[  2.0] RIP: 0010:second_fn+0x1/0x2",
            "[  2.0] Call Trace:",
            "[  2.0]  other_caller+0x1/0x2",
            "[  2.0]  other_two+0x1/0x2",
            "[  2.0]  other_three+0x1/0x2",
            "[  2.0]  other_four+0x1/0x2",
        ]
    )
    titles = [r.title for r in parse_reports(parse_text(text + "\n"))]
    assert titles == [
        "WARNING in first_fn",
        "BUG: unable to handle kernel NULL pointer dereference in second_fn",
    ]
