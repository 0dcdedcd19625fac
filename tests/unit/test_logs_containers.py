"""Every log container, one realistic line each, with the expected LogLine fields."""

from __future__ import annotations

import json

import pytest

from kmend.logs import LogLine, parse_text


def one(line: str) -> LogLine:
    got = list(parse_text(line))
    assert len(got) == 1, got
    return got[0]


def fields(ll: LogLine) -> tuple[object, ...]:
    return (ll.host, ll.timestamp, ll.context, ll.text, ll.uptime, ll.level)


@pytest.mark.parametrize(
    ("line", "want"),
    [
        # RFC3164 (rsyslog traditional), day space-padded and not
        (
            "Dec 23 00:51:38 w-xen09 kernel: kernel BUG at drivers/xen/evtchn.c:264!",
            ("w-xen09", "--12-23T00:51:38", None, "kernel BUG at drivers/xen/evtchn.c:264!",
             None, None),
        ),
        (
            "Dec  3 07:05:09 db-01 kernel: invalid opcode: 0000 [#1] SMP",
            ("db-01", "--12-03T07:05:09", None, "invalid opcode: 0000 [#1] SMP", None, None),
        ),
        # forwarded <PRI>: kern.warning = 4
        (
            "<4>Nov 28 22:51:21 edge-3 kernel: WARNING: CPU: 2 PID: 1 at x.c:1 f+0x1/0x2",
            ("edge-3", "--11-28T22:51:21", None, "WARNING: CPU: 2 PID: 1 at x.c:1 f+0x1/0x2",
             None, 4),
        ),
        # printk time inside a syslog line
        (
            "Jan  9 10:00:00 kvm-1 kernel: [ 1234.567890] Call Trace:",
            ("kvm-1", "--01-09T10:00:00", None, "Call Trace:", 1234.56789, None),
        ),
        # rsyslog RFC3339 (RSYSLOG_FileFormat)
        (
            "2026-11-26T03:04:05.123456+00:00 stor-2 kernel: RIP: 0010:foo+0x5/0x10 [bar]",
            ("stor-2", "2026-11-26T03:04:05.123456+00:00", None, "RIP: 0010:foo+0x5/0x10 [bar]",
             None, None),
        ),
        # journalctl -o short-iso (offset without colon is normalised)
        (
            "2026-11-26T03:04:05+0100 web-7 kernel: Oops: 0000 [#1] SMP PTI",
            ("web-7", "2026-11-26T03:04:05+01:00", None, "Oops: 0000 [#1] SMP PTI", None, None),
        ),
        # journalctl -o short-precise
        (
            "Nov 28 22:51:21.004711 web-7 kernel: Modules linked in: e1000",
            ("web-7", "--11-28T22:51:21.004711", None, "Modules linked in: e1000", None, None),
        ),
        # journalctl -o short-monotonic
        (
            "[  812.004711] web-7 kernel: Hardware name: QEMU Standard PC",
            ("web-7", None, None, "Hardware name: QEMU Standard PC", 812.004711, None),
        ),
        # plain dmesg
        (
            "[   12.345678] BUG: unable to handle page fault for address: ffffc90000a7b000",
            (None, None, None, "BUG: unable to handle page fault for address: ffffc90000a7b000",
             12.345678, None),
        ),
        # dmesg -T
        (
            "[Sat Nov 28 22:51:21 2026] general protection fault: 0000 [#1] SMP",
            (None, "2026-11-28T22:51:21", None, "general protection fault: 0000 [#1] SMP",
             None, None),
        ),
        # console with caller ids (CONFIG_PRINTK_CALLER)
        (
            "[ 9877.699641][    C0] Call Trace:",
            (None, None, "C0", "Call Trace:", 9877.699641, None),
        ),
        (
            "[   89.184911][ T5827] BUG: KASAN: use-after-free in foo+0x1/0x2",
            (None, None, "T5827", "BUG: KASAN: use-after-free in foo+0x1/0x2", 89.184911,
             None),
        ),
        # util-linux dmesg puts a space between time and caller id
        (
            "[    0.000000] [    T0] Linux version 6.1.0-47-amd64",
            (None, None, "T0", "Linux version 6.1.0-47-amd64", 0.0, None),
        ),
        # <N> level before the time (/proc/kmsg), and alone
        (
            "<4>[   12.300000] WARNING: at kernel/foo.c:10 bar+0x1/0x2()",
            (None, None, None, "WARNING: at kernel/foo.c:10 bar+0x1/0x2()", 12.3, 4),
        ),
        (
            "<0>Kernel panic - not syncing: Fatal exception",
            (None, None, None, "Kernel panic - not syncing: Fatal exception", None, 0),
        ),
        # syzkaller console decorations
        (
            "** 3 printk messages dropped ** [  101.000001][ T3301]  dump_stack+0x1d/0x20",
            (None, None, "T3301", " dump_stack+0x1d/0x20", 101.000001, None),
        ),
        (
            "syzkaller login: [   10.100000][    C1] INFO: rcu_preempt detected stalls",
            (None, None, "C1", "INFO: rcu_preempt detected stalls", 10.1, None),
        ),
        # /dev/kmsg record with a \xNN escape (ESC) in the text
        (
            "4,1234,5678901,-;WARNING: bad \\x1b byte",
            (None, None, None, "WARNING: bad \x1b byte", 5.678901, 4),
        ),
        # /dev/kmsg with the caller id field (CONFIG_PRINTK_CALLER)
        (
            "6,1235,5678999,-,caller=T512;BUG: sleeping function called",
            (None, None, "T512", "BUG: sleeping function called", 5.678999, 6),
        ),
        # extended netconsole with the release prepended and a fragment field
        (
            "6.13.0-04048-g4f561a87745a,13,468,514729715,-,ncfrag=0/1135;Call Trace:",
            (None, None, None, "Call Trace:", 514.729715, 5),
        ),
        # a vendor kernel's printk time without its fraction (MIPS CI20, 3.0.8)
        (
            "[  240.] INFO: task kinteractiveup:64 blocked for more than 120 seconds.",
            (None, None, None, "INFO: task kinteractiveup:64 blocked for more than 120 seconds.",
             240.0, None),
        ),
        # a plain console line without any prefix keeps its text whole
        (
            "  RIP: 0010:foo+0x5/0x10",
            (None, None, None, "  RIP: 0010:foo+0x5/0x10", None, None),
        ),
    ],
)
def test_container(line: str, want: tuple[object, ...]) -> None:
    assert fields(one(line)) == want


