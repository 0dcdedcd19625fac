"""`kmend run`: the whole pipeline, each stage run for real against the source it can use.

Two generated histories:

* the kernel-shaped history of scripts/make-kernel-history.py (tags v3.7…v3.19, the
  linux-3.10.y stable branch) holds drivers/xen/evtchn.c, a stand-in written for kmend,
  and the Kbuild Makefile that declares it as module xen-evtchn.  Every version of the
  stand-in builds against Debian's 6.1 headers except the newest (v3.19's ring resize
  uses kvrealloc() in the form 6.12 declares).  The bundled examples/w-xen09-messages.log
  (kernel 3.10.20) runs through every stage but install (a dry run) with the 6.1.0-47
  headers as the target: triage, locate, the fix search, a backport chosen by real
  compile probes, a real build and check;
* the history of scripts/make-backport-history.py (module kmend-demo, tag v6.1, a fix
  commit, later revisions that need 6.12 APIs) is the source for a run where every stage
  is real: triage of a crash log written here in the format of the example (the 6.1
  fortify warning for the overflowing memcpy in demo_ring_put), the fix search on that
  history, the backport, a real build and check against Debian's 6.1.0-47 headers, and the
  install into a reduced copy of the real /lib/modules/6.1.0-47-amd64.

Expected values come from the generating scripts (the SHAs they print, the story they
tell), modinfo (kmod) and file hashes — not from kmend.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import REPO, need
from install_support import K61, kmend, make_root, snapshot
from kmend import proc

pytestmark = pytest.mark.integration

KDIR61 = Path(f"/lib/modules/{K61}/build")
EXAMPLE = REPO / "examples/w-xen09-messages.log"
EVTCHN_FIX_SUBJECT = "xen/evtchn: improve scalability by using per-user locks"

# A crash of kmend-demo on Debian's 6.1.0-47 kernel, written here in the syslog format of
# the bundled example.  The first two lines are the fortify check's run-time warning for a
# memcpy() that writes past a struct field (added in v6.0 by 54d9469bc515 "fortify: Add
# run-time WARN for cross-field memcpy()"); line 21 of demo_ring.c at v6.1 is the memcpy
# that the fix commit's bound check protects.
KMDEMO_LOG = """\
Nov 27 10:14:02 lab-61 kernel: ------------[ cut here ]------------
Nov 27 10:14:02 lab-61 kernel: memcpy: detected field-spanning write (size 65) of single \
field "r->data + r->len" at drivers/kmdemo/demo_ring.c:21 (size 64)
Nov 27 10:14:02 lab-61 kernel: WARNING: CPU: 1 PID: 4711 at drivers/kmdemo/demo_ring.c:21 \
demo_ring_put+0xd6/0xe0 [kmend_demo]
Nov 27 10:14:02 lab-61 kernel: Modules linked in: kmend_demo(OE) xen_evtchn xenfs \
xen_privcmd ext4 crc16 mbcache jbd2 virtio_blk virtio_net
Nov 27 10:14:02 lab-61 kernel: CPU: 1 PID: 4711 Comm: demo-writer Tainted: G           OE \
     6.1.0-47-amd64 #1  Debian 6.1.158-1
