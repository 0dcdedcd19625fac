"""Hostile input keeps the error model: one line, a documented exit code, never 70, no hang.

Each case is one a broken or hostile machine produces, made from a real crash log or a
real Debian module (``tests/hostile.py``).  Time and memory of the big ones are measured
by ``bench/hostile.py``; here the answers are checked.
"""

from __future__ import annotations

import errno
import io
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import hostile
from conftest import REPO, need
from kmend.errors import InputError
from kmend.jsonout import dumps
from kmend.logs import iter_stream, parse_text, read_paths
from kmend.logs import open as open_mod
from kmend.logs.parser import MAX_TEXT
from kmend.oops import parse_reports

ENV = dict(os.environ, PYTHONPATH=str(REPO / "src"))


def kmend(*args: str, stdin: Any = subprocess.DEVNULL, timeout: float = 120) -> Any:
    return subprocess.run([sys.executable, "-m", "kmend", *args], stdin=stdin,
                          capture_output=True, text=True, timeout=timeout, env=ENV,
                          check=False)  # fmt: skip


def one_line_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("kmend: ")]
    assert lines and "Traceback" not in stderr, stderr
    return lines[0]


# --- numbers of thousands of digits ---------------------------------------------------------


@pytest.mark.parametrize("name", sorted(hostile.big_number_logs()))
def test_numbers_of_thousands_of_digits_are_read_as_absent(name: str) -> None:
    data = hostile.big_number_logs()[name]
    reps = list(parse_reports(iter_stream(io.BytesIO(data), name)))
    assert len(reps) == 1
    rep = reps[0]
    assert rep.title == "kernel BUG in evtchn_bind_to_user"  # the crash is still named
    doc = json.loads(dumps(rep))
    if name == "bug-digits":
        assert rep.location is None  # the line number is not a number
    if name == "oops-digits":
        assert rep.die_counter is None
    if name == "rip-hex":
        assert rep.pc is not None and rep.pc.offset is None and rep.cpu is None
        assert doc["pc"]["address"] == "0xffffffffa03276f8"
    assert all(len(line) <= MAX_TEXT for line in rep.raw.split("\n"))


def test_json_addresses_are_hex_strings() -> None:
    res = kmend("scan", "--json", str(REPO / "examples/w-xen09-messages.log"))
    assert res.returncode == 0, res.stderr
    rep = json.loads(res.stdout)["reports"][0]
    # the values the log prints: RIP: e030:[<ffffffffa03276f8>], [<ffffffffa032797e>] evtchn_ioctl
    assert rep["pc"]["address"] == "0xffffffffa03276f8"
    ioctl = next(f for f in rep["frames"] if f["function"] == "evtchn_ioctl")
    assert ioctl["address"] == "0xffffffffa032797e" and ioctl["offset"] == 0x13E


# --- long lines and runs of spaces ------------------------------------------------------------


def test_runs_of_spaces_near_a_crash() -> None:
    data = hostile.spaces_log(20000)
    start = time.process_time()
    reps = list(parse_reports(iter_stream(io.BytesIO(data), "spaces")))
    took = time.process_time() - start
    assert [r.title for r in reps] == ["kernel BUG in evtchn_bind_to_user"]
    # 13-22 s with the quadratic splitters; the regex lint (test_regex_linear) is the
    # precise check, this one only catches a return to seconds
    assert took < 5, took


def test_over_long_line_is_cut_and_the_report_says_so() -> None:
    text = hostile.crash_log().decode()
    lines = text.split("\n")
    lines.insert(4, "Dec 23 00:51:38 w-xen09 kernel: " + "A" * 5000)
    reps = list(parse_reports(parse_text("\n".join(lines))))
    assert len(reps) == 1
    note = next(n for n in reps[0].notes if "over-long" in n)
    assert "cut to 1024 characters" in note and "line 5" in note and "5000" in note
    assert "A" * MAX_TEXT in reps[0].raw and "A" * (MAX_TEXT + 1) not in reps[0].raw