@pytest.mark.parametrize(
    "line",
    [
        "Dec 23 00:51:38 w-xen09 sshd[4242]: Accepted publickey for root from 10.0.0.1",
        "2026-11-26T03:04:05.123456+00:00 stor-2 systemd[1]: Started Session 3 of user root.",
        "Nov 28 22:51:21 web-7 CRON[1]: (root) CMD (run-parts /etc/cron.hourly)",
        "<30>Nov 28 22:51:21 web-7 dockerd[77]: BUG: this is not the kernel",
    ],
)
def test_syslog_keeps_only_kernel(line: str) -> None:
    assert list(parse_text(line)) == []


def test_monotonic_lookalike_is_console_text() -> None:
    # "usb 1-1:" is kernel text after a dmesg stamp, not "host tag:"
    ll = one("[    3.100000] usb 1-1: new high-speed USB device number 2 using ehci-pci")
    assert (ll.host, ll.text) == (None, "usb 1-1: new high-speed USB device number 2 using ehci-pci")


def test_kmsg_dictionary_lines_are_skipped() -> None:
    text = "\n".join([
        "6,339,5140900,-;NET: Registered PF_INET6 protocol family",
        " SUBSYSTEM=net",
        " DEVICE=n1",
        "4,340,5140950,c;WARNING: CPU: 0 PID: 1 at x.c:3 f+0x1/0x2",
    ])
    got = list(parse_text(text))
    assert [(g.lineno, g.text, g.level) for g in got] == [
        (1, "NET: Registered PF_INET6 protocol family", 6),
        (4, "WARNING: CPU: 0 PID: 1 at x.c:3 f+0x1/0x2", 4),
    ]
    assert got[1].uptime == pytest.approx(5.14095)


def test_dropped_marker_without_time_stays_text() -> None:
    got = list(parse_text("** 12 printk messages dropped **\n** 3 printk messages dropped ** tail"))
    assert [g.text for g in got] == [
        "** 12 printk messages dropped **",
        "** 3 printk messages dropped ** tail",
    ]


def test_console_lines_starting_with_space_are_kept() -> None:
    # outside /dev/kmsg, a leading-space line is a real kernel line (a trace frame)
    got = list(parse_text("Call Trace:\n SUBSYSTEM=x\n dump_stack+0x1/0x2\n"))
    assert [g.text for g in got] == ["Call Trace:", " SUBSYSTEM=x", " dump_stack+0x1/0x2"]


def _journal(message: object, **extra: object) -> str:
    entry: dict[str, object] = {
        "__REALTIME_TIMESTAMP": "1764370281123456",  # 2025-11-28T22:51:21.123456Z
        "_SOURCE_MONOTONIC_TIMESTAMP": "812004711",
        "_HOSTNAME": "kvm-4",
        "PRIORITY": "4",
        "_TRANSPORT": "kernel",
        "SYSLOG_IDENTIFIER": "kernel",
        "MESSAGE": message,
    }
    entry.update(extra)
    return json.dumps(entry)


def test_journal_json_string_message() -> None:
    ll = one(_journal("BUG: kernel NULL pointer dereference, address: 0000000000000008"))
    assert fields(ll) == (
        "kvm-4", "2025-11-28T22:51:21.123456+00:00", None,
        "BUG: kernel NULL pointer dereference, address: 0000000000000008", 812.004711, 4,
    )  # fmt: skip


