"""Syslog lines as util-linux ``logger`` writes them: RFC 5424 (what rsyslog's
RSYSLOG_SyslogProtocol23Format and syslog-ng's syslog-protocol files hold) and RFC 3164.

logger sends the founding crash's messages (tagged ``kernel``, facility kern) to a
datagram socket of the test's; the lines received, one per datagram, are the log.  The
expected host and time are the ones logger wrote in the header's line; the crash site is
the example's ``kernel BUG at drivers/xen/evtchn.c:264!``.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from conftest import REPO, need
from kmend.logs import read_paths
from kmend.oops import parse_reports

pytestmark = pytest.mark.integration

EXAMPLE = REPO / "examples" / "w-xen09-messages.log"
HEADER = "kernel BUG at drivers/xen/evtchn.c:264!"


def _logger_lines(tmp_path: Path, form: str) -> list[bytes]:
    need(shutil.which("logger"), "util-linux logger not installed")
    messages = tmp_path / "messages.txt"
    messages.write_text("".join(line.split(" kernel: ", 1)[1] + "\n"
                                for line in EXAMPLE.read_text().splitlines()))
    path = str(tmp_path / "sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(path)
        sock.settimeout(10)
        # read while logger sends: a datagram socket queues only a few messages
        proc = subprocess.Popen(["logger", "-u", path, form, "-t", "kernel", "-p",
                                 "kern.warn", "-f", str(messages)])  # fmt: skip
        try:
            got = [sock.recv(65536) for _ in messages.read_text().splitlines()]
        finally:
            assert proc.wait(timeout=60) == 0
        return got


@pytest.mark.parametrize("form", ["--rfc5424", "--rfc5424=notq", "--rfc3164"])
def test_logger_lines_hold_the_founding_crash(tmp_path: Path, form: str) -> None:
    lines = _logger_lines(tmp_path, form)
    header = next(line.decode() for line in lines if line.endswith(HEADER.encode()))
    log = tmp_path / "messages"
    log.write_bytes(b"".join(line + b"\n" for line in lines))
    reports = list(parse_reports(read_paths([str(log)])))
    assert len(reports) == 1
    rep = reports[0]
    assert rep.location is not None
    assert (rep.location.file, rep.location.line) == ("drivers/xen/evtchn.c", 264)
    if form.startswith("--rfc5424"):
        # <PRI>1 TIME HOST APP PROCID MSGID SD MSG
        m = re.match(r"<\d+>1 (\S+) (\S+) kernel ", header)
        assert m is not None, header
        assert rep.host == m[2]
        assert rep.timestamp is not None
        assert datetime.fromisoformat(rep.timestamp) == datetime.fromisoformat(m[1])
    else:
        m = re.match(r"<\d+>(\w{3} [ \d]\d \d\d:\d\d:\d\d) (\S+) kernel: ", header)
        assert m is not None, header
        assert rep.host == m[2]
