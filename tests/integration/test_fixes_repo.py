"""`kmend fixes` against a generated kernel-shaped git history (real git, no mocks).

The repository comes from scripts/make-kernel-history.py: tags v3.7 … v3.19 with merge
windows and -rc tags, a linux-3.10.y stable branch with backport lines, hundreds of
unrelated commits, and two crash stories (see scripts/kernel_history/scenario.py).  The
expected facts below are the story as written there, not output of kmend.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import REPO, need
from kmend import proc
from kmend.cli import main

pytestmark = pytest.mark.integration

FIX_SUBJECT = "xen/evtchn: improve scalability by using per-user locks"
WIDGET_FIX_SUBJECT = "misc: kmt-widget: don't warn when an interrupt races with stop"
RELEASE = "3.10.20-11.el6.centos.alt.x86_64"


@pytest.fixture(scope="session")
def history(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    need(shutil.which("git"), "git is not installed")
    root = tmp_path_factory.mktemp("kernel-history")
    res = proc.run([sys.executable, str(REPO / "scripts/make-kernel-history.py"),
                    str(root / "linux.git"), "--unrelated", "600"], timeout=300)
    manifest: dict[str, Any] = json.loads(res.stdout)
    manifest["root"] = root
    return manifest


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    code = main(["fixes", *args, "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    doc: dict[str, Any] = json.loads(out.out)
    return doc


def sha(history: dict[str, Any], role: str) -> str:
    value: str = history["roles"][role]["sha"]
    return value


def kinds(candidate: dict[str, Any]) -> set[str]:
    return {e["kind"] for e in candidate["evidence"]}


def test_history_is_kernel_shaped(history: dict[str, Any]) -> None:
    repo = history["repo"]
    assert history["commits"] > 600
    merges = proc.run(["git", "-C", repo, "rev-list", "--merges", "--count", "master"])
    assert int(merges.stdout) > 20
    tags = proc.run(["git", "-C", repo, "tag", "-l"]).stdout.split()
    assert {"v3.10", "v3.10.20", "v3.18-rc1", "v3.18", "v3.19"} <= set(tags)
    line = proc.run(["git", "-C", repo, "show", "v3.10.20:drivers/xen/evtchn.c"]).stdout
    assert line.splitlines()[263].strip() == "BUG_ON(port_owner(port) != NULL);"


@pytest.mark.parametrize("line_log", [False, True])
def test_evtchn_fix_ranks_first(history: dict[str, Any], capsys: pytest.CaptureFixture[str],
                                line_log: bool) -> None:
    extra = ["--line-log"] if line_log else []
    doc = run_json(capsys, "--source", history["repo"], "--file", "drivers/xen/evtchn.c",
                   "--function", "evtchn_bind_to_user", "--line", "264", "--base", RELEASE,
                   *extra)
    assert doc["base"] == "v3.10.20"
    assert doc["source_line"] == "\tBUG_ON(port_owner(port) != NULL);"
    assert doc["function"] == "evtchn_bind_to_user"
    assert doc["source"]["condition"] == "port_owner(port) != NULL"
    best = doc["candidates"][0]
    assert best["subject"] == FIX_SUBJECT
    assert best["commit"] == sha(history, "fix")
    assert "removes the BUG_ON at line 264" in [e["detail"] for e in best["evidence"]]
    assert best["first_release"] == "v3.18"
    assert best["first_tag"] == "v3.18-rc1"
    [port] = best["stable_backports"]
    assert port["commit"] == sha(history, "fix_stable")
    assert port["branch"] == "linux-3.10.y"
    assert port["first_release"] == "v3.10.25"
    assert port["in_base"] is False
    by_commit = {c["commit"]: c for c in doc["candidates"]}
    # Decoys touch the same function and file but rank below the fix.
    for role in ("fifo", "irqf", "ring_resize", "enotconn", "deadlock"):
        assert by_commit[sha(history, role)]["score"] < best["score"]
    assert "fixes-newer" in kinds(by_commit[sha(history, "ring_resize")])
    # Which commits change evtchn_bind_to_user (by construction of the stand-in history):
    # the FIFO refcount, the fix, the IRQF_DISABLED removal and the ring resize.
    changers = {c["commit"] for c in doc["candidates"] if "changes-function" in kinds(c)}
    assert changers == {sha(history, r) for r in ("fifo", "fix", "irqf", "ring_resize")}
    # The deadlock fix names the commit that wrote the BUG_ON, but 3.10.12 already had it.
    deadlock = by_commit[sha(history, "deadlock")]
    assert {"fixes-blamed", "in-base"} <= kinds(deadlock)
    assert deadlock["stable_backports"][0]["first_release"] == "v3.10.12"


def test_widget_fix_by_fixes_tag_and_condition(history: dict[str, Any],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    doc = run_json(capsys, "--source", history["repo"], "--file", "drivers/misc/kmt-widget.c",
                   "--line", "52", "--function", "widget_queue_work", "--base", "v3.10.20")
    best = doc["candidates"][0]
    assert best["subject"] == WIDGET_FIX_SUBJECT
    assert {"changes-condition", "fixes-blamed", "quotes-site", "cc-stable"} <= kinds(best)
    assert best["first_release"] == "v3.13"
    assert best["first_tag"] == "v3.13-rc3"
    assert [p["first_release"] for p in best["stable_backports"]] == ["v3.10.22"]
    by_commit = {c["commit"]: c for c in doc["candidates"]}
    # Its Fixes: names the initial import, which wrote other lines of the function.
    assert "fixes-function" in kinds(by_commit[sha(history, "widget_fixes_other")])
    # A Fixes: id from another tree, matched through the quoted subject.
    vendor = by_commit[sha(history, "widget_subject_fix")]
    [blamed] = [e for e in vendor["evidence"] if e["kind"] == "fixes-blamed"]
    assert "matched by subject" in blamed["detail"]
    assert vendor["score"] < best["score"]
    assert kinds(by_commit[sha(history, "widget_devm")]) == {"touches-file"}
    # The file moved in v3.17; the search follows it to its new name.
    assert any("drivers/misc/kmt/widget.c" in w for w in doc["warnings"])
    assert "moves-line" in kinds(by_commit[sha(history, "widget_rename")])
    after = kinds(by_commit[sha(history, "widget_after_rename")])
    assert {"changes-function", "near-line"} <= after  # adds a line right below the WARN


def test_example_incident_from_the_log(history: dict[str, Any], examples_dir: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    doc = run_json(capsys, "--source", history["repo"], "--log",
                   str(examples_dir / "w-xen09-messages.log"))
    assert doc["release"] == RELEASE
    assert (doc["base"], doc["file"], doc["line"]) == ("v3.10.20", "drivers/xen/evtchn.c", 264)
    best = doc["candidates"][0]
    assert best["subject"] == FIX_SUBJECT
    assert best["first_release"] == "v3.18"
    assert "removes the BUG_ON at line 264" in [e["detail"] for e in best["evidence"]]


def test_human_table(history: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["fixes", "--source", history["repo"], "--file", "drivers/xen/evtchn.c",
                 "--line", "264", "--base", RELEASE])
    out = capsys.readouterr().out
    assert code == 0
    assert "BUG_ON(port_owner(port) != NULL);" in out
    first_row = next(line for line in out.splitlines() if line.startswith("│ 1 "))
    assert sha(history, "fix")[:12] in first_row



def test_repository_text_is_never_markup_and_a_closed_pipe_is_success(
        history: dict[str, Any], examples_dir: Path, tmp_path: Path) -> None:
    # A repository is untrusted: a subject with "[/x]" (a closing tag to Rich) and
    # "[b]…[/b]" is printed as written (it ended kmend fixes with a traceback), and
    # `kmend fixes … | head -1` ends with 0 like every verb.
    clone = tmp_path / "linux"
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-C", str(clone)]
    proc.run(["git", "clone", "-q", history["repo"], str(clone)], timeout=120)
    with open(clone / "drivers/xen/evtchn.c", "a") as fh:
        fh.write("/* touched */\n")
    subject = "xen/evtchn: [/x] [b]tidy[/b]"
    proc.run([*git, "commit", "-q", "-a", "-m", subject], timeout=60)
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"), COLUMNS="400")
    argv = [sys.executable, "-m", "kmend", "fixes", str(examples_dir / "w-xen09-messages.log"),
            "--source", str(clone), "--limit", "0"]
    res = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300,
                         check=False)
    assert res.returncode == 0, res.stderr
    assert subject in res.stdout
    piped = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert piped.stdout is not None and piped.stderr is not None
    first = piped.stdout.readline()
    piped.stdout.close()
    err = piped.stderr.read()
    assert piped.wait(timeout=300) == 0, err
    assert first.startswith(b"base v3.10.20 ") and err == b""


def test_heavy_backport_distro_warns(history: dict[str, Any],
                                     capsys: pytest.CaptureFixture[str]) -> None:
    doc = run_json(capsys, "--source", history["repo"], "--file", "drivers/xen/evtchn.c",
                   "--line", "264", "--base", "3.10.0-1160.el7.x86_64")
    assert doc["base"] == "v3.10"
    assert any("backports" in w for w in doc["warnings"])
    assert doc["checks"][0] == ("rpm -q --changelog kernel-3.10.0-1160.el7 | grep -F -e "
                                f"'{FIX_SUBJECT}'")


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["--base", "banana"], 2, "cannot parse kernel release"),
        (["--base", "3.10.99-1.el6.x86_64"], 7, "or --base v3.10 to compare"),
        (["--base", "v3.10.20", "--file", "drivers/xen/nope.c"], 4, "does not exist at"),
        (["--base", "v3.10.20", "--line", "9999"], 4, "past the end"),
    ],
)
def test_bad_input_is_one_line(history: dict[str, Any], capsys: pytest.CaptureFixture[str],
                               args: list[str], code: int, words: str) -> None:
    argv = ["fixes", "--source", history["repo"], "--function", "evtchn_bind_to_user"]
    if "--file" not in args:
        argv += ["--file", "drivers/xen/evtchn.c"]
    assert main([*argv, *args]) == code
    err = capsys.readouterr().err.strip()
    assert words in err
    assert len(err.splitlines()) == 1
    assert "Traceback" not in err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_remote_blobless_clone_over_git_daemon(history: dict[str, Any], tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    port = _free_port()
    root = Path(history["root"])
    # A test-owned background server; kmend itself runs programs only through kmend.proc.
    daemon = subprocess.Popen(
        ["git", "daemon", "--reuseaddr", "--export-all", f"--base-path={root}",
         "--listen=127.0.0.1", f"--port={port}", str(root)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        monkeypatch.delenv("KMEND_CACHE", raising=False)  # (it would take precedence)
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
        url = f"git://127.0.0.1:{port}/linux.git"
        doc = run_json(capsys, "--source", url, "--log",
                       str(REPO / "examples/w-xen09-messages.log"))
        best = doc["candidates"][0]
        assert best["commit"] == sha(history, "fix")
        assert best["stable_backports"][0]["first_release"] == "v3.10.25"
        [clone] = list((tmp_path / "cache/kmend/repos").iterdir())
        cfg = proc.run(["git", "-C", str(clone), "config", "remote.origin.partialclonefilter"])
        assert cfg.stdout.strip() == "blob:none"
        # Blobless: far fewer blobs than the history has file versions.
        count = proc.run(["git", "-C", str(clone), "count-objects", "-v"]).stdout
        assert "in-pack:" in count
        missing = proc.run(["git", "-C", str(clone), "rev-list", "--objects", "--all",
                            "--missing=print"]).stdout
        assert sum(1 for line in missing.splitlines() if line.startswith("?")) > 100
        # Every version of the crash file was fetched (in one batch), other blobs were not.
        versions = proc.run(["git", "-C", str(clone), "rev-list", "--objects", "--missing=print",
                             "HEAD", "v3.10.20", "refs/remotes/origin/linux-3.10.y", "--",
                             "drivers/xen/evtchn.c"]).stdout
        assert not [line for line in versions.splitlines() if line.startswith("?")]
        # A second run reuses (and updates) the cached clone.
        again = run_json(capsys, "--source", url, "--file", "drivers/xen/evtchn.c",
                         "--line", "264", "--base", RELEASE)
        assert again["candidates"][0]["commit"] == sha(history, "fix")
    finally:
        os.killpg(daemon.pid, 15)
        daemon.wait(timeout=10)


def test_wide_search_finds_a_fix_outside_the_file(history: dict[str, Any],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--source", history["repo"], "--file", "drivers/xen/evtchn.c", "--line", "264",
            "--base", "v3.10.20"]
    narrow = run_json(capsys, *args)
    header = sha(history, "header_fix")
    assert header not in {c["commit"] for c in narrow["candidates"]}
    wide = run_json(capsys, *args, "--wide")
    by_commit = {c["commit"]: c for c in wide["candidates"]}
    assert kinds(by_commit[header]) == {"fixes-blamed"}
    assert by_commit[header]["first_release"] == "v3.15"
    assert wide["candidates"][0]["commit"] == sha(history, "fix")


def test_log_index_out_of_range(history: dict[str, Any], examples_dir: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["fixes", "--source", history["repo"], "--log",
                 str(examples_dir / "w-xen09-messages.log"), "--index", "3"])
    err = capsys.readouterr().err
    assert code == 2
    assert "--index 3 is out of range" in err


def test_function_without_line(history: dict[str, Any],
                               capsys: pytest.CaptureFixture[str]) -> None:
    doc = run_json(capsys, "--source", history["repo"], "--file", "drivers/xen/evtchn.c",
                   "--function", "evtchn_bind_to_user", "--base", "v3.10.20")
    assert doc["line"] is None and doc["source_line"] is None
    text = proc.run(["git", "-C", history["repo"], "show",
                     "v3.10.20:drivers/xen/evtchn.c"]).stdout.splitlines()
    start = text.index("static int evtchn_bind_to_user(struct per_user_data *u, int port)") + 1
    end = text.index("}", start) + 1
    assert (doc["source"]["function_start"], doc["source"]["function_end"]) == (start, end)
    best = doc["candidates"][0]
    assert best["commit"] == sha(history, "fix")
    assert "removes BUG_ON(port_owner(port) != NULL); from evtchn_bind_to_user()" in [
        e["detail"] for e in best["evidence"]]


def test_unreachable_url_leaves_no_cache_entry(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    need(shutil.which("git"), "git is not installed")
    monkeypatch.delenv("KMEND_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    url = f"git://127.0.0.1:{_free_port()}/linux.git"  # nothing listens there
    code = main(["fixes", "--source", url, "--file", "drivers/xen/evtchn.c", "--line", "264",
                 "--base", "v3.10.20"])
    err = capsys.readouterr().err
    assert code == 5
    assert f"cannot clone {url}" in err and len(err.strip().splitlines()) == 1
    assert list((tmp_path / "kmend/repos").iterdir()) == []