Nov 27 10:14:02 lab-61 kernel: Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS \
1.16.2-debian-1.16.2-1 04/01/2014
Nov 27 10:14:02 lab-61 kernel: RIP: 0010:demo_ring_put+0xd6/0xe0 [kmend_demo]
Nov 27 10:14:02 lab-61 kernel: RSP: 0018:ffffb3a5c0b4fdc8 EFLAGS: 00010282
Nov 27 10:14:02 lab-61 kernel: RAX: 0000000000000000 RBX: ffffffffc04234c0 RCX: \
0000000000000027
Nov 27 10:14:02 lab-61 kernel: Call Trace:
Nov 27 10:14:02 lab-61 kernel:  <TASK>
Nov 27 10:14:02 lab-61 kernel:  demo_write+0x7c/0xb0 [kmend_demo]
Nov 27 10:14:02 lab-61 kernel:  vfs_write+0xc7/0x3d0
Nov 27 10:14:02 lab-61 kernel:  ksys_write+0x67/0xf0
Nov 27 10:14:02 lab-61 kernel:  do_syscall_64+0x55/0xb0
Nov 27 10:14:02 lab-61 kernel:  entry_SYSCALL_64_after_hwframe+0x6e/0xd8
Nov 27 10:14:02 lab-61 kernel:  </TASK>
Nov 27 10:14:02 lab-61 kernel: ---[ end trace 0000000000000000 ]---
"""


@pytest.fixture(scope="session")
def kernel_history(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    need(shutil.which("git"), "git is not installed")
    root = tmp_path_factory.mktemp("run-kernel-history")
    res = proc.run([sys.executable, str(REPO / "scripts/make-kernel-history.py"),
                    str(root / "linux.git"), "--unrelated", "200"], timeout=300)
    manifest: dict[str, Any] = json.loads(res.stdout)
    return manifest


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The backport history, its SHAs, and the kmend-demo crash log."""
    need(shutil.which("git"), "git is not installed")
    need((KDIR61 / "Module.symvers").is_file(), f"linux-headers-{K61}")
    need(shutil.which("gcc") and shutil.which("modinfo"), "gcc and kmod")
    root = tmp_path_factory.mktemp("run-demo")
    res = proc.run([sys.executable, str(REPO / "scripts/make-backport-history.py"),
                    str(root / "repo")], timeout=120)
    shas = dict(line.split() for line in res.stdout.splitlines())
    log = root / "kmdemo.log"
    log.write_text(KMDEMO_LOG)
    return {"repo": str(root / "repo"), "shas": shas, "log": str(log)}


def run(*args: str, stdin: Any = subprocess.DEVNULL) -> tuple[int, Any, str]:
    """`kmend run …` in a subprocess; (exit code, JSON document or None, human text).

    The human text is stderr with --json, else stdout (the stages) + stderr (errors,
    the prompt)."""
    start = time.monotonic()
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    res = subprocess.run([sys.executable, "-m", "kmend", "run", *args], check=False,
                         capture_output=True, text=True, env=env, timeout=300, cwd=REPO,
                         stdin=stdin)
    json_mode = "--json" in args
    text = res.stderr if json_mode else res.stdout + res.stderr
    print(f"kmend run {' '.join(args)}: exit {res.returncode} in "
          f"{time.monotonic() - start:.1f} s\n{text}")
    doc = json.loads(res.stdout) if json_mode and res.stdout.strip() else None
    return res.returncode, doc, text


def one_error_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    # (after a prompt the error follows the question on the same line: no echoed newline)
    assert stderr.count("kmend: error:") == 1, stderr
    return "kmend: error:" + stderr.split("kmend: error:")[1].splitlines()[0]


def stages(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in doc["stages"]}


def demo_args(demo: dict[str, Any], *extra: str) -> list[str]:
    return [demo["log"], "--source", demo["repo"], "--kdir", str(KDIR61), "--base", "v6.1",
            *extra]


# -- the example on the kernel-shaped history: triage, locate, fixes ------------------------

