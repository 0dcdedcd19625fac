"""Paste debris (kmend.logs.paste) on real reports: each kind of debris is put around the
kernel lines of real pasted reports (tests/data/pasted), the way a mail client, a tracker, a
terminal or a log collector does, and kmend must name the report as syzkaller names the clean
lines (the title stored with the case, checked against syzparse in test_paste_eval), with the
rule that fired in the report's notes."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable

import pytest

from kmend.logs import parse_text
from kmend.logs.paste import clean_line, continues
from kmend.oops import CrashReport, parse_reports
from kmend.oops.headers import find_header
from paste_cases import Case, load_cases

CASES = {c.name.split("-", 1)[0]: c for c in load_cases()}
#: Real reports (of the set's seen part) with a header, a CPU line and a call trace: UBSAN
#: reports from a dmesg -T paste (5.15) and a dkms driver (5.15), an ARM WARNING (4.9).
BASES = ("052", "055", "017")
_STAMP_RE = re.compile(r"^\[\s*\d+\.\d+\] ?")


def _kernel_lines(case: Case) -> list[str]:
    """The case's clean kernel lines without printk stamps."""
    return [_STAMP_RE.sub("", line) for line in case.clean().split("\n") if line.strip()]


def _stamped(lines: list[str]) -> list[str]:
    return [f"[  334.{i:06d}] {line}" for i, line in enumerate(lines)]


def _only_report(text: str) -> CrashReport:
    reports = list(parse_reports(parse_text(text)))
    assert len(reports) == 1, [r.title for r in reports]
    return reports[0]


def _wrap(line: str, width: int = 72) -> list[str]:
    """A mail client's hard wrap: break at the last blank before *width*."""
    return textwrap.wrap(
        line, width, break_long_words=False, break_on_hyphens=False, drop_whitespace=True
    ) or [""]


def _journal(month: str) -> Callable[[list[str]], list[str]]:
    return lambda ls: [f"{month} 27 14:08:{i % 60:02d} laptop kernel: {x}" for i, x in enumerate(ls)]


