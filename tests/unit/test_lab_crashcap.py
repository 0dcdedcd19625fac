"""Pure parts of the crash capture: trigger sites, the guest command, console slicing."""

from __future__ import annotations

from tests.conftest import REPO
from tests.labkit.crashcap import (
    COMM,
    KINDS,
    kernel_records,
    plain_console,
    trigger_command,
    trigger_pid,
    trigger_sites,
)

SOURCE = REPO / "tests" / "data" / "crashmod" / "crashmod.c"


def _line_of(statement: str) -> int:
    lines = SOURCE.read_text().splitlines()
    hits = [i + 1 for i, line in enumerate(lines) if statement in line]
    assert len(hits) == 1, statement
    return hits[0]


def test_sites_match_plain_text_search() -> None:
    sites = trigger_sites(SOURCE.read_text())
    assert set(sites) == {k.trigger_name for k in KINDS}
    assert sites["bug"].line == _line_of("BUG(); /* KMEND-TRIGGER: bug */")
    assert sites["bug"].function == "crashmod_bug"
    assert sites["timer"].function == "crashmod_timer_fn"
    assert sites["softlockup"].function == "crashmod_softlockup"
    assert sites["divide"].function == "crashmod_divide"


def test_sites_synthetic() -> None:
    text = "static int helper(int a,\n\t\t  int b)\n{\n\treturn a / b; /* KMEND-TRIGGER: x */\n}\n"
    site = trigger_sites(text)["x"]
    assert (site.line, site.function) == (4, "helper")


def test_trigger_command_names_the_process_first() -> None:
    hung = next(k for k in KINDS if k.name == "hung")
    cmd = trigger_command(hung)
    assert cmd.index("hung_task_timeout_secs") < cmd.index(f"printf %s {COMM} > /proc/self/comm")
    assert cmd.endswith("echo hung > /proc/crashmod")
    assert len(COMM) <= 15  # TASK_COMM_LEN - 1


def test_console_slicing() -> None:
    raw = (
        "KMEND-LAB: early\r\n"
        "<6>[    0.000000] Linux version 6.1\r\n"
        "KMEND-CRASH: pid=42\r\n"
        "<6>[    0.100000] PGD 0 P4D 0 \r\n"
        "<4>[    1.000000] ---[ end trace 0000000000000000 ]---\r\n"
        "KMEND-LAB: done\r\n"
    )
    records = kernel_records(raw)
    assert [(r.level, r.seconds) for r in records] == [(6, 0.0), (6, 0.1), (4, 1.0)]
    assert records[1].text == "PGD 0 P4D 0 "  # trailing space kept, as the kernel printed it
    assert plain_console(raw) == (
        "[    0.000000] Linux version 6.1\n"
        "KMEND-CRASH: pid=42\n"
        "[    0.100000] PGD 0 P4D 0 \n"
        "[    1.000000] ---[ end trace 0000000000000000 ]---\n"
    )
    assert trigger_pid(raw) == 42
    assert plain_console("no kernel here") == ""