def test_dry_run_example_explains_crash_and_fix(kernel_history: dict[str, Any]) -> None:
    repo = kernel_history["repo"]
    fix = kernel_history["roles"]["fix"]["sha"]
    code, doc, err = run("--dry-run", str(EXAMPLE), "--source", repo, "--until", "fixes",
                         "--json")
    assert code == 0, err
    st = stages(doc)
    assert list(st) == ["triage", "locate", "fixes"]
    assert st["triage"]["data"]["title"] == "kernel BUG in evtchn_bind_to_user"
    assert st["triage"]["data"]["module"] == "xen_evtchn"
    assert st["triage"]["data"]["comm"] == "xenstored"
    assert (st["triage"]["data"]["file"], st["triage"]["data"]["line"]) == (
        "drivers/xen/evtchn.c", 264)
    # the stand-in history declares the module in its Kbuild Makefile
    assert st["locate"]["data"]["in_source"] is True
    assert st["locate"]["data"]["directory"] == "drivers/xen"
    assert st["locate"]["data"]["module"] == kernel_history["crashes"]["evtchn"]["module"]
    assert st["locate"]["data"]["xen"] is True
    assert st["fixes"]["source"] == repo
    assert st["fixes"]["data"]["commit"] == fix
    assert st["fixes"]["data"]["subject"] == EVTCHN_FIX_SUBJECT
    assert st["fixes"]["data"]["first_release"] == "v3.18"
    assert "removes the BUG_ON at line 264" in st["fixes"]["data"]["evidence"]
    assert doc["provenance"]["fix_commit"] == fix
    # the human text explains the same on stderr
    assert "kernel BUG in evtchn_bind_to_user" in err
    assert "BUG_ON(port_owner(port) != NULL)" in err
    assert f"chosen fix: {fix[:12]}" in err
    assert ("Kbuild: drivers/xen/Makefile builds xen-evtchn (xen_evtchn) from evtchn.c "
            "[CONFIG_XEN_DEV_EVTCHN]") in err


def git_show(repo: str, rev: str, path: str) -> str:
    return proc.run(["git", "-C", repo, "show", f"{rev}:{path}"]).stdout


def git_sha(repo: str, rev: str) -> str:
    return proc.run(["git", "-C", repo, "rev-parse", f"{rev}^{{commit}}"]).stdout.strip()


def modinfo(ko: Path, field: str) -> str:
    return subprocess.run(["modinfo", "-F", field, str(ko)], capture_output=True, text=True,
                          check=True, timeout=60).stdout.strip()


def system_modules() -> dict[str, tuple[int, int]]:
    """Size and mtime of every file under the real /lib/modules/6.1.0-47-amd64 and
    /var/lib/kmend (stat only: hashing thousands of modules would be slow)."""
    out: dict[str, tuple[int, int]] = {}
    for top in (Path("/lib/modules") / K61, Path("/var/lib/kmend")):
        for dirpath, _dirs, files in os.walk(top):
            for name in [*files, "."]:
                st = os.lstat(os.path.join(dirpath, name))
                out[os.path.join(dirpath, name)] = (st.st_size, st.st_mtime_ns)
    return out


def backport_lines(err: str) -> list[str]:
    """The backport stage's explanation lines (after "search:") in the human text."""
    block = err.split("[4/8] backport", 1)[1].split("[5/8]", 1)[0]
    return [ln.strip() for ln in block.splitlines() if ln.strip().startswith(("search:", "- "))]


@pytest.fixture(scope="session")
def example_kdir() -> Path:
    need((KDIR61 / "Module.symvers").is_file(), f"linux-headers-{K61}")
    need(shutil.which("gcc") and shutil.which("make") and shutil.which("modinfo"),
         "gcc, make and kmod")
    return KDIR61