#: (rule expected in the notes, how the paste is made from the bare kernel lines)
VARIANTS: dict[str, tuple[str, Callable[[list[str]], list[str]]]] = {
    "quote": ("quote markers", lambda ls: ["> " + x for x in _stamped(ls)]),
    "quote-quote": ("quote markers", lambda ls: [">> " + x for x in _stamped(ls)]),
    "quote-spaced": ("quote markers", lambda ls: ["> > " + x for x in ls]),
    "quoted-cat-n": (
        "line numbers",
        lambda ls: [f"> {n + 247:6d}\t{x}" for n, x in enumerate(_stamped(ls))],
    ),
    "indented": ("indentation", lambda ls: ["    " + x for x in _stamped(ls)]),
    "code-block": ("", lambda ls: ["    " + x for x in ls]),
    "quoted-cat-n-blanks": ("line numbers", lambda ls: [f"> {n + 1:4d}  {x}" for n, x in enumerate(ls)]),
    "bare-kernel": ("bare kernel: prefix", lambda ls: ["kernel: " + x for x in ls]),
    "wall-kernel": ("bare kernel: prefix", lambda ls: [" kernel:" + x for x in _stamped(ls)]),
    "syslog-no-host": (
        "bare kernel: prefix",
        lambda ls: [f"Feb  4 16:15:{i % 60:02d} kernel: {x}" for i, x in enumerate(ls)],
    ),
    "journal-ru": ("journal prefix with a non-English month name", _journal("июл")),
    "journal-de": ("journal prefix with a non-English month name", _journal("Okt")),
    "journal-fr": ("journal prefix with a non-English month name", _journal("déc.")),
    "journal-es": ("journal prefix with a non-English month name", _journal("ene")),
    "journal-nl": ("journal prefix with a non-English month name", _journal("mrt")),
    "level-tags": (
        "console collector level tag",
        lambda ls: [("INFO: ", "WARN: ", "CRIT: ")[i % 3] + x for i, x in enumerate(_stamped(ls))],
    ),
    "console-name": ("console name prefix", lambda ls: ["[guest0/uart0] " + x for x in _stamped(ls)]),
    "logger-datetime": (
        "console logger time prefix",
        lambda ls: [f"[2026-03-28 22:39:{i % 60:02d}] " + x for i, x in enumerate(_stamped(ls))],
    ),
    "serial-clock": (
        "console logger time prefix",
        lambda ls: [f"[22:22:59:{i % 1000:03d}] " + x for i, x in enumerate(_stamped(ls))],
    ),
    "stamp-cut-first": (
        "printk stamp cut at the start",
        # the selection started inside the header line's stamp (the separator before it lost)
        lambda ls: [_stamped(ls)[1][4:], *_stamped(ls)[2:]],
    ),
    "interleaved-console": (
        "another program's output glued before a kernel line",
        lambda ls: [
            ("panic: runtime e", "", "rror: slice boun")[i % 3] + x
            for i, x in enumerate(_stamped(ls))
        ],
    ),
    "stamp-no-fraction": ("", lambda ls: [f"[  {334 + i}.] {x}" for i, x in enumerate(ls)]),
    "dmesg-H": (
        "dmesg -H stamps",
        lambda ls: ["[Mar 8 17:07] " + ls[0]] + [f"[  +0.{i:06d}] {x}" for i, x in enumerate(ls[1:])],
    ),
    "android": (
        "Android kernel log prefix",
        lambda ls: [f"  1276.{i:06d}:   <6> (01-28 07:22:33.{i:09d}) {x}" for i, x in enumerate(ls)],
    ),
    "ci-clock": ("clock prefix", lambda ls: ["16:56:35 " + x for x in _stamped(ls)]),
    "dmesg-T-de": (
        "dmesg -T stamps with non-English names",
        lambda ls: ["[Mi Okt 12 10:11:12 2022] " + x for x in ls],
    ),
    "web-nbsp": (
        "non-breaking and zero-width spaces",
        lambda ls: [x.replace(" ", "\xa0", 3) for x in _stamped(ls)],
    ),
    "fences": (
        "backticks",
        lambda ls: ["Here is what dmesg says:", "", "```", "`" + _stamped(ls)[0], *_stamped(ls)[1:], "```"],
    ),
    "prompt-glued": (
        "shell prompt",
        lambda ls: ["[root@fedora-starfive gpio]# " + _stamped(ls)[0], *_stamped(ls)[1:]],
    ),
    # Gentoo's default prompt ("user@host dir $"), a command that is no log reader, empty
    # prompts, then the console's first line glued to a prompt (a VirtualBox host's FRED oops)
    "prompt-gentoo": (
        "shell prompt",
        lambda ls: [
            'lo@odyssey ~ $ VBoxManage startvm "Ubuntu VPN" --type headless',
            "lo@odyssey ~ $ ",
            "lo@odyssey ~ $ " + _stamped(ls)[0],
            *_stamped(ls)[1:],
        ],
    ),
    # Docker for Mac's VM log: Go's time format with the zone, the syslog facility and level,
    # the tag; another program's line in it (with a crash word) is no kernel line
    "zoned-facility": (
        "log collector prefix with zone and facility",
        lambda ls: [
            "2016-07-31 16:26:52 +0000 UTC daemon.err dockerd[1010]: WARNING: no swap limit",
            *(
                f"2016-07-31 16:26:{i % 60:02d} +0000 UTC kern.{('alert', 'warn')[i % 2]} kernel: {x}"
                for i, x in enumerate(ls)
            ),
        ],
    ),
    # the reporter's markdown bold around the lines that matter
    "bold": (
        "markdown bold markers",
        lambda ls: ["**" + _stamped(ls)[0] + "**", *_stamped(ls)[1:3], "**" + _stamped(ls)[3] + "** ", *_stamped(ls)[4:]],
    ),
    "prompt-command": (
        "shell prompt",
        lambda ls: [
            "$ dmesg",
            "root@host:~# dmesg | tail -n 40",
            "[root@h ~]# " + _stamped(ls)[0],
            *_stamped(ls)[1:],
        ],
    ),
    "wrapped-quoted": (
        "hard-wrapped lines re-joined",
        lambda ls: [
            piece if k else "> " + piece
            for x in _stamped(ls)
            for k, piece in enumerate(_wrap(x, 70))
        ],
    ),
    "wrapped": (
        "hard-wrapped lines re-joined",
        lambda ls: [piece for x in _stamped(ls) for piece in _wrap(x)],
    ),
    "padding-glued": (
        "lines joined by terminal padding",
        lambda ls: [
            a + " " * 40 + b
            for a, b in zip(_stamped(ls)[::2], [*_stamped(ls)[1::2], ""], strict=False)
        ],
    ),
}


@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_debris_is_removed(base: str, variant: str) -> None:
    case = CASES[base]
    rule, make = VARIANTS[variant]
    report = _only_report("\n".join(make(_kernel_lines(case))) + "\n")
    assert report.title == case.expected
    if rule:
        assert any(rule in note for note in report.notes), report.notes


