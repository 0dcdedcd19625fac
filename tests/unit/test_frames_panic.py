"""``Kernel panic - not syncing: <message>`` titles against syzkaller's parser (syzparse).

A panic line that follows an oops ("Fatal exception", "Fatal exception in interrupt") is
titled "kernel panic: Fatal exception" and marked corrupted: the real header was missed."""

from __future__ import annotations

import pytest
from test_frames_skip import _syz_titles, _syzparse

from kmend.logs import parse_text
from kmend.oops import parse_reports

MESSAGES = (
    "Fatal exception in interrupt",
    "Fatal exception",
    "Attempted to kill init! exitcode=0x0000000b",
    "stack-protector: Kernel stack is corrupted in: foo_bar+0x1/0x2",
    "panic_on_warn set ...",
    "hung_task: blocked tasks",
    "System is deadlocked on memory",
    "VFS: Unable to mount root fs on unknown-block(0,0)",
)

_LOG = """\
[   10.000000] Kernel panic - not syncing: {msg}
[   10.000000] CPU: 0 PID: 1 Comm: swapper/0 Not tainted 6.1.0 #1
[   10.000000] Call Trace:
[   10.000000]  <TASK>
[   10.000000]  dump_stack_lvl+0x1/0x2
[   10.000000]  panic+0x1/0x2
[   10.000000]  foo_caller+0x1/0x2
[   10.000000]  </TASK>
[   10.000000] Kernel Offset: disabled
"""


@pytest.fixture(scope="module")
def syz(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    logs = [_LOG.format(msg=m) for m in MESSAGES]
    titles = _syz_titles(_syzparse(), logs, tmp_path_factory.mktemp("panic"))
    return dict(zip(MESSAGES, titles, strict=True))


@pytest.mark.parametrize("msg", MESSAGES)
def test_panic_titles_match_syzkaller(msg: str, syz: dict[str, str]) -> None:
    reports = list(parse_reports(parse_text(_LOG.format(msg=msg), source="panic")))
    assert reports
    assert reports[0].title == syz[msg]


def test_fatal_exception_in_interrupt_is_fatal_exception(syz: dict[str, str]) -> None:
    assert syz["Fatal exception in interrupt"] == "kernel panic: Fatal exception"