def test_rejected_frames_on_one_line_are_linear() -> None:
    line = "RIP: " + " f+0x1/0x2" * 100_000  # each frame landmark refused after "RIP"
    start = time.process_time()
    list(parse_text("[  1.000000] " + line + "\n"))
    assert time.process_time() - start < 5


# --- special files ------------------------------------------------------------------------------


def test_character_devices_are_refused_by_scan_and_show() -> None:
    for args in (("scan", "/dev/zero"), ("show", "/dev/zero"), ("scan", "--json", "/dev/zero")):
        res = kmend(*args, timeout=60)
        assert res.returncode == InputError.exit_code, res.stderr
        assert "/dev/zero: a character device, not a log file" in one_line_error(res.stderr)


def test_stdin_from_a_character_device_is_refused() -> None:
    with open("/dev/zero", "rb") as zero:
        res = kmend("scan", "-", stdin=zero, timeout=60)
    assert res.returncode == InputError.exit_code
    assert "standard input: a character device" in one_line_error(res.stderr)


def test_dev_null_reads_as_empty() -> None:
    res = kmend("scan", "/dev/null")
    # read as an empty log: no error about the file, just no crash in it (exit 4)
    assert res.returncode == 4 and "no kernel crash found" in res.stdout, res.stderr
    assert res.stderr.strip() == "kmend: no kernel crash found in /dev/null"


def test_fifo_without_writer_is_refused_after_a_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    monkeypatch.setattr(open_mod, "FIFO_WAIT", 0.3)
    errors: list[InputError] = []
    start = time.monotonic()
    assert list(read_paths([str(fifo)], on_error=errors.append)) == []
    assert time.monotonic() - start < 5
    assert len(errors) == 1 and "a FIFO with no writer" in str(errors[0])


def _fifo_writer(fifo: Path, delay: float) -> threading.Thread:
    """A FIFO at *fifo* and a started thread that writes a real crash log into it after
    *delay* seconds."""
    os.mkfifo(fifo)
    crash = hostile.crash_log()

    def write() -> None:
        time.sleep(delay)
        with open(fifo, "wb") as fh:
            fh.write(crash)

    writer = threading.Thread(target=write)
    writer.start()
    return writer


def test_fifo_with_a_writer_is_read(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    writer = _fifo_writer(fifo, 0.2)
    reps = list(parse_reports(read_paths([str(fifo)])))
    writer.join()
    assert [r.title for r in reps] == ["kernel BUG in evtchn_bind_to_user"]



@pytest.mark.parametrize("verb", ["scan", "show"])
def test_a_fifo_named_on_the_command_line_is_read_once(tmp_path: Path, verb: str) -> None:
    """The whole command, not only the reader: after the log is read (the writer gone),
    nothing opens the FIFO again (a blocking open of a FIFO without a writer never ends)."""
    fifo = tmp_path / "messages"
    writer = _fifo_writer(fifo, 0.3)
    try:
        res = kmend(verb, str(fifo), timeout=60)
    finally:
        if writer.is_alive():  # kmend never opened it: let the writer go
            os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))
        writer.join(timeout=10)
    assert res.returncode == 0, res.stderr
    assert "evtchn_bind_to_user" in res.stdout