@pytest.mark.parametrize("base", BASES)
def test_without_debris_no_note(base: str) -> None:
    report = _only_report("\n".join(_stamped(_kernel_lines(CASES[base]))) + "\n")
    assert report.title == CASES[base].expected
    assert not any("pasted text" in note for note in report.notes)


def test_kmsg_records_and_syslog_escapes() -> None:
    """/dev/kmsg records and rsyslog's #012 escapes: read by the container parser."""
    case = CASES["052"]
    lines = _kernel_lines(case)
    kmsg = "\n".join(f"4,{100 + i},{334038673 + i},-;{x}" for i, x in enumerate(lines))
    assert _only_report(kmsg + "\n").title == case.expected
    escaped = "Jan  4 14:46:55 host kernel: " + "#012".join(lines)
    assert _only_report(escaped + "\n").title == case.expected
    dmesg_t = "\n".join(f"[Wed Jan  4 14:46:55 2023] {x}" for x in lines)
    assert _only_report(dmesg_t + "\n").title == case.expected


def test_wrapped_cpu_line_keeps_release_and_taint() -> None:
    """A CPU line cut before the release: the release must not read as a taint letter."""
    case = CASES["052"]
    lines = _stamped(_kernel_lines(case))
    cpu = next(i for i, x in enumerate(lines) if " CPU: " in x)
    cut = lines[cpu].index("5.15.0-56-generic")
    wrapped = [*lines[:cpu], lines[cpu][:cut].rstrip(), lines[cpu][cut:], *lines[cpu + 1 :]]
    report = _only_report("\n".join(wrapped) + "\n")
    assert report.kernel_release == "5.15.0-56-generic"
    assert report.taint is not None
    assert {f.letter for f in report.taint.flags} == set("GOE")  # "Tainted: G           OE"
    assert report.title == case.expected


def test_frame_cut_before_its_module() -> None:
    """A frame line whose "[module]" went to the next line, in a paste with no stamps."""
    lines = _kernel_lines(CASES["052"])
    k = next(i for i, x in enumerate(lines) if x.endswith("[rtl8188fu]"))
    head, _, module = lines[k].rpartition(" ")
    report = _only_report("\n".join([*lines[:k], head, module, *lines[k + 1 :]]) + "\n")
    assert report.title == CASES["052"].expected
    assert any(f.module == "rtl8188fu" for f in report.frames)


def test_notes_are_per_report() -> None:
    """One mail quotes one report and pastes another plainly: each says what it had."""
    quoted = ["> " + x for x in _stamped(_kernel_lines(CASES["055"]))]
    plain = _stamped(_kernel_lines(CASES["052"]))
    text = "\n".join([*quoted, "", "And today this one:", "", *plain]) + "\n"
    reports = list(parse_reports(parse_text(text)))
    assert [r.title for r in reports] == [CASES["055"].expected, CASES["052"].expected]
    assert any("quote markers" in n for n in reports[0].notes)
    assert not any("pasted text" in n for n in reports[1].notes)


@pytest.mark.parametrize(
    "prose",
    [
        "Here is a sample BUG: unable to handle kernel NULL pointer dereference at 0000000000000010",
        "I keep getting WARNING: CPU: 0 PID: 1 at mm/slub.c:12 foo+0x1/0x2 when I boot",
        "The log says Kernel panic - not syncing: Fatal exception and nothing else.",
        "Oops, I forgot to attach the log: general protection fault is all I saw.",
        "> yes, INFO: task hung is what we have seen on that host too",
    ],
)
def test_prose_is_never_a_crash(prose: str) -> None:
    assert list(parse_reports(parse_text(prose + "\n"))) == []


def test_level_tag_is_not_a_header() -> None:
    """A collector's "INFO:" tag before an ordinary kernel line opens no report."""
    text = (
        "INFO: [    1.000000] usb 1-1: new high-speed USB device number 2 using xhci_hcd\n"
        "INFO: usb 1-1: New USB device found, idVendor=0bda, idProduct=8179\n"
        "WARN: e1000e 0000:00:19.0 eth0: Detected Hardware Unit Hang\n"
        "WARNING: r8169 0000:03:00.0 eth0: rtl_rxtx_empty_cond == 0 (loop: 42, delay: 100).\n"
    )
    assert list(parse_reports(parse_text(text))) == []
    kernel_info = "INFO: task kworker/0:1:12 blocked for more than 120 seconds.\n"
    assert clean_line(kernel_info.strip()) is None
    assert clean_line("INFO: [    1.000000] usb 1-1: new device") is not None