def test_dry_run_example_backports_the_fix_for_6_1(kernel_history: dict[str, Any],
                                                   example_kdir: Path, tmp_path: Path) -> None:
    """The founding incident's log, the kernel-shaped history, Debian's 6.1 headers.

    What a kernel engineer expects: the target is 6.1 (--kdir), not the crashed 3.10.20,
    and no tag of this history names 6.1, so kmend has no "target's own version" to apply
    the fix to and says so (give --base).  The minimal policy then takes the oldest
    revision that contains the fix, the upstream fix commit itself, and it builds against
    6.1 (the stand-in is written to).  Its drivers/xen/evtchn.c no longer has the BUG_ON.
    The .ko is xen_evtchn for 6.1.0-47-amd64, the kernel would load it, and nothing on the
    system changes.
    """
    repo = kernel_history["repo"]
    fix = kernel_history["roles"]["fix"]["sha"]
    before = system_modules()
    code, doc, err = run("--dry-run", str(EXAMPLE), "--source", repo, "--kdir",
                         str(example_kdir), "-o", str(tmp_path / "out"), "--json")
    assert code == 0, err
    assert [(s["name"], s["status"]) for s in doc["stages"]] == [
        ("triage", "done"), ("locate", "done"), ("fixes", "done"), ("backport", "done"),
        ("build", "done"), ("check", "done"), ("preflight", "skipped"),
        ("install", "skipped")]
    st = stages(doc)
    bp = st["backport"]["data"]
    assert (bp["policy"], bp["chosen_kind"], bp["chosen_rev"]) == ("minimal", "revision", fix)
    assert bp["base_rev"] is None
    assert any("no base revision: no tag names the target's version" in e
               for e in bp["explanation"])
    probes = {p["rev"]: p for p in bp["probes"]}
    assert probes[fix]["ok"] is True
    # Revisions newer than v3.18 may be probed too (when there are more CPUs); any that
    # fails fails on the 6.12 form of kvrealloc().
    for p in bp["probes"]:
        assert p["ok"] or "too few arguments to function 'kvrealloc'" in p["first_diagnostic"]
    assert doc["provenance"]["revision"] == fix
    # the sources written out are the fix commit's, and the BUG_ON is gone
    out = Path(bp["output"])
    assert out == tmp_path / "out"
    evtchn = (out / "evtchn.c").read_text()
    assert evtchn == git_show(repo, fix, "drivers/xen/evtchn.c")
    assert "BUG_ON(port_owner(port) != NULL)" not in evtchn
    # kmod's modinfo is the oracle for the built module
    ko = Path(doc["module"])
    assert ko.name == "xen-evtchn.ko" and ko.parent == out
    assert modinfo(ko, "name") == "xen_evtchn"
    assert modinfo(ko, "vermagic").split()[0] == K61
    assert st["check"]["data"]["will_load"] is True
    # nothing installed: no transaction, the real module tree and kmend's state untouched
    assert doc["transaction"] == ""
    assert "nothing on the system was changed" in doc["outcome"]
    assert system_modules() == before
    lines = backport_lines(err)
    assert lines[0].startswith("search: smallest change first:")
    assert "in history order, oldest first" in lines[0]
    assert f"chosen: {fix[:12]} (revision: {EVTCHN_FIX_SUBJECT})" in err  # as people read it


def test_dry_run_example_with_the_crashed_version_as_base(kernel_history: dict[str, Any],
                                                          example_kdir: Path, tmp_path: Path) -> None:
    """With --base v3.10.20 (the crashed kernel's version), the smallest change is that
    version with the fix merged in: git merge-file applies it without a conflict although
    v3.10.20 lacks two earlier mainline changes to the file (FIFO refcount, -ENOTCONN), and
    it changes fewer lines than the fix commit, which carries those two as well.  The
    result is exactly the file the stable maintainers' backport put into v3.10.25."""
    repo = kernel_history["repo"]
    fix = kernel_history["roles"]["fix"]["sha"]
    base = git_sha(repo, "v3.10.20")
    code, doc, err = run("--dry-run", str(EXAMPLE), "--source", repo, "--kdir",
                         str(example_kdir), "--base", "v3.10.20", "-o", str(tmp_path / "out"),
                         "--json")
    assert code == 0, err
    bp = stages(doc)["backport"]["data"]
    assert (bp["chosen_kind"], bp["chosen_rev"]) == ("fix-on-base", f"{base[:12]}+{fix[:12]}")
    assert bp["base_rev"] == base
    stable = kernel_history["roles"]["fix_stable"]["sha"]
    out = Path(bp["output"])
    assert (out / "evtchn.c").read_text() == git_show(repo, stable, "drivers/xen/evtchn.c")
    assert modinfo(Path(doc["module"]), "name") == "xen_evtchn"
    assert "ordered by lines changed against the target's own version" in backport_lines(err)[0]


