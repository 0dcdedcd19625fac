"""Flattened logs: a report pasted onto one line decodes exactly like the multi-line log."""

from __future__ import annotations

from pathlib import Path

from kmend.logs import parse_text, read_paths
from kmend.logs.flatten import split_landmarks


def key(path: Path) -> list[tuple[str | None, str | None, str]]:
    return [(ll.host, ll.timestamp, ll.text) for ll in read_paths([str(path)])]


def test_example_flattened_equals_multiline(examples_dir: Path) -> None:
    multi = key(examples_dir / "w-xen09-messages.log")
    flat = key(examples_dir / "w-xen09-flattened.log")
    assert len(multi) == 33
    assert flat == multi
    # spot checks written from the example file itself (not from the reader)
    assert multi[1] == ("w-xen09", "--12-23T00:51:38", "kernel BUG at drivers/xen/evtchn.c:264!")
    assert multi[24] == (
        "w-xen09", "--12-23T00:51:38",
        "[<ffffffffa032797e>] evtchn_ioctl+0x13e/0x304 [xen_evtchn]",
    )  # fmt: skip
    assert multi[-1][2] == "---[ end trace b4e323e25997f660 ]---"


def test_example_flattened_line_numbers(examples_dir: Path) -> None:
    flat = list(read_paths([str(examples_dir / "w-xen09-flattened.log")]))
    assert {ll.lineno for ll in flat} == {1}
    multi = list(read_paths([str(examples_dir / "w-xen09-messages.log")]))
    assert [ll.lineno for ll in multi] == list(range(1, 34))


def test_paste_without_prefixes_resplits_at_landmarks(examples_dir: Path) -> None:
    lines = (examples_dir / "w-xen09-messages.log").read_text().splitlines()
    texts = [line.split(" kernel: ", 1)[1] for line in lines]
    got = [ll.text for ll in parse_text(" ".join(texts))]
    assert got == texts


def test_modern_report_paste_resplits() -> None:
    texts = [
        "BUG: kernel NULL pointer dereference, address: 0000000000000008",
        "#PF: supervisor read access in kernel mode",
        "#PF: error_code(0x0000) - not-present page",
        "Oops: 0000 [#1] PREEMPT SMP NOPTI",
        "CPU: 1 UID: 0 PID: 77 Comm: insmod Tainted: G           O       6.12.117+deb12-amd64 #1",
        "Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.16.2-debian-1.16.2-1 04/01/2014",
        "RIP: 0010:oopsy_deref+0x5/0x13 [oopsy]",
        "Code: 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 f3 0f 1e fa 0f 1f 44 00 00 <8b> 07 c3 cc",
        "RSP: 0018:ffffc90000a7bd98 EFLAGS: 00010246",
        "RAX: 0000000000000000 RBX: 0000000000000000 RCX: 0000000000000000",
        "Call Trace:",
        "<TASK>",
        "? __die+0x23/0x70",
        "oopsy_init+0x10/0x28 [oopsy]",
        "do_one_initcall+0x5b/0x320",
        "</TASK>",
        "Modules linked in: oopsy(O+) e1000",
        "CR2: 0000000000000008",
        "---[ end trace 0000000000000000 ]---",
    ]
    got = [ll.text for ll in parse_text(" ".join(texts))]
    assert got == texts


def test_warning_line_is_not_cut_at_cpu() -> None:
    texts = [
        "------------[ cut here ]------------",
        "WARNING: CPU: 3 PID: 4242 at net/core/dev.c:3175 skb_warn_bad_offload+0x9b/0xf0",
        "Modules linked in: bridge stp llc",
        "CPU: 3 PID: 4242 Comm: ip Not tainted 5.15.0-91-generic #101-Ubuntu",
    ]
    assert [ll.text for ll in parse_text(" ".join(texts))] == texts


def test_ordinary_lines_stay_whole() -> None:
    # lines that merely mention a landmark word (or two) in the middle are not cut
    for line in [
        "RIP: e030:[<ffffffffa03276f8>]  [<ffffffffa03276f8>] evtchn_bind_to_user+0xb8/0xc0 [xen_evtchn]",
        "RIP  [<ffffffffa03276f8>] evtchn_bind_to_user+0xb8/0xc0 [xen_evtchn]",
        "BUG: KASAN: slab-use-after-free in br_handle_frame_finish+0x12/0x40 [bridge] while CPU: 3 PID: 9 ran",
        "audit: type=1400 audit(1764.1:2): apparmor=DENIED operation=open profile=ntpd name=/proc/1/status",
        "general protection fault, probably for non-canonical address 0xdead000000000122: 0000 [#1] SMP",
        "Oops: general protection fault, probably for non-canonical address 0xdffffc0000000000: 0000 [#1]",
        "hardirqs last  enabled at (123): [<ffffffff81234567>] _raw_spin_unlock_irq+0x24/0x40",
        "my app said: Call Trace: is a nice phrase, and Code: too",
        "---[ end Kernel panic - not syncing: Fatal exception in interrupt ]---",
    ]:
        assert split_landmarks(line) == [line], line


def test_stack_words_regrouped_four_per_line() -> None:
    words = [f"{i:016x}" for i in range(8)]
    flat = "Stack: " + " ".join(words) + " Call Trace: [<ffffffff81000000>] foo+0x1/0x2"
    assert split_landmarks(flat) == [
        "Stack:",
        " ".join(words[:4]),
        " ".join(words[4:]),
        "Call Trace:",
        "[<ffffffff81000000>] foo+0x1/0x2",
    ]


def test_repeated_console_stamps_resplit() -> None:
    flat = ("[   1.000000] BUG: soft lockup - CPU#0 stuck for 22s! [a:1] [   1.000001] Call Trace:"
            " [   1.000002]  foo+0x1/0x2")  # fmt: skip
    got = [(ll.text, ll.uptime) for ll in parse_text(flat)]
    assert got == [
        ("BUG: soft lockup - CPU#0 stuck for 22s! [a:1]", 1.0),
        ("Call Trace:", 1.000001),
        (" foo+0x1/0x2", 1.000002),
    ]


def test_two_stamps_are_interleaving_not_flattening() -> None:
    # pr_cont interleaving as a console shows it (syzkaller keeps such a line whole)
    line = "[   33.634860]  [   33.635331] binder: BINDER_SET_CONTEXT_MGR already set"
    got = list(parse_text(line))
    assert [(g.text, g.uptime) for g in got] == [
        (" [   33.635331] binder: BINDER_SET_CONTEXT_MGR already set", 33.63486)
    ]


def test_dmesg_line_with_colon_words_is_not_a_journal_line() -> None:
    line = "[    0.000000] x86/fpu: xstate_offset[2]:  576, xstate_sizes[2]:  256"
    got = list(parse_text(line))
    assert [(g.host, g.text) for g in got] == [
        (None, "x86/fpu: xstate_offset[2]:  576, xstate_sizes[2]:  256")
    ]


def test_flattened_mixture_drops_foreign_pieces() -> None:
    flat = ("Dec 23 00:51:38 h kernel: Call Trace: Dec 23 00:51:38 h sshd[5]: hello "
            "Dec 23 00:51:38 h kernel:  foo+0x1/0x2")  # fmt: skip
    assert [ll.text for ll in parse_text(flat)] == ["Call Trace:", " foo+0x1/0x2"]