def test_clean_line_passes_ordinary_lines() -> None:
    for line in (
        "[   12.345678] BUG: kernel NULL pointer dereference, address: 0000000000000010",
        "Dec 23 00:51:38 host kernel: Call Trace:",
        " __dentry_kill+0x89/0x180",
        "RIP: 0010:foo+0x1/0x2",
        "INFO: task kworker/0:1:12 blocked for more than 120 seconds.",
        "WARNING: CPU: 1 PID: 42 at drivers/x/y.c:12 func+0x1/0x2 [mod]()",
        "$ 4   : 878e1360 00000000 ffd23940 00000003",
        "# Feature Description",
    ):
        assert clean_line(line) is None, line


def test_continues_needs_grammar_or_a_frame() -> None:
    cpu = "[    1.0] CPU: 0 PID: 1 Comm: x Tainted: G        W"
    assert continues(cpu, "5.10.0-1 #1", framed=False)
    assert continues("[    1.0]  foo+0x1/0x2", "[mod]", framed=False)
    long_line = "[    1.0] " + "word " * 13
    assert continues(long_line.rstrip(), "continued text", framed=True)
    assert not continues(long_line.rstrip(), "continued text", framed=False)
    assert not continues(long_line.rstrip(), "Call Trace:", framed=True)
    assert not continues(long_line.rstrip(), "  indented", framed=True)


def test_kernel_lines_starting_with_stars_are_kept() -> None:
    """printk's own starred lines have a blank after the stars: no bold markers to remove."""
    for line in ("** 5 printk messages dropped **", "** replaying previous printk message **"):
        got = clean_line(line)
        assert got is None or got.lines == (line,)


def test_user_space_sanitizer_warning_is_no_crash() -> None:
    """A ThreadSanitizer report pasted from a program's stderr (Janus, -fsanitize=thread):
    "WARNING: ThreadSanitizer: data race (pid=12)" is a user-space runtime's header; the
    kernel's data-race detector says "BUG: KCSAN: data-race in ..."."""
    text = (
        "==================\n"
        "WARNING: ThreadSanitizer: data race (pid=12)\n"
        "  Write of size 8 at 0x7b70024ff800 by thread T1:\n"
        "    #0 free <null> (libtsan.so.0+0x35f45)\n"
        "    #1 janus_log_freebuffers /tmp/janus-gateway/log.c:75 (janus+0xd5971)\n"
    )
    assert list(parse_reports(parse_text(text))) == []
    assert find_header("WARNING: MemorySanitizer: use-of-uninitialized-value") is None
    assert find_header("WARNING: CPU: 0 PID: 79 at mm/slub.c:3567 kfree+0x2c5/0x300") is not None


def test_phrase_cut_by_a_narrow_wrap_is_rejoined() -> None:
    """A mailed LKFT arm64 report (6.6-rc7-next) whose header was wrapped before the wrap
    column rule would see it: "... at virtual" then "address 0001ffff9e2e7d78".  The kernel's
    fixed wording shows the cut; syzkaller names the re-joined line."""
    head = "<1>[ 203.119139] Unable to handle kernel unknown 43 at virtual"
    assert continues(head, "address 0001ffff9e2e7d78", framed=True)
    assert continues(head, "address 0001ffff9e2e7d78", framed=False)
    # the same words elsewhere are no cut: a line may start with "address" in prose
    assert not continues("[    1.0] the fault was at", "an address I cannot read", framed=False)
    assert not continues("[    1.0] BUG: unable to handle", "kernel paging request", framed=False)
    text = (
        "Log:\n----\n"
        f"{head}\n"
        "address 0001ffff9e2e7d78\n"
        "<1>[ 203.119838] Mem abort info:\n"
        "<1>[ 203.120064] ESR = 0x000000009793002b\n"
        "set_robust_list01 1 TPASS : set_robust_list: retval = -1\n"
        "(expected -1), errno = 22 (expected 22)\n"
        "<0>[ 203.132603] Internal error: Oops: 000000009793002b [#1] PREEMPT SMP\n"
        "<4>[ 203.135177] CPU: 1 PID: 653 Comm: set_robust_list Not tainted\n"
        "6.6.0-rc7-next-20231026 #1\n"
        "<4>[ 203.137028] pc : handle_futex_death (kernel/futex/core.c:661\n"
        "(discriminator 6))\n"
    )
    report = _only_report(text)
    assert report.title == CASES["187"].expected
    assert report.title == "Unable to handle kernel unknown NUM at virtual address ADDR"
    assert report.kernel_release == "6.6.0-rc7-next-20231026"