def test_dry_run_example_newest_policy_stops_where_6_1_lacks_an_api(
        kernel_history: dict[str, Any], example_kdir: Path, tmp_path: Path) -> None:
    """--policy newest: the newest revision that builds against 6.1.  v3.19's ring resize
    (and the merge that brings it into master) calls kvrealloc(p, size, flags), the 6.12
    form; 6.1's kvrealloc() also takes the old size, so gcc stops there.  The choice is
    the commit before it, "xen: remove deprecated IRQF_DISABLED" — the revision the
    engineer of the founding incident picked, for the same kind of reason."""
    repo = kernel_history["repo"]
    roles = kernel_history["roles"]
    code, doc, err = run("--dry-run", str(EXAMPLE), "--source", repo, "--kdir",
                         str(example_kdir), "--policy", "newest", "-o", str(tmp_path / "out"),
                         "--json")
    assert code == 0, err
    bp = stages(doc)["backport"]["data"]
    assert (bp["policy"], bp["chosen_kind"]) == ("newest", "revision")
    assert bp["chosen_rev"] == roles["irqf"]["sha"]
    probes = {p["rev"]: p for p in bp["probes"]}
    # the merge that brings the ring resize into master has the same evtchn.c: not probed
    merges = proc.run(["git", "-C", repo, "log", "--merges", "--format=%H", "--ancestry-path",
                       f"{roles['fix']['sha']}..master", "--", "drivers/xen/evtchn.c"])
    assert merges.stdout.split() and not set(merges.stdout.split()) & set(probes)
    assert ("1 merge commit(s) not probed: their module files are those of a parent that is "
            "probed") in bp["explanation"]
    newer = probes[roles["ring_resize"]["sha"]]
    assert newer["ok"] is False
    assert newer["first_diagnostic"].startswith("evtchn.c:")
    assert newer["first_diagnostic"].endswith(
        "error: too few arguments to function 'kvrealloc'")
    assert probes[roles["irqf"]["sha"]]["ok"] is True
    assert ("newer revisions fail because the target lacks: kvrealloc() taking fewer "
            "arguments than the target's") in bp["explanation"]
    lines = backport_lines(err)
    assert "every revision newer than the choice was compiled and failed" in lines[0]
    assert modinfo(Path(doc["module"]), "vermagic").split()[0] == K61


@pytest.mark.parametrize("kernel", [K61, "6.1.0-57-amd64"])
def test_every_evtchn_version_but_the_newest_builds_against_6_1(
        kernel_history: dict[str, Any], tmp_path: Path, kernel: str) -> None:
    """The generator's claim, checked with the kernel's own build (make -C KDIR M=…), not
    with kmend: every version of the stand-in in the history builds into xen-evtchn.ko
    against 6.1 headers, except the newest, which needs the 6.12 kvrealloc()."""
    kdir = Path(f"/lib/modules/{kernel}/build")
    need((kdir / "Module.symvers").is_file(), f"linux-headers-{kernel}")
    need(shutil.which("gcc") and shutil.which("make"), "gcc and make")
    repo = kernel_history["repo"]
    log = proc.run(["git", "-C", repo, "log", "--all", "--format=%H", "--",
                    "drivers/xen/evtchn.c"]).stdout.split()
    newest = git_sha(repo, "master")
    blobs = dict.fromkeys(proc.run(["git", "-C", repo, "rev-parse", f"{c}:drivers/xen/evtchn.c"])
                          .stdout.strip() for c in log)
    newest_blob = proc.run(["git", "-C", repo, "rev-parse",
                            f"{newest}:drivers/xen/evtchn.c"]).stdout.strip()
    assert len(blobs) >= 10
    kbuild = git_show(repo, "v3.10.20", "drivers/xen/Makefile")
    assert "obj-$(CONFIG_XEN_DEV_EVTCHN)\t\t+= xen-evtchn.o" in kbuild
    assert "xen-evtchn-y\t\t\t\t:= evtchn.o" in kbuild
    for i, blob in enumerate(blobs):
        d = tmp_path / f"v{i}"
        d.mkdir()
        (d / "evtchn.c").write_text(proc.run(["git", "-C", repo, "cat-file", "blob",
                                              blob]).stdout)
        (d / "Kbuild").write_text("obj-m += xen-evtchn.o\nxen-evtchn-y := evtchn.o\n")
        res = subprocess.run(["make", "-C", str(kdir), f"M={d}", "modules"], check=False,
                             capture_output=True, text=True, timeout=300)
        if blob == newest_blob:
            assert res.returncode != 0
            errors = [ln.replace("\u2018", "'").replace("\u2019", "'")  # gcc's ‘quotes’
                      for ln in res.stderr.splitlines() if ": error: " in ln]
            assert len(errors) == 1, res.stderr
            assert errors[0].endswith("error: too few arguments to function 'kvrealloc'")
        else:
            assert res.returncode == 0, f"{blob}: {res.stderr}"
            assert (d / "xen-evtchn.ko").is_file()
            assert ": warning: " not in res.stderr, res.stderr