# --- damaged compressed logs ------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["gz", "xz", "bz2", "zst"])
def test_a_damaged_log_in_a_directory_is_a_warning_and_the_rest_is_scanned(
    tmp_path: Path, kind: str
) -> None:
    crash = hostile.crash_log()
    (tmp_path / "messages").write_bytes(crash)
    noise = "".join(f"Dec 23 00:51:38 w-xen09 sshd[{i}]: session {i * 7919 % 100003:x}\n"
                    for i in range(40_000)).encode()  # fmt: skip
    blob = hostile.compress(crash + noise + crash, kind)  # 2 MB: several blocks of each kind
    (tmp_path / f"messages.1.{kind}").write_bytes(blob[: len(blob) * 2 // 3])
    res = kmend("scan", "--json", str(tmp_path))
    assert res.returncode == 0, res.stderr  # as for a good file with the same lines
    doc = json.loads(res.stdout)
    by_file: dict[str, int] = {}
    for rep in doc["reports"]:
        name = Path(rep["source"]["path"]).name
        by_file[name] = by_file.get(name, 0) + 1
    assert by_file["messages"] == 1 and by_file.get(f"messages.1.{kind}", 0) >= 1
    warnings = [line for line in res.stderr.splitlines() if line.startswith("kmend: warning: ")]
    assert len(warnings) == 1 and f"messages.1.{kind}: truncated" in warnings[0]


def test_an_unreadable_journal_in_a_directory_keeps_the_other_logs_crashes(
    tmp_path: Path,
) -> None:
    """A journal file journalctl cannot read (its signature, then garbage) beside a good
    log: the error is one line and exit 4, and the good log's crash is still reported (the
    error ended the directory, and the report still open from the good log was lost)."""
    need(shutil.which("journalctl"), "journalctl not installed")
    (tmp_path / "messages").write_bytes(hostile.crash_log())
    (tmp_path / "system.journal").write_bytes(b"LPKSHHRH" + bytes(range(256)) * 4)
    res = kmend("scan", "--json", str(tmp_path))
    assert res.returncode == InputError.exit_code
    doc = json.loads(res.stdout)
    assert [Path(r["source"]["path"]).name for r in doc["reports"]] == ["messages"]
    assert "journalctl cannot read it" in one_line_error(res.stderr)


def test_only_the_zstd_magic_warns() -> None:
    warnings: list[InputError] = []
    blob = hostile.compress(b"", "zst")[:4]
    assert list(iter_stream(io.BytesIO(blob), "x.zst", on_warning=warnings.append)) == []
    assert len(warnings) == 1 and "truncated zstd data" in str(warnings[0])


def test_a_decompression_bomb_costs_time_not_memory() -> None:
    import resource

    blob = hostile.compress(b"\0" * (256 << 20), "zst")  # 256 MiB of NULs, 8 KiB packed
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    got = list(iter_stream(io.BytesIO(blob), "bomb.zst"))
    grew_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert got and all(len(ll.text) <= MAX_TEXT for ll in got)
    assert grew_mb < 150, grew_mb


# --- modules -------------------------------------------------------------------------------------


def _module() -> bytes:
    need(hostile.DEBIAN_MODULES.is_dir(), "Debian's 6.1 modules are not installed")
    return hostile.small_debian_module().read_bytes()


def test_nobits_modinfo_of_a_terabyte_is_empty_not_allocated() -> None:
    from kmend.ko import parse_module

    mod = parse_module(hostile.nobits_modinfo(_module()), Path("x.ko"))
    assert mod.modinfo == {} and mod.vermagic is None


def test_compressed_sections_are_read_raw_never_inflated() -> None:
    """The kernel's loader does not inflate SHF_COMPRESSED sections, and neither does kmend:
    bad zlib data is no error, and a section claiming 400 MiB costs nothing."""
    import resource

    from kmend.ko import parse_module

    elf = _module()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for bad in (hostile.bad_zlib_section(elf), hostile.zlib_bomb_section(elf)):
        mod = parse_module(bad, Path("x.ko"))
        assert mod.vermagic is None  # .modinfo holds a compression header, no key=value
    grew_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grew_mb < 100, grew_mb


def test_truncated_ko_zst_says_so(tmp_path: Path) -> None:
    path = tmp_path / "m.ko.zst"
    path.write_bytes(hostile.compress(_module(), "zst")[:3000])
    res = kmend("check", str(path), "--kernel", "6.1.0-47-amd64")
    assert res.returncode == InputError.exit_code
    assert "corrupt or truncated zstd data (truncated zstd data" in one_line_error(res.stderr)


def test_check_refuses_devices_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "m.ko"
    os.mkfifo(fifo)
    res = kmend("check", str(fifo), "--kernel", "6.1.0-47-amd64", timeout=60)
    assert res.returncode == InputError.exit_code  # and it returned: no blocking open
    assert str(fifo) in one_line_error(res.stderr)
    with pytest.raises(InputError, match="not a regular file"):
        from kmend.ko import read_module

        read_module(fifo)


def test_check_of_a_symlink_loop_says_so(tmp_path: Path) -> None:
    """A looping symlink is not a missing file: the error names the loop (the wording is
    the system's, ELOOP's strerror)."""
    (tmp_path / "a.ko").symlink_to(tmp_path / "b.ko")
    (tmp_path / "b.ko").symlink_to(tmp_path / "a.ko")
    res = kmend("check", str(tmp_path / "a.ko"), "--kernel", "6.1.0-47-amd64")
    assert res.returncode == InputError.exit_code
    assert one_line_error(res.stderr).startswith(
        f"kmend: error: {tmp_path / 'a.ko'}: {os.strerror(errno.ELOOP).lower()}")


# --- findings of the long fuzzing run (bench/fuzz.py) -------------------------------------------


@pytest.mark.parametrize("kind", ["plain", "gz", "xz", "bz2", "zst"])
def test_a_small_log_without_a_final_newline_is_read_without_the_worker(
    monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """Found by bench/fuzz.py: 300 bytes took a second or more, because the unterminated
    last line came as a second block (and so did the 32 bytes a peek put back) and a
    second block forked the prefilter's worker process."""
    from kmend.logs import worker

    def no_fork(*_args: object) -> None:
        raise AssertionError("the worker was forked for a small input")

    monkeypatch.setattr(worker, "filter_in_child", no_fork)
    data = hostile.crash_log().rstrip(b"\n")
    if kind != "plain":
        data = hostile.compress(data, kind)
    reps = list(parse_reports(iter_stream(io.BytesIO(data), "x", prefilter=True)))
    assert [r.title for r in reps] == ["kernel BUG in evtchn_bind_to_user"]


def test_a_section_name_with_line_breaks_stays_on_one_line() -> None:
    """Found by bench/fuzz.py: a module whose string table was damaged so that a section
    name held a newline made a two-line error."""
    from kmend.ko import parse_module

    elf = bytearray(_module())
    fields = hostile.section(bytes(elf), ".modinfo")
    shstr = hostile.section(bytes(elf), ".shstrtab")
    name_at = shstr[4] + fields[0]
    elf[name_at : name_at + 8] = b".mod\ninf"
    bad = hostile.set_section(bytes(elf), ".mod\ninf", sh_size=1 << 30)  # past the end
    with pytest.raises(InputError) as err:
        parse_module(bad, Path("x.ko"))
    assert "\n" not in str(err.value) and "ends past the end of the file" in str(err.value)
    assert "\n" not in str(InputError("a name: .mod\ninf", "x\ny"))  # whatever is quoted


# --- scan --json is streamed ---------------------------------------------------------------------


def test_streamed_scan_json_is_the_same_document(tmp_path: Path) -> None:
    """``scan --json`` writes each report as it is decoded; the document is byte for byte
    the one written whole from the kept reports."""
    from kmend.jsonout import dumps as dumps_doc
    from kmend.triage.scan import scan

    logs = sorted(hostile.CRASHES.glob("6.1.0-47-amd64/*.syslog.log"))[:6]
    res = kmend("scan", "--json", *map(str, logs))
    assert res.returncode == 0, res.stderr
    whole = scan([str(p) for p in logs])
    assert len(whole.reports) >= 6
    expected = dumps_doc({"reports": whole.reports, "groups": whole.groups}, flat_below=3)
    assert res.stdout == expected + "\n"
    assert scan([str(p) for p in logs], keep=False).reports == []  # nothing kept