def test_console_lines_run_together_by_an_archive_are_cut_apart() -> None:
    """A linux-mips mail (4.7.10 on an SGI IP27) as a web archive stored it, every line break
    lost: prose, then the console lines one after the other, each still with its printk
    stamp.  Cut before each stamp, the oops is found and named as syzkaller names the lines
    one per stamp (no call trace: "in corrupted")."""
    run = (
        "This is the Oops message that I get: [ 0.918286] Checking for the daddi bug... no. "
        "[ 0.973207] CPU 0 Unable to handle kernel paging request at virtual address "
        "0000000000000000, epc == a8000000006b4eb4, ra == a8000000006b4eac [ 1.124206] Oops[#1]: "
        "[ 1.151460] CPU: 0 PID: 4 Comm: kworker/0:0 Not tainted 4.7.10-mipsgit-20160806 #1 "
        "[ 2.189417] epc : a8000000006b4eb4 _raw_spin_lock_irq+0x24/0x58 "
        "[ 2.262660] ra : a8000000006b4eac _raw_spin_lock_irq+0x1c/0x58"
    )
    got = clean_line(run)
    assert got is not None
    assert got.lines[0] == "This is the Oops message that I get:"
    assert got.lines[2].startswith("[ 0.973207] CPU 0 Unable to handle kernel paging request")
    assert got.lines[-1] == "[ 2.262660] ra : a8000000006b4eac _raw_spin_lock_irq+0x1c/0x58"
    assert len(got.lines) == 7
    report = _only_report(CASES["217"].raw)
    assert report.title == CASES["217"].expected
    assert report.kernel_release == "4.7.10-mipsgit-20160806"
    assert any("line breaks lost by a web archive" in note for note in report.notes)
    # one stamp quoted inside prose is no run of console lines
    prose = (
        "I looked at the console again and the log ends with [ 0.973207] CPU 0 Unable to "
        "handle kernel paging request, and nothing after it, which is odd for this board"
    )
    assert clean_line(prose) is None


def test_console_records_with_levels_run_together_are_cut_apart() -> None:
    """The mailed LKFT arm64 report (6.6-rc7-next), whose records carry a console level
    before the stamp ("<1>[ 203.119139] "), as an archive that lost its line breaks would
    store it; and records of a kernel without printk times, levels only ("<4>Modules linked
    in: ", "<0>Oops: "): both cut before each record head."""
    lines = [line for line in CASES["187"].clean().split("\n") if line.startswith("<")]
    run = "Log: ---- " + " ".join(lines)
    got = clean_line(run)
    assert got is not None
    assert got.lines == ("Log: ----", *lines)
    report = _only_report(run + "\n")
    assert report.title == CASES["187"].expected
    bare = (
        "we hit the panic as below: <1>BUG: unable to handle kernel paging request at "
        "0000000b819fdb98 <4>PGD 94b10067 PUD 0 <0>Oops: 0000 [#1] SMP <4>CPU 3"
    )
    got = clean_line(bare)
    assert got is not None
    assert got.lines[1:] == (
        "<1>BUG: unable to handle kernel paging request at 0000000b819fdb98",
        "<4>PGD 94b10067 PUD 0",
        "<0>Oops: 0000 [#1] SMP",
        "<4>CPU 3",
    )
    # an x86 Code: line's "<8b>" byte marker is no console level
    code = "[ 1.0] Code: " + "ff 25 " * 20 + "<8b> 02 c1 e8 1e 69 c0 00 0b 00 00 05 c0 f3 9e c0 2b 80"
    assert clean_line(code) is None


def test_terminal_sequences_of_real_tools_are_removed() -> None:
    """What ncurses' ``tput sgr0`` and ``tput setaf 1`` print for an xterm (a character set
    choice, then SGR), and an OSC 8 hyperlink: none stays in the kernel line."""
    import os
    import shutil
    import subprocess

    from conftest import need
    from kmend.logs import parse_text

    need(shutil.which("tput"), "ncurses tput not installed")
    env = dict(os.environ, TERM="xterm")
    red = subprocess.run(["tput", "setaf", "1"], capture_output=True, text=True, env=env,
                         check=True, timeout=30).stdout
    reset = subprocess.run(["tput", "sgr0"], capture_output=True, text=True, env=env,
                           check=True, timeout=30).stdout
    assert "\x1b" in red and "\x1b(" in reset
    link = "\x1b]8;;https://example.org\x1b\\drivers/xen/evtchn.c\x1b]8;;\x1b\\"
    text = f"{red}[   12.345678] kernel BUG at {link}:264!{reset}\n"
    lines = list(parse_text(text))
    assert [ln.text for ln in lines] == ["kernel BUG at drivers/xen/evtchn.c:264!"]
    assert lines[0].uptime == 12.345678 and "terminal colour codes" in lines[0].debris