# -- every stage for real on the kmend-demo history -------------------------------------------

def test_dry_run_on_backport_history_runs_every_stage(demo: dict[str, Any],
                                                      tmp_path: Path) -> None:
    shas = demo["shas"]
    root = make_root(tmp_path / "root", K61)
    before = snapshot(root, include_state=True)
    out = tmp_path / "out"
    code, doc, err = run(*demo_args(demo, "--dry-run", "--root", str(root), "-o", str(out),
                                    "--json"))
    assert code == 0, err
    st = stages(doc)
    assert [s["status"] for s in doc["stages"]] == [
        "done", "done", "done", "done", "done", "done", "skipped", "skipped"]
    assert st["triage"]["data"]["kernel_release"] == K61
    assert st["locate"]["data"]["module"] == "kmend-demo"
    assert st["fixes"]["data"]["commit"] == shas["fix"]
    bp = st["backport"]["data"]
    assert bp["policy"] == "minimal"
    assert bp["chosen_kind"] == "fix-on-base"
    assert bp["chosen_rev"] == f"{shas['base'][:12]}+{shas['fix'][:12]}"
    assert st["build"]["source"] == str(KDIR61)
    assert st["check"]["data"]["will_load"] is True
    # the built module: kmod's modinfo is the oracle, the source holds the fixed bound
    ko = Path(doc["module"])
    assert ko.parent == out
    info = subprocess.run(["modinfo", "-F", "vermagic", str(ko)], capture_output=True,
                          text=True, check=True, timeout=60).stdout
    assert info.split()[0] == K61
    ring = (out / "demo_ring.c").read_text()
    assert "r->len + n > DEMO_RING_SIZE) {" in ring and "DEMO_RING_SIZE + 1" not in ring
    assert doc["transaction"] == ""
    assert snapshot(root, include_state=True) == before
    for text in ("[4/8] backport", "policy minimal", "chosen: ", "LOADS", "--dry-run: nothing "
                 "installed"):
        assert text in err


