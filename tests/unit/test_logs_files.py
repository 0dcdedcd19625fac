"""Files, directories, rotated and compressed logs, stdin, bad input."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import zstandard

from conftest import REPO, need
from kmend.errors import InputError
from kmend.logs import iter_stream, read_paths
from kmend.logs.lines import BLOCK_SIZE, MAX_LINE


def syslog(host: str, n: int, first: int = 0) -> str:
    return "".join(f"Dec 23 00:51:{(first + i) % 60:02d} {host} kernel: line {first + i}\n"
                   for i in range(n))  # fmt: skip


def texts(lines: object) -> list[str]:
    return [ll.text for ll in lines]  # type: ignore[attr-defined]


@pytest.mark.parametrize("tool", ["gzip", "xz", "bzip2", "zstd"])
def test_compressed_by_real_tool_and_magic(tmp_path: Path, tool: str) -> None:
    need(shutil.which(tool), f"{tool} not installed")
    plain = tmp_path / "messages"
    plain.write_text(syslog("h", 5))
    argv = [tool, "-q", "--rm", str(plain)] if tool == "zstd" else [tool, "-q", str(plain)]
    subprocess.run(argv, check=True, timeout=60)
    (compressed,) = [p for p in tmp_path.iterdir()]
    assert compressed.name != "messages"
    # rename so that the extension says nothing: detection is by magic bytes
    disguised = tmp_path / "messages.1"
    compressed.rename(disguised)
    got = list(read_paths([str(disguised)]))
    assert texts(got) == [f"line {i}" for i in range(5)]
    assert {ll.source for ll in got} == {str(disguised)}
    assert [ll.lineno for ll in got] == [1, 2, 3, 4, 5]


def test_directory_recursive_rotated_order(tmp_path: Path) -> None:
    log = tmp_path / "var" / "log"
    (log / "remote" / "h2").mkdir(parents=True)
    (log / "messages").write_text(syslog("h1", 2, 40))
    (log / "messages.1").write_text(syslog("h1", 2, 30))
    (log / "messages.2.gz").write_bytes(gzip.compress(syslog("h1", 2, 20).encode()))
    (log / "messages.3.xz").write_bytes(lzma.compress(syslog("h1", 2, 10).encode()))
    (log / "messages.10.bz2").write_bytes(bz2.compress(syslog("h1", 2, 0).encode()))
    (log / "remote" / "h2" / "kern.log.zst").write_bytes(
        zstandard.ZstdCompressor().compress(syslog("h2", 1, 50).encode())
    )
    (log / "wtmp").write_bytes(b"\0" * 384)  # a binary database: skipped
    got = list(read_paths([str(tmp_path / "var")]))
    assert texts(got) == [
        "line 0", "line 1", "line 10", "line 11", "line 20", "line 21",
        "line 30", "line 31", "line 40", "line 41", "line 50",
    ]  # fmt: skip
    assert got[0].source == str(log / "messages.10.bz2")
    assert got[-1].source == str(log / "remote" / "h2" / "kern.log.zst")
    assert got[-1].host == "h2"


def test_multimember_gzip_and_multiframe_zstd(tmp_path: Path) -> None:
    gz = tmp_path / "a.gz"
    gz.write_bytes(gzip.compress(b"one\n") + gzip.compress(b"two\n"))
    zst = tmp_path / "b.zst"
    c = zstandard.ZstdCompressor()
    zst.write_bytes(c.compress(b"three\n") + c.compress(b"four\n"))
    assert texts(read_paths([str(gz), str(zst)])) == ["one", "two", "three", "four"]


def test_big_stdin_is_read_to_the_end_by_the_forked_worker(tmp_path: Path) -> None:
    """More than one 8 MiB block on a real stdin: the prefilter's forked worker reads it
    (multiprocessing closes sys.stdin in its children; kmend reads a duplicate).  The
    same log given as a file is the reference."""
    crash = (REPO / "tests/data/crashes/6.1.0-47-amd64/bug.syslog.log").read_text()
    noise = syslog("noisy", 220_000)  # ~9 MiB each side
    log = tmp_path / "big.log"
    log.write_text(noise + crash + noise + crash)
    assert log.stat().st_size > 2 * BLOCK_SIZE

    def scan(*args: str, stdin: Any = subprocess.DEVNULL) -> Any:
        res = subprocess.run([sys.executable, "-m", "kmend", "scan", "--json", *args],
                             stdin=stdin, capture_output=True, text=True, timeout=120,
                             env=dict(os.environ, PYTHONPATH=str(REPO / "src")), check=False)
        assert res.returncode == 0, res.stderr
        return json.loads(res.stdout)

    with log.open("rb") as fh:
        piped = scan("-", stdin=fh)
    by_path = scan(str(log))
    assert [r["title"] for r in piped["reports"]] == [
        "kernel BUG in crashmod_bug", "kernel BUG in crashmod_bug"]

    def facts(doc: Any) -> list[dict[str, Any]]:  # all but the source (and how its year is known)
        return [{k: v for k, v in r.items() if k not in ("raw", "source", "notes")}
                for r in doc["reports"]]

    assert facts(piped) == facts(by_path)


def test_stdin_via_iter_stream_and_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    data = gzip.compress(b"[   1.500000] BUG: x\n")
    got = list(iter_stream(io.BytesIO(data), "-"))
    assert [(g.source, g.text, g.uptime) for g in got] == [("-", "BUG: x", 1.5)]

    class FakeStdin:
        buffer = io.BytesIO(b"Dec  1 00:00:00 h kernel: from stdin\n")

    monkeypatch.setattr("sys.stdin", FakeStdin)
    got = list(read_paths(["-"]))
    assert [(g.source, g.host, g.text) for g in got] == [("-", "h", "from stdin")]


def test_missing_file_is_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        list(read_paths([str(tmp_path / "nope.log")]))
    assert "nope.log" in str(err.value)
    assert "\n" not in str(err.value)
    assert err.value.exit_code == 4


def test_unopenable_inputs_are_input_errors(tmp_path: Path) -> None:
    # inputs that even root cannot read: a socket, and a symlink loop
    sock_path = tmp_path / "s.sock"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(sock_path))
    loop_a, loop_b = tmp_path / "a", tmp_path / "b"
    loop_a.symlink_to(loop_b)
    loop_b.symlink_to(loop_a)
    try:
        for bad in (sock_path, loop_a):
            with pytest.raises(InputError) as err:
                list(read_paths([str(bad)]))
            assert str(err.value).startswith(f"{bad}: ")
            assert "\n" not in str(err.value)
    finally:
        sock.close()


def _as_nobody_if_root() -> None:
    """Root reads files whatever their mode: check as an unprivileged user instead."""
    if os.geteuid() == 0:
        os.setgid(65534)
        os.setuid(65534)


def test_permission_denied_file_and_dir() -> None:
    base = Path(tempfile.mkdtemp(prefix="kmend-perm-"))
    base.chmod(0o777)  # the unprivileged child creates its files here
    pid = os.fork()
    if pid == 0:  # child: drop privileges, run the check, report by exit status
        status = 1
        try:
            _as_nobody_if_root()
            _check_permission_denied(base)
            status = 0
        finally:
            os._exit(status)
    _, wait_status = os.waitpid(pid, 0)
    shutil.rmtree(base, ignore_errors=True)
    assert os.waitstatus_to_exitcode(wait_status) == 0


def _check_permission_denied(tmp_path: Path) -> None:
    f = tmp_path / "secret.log"
    f.write_text("x\n")
    f.chmod(0)
    d = tmp_path / "closed"
    d.mkdir()
    d.chmod(0)
    try:
        with pytest.raises(InputError, match="permission denied"):
            list(read_paths([str(f)]))
        with pytest.raises(InputError, match="permission denied"):
            list(read_paths([str(d)]))
    finally:
        f.chmod(0o644)
        d.chmod(0o755)


def test_on_error_continues(tmp_path: Path) -> None:
    good = tmp_path / "good.log"
    good.write_text("[ 1.000000] ok\n")
    errors: list[InputError] = []
    got = list(read_paths([str(tmp_path / "missing"), str(good)], on_error=errors.append))
    assert texts(got) == ["ok"]
    assert len(errors) == 1 and "missing" in errors[0].message


def test_truncated_gzip_is_input_error_after_lines(tmp_path: Path) -> None:
    data = gzip.compress(syslog("h", 200_000).encode())  # 7 MB of text
    bad = tmp_path / "messages.1.gz"
    bad.write_bytes(data[: len(data) // 2])
    seen: list[str] = []
    with pytest.raises(InputError, match="corrupt or truncated gzip"):
        for ll in read_paths([str(bad)]):
            seen.append(ll.text)
    assert seen[0] == "line 0"


def test_megabyte_lines_are_split_keeping_content(tmp_path: Path) -> None:
    words = " ".join(f"w{i:07d}" for i in range(400_000))  # 3.6 MB of text, no newline
    path = tmp_path / "big.log"
    path.write_text("[    5.000000] " + words + "\nafter\n")
    got = list(read_paths([str(path)]))
    assert got[-1].text == "after" and got[-1].lineno == 2
    pieces = [ll for ll in got if ll.lineno == 1]
    assert len(pieces) >= 3
    assert all(len(p.text) <= MAX_LINE for p in pieces)
    assert " ".join(p.text.strip() for p in pieces) == words
    assert pieces[0].uptime == 5.0


def test_huge_line_without_spaces_is_cut(tmp_path: Path) -> None:
    path = tmp_path / "blob.log"
    blob = "x" * (3 * MAX_LINE + 17)
    path.write_text(blob + "\n")
    got = list(read_paths([str(path)]))
    assert "".join(ll.text for ll in got) == blob
    assert max(len(ll.text) for ll in got) <= MAX_LINE


def test_invalid_utf8_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "bad.log"
    path.write_bytes(b"[    1.000000] BUG: \xff\xfe name \xc3\xa9\n\x00\x01\x02 garbage \x80\n")
    got = list(read_paths([str(path)]))
    assert [g.text for g in got] == ["BUG: \ufffd\ufffd name é", "\x00\x01\x02 garbage \ufffd"]


def test_binary_garbage_never_raises(tmp_path: Path) -> None:
    path = tmp_path / "random.bin"
    path.write_bytes(os.urandom(300_000))
    for prefilter in (False, True):
        for ll in read_paths([str(path)], prefilter=prefilter):
            assert isinstance(ll.text, str)


def test_parse_text_cuts_huge_lines_like_files(tmp_path: Path) -> None:
    from dataclasses import replace

    from kmend.logs import parse_text

    text = "[    5.000000] " + " ".join(f"w{i:07d}" for i in range(300_000)) + "\nafter\n"
    path = tmp_path / "big.log"
    path.write_text(text)
    from_file = [replace(ll, source="<text>") for ll in read_paths([str(path)])]
    assert list(parse_text(text)) == from_file
    assert len(from_file) >= 4


def test_parse_text_and_files_agree_on_mixed_input(tmp_path: Path) -> None:
    from dataclasses import replace

    from kmend.logs import parse_text

    text = "\n".join([
        "Dec 23 00:51:38 h1 -- MARK --",
        "Dec 23 00:51:38 h1 kernel: BUG: x",
        "2026-11-26T03:04:05+00:00 h2 sshd[3]: not kernel",
        "<13>Dec 23 00:51:38 h1 app: forwarded, not kernel",
        "[    1.000000] console line",
        "6,1,2,-;kmsg line",
        " SUBSYSTEM=pci",
        "Dec 23 00:51:38 h1 kernel: a#012b",
        "plain text",
    ]) + "\n"
    path = tmp_path / "mixed.log"
    path.write_text(text)
    from_file = [replace(ll, source="<text>") for ll in read_paths([str(path)])]
    assert list(parse_text(text)) == from_file
    assert [(ll.lineno, ll.text) for ll in from_file] == [
        (2, "BUG: x"), (5, "console line"), (6, "kmsg line"), (8, "a"), (8, "b"), (9, "plain text"),
    ]  # fmt: skip


def test_unlistable_subdirectory_is_reported_and_skipped_simulated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Simulated: root (as in CI) can list any directory, so os.scandir is made to refuse
    # one subdirectory the way it does for an unprivileged user (EACCES).
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.log").write_text("[ 1.000000] from a\n")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "y.log").write_text("[ 2.000000] from b\n")
    real_scandir = os.scandir

    def scandir(path: str) -> object:
        if str(path).endswith(os.sep + "a"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    errors: list[InputError] = []
    got = list(read_paths([str(tmp_path)], on_error=errors.append))
    assert texts(got) == ["from b"]
    assert [str(e) for e in errors] == [
        f"{tmp_path / 'a'}: permission denied — run with read access to it"
    ]
    with pytest.raises(InputError, match="permission denied"):
        list(read_paths([str(tmp_path)]))
