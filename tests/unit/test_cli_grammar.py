"""The command line as a whole: help, version, verbs, errors as one line and as JSON."""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kmend.cli import main
from kmend.cli.app import EXAMPLES, VERBS

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "w-xen09-messages.log"


def kmend(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    return subprocess.run([sys.executable, "-m", "kmend", *args], input=stdin,
                          capture_output=True, check=False, timeout=120, env=env)


def test_every_verb_module_is_listed_with_a_summary_and_an_example() -> None:
    modules = {p.stem for p in (REPO / "src/kmend/cli").glob("*.py")
               if "def register(" in p.read_text()}
    assert modules == set(VERBS)
    assert set(EXAMPLES) == set(VERBS)
    for verb in VERBS:
        assert callable(importlib.import_module(f"kmend.cli.{verb}").register)
        assert EXAMPLES[verb].startswith(f"kmend {verb} ")


def test_top_help_and_version_import_no_verb_and_no_typer() -> None:
    probe = ("import sys; from kmend.cli import main; rc = main(['--help']); "
             "rc2 = main(['--version']); "
             "bad = [m for m in sys.modules if m.startswith(('typer', 'rich', 'kmend.oops', "
             "'kmend.logs', 'kmend.ko'))]; print(rc, rc2, bad, file=sys.stderr)")
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    res = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, env=env, timeout=60)
    assert res.stderr.strip() == "0 0 []"
    for verb in VERBS:
        assert f"  {verb} " in res.stdout
    assert "kmend 0.1.0" in res.stdout


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_dash_h_is_help_for_every_verb_with_plain_metavars(verb: str,
                                                           capsys: pytest.CaptureFixture[str],
                                                           ) -> None:
    assert main([verb, "-h"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Usage: kmend {verb} ")
    example = out.split("Example:")[1]
    assert " ".join(example.replace(" \\\n", " ").split()) == EXAMPLES[verb]  # shell lines
    for python_type in ("<str>", "<path>", "<int>", "<float>", "<list[", "{"):
        assert python_type not in out.split("Example:")[0], (verb, python_type, out)


def test_no_arguments_is_usage_with_the_verb_list() -> None:
    res = kmend()
    assert res.returncode == 2
    assert b"Verbs" in res.stderr and b"scan" in res.stderr


def test_unknown_verb_and_unknown_option_are_one_line_exit_2() -> None:
    for args in (["frob"], ["--frob"], ["show", "--bogus", str(EXAMPLE)]):
        res = kmend(*args)
        assert res.returncode == 2, args
        assert res.stderr.count(b"\n") == 1 and res.stderr.startswith(b"kmend: error: ")


def test_json_errors_are_one_document_on_stdout() -> None:
    res = kmend("show", "/nonexistent/log", "--json")
    assert res.returncode == 4
    doc = json.loads(res.stdout)
    assert doc["error"]["code"] == 4 and doc["error"]["kind"] == "input"
    assert "/nonexistent/log" in doc["error"]["message"]
    assert res.stderr.count(b"\n") == 1
    res = kmend("show", "--json", "--index", "nope", str(EXAMPLE))
    assert res.returncode == 2
    assert json.loads(res.stdout)["error"]["kind"] == "usage"


def test_a_closed_pipe_ends_quietly_with_success() -> None:
    # `kmend show LOG | head -1`: the reader closes after one line.
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    proc = subprocess.Popen([sys.executable, "-m", "kmend", "show", str(EXAMPLE)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 0
    assert first and err == b""


CRASHES = REPO / "tests" / "data" / "crashes" / "6.1.0-47-amd64"


def test_scan_table_fits_80_columns_and_show_takes_its_signature() -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"), COLUMNS="80")
    res = subprocess.run([sys.executable, "-m", "kmend", "scan", str(EXAMPLE), str(CRASHES)],
                         capture_output=True, text=True, env=env, timeout=300, check=False)
    assert res.returncode == 0, res.stderr
    assert all(len(line) <= 80 for line in res.stdout.splitlines())
    doc = json.loads(kmend("scan", "--json", str(EXAMPLE), str(CRASHES)).stdout)
    assert len(doc["groups"]) > 5
    text = " ".join(res.stdout.split())
    for group in doc["groups"]:
        # every word of every title is printed whole (cells wrap between words)
        for word in group["title"].split():
            if len(word) < 30:
                assert word in text, word
        sig = group["signature"][:8]
        assert sig in res.stdout
    for group in doc["groups"][:3]:
        sig = group["signature"][:8]
        shown = kmend("show", "--json", "--signature", sig, str(EXAMPLE), str(CRASHES))
        rep = json.loads(shown.stdout)
        assert rep["signature"] == group["signature"] and rep["title"] == group["title"]
    bad = kmend("show", "--signature", "ffffffffffff", str(EXAMPLE))
    assert bad.returncode == 4 and b"no crash with signature" in bad.stderr


def test_show_defaults_to_the_last_crash_and_counts_from_one() -> None:
    doc = json.loads(kmend("scan", "--json", str(CRASHES)).stdout)
    last = doc["reports"][-1]
    rep = json.loads(kmend("show", "--json", str(CRASHES)).stdout)
    assert rep["signature"] == last["signature"] and rep["source"] == last["source"]
    first = kmend("show", "--index", "0", str(CRASHES)).stdout.decode()
    assert first.startswith(f"crash 1 of {len(doc['reports'])} (--index 0,")


def _verb_params(verb: str) -> dict[str, Any]:
    import typer.main

    from kmend.cli.app import build_app

    group = typer.main.get_command(build_app(only=verb))
    cmd = group.commands[verb]  # type: ignore[attr-defined]
    return {opt: p for p in cmd.params for opt in getattr(p, "opts", ())}


#: Verbs whose options are converted separately (their code is being changed elsewhere).
_NOT_YET = {"scan", "report"}

#: (verb, option) whose meaning differs from the shared one: the help starts with the shared
#: words (up to the first parenthesis or semicolon) and then says what the verb does with it.
EXEMPT = {
    # status and rollback: --kernel narrows to one kernel's fixes; no module gives a default.
    ("status", "--kernel"): "a filter",
    ("rollback", "--kernel"): "a filter",
    # rebuild: the new kernel must be named (a kernel-upgrade hook passes it).
    ("rebuild", "--kernel"): "required",
    # sign writes one file (the signed module), not a directory.
    ("sign", "--output"): "a file",
}


def _shared_words(text: str) -> str:
    import re

    return re.split(r" \(|;|:", text, maxsplit=1)[0]


@pytest.mark.parametrize("verb", sorted(set(VERBS) - _NOT_YET))
def test_shared_options_mean_the_same_in_every_verb(verb: str) -> None:
    """--root, --kernel, --json, --source, --base, --head, --index, --policy, --output, --jobs,
    --modules-dir: one name and one help text everywhere (kmend.cli.options); no retired
    synonyms."""
    from kmend.cli.options import HELP

    params = _verb_params(verb)
    for name, param in params.items():
        if (verb, name) in EXEMPT:
            assert param.help.startswith(_shared_words(HELP[name])), (verb, name, param.help)
            assert param.help != HELP[name]
        elif name in HELP:
            assert param.help == HELP[name], (verb, name, param.help)
    retired = {"--repo", "--newest", "--modules-tree"} & set(params)
    assert not retired, (verb, retired)


def test_every_shared_option_is_used_by_a_converted_verb() -> None:
    from kmend.cli.options import HELP

    used = {name for verb in set(VERBS) - _NOT_YET for name in _verb_params(verb)}
    # --source/--base/--head/--policy/--jobs belong to the pipeline verbs converted apart.
    assert {"--json", "--root", "--kernel", "--kdir", "--modules-dir", "--index",
            "--output"} <= used & set(HELP)


@pytest.mark.parametrize("args", [["status"], ["rollback"], ["recover"], ["hook", "install"],
                                  ["rebuild", "--kernel", "6.1.0-47-amd64"], ["doctor"]])
def test_a_missing_root_is_bad_input_before_any_work(args: list[str]) -> None:
    res = kmend(*args, "--root", "/nonexistent/root")
    assert res.returncode == 4, res.stderr
    assert res.stderr.count(b"\n") == 1
    assert b"--root /nonexistent/root: no such directory" in res.stderr


def test_scan_without_a_crash_is_exit_4_with_its_document(tmp_path: Path) -> None:
    quiet = tmp_path / "messages"
    quiet.write_text("Dec  7 03:00:00 h sshd[1]: Accepted publickey for root\n")
    res = kmend("scan", "--json", str(quiet))
    assert res.returncode == 4
    assert json.loads(res.stdout) == {"reports": [], "groups": [], "error": {
        "code": 4, "kind": "input", "message": f"no kernel crash found in {quiet}",
        "hint": "check the file, or give another log"}}
    assert res.stderr.decode().count("\n") == 1 and b"no kernel crash found" in res.stderr
    # an unreadable path: the reports of the others, and the error object
    res = kmend("scan", "--json", str(tmp_path / "gone.log"), str(EXAMPLE))
    assert res.returncode == 4
    doc = json.loads(res.stdout)
    assert len(doc["reports"]) == 1 and doc["error"]["code"] == 4
    assert doc["error"]["message"] == (f"1 path(s) could not be read: {tmp_path / 'gone.log'}: "
                                       "no such file or directory")
    assert "error" not in json.loads(kmend("scan", "--json", str(EXAMPLE)).stdout)


def test_ctrl_c_during_a_long_scan_is_130_without_a_traceback(tmp_path: Path) -> None:
    import signal
    import time

    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    # a scan of standard input that is still open: long whatever the machine's speed, and
    # big enough (many blocks) that the log reader's worker process is running
    # SIGINT as a terminal's foreground job has it: a shell starts background jobs (and
    # whatever runs this suite from one) with SIGINT ignored, which exec passes on, while a
    # handled signal is reset to the default in the new program
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        proc = subprocess.Popen([sys.executable, "-m", "kmend", "scan", "-"],
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, env=env, start_new_session=True)
    finally:
        signal.signal(signal.SIGINT, before)
    assert proc.stdin is not None and proc.stderr is not None
    try:
        proc.stdin.write(EXAMPLE.read_bytes() * 3000)
        proc.stdin.flush()
        time.sleep(1.5)
        assert proc.poll() is None, "the scan ended before the interrupt"
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches the whole process group
        _, err = proc.communicate(timeout=60)  # closes stdin too
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130
    assert b"Traceback" not in err and err.count(b"\n") <= 1


def test_a_bug_in_kmend_is_one_line_exit_70_and_a_json_document(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A stand-in for a bug (nothing real fails on purpose): a verb that raises an
    # ordinary exception.  The README: one line, exit 70, a traceback only with
    # KMEND_DEBUG=1.
    import typer

    import kmend.cli.app as app_mod

    def buggy_app(only: str | None = None) -> typer.Typer:
        app = typer.Typer()

        @app.command("status")
        def _status(json: bool = typer.Option(False, "--json")) -> int:
            raise ValueError("a bug")

        @app.command("other")
        def _other() -> int:  # two commands: typer keeps the verb name
            return 0

        return app

    monkeypatch.setattr(app_mod, "build_app", buggy_app)
    monkeypatch.delenv("KMEND_DEBUG", raising=False)
    assert main(["status"]) == 70
    out = capsys.readouterr()
    assert out.err == ("kmend: error: internal error: ValueError: a bug — set KMEND_DEBUG=1 "
                       "for a traceback and report it\n")
    assert main(["status", "--json"]) == 70
    doc = json.loads(capsys.readouterr().out)
    assert doc["error"]["code"] == 70 and doc["error"]["kind"] == "internal"
    monkeypatch.setenv("KMEND_DEBUG", "1")
    with pytest.raises(ValueError, match="a bug"):
        main(["status"])


_KDIR_VERBS = {
    "check": ["check", str(EXAMPLE)],
    "build": ["build", str(REPO / "examples")],
    "backport": ["backport", "--source", str(REPO), "--module", "m", "-o", "/nonexistent/o"],
    "rebuild": ["rebuild", "--kernel", "6.1.0-47-amd64"],
    "run": ["run", str(EXAMPLE), "--source", str(REPO), "--dry-run"],
    "sign": ["sign", str(EXAMPLE)],
}


@pytest.mark.parametrize("verb", sorted(_KDIR_VERBS))
def test_a_missing_kdir_is_bad_input_and_a_kernel_with_a_slash_usage_in_every_verb(
    verb: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # The README's grammar: a missing directory given to --kdir is exit 4, a malformed
    # --kernel exit 2, both before any work (the module and the log given here are not
    # even modules: nothing was read).
    args = _KDIR_VERBS[verb]
    assert main([*args, "--kdir", "/nonexistent/kdir"]) == 4
    err = capsys.readouterr().err
    assert err.startswith("kmend: error: --kdir /nonexistent/kdir: no such directory"), err
    if verb != "rebuild":
        assert main([*args, "--kernel", "../../etc"]) == 2
        assert "--kernel '../../etc' is not a kernel release" in capsys.readouterr().err


@pytest.mark.parametrize("verb", ["status", "rollback", "rebuild", "install", "preflight",
                                  "build", "backport", "run"])
def test_a_kernel_release_with_a_slash_is_usage_before_any_work(
    verb: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = {"install": ["install", str(EXAMPLE)], "preflight": ["preflight", str(EXAMPLE)],
            **_KDIR_VERBS}.get(verb, [verb])
    args = [a for a in args if a != "--kernel" and a != "6.1.0-47-amd64"]
    assert main([*args, "--kernel", "a/b"]) == 2, capsys.readouterr().err
    assert "--kernel 'a/b' is not a kernel release" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["nan", "inf", "0", "-5"])
def test_preflight_timeout_is_a_positive_finite_number_before_any_work(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # (the module is the example log: nothing is read before the options are checked)
    assert main(["preflight", str(EXAMPLE), "--timeout", value]) == 2
    err = capsys.readouterr().err
    assert err == (f"kmend: error: --timeout {float(value):g}: not a positive number of "
                   "seconds — e.g. --timeout 300\n")


def test_kernel_tree_errors_name_kernel_tree(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--kernel-tree", "/lib/modules/6.1.0-47-amd64"]) == 2
    assert capsys.readouterr().err.startswith(
        "kmend: error: --kernel-tree '/lib/modules/6.1.0-47-amd64' is not a kernel release")


def test_every_help_fits_80_columns(monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    for verb in VERBS:
        assert main([verb, "-h"]) == 0
        out = capsys.readouterr().out
        long = [line for line in out.splitlines() if len(line) > 80]
        assert not long, (verb, long)


@pytest.mark.parametrize("verb", ["check", "sign", "install", "preflight"])
def test_a_module_that_is_a_device_or_a_directory_is_named_so_in_every_verb(
    verb: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # /dev/zero exists: "no such file" was wrong (and a device is never opened)
    assert main([verb, "/dev/zero"]) == 4
    assert capsys.readouterr().err.startswith(
        "kmend: error: /dev/zero: a character device, not a module file")
    assert main([verb, str(tmp_path / "nope.ko")]) == 4
    assert capsys.readouterr().err.startswith(f"kmend: error: {tmp_path / 'nope.ko'}: no such")
    if verb != "check":  # check takes directories of modules
        assert main([verb, str(tmp_path)]) == 4
        assert capsys.readouterr().err.startswith(
            f"kmend: error: {tmp_path}: a directory, not a module file")


def test_a_file_that_is_not_elf_says_its_first_bytes_in_hex(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "notes.ko"
    path.write_bytes(b"hello, world\n")
    assert main(["check", str(path), "--kernel", "6.1.0-47-amd64"]) == 4
    err = capsys.readouterr().err
    assert "not an ELF file (it starts with the bytes 68 65 6c 6c)" in err, err


@pytest.mark.parametrize("args", [["check", str(EXAMPLE), "-j", "abc"],
                                  ["check", str(EXAMPLE), "-j", "0"],
                                  ["preflight", str(EXAMPLE), "--timeout", "soon"],
                                  ["show", str(EXAMPLE), "--index", "last"],
                                  ["fixes", str(EXAMPLE), "--limit", "x"]])
def test_a_value_of_the_wrong_kind_is_said_without_python_type_names(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("kmend: error: ")
    assert not re.search(r"\b(int|float|integer)\b|x>=|range", err), err
    assert main([args[0], "-h"]) == 0
    assert "x>=" not in capsys.readouterr().out


def test_report_json_with_an_unreadable_path_carries_the_error_object(tmp_path: Path) -> None:
    res = kmend("report", "--json", str(tmp_path / "gone.log"), str(EXAMPLE), "-o",
                str(tmp_path / "out"))
    assert res.returncode == 4
    doc = json.loads(res.stdout)
    assert doc["reports"] == 1 and doc["error"]["code"] == 4 and doc["error"]["kind"] == "input"
    assert str(tmp_path / "gone.log") in doc["error"]["message"]


def test_report_with_no_readable_log_leaves_the_old_report(tmp_path: Path) -> None:
    """Every log unreadable: exit 4 with one error line, and the report written before
    from a good log is left as it was (it was replaced by an empty one)."""
    out = tmp_path / "out"
    assert kmend("report", str(EXAMPLE), "-o", str(out)).returncode == 0
    before = {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    assert before
    res = kmend("report", str(tmp_path / "gone.log"), str(tmp_path / "gone2.log"), "-o", str(out))
    assert res.returncode == 4
    err = res.stderr.decode()
    assert err.count("\n") == 1 and err.startswith("kmend: error: no log could be read: ")
    assert str(tmp_path / "gone.log") in err
    assert {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()} == before
    res = kmend("report", "--json", str(tmp_path / "gone.log"), "-o", str(out))
    assert res.returncode == 4 and json.loads(res.stdout)["error"]["code"] == 4


def test_report_of_a_directory_with_one_unreadable_file_is_written(tmp_path: Path) -> None:
    """A quiet log beside a journal file journalctl cannot read: the log was read, so the
    report is written (no crash in it) and the error is still exit 4."""
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "messages").write_text("Dec 23 00:59:59 w-xen10 kernel: e1000e: eth0 NIC Link is Up\n")
    (logs / "system.journal").write_bytes(b"LPKSHHRH" + bytes(range(256)) * 4)
    out = tmp_path / "out"
    res = kmend("report", str(logs), "-o", str(out))
    assert res.returncode == 4, res.stderr
    assert "no log could be read" not in res.stderr.decode()
    assert (out / "index.html").is_file()
