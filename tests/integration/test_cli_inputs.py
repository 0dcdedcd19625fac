"""The same inputs and exit codes in every verb that takes a module, through the real CLI.

Modules are a tiny module built against the real Debian headers and Debian's own modules
of the installed kernels; the compressed forms are made here with the standard tools'
formats (xz, zstd, gzip).  The kernel facts the assertions rest on: a kernel loads its own
modules; a module whose vermagic names another release is refused; the kernel refuses a
module built for 6.1 in 6.12 (struct module differs)."""

from __future__ import annotations

import gzip
import hashlib
import json
import lzma
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import zstandard

from conftest import REPO, need
from install_support import K61, K612, build_module, kernel_ready, kmend, make_root

pytestmark = pytest.mark.integration

COMPRESSORS = {
    "xz": lambda data: lzma.compress(data, check=lzma.CHECK_CRC32),
    "zst": lambda data: zstandard.ZstdCompressor().compress(data),
    "gz": gzip.compress,
}
DEBIAN_MODULES = ("drivers/xen/xen-evtchn.ko", "drivers/xen/xen-gntdev.ko",
                  "drivers/xen/xen-gntalloc.ko")


def compressed(ko: Path, kind: str, where: Path) -> Path:
    out = where / f"{ko.name}.{kind}"
    out.write_bytes(COMPRESSORS[kind](ko.read_bytes()))
    return out