def test_full_run_installs_with_provenance_then_rolls_back(demo: dict[str, Any],
                                                           tmp_path: Path) -> None:
    shas = demo["shas"]
    root = make_root(tmp_path / "root", K61)
    before = snapshot(root)
    code, doc, err = run(*demo_args(demo, "--yes", "--root", str(root), "-o",
                                    str(tmp_path / "out"), "--json"))
    assert code == 0, err
    txn = doc["transaction"]
    assert stages(doc)["install"]["status"] == "done"
    placed = root / f"lib/modules/{K61}/updates/kmend/kmend-demo.ko"
    assert placed.read_bytes() == Path(doc["module"]).read_bytes()
    assert "never reloaded inside --root" in doc["outcome"]
    signature = json.loads(kmend("show", demo["log"], "--json").stdout)["signature"]

    st = json.loads(kmend("status", "--root", str(root), "--json").stdout)
    (fix,) = st["kernels"][0]["fixes"]
    assert fix["transaction"] == txn
    prov = fix["provenance"]
    assert prov["crash_signature"] == signature
    assert prov["fix_commit"] == shas["fix"]
    assert prov["revision"] == f"{shas['base'][:12]}+{shas['fix'][:12]}"
    assert prov["transaction"] == txn
    # what kmend rebuild needs: the recipe and the sources, kept in the transaction
    kept = root / f"var/lib/kmend/txn/{txn}" / prov["sources_kept"]
    assert sorted(prov["sources"]["files"]) == sorted(
        str(p.relative_to(kept)) for p in kept.rglob("*") if p.is_file())
    assert (kept / "Kbuild").read_text() == (tmp_path / "out" / "Kbuild").read_text()
    assert prov["recipe"]["module"] == "kmend-demo"
    human = kmend("status", "--root", str(root)).stdout
    for text in (f"crash_signature: {signature}", f"fix_commit: {shas['fix']}",
                 f"revision: {shas['base'][:12]}+{shas['fix'][:12]}", "check: will load"):
        assert text in human

    back = json.loads(kmend("rollback", "--root", str(root), "--json").stdout)
    assert back["id"] == txn and back["state"] == "rolled-back"
    assert snapshot(root) == before