def test_journal_json_byte_array_message() -> None:
    raw = b"Code: 0f 0b <ff>\tend" + b"\xff"  # a tab and an invalid byte
    ll = one(_journal(list(raw)))
    assert ll.text == "Code: 0f 0b <ff>\tend\ufffd"
    assert ll.host == "kvm-4"


def test_journal_json_multiline_message_and_non_kernel() -> None:
    text = "\n".join([
        _journal("first\nsecond"),
        _journal("sshd says BUG:", _TRANSPORT="syslog", SYSLOG_IDENTIFIER="sshd"),
        _journal(None),
    ])
    got = list(parse_text(text))
    assert [(g.lineno, g.text) for g in got] == [(1, "first"), (1, "second")]


def test_rsyslog_escapes_split_lines() -> None:
    line = ("Dec 23 00:51:38 w-xen09 kernel: ------------[ cut here ]------------#012"
            "kernel BUG at drivers/xen/evtchn.c:264!#012invalid opcode: 0000 [#3] SMP"
            "#012Code: 0f#0110b")  # fmt: skip
    got = list(parse_text(line))
    assert [g.text for g in got] == [
        "------------[ cut here ]------------",
        "kernel BUG at drivers/xen/evtchn.c:264!",
        "invalid opcode: 0000 [#3] SMP",
        "Code: 0f\t0b",
    ]
    assert {(g.host, g.timestamp, g.lineno) for g in got} == {("w-xen09", "--12-23T00:51:38", 1)}


def test_backslash_octal_escape_in_syslog() -> None:
    got = list(parse_text("Dec 23 00:51:38 h kernel: Call Trace:\\012 foo+0x1/0x2"))
    assert [g.text for g in got] == ["Call Trace:", " foo+0x1/0x2"]


def test_mixed_containers_in_one_file() -> None:
    text = "\n".join([
        "[    1.000000] Linux version 6.1.0",
        "Dec 23 00:51:38 h1 sshd[1]: noise",
        "Dec 23 00:51:39 h1 kernel: [    2.000000] BUG: oops",
        "[Sat Nov 28 22:51:21 2026] tail",
        "6,5,3000000,-;kmsg line",
    ])
    got = [(g.lineno, g.host, g.text, g.uptime) for g in parse_text(text)]
    assert got == [
        (1, None, "Linux version 6.1.0", 1.0),
        (3, "h1", "BUG: oops", 2.0),
        (4, None, "tail", None),
        (5, None, "kmsg line", 3.0),
    ]


def test_crlf_and_blank_lines() -> None:
    got = list(parse_text("a\r\n\r\nb\r\n"))
    assert [(g.lineno, g.text) for g in got] == [(1, "a"), (2, ""), (3, "b")]


def _export_entry(fields: dict[str, bytes]) -> bytes:
    out = b""
    for name, value in fields.items():
        if b"\n" in value or name == "MESSAGE_BIN":
            key = b"MESSAGE" if name == "MESSAGE_BIN" else name.encode()
            out += key + b"\n" + len(value).to_bytes(8, "little") + value + b"\n"
        else:
            out += name.encode() + b"=" + value + b"\n"
    return out + b"\n"


def test_journal_export_format_text_and_binary_fields() -> None:
    import io

    from kmend.logs import iter_stream

    common = {
        "__CURSOR": b"s=0123;i=1", "__REALTIME_TIMESTAMP": b"1764370281123456",
        "_BOOT_ID": b"f00d", "_HOSTNAME": b"kvm-4", "_SOURCE_MONOTONIC_TIMESTAMP": b"812004711",
    }  # fmt: skip
    stream = (
        _export_entry({**common, "_TRANSPORT": b"kernel", "PRIORITY": b"4",
                       "MESSAGE": b"WARNING: CPU: 0 PID: 1 at x.c:1 f+0x1/0x2"})
        + _export_entry({**common, "_TRANSPORT": b"syslog", "SYSLOG_IDENTIFIER": b"sshd",
                         "MESSAGE": b"BUG: not the kernel"})
        + _export_entry({**common, "_TRANSPORT": b"kernel", "PRIORITY": b"3",
                         "MESSAGE_BIN": b"line one\nline \xff two"})
    )  # fmt: skip
    got = list(iter_stream(io.BytesIO(stream), "journal.export"))
    assert [(g.text, g.level, g.host, g.uptime) for g in got] == [
        ("WARNING: CPU: 0 PID: 1 at x.c:1 f+0x1/0x2", 4, "kvm-4", 812.004711),
        ("line one", 3, "kvm-4", 812.004711),
        ("line \ufffd two", 3, "kvm-4", 812.004711),
    ]
    assert got[0].timestamp == "2025-11-28T22:51:21.123456+00:00"
    assert got[0].lineno == 1
    assert got[1].lineno == got[2].lineno > got[0].lineno