def one_line_error(res: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kmend: error: "), res.stderr
    return lines[0]


@pytest.mark.parametrize("kind", sorted(COMPRESSORS))
def test_check_and_install_take_every_compressed_form(kind: str, tmp_path: Path) -> None:
    ko = build_module(K61)
    packed = compressed(ko, kind, tmp_path)
    plain = json.loads(kmend("check", str(ko), "--kernel", K61, "--json").stdout)
    res = kmend("check", str(packed), "--kernel", K61, "--json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["will_load"] is True and doc["module_file"]["compression"] == kind
    assert doc["module_file"]["srcversion"] == plain["module_file"]["srcversion"]
    # the kernel refuses this 6.1 module in 6.12: a negative verdict, exit 1
    assert kmend("check", str(packed), "--kernel", K612).returncode == 1

    root = make_root(tmp_path / "root", K61)
    res = kmend("install", str(packed), "--root", str(root), "--json")
    assert res.returncode == 0, res.stderr
    txn = json.loads(res.stdout)
    dest = root / txn["files"][0]["path"]
    assert dest.name == "xen-evtchn.ko"
    # installed plain: exactly the bytes make produced, which modinfo reads as a module
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == hashlib.sha256(
        ko.read_bytes()).hexdigest()
    assert kmend("rollback", "--root", str(root)).returncode == 0


def test_sign_takes_a_compressed_module_and_keeps_its_compression(tmp_path: Path) -> None:
    ko = build_module(K61)
    packed = compressed(ko, "zst", tmp_path)
    out = tmp_path / "signed.ko.zst"
    res = kmend("sign", str(packed), "--new-key", str(tmp_path / "key"), "-o", str(out))
    assert res.returncode == 0, res.stderr
    info = subprocess.run(["modinfo", "-F", "signer", str(out)], capture_output=True,
                          text=True, check=True, timeout=60)
    assert info.stdout.strip(), "modinfo sees no signature"


def test_install_of_a_module_the_kernel_refuses_is_exit_1(tmp_path: Path) -> None:
    ko = build_module(K61)
    root = make_root(tmp_path / "root", K612)
    res = kmend("install", str(ko), "--root", str(root), "--kernel", K612)
    assert res.returncode == 1
    assert "would refuse" in one_line_error(res)


def test_check_root_without_headers_uses_this_machines_like_install(tmp_path: Path) -> None:
    ko = build_module(K61)
    root = make_root(tmp_path / "root", K61)
    assert not (root / "lib/modules" / K61 / "build").exists()
    res = kmend("check", str(ko), "--root", str(root), "--json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["kernel_target"]["release"] == K61  # from the module's vermagic
    assert "this machine's headers" in doc["note"]
    txn = json.loads(kmend("install", str(ko), "--root", str(root), "--dry-run",
                           "--json").stdout)
    assert txn["transaction"]["check"]["note"] == doc["note"]


def test_a_missing_directory_option_is_refused_before_any_work(tmp_path: Path) -> None:
    ko = build_module(K61)
    for args in (["check", str(ko), "--modules-dir", "/nonexistent"],
                 ["check", str(ko), "--root", "/nonexistent"],
                 ["check", "--kernel-tree", "0.0.0-none"],
                 ["preflight", str(ko), "--modules-dir", "/nonexistent"],
                 ["sign", str(ko), "--kdir", "/nonexistent", "--new-key", str(tmp_path / "k")],
                 ["install", str(ko), "--root", "/nonexistent"]):
        res = kmend(*args)
        assert res.returncode == 4, (args, res.stderr)
        assert "no such directory" in one_line_error(res), args
    assert not (tmp_path / "k").exists()


@pytest.mark.parametrize("value", ["nan", "inf", "-5", "0"])
def test_preflight_timeout_is_validated_first(value: str) -> None:
    ko = build_module(K61)
    res = kmend("preflight", str(ko), "--kernel", K61, "--timeout", value)
    assert res.returncode == 2
    assert "--timeout" in one_line_error(res)


def _debian_modules(where: Path, release: str) -> list[Path]:
    out = []
    for rel in DEBIAN_MODULES:
        src = Path("/lib/modules") / release / "kernel" / rel
        dst = where / src.name
        shutil.copyfile(src, dst)
        out.append(dst)
    return out


def test_check_many_paths_and_a_directory(tmp_path: Path) -> None:
    kernel_ready(K61)
    (tmp_path / "m").mkdir()
    mods = _debian_modules(tmp_path / "m", K61)
    packed = compressed(mods[0], "xz", tmp_path / "m")
    mods[0].unlink()
    # a kernel loads its own modules: the directory, with the default kernel (vermagic)
    res = kmend("check", str(tmp_path / "m"))
    assert res.returncode == 0, res.stderr
    lines = res.stdout.strip().splitlines()
    assert len(lines) == 4 and lines[-1].startswith("3 modules: 3 load, 0 refused")
    assert packed.name in res.stdout
    # another release refuses them all (vermagic): exit 1, a JSON list of three verdicts
    res = kmend("check", str(packed), str(mods[1]), str(mods[2]), "--kernel", K612, "--json")
    assert res.returncode == 1
    docs = json.loads(res.stdout)
    assert [d["will_load"] for d in docs] == [False, False, False]
    assert all(d["kernel_target"]["release"] == K612 for d in docs)


def test_check_kernel_tree_in_a_root(tmp_path: Path) -> None:
    root = make_root(tmp_path / "root", K61)
    tree = root / "lib/modules" / K61
    names = sorted(p.name for p in tree.rglob("*.ko*"))
    assert names
    res = kmend("check", "--kernel-tree", K61, "--root", str(root), "--json")
    assert res.returncode == 0, res.stderr
    docs = json.loads(res.stdout)
    assert sorted(Path(d["module_file"]["path"]).name for d in docs) == names
    assert all(d["will_load"] for d in docs)
    # "will these modules of 6.1 load in 6.12?": no (vermagic, struct module)
    res = kmend("check", "--kernel-tree", K61, "--root", str(root), "--kernel", K612)
    assert res.returncode == 1
    assert f"{len(names)} modules: 0 load, {len(names)} refused" in res.stdout


def test_check_usage_errors_are_exit_2() -> None:
    ko = build_module(K61)
    for args in (["check"], ["check", str(ko), "--kernel", "../x"],
                 ["check", str(ko), "--kernel", K61, "--kdir", f"/lib/modules/{K61}/build"]):
        res = kmend(*args)
        assert res.returncode == 2, (args, res.stderr)
        one_line_error(res)


def test_the_kernel_defaults_to_the_modules_vermagic(tmp_path: Path) -> None:
    """A module whose vermagic names a kernel that is not here: check and preflight both
    look for that kernel (and say so) instead of another one."""
    kernel_ready(K61)
    data = (Path("/lib/modules") / K61 / "kernel/drivers/xen/xen-evtchn.ko").read_bytes()
    absent = "6.1.0-99-amd64"
    assert len(absent) == len(K61) and f"vermagic={K61} ".encode() in data
    ko = tmp_path / "xen-evtchn.ko"
    ko.write_bytes(data.replace(f"vermagic={K61} ".encode(), f"vermagic={absent} ".encode()))
    res = kmend("check", str(ko))
    assert res.returncode == 3 and f"kernel {absent}" in one_line_error(res)
    res = kmend("preflight", str(ko), "--timeout", "5")
    assert res.returncode == 4 and f"vmlinuz-{absent} not found" in one_line_error(res)


def test_check_many_modules_in_workers_says_the_same(tmp_path: Path) -> None:
    """A directory of several hundred modules is checked by worker processes (--jobs):
    the lines, their order, the JSON documents and the exit code are those of one process.
    The modules: Debian's own (the kernel loads them) and one built for 6.12 (refused)."""
    kernel_ready(K61)
    tree = Path(f"/lib/modules/{K61}/kernel/drivers")
    mods = sorted(tree.rglob("*.ko"))[:300]
    assert len(mods) == 300
    (tmp_path / "m").mkdir()
    for ko in mods:
        shutil.copyfile(ko, tmp_path / "m" / f"{ko.parent.name}-{ko.name}")
    shutil.copyfile(build_module(K612), tmp_path / "m" / "zz-built-for-6.12.ko")
    one = kmend("check", str(tmp_path / "m"), "--kernel", K61, "--jobs", "1")
    two = kmend("check", str(tmp_path / "m"), "--kernel", K61, "--jobs", "2")
    assert one.returncode == two.returncode == 1, one.stderr
    assert one.stdout == two.stdout
    assert one.stdout.strip().splitlines()[-1] == "301 modules: 300 load, 1 refused"
    assert "zz-built-for-6.12.ko" in one.stdout.splitlines()[-2]
    js1 = kmend("check", str(tmp_path / "m"), "--kernel", K61, "--jobs", "1", "--json")
    js2 = kmend("check", str(tmp_path / "m"), "--kernel", K61, "--jobs", "2", "--json")
    assert json.loads(js1.stdout) == json.loads(js2.stdout)
    assert [d["will_load"] for d in json.loads(js2.stdout)] == [True] * 300 + [False]


def test_checking_one_module_to_a_pipe_loads_only_what_it_needs() -> None:
    """`kmend check ONE.ko` (its start-up is most of its time): plain lines to a pipe need
    no Rich, a plain .ko no log decompressors (kmend.logs), and a module DKMS's key did not
    sign no X.509 library; the verdict is the kernel's (it loads its own module)."""
    kernel_ready(K61)
    ko = Path(f"/lib/modules/{K61}/kernel/drivers/xen/xen-evtchn.ko")
    code = ("import sys\nfrom kmend.cli import main\n"
            f"rc = main(['check', {str(ko)!r}, '--kernel', {K61!r}])\n"
            "loaded = sorted({m.split('.')[0] for m in sys.modules} & {'rich', 'cryptography'}"
            " | {m for m in sys.modules if m.startswith('kmend.logs')})\n"
            "print('RC', rc, 'LOADED', loaded)\n")
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=120, check=False)
    assert res.stdout.splitlines()[0].startswith("xen-evtchn.ko → 6.1.0-47-amd64: LOADS")
    last = res.stdout.splitlines()[-1]
    if os.uname().release == K61:  # the live kernel: its enrolled MOKs are read as X.509
        last = last.replace("'cryptography'", "").replace("[, ", "[").replace(", ]", "]")
    assert last == "RC 0 LOADED []", res.stdout + res.stderr


def _with_reader_gone(args: list[str]) -> tuple[int, bytes, bytes]:
    """`kmend ARGS | head -1`: the reader takes one line and closes the pipe."""
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    proc = subprocess.Popen([sys.executable, "-m", "kmend", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read()
    return proc.wait(timeout=300), first, err


def test_a_reader_that_goes_away_changes_no_exit_code(tmp_path: Path) -> None:
    # `kmend check … | head -1` and `kmend doctor | head -1` said 0 (success) when the
    # reader went away after the first line, whatever the verdict; the verb now finishes
    # with its output going nowhere.  The output is larger than a pipe's buffer, so the
    # closed pipe is met: a 6.12 module first (refused by 6.1: its symbol versions are
    # 6.12's), then every module of the installed 6.1.0-47 tree.
    refused = Path(f"/lib/modules/{K612}/kernel/net/key/af_key.ko.xz")
    need(refused.is_file() and Path(f"/lib/modules/{K61}/kernel").is_dir(),
         f"the {K61} and {K612} kernels' modules are not installed")
    args = ["check", str(refused), "--kernel-tree", K61]
    whole = kmend(*args)
    assert whole.returncode == 1 and len(whole.stdout) > 1 << 17, whole.stderr
    code, first, err = _with_reader_gone(args)
    assert (code, err) == (1, b"")
    assert first.startswith(b"af_key.ko.xz") and b"REFUSED" in first
    # doctor: a root with no log is not healthy (its verdict is the first line)
    (tmp_path / "var/log").mkdir(parents=True)
    code, first, err = _with_reader_gone(["doctor", "--root", str(tmp_path)])
    assert code == 1 and first.startswith(b"verdict: unknown"), err