def test_a_url_source_is_cloned_once_for_every_stage(demo: dict[str, Any],
                                                     tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """locate, fixes and backport all read the one blobless clone in kmend's cache."""
    monkeypatch.setenv("KMEND_CACHE", str(tmp_path / "cache"))
    args = demo_args(demo, "--dry-run", "--until", "backport", "-o", str(tmp_path / "o"),
                     "--json")
    args[2] = f"file://{demo['repo']}"  # --source URL
    code, doc, err = run(*args)
    assert code == 0, err
    assert stages(doc)["fixes"]["data"]["commit"] == demo["shas"]["fix"]
    assert stages(doc)["backport"]["data"]["chosen_kind"] == "fix-on-base"
    [clone] = list((tmp_path / "cache/repos").iterdir())
    cfg = proc.run(["git", "-C", str(clone), "config", "remote.origin.partialclonefilter"],
                   timeout=60)
    assert cfg.stdout.strip() == "blob:none"
    assert err.count("cloning ") == 1, err


# -- bad input: one line, a distinct exit code, nothing changed ---------------------------------

def test_no_crash_in_the_logs(demo: dict[str, Any], tmp_path: Path) -> None:
    log = tmp_path / "quiet.log"
    log.write_text("Nov 27 10:14:02 lab-61 kernel: xen:events: Using FIFO-based ABI\n"
                   "Nov 27 10:14:03 lab-61 kernel: EXT4-fs (vda1): mounted filesystem\n")
    root = make_root(tmp_path / "root", K61)
    before = snapshot(root, include_state=True)
    code, _, err = run(str(log), "--source", demo["repo"], "--kdir", str(KDIR61), "--yes",
                       "--root", str(root))
    assert code == 4
    assert "no kernel crash found" in one_error_line(err)
    assert snapshot(root, include_state=True) == before


def test_crash_in_a_module_not_in_the_source(demo: dict[str, Any]) -> None:
    code, doc, err = run("--dry-run", str(EXAMPLE), "--source", demo["repo"],
                         "--kdir", str(KDIR61), "--json")
    assert code == 8
    line = one_error_line(err)
    assert "module xen_evtchn (drivers/xen/evtchn.c) is not in" in line
    # --json: the record so far, the failing stage last
    assert [(s["name"], s["status"]) for s in doc["stages"]] == [("triage", "done"),
                                                                  ("locate", "failed")]
    assert doc["outcome"].startswith("stopped at locate: module xen_evtchn")



def test_a_relative_source_is_recorded_absolute(kernel_history: dict[str, Any],
                                                 tmp_path: Path) -> None:
    # PROVENANCE outlives the working directory: kmend rebuild runs from a kernel hook
    # in /, where "linux.git" names nothing.
    need((KDIR61 / "Module.symvers").is_file(), f"linux-headers-{K61}")
    repo = Path(kernel_history["repo"])
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    res = subprocess.run([sys.executable, "-m", "kmend", "run", str(EXAMPLE), "--source",
                          repo.name, "--kdir", str(KDIR61), "--dry-run", "-o", str(out)],
                         cwd=repo.parent, env=env, capture_output=True, text=True,
                         timeout=300, check=False)
    assert res.returncode == 0, res.stderr
    assert json.loads((out / "PROVENANCE").read_text())["source"] == str(repo)

def test_no_headers_for_the_target(kernel_history: dict[str, Any]) -> None:
    # The example's own kernel (3.10.20, CentOS) is the default target: no headers here.
    # The fix search needs none: triage, locate and fixes run, and the run stops at the
    # first stage that needs the headers (backport), saying which package has them.
    code, doc, err = run("--dry-run", str(EXAMPLE), "--source", kernel_history["repo"],
                         "--json")
    assert code == 3
    line = one_error_line(err)
    assert "no kernel headers for 3.10.20-11.el6.centos.alt.x86_64" in line
    assert "kernel-devel-3.10.20-11.el6.centos.alt.x86_64" in line
    assert [(s["name"], s["status"]) for s in doc["stages"]] == [
        ("triage", "done"), ("locate", "done"), ("fixes", "done"), ("backport", "failed")]
    assert stages(doc)["fixes"]["data"]["subject"] == kernel_history["roles"]["fix"]["subject"]
    assert doc["outcome"].startswith("stopped at backport: no kernel headers for 3.10.20-11")
    # a target the operator names is checked before any search
    code, doc, err = run("--dry-run", str(EXAMPLE), "--source", kernel_history["repo"],
                         "--kernel", "9.9.9-1-amd64", "--json")
    assert code == 3 and "no kernel headers for 9.9.9-1-amd64" in one_error_line(err)
    assert [s["name"] for s in doc["stages"]] == ["triage", "locate"]


def test_no_terminal_and_no_yes_refuses_before_any_work(demo: dict[str, Any],
                                                        tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, _, err = run(*demo_args(demo, "-o", str(out)))
    assert code == 2
    assert "stdin is not a terminal" in one_error_line(err)
    assert not out.exists() and "[1/8]" not in err


def test_answering_no_on_a_terminal_changes_nothing(demo: dict[str, Any],
                                                    tmp_path: Path) -> None:
    root = make_root(tmp_path / "root", K61)
    before = snapshot(root, include_state=True)
    master, slave = os.openpty()
    try:
        os.write(master, b"n\n")  # the answer waits in the terminal until the prompt reads it
        code, _, err = run(*demo_args(demo, "--root", str(root), "-o", str(tmp_path / "o")),
                           stdin=slave)
    finally:
        os.close(master)
        os.close(slave)
    assert code == 9  # errors.Declined
    assert f"for {K61} under {root}? [y/N]" in err
    assert "not installed: the answer was 'n'" in one_error_line(err)
    assert snapshot(root, include_state=True) == before


def test_the_newest_crash_is_chosen_unless_index_says_otherwise(demo: dict[str, Any],
                                                                tmp_path: Path) -> None:
    both = tmp_path / "both.log"  # the kmdemo crash (Nov 27), then the example's (Dec 23)
    both.write_text(KMDEMO_LOG + EXAMPLE.read_text())
    code, doc, err = run(str(both), "--source", demo["repo"], "--until", "triage", "--json")
    assert code == 0, err
    assert doc["stages"][0]["data"]["module"] == "xen_evtchn"
    assert doc["stages"][0]["data"]["reports"] == 2
    code, doc, err = run(str(both), "--source", demo["repo"], "--until", "triage",
                         "--index", "0", "--json")
    assert code == 0 and doc["stages"][0]["data"]["module"] == "kmend_demo"
    code, _, err = run(str(both), "--source", demo["repo"], "--until", "triage",
                       "--index", "2")
    assert code == 2 and "--index 2 is out of range" in one_error_line(err)
