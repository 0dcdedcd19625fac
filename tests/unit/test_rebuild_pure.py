"""kmend.rebuild's pure parts: version containment, provenance reading, the hook scripts.

Versions are facts of Debian's packages: linux-image-6.1.0-47-amd64 is 6.1.170-3,
6.1.0-57-amd64 is 6.1.192-3, 6.12.117+deb12-amd64 is upstream 6.12.117.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import need
from kmend import provenance as pv
from kmend.errors import InputError, StateError
from kmend.install.fsops import SafeRoot
from kmend.kernel.release import KernelRelease, parse_release
from kmend.rebuild import hooks
from kmend.rebuild.contains import contains_fix

K57 = parse_release("6.1.0-57-amd64").with_package_version("6.1.192-3")
K47 = parse_release("6.1.0-47-amd64").with_package_version("6.1.170-3")
K612 = parse_release("6.12.117+deb12-amd64")


@pytest.mark.parametrize(("rel", "first", "stable", "want", "tag"), [
    (K57, "v6.2", (), False, ""),             # 6.1.192 is before 6.2; no 6.1.y backport
    (K57, "v6.2", ("v6.1.180",), True, "v6.1.180"),   # the 6.1.y backport is at/before 192
    (K57, "v6.2", ("v6.1.192",), True, "v6.1.192"),   # "at" counts
    (K47, "v6.2", ("v6.1.180",), False, ""),  # 6.1.170 is before the backport
    (K47, "v6.2", ("v5.15.150", "v6.6.30"), False, ""),  # other series say nothing
    (K612, "v6.2", (), True, "v6.2"),         # a later series contains every older release
    (K612, "v6.13-rc1", (), False, ""),       # ...not a later one's -rc
    (parse_release("6.2.0-rc3"), "v6.2-rc2", (), True, "v6.2-rc2"),
    (parse_release("6.2.0-rc1"), "v6.2-rc2", (), False, ""),
    (K57, "v6.1.150", (), True, "v6.1.150"),  # a fix that exists only in stable
])
def test_containment_by_version(rel: KernelRelease, first: str, stable: tuple[str, ...], want: bool,
                                tag: str) -> None:
    got = contains_fix(rel, first, stable)
    assert got.contains is want
    assert got.release == tag
    if want:
        assert tag in got.reason
    else:
        assert "before" in got.reason


def test_containment_unknown_is_not_a_guess() -> None:
    assert contains_fix(K57, None, ()).contains is None
    abi_only = parse_release("6.1.0-57-amd64")  # the ABI series, not 6.1.192
    got = contains_fix(abi_only, "v6.2", ("v6.1.180",))
    assert got.contains is None and "ABI series" in got.reason


def _write(tmp: Path, files: dict[str, str]) -> dict[str, object]:
    for rel, text in files.items():
        (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp / rel).write_text(text)
    return pv.make(module="demo", sources=pv.sources_entry(tmp, files))


def test_sources_are_read_back_only_when_unchanged(tmp_path: Path) -> None:
    prov = _write(tmp_path, {"demo.c": "int x;\n", "Kbuild": "obj-m := demo.o\n"})
    assert prov["sources"]["files"]["demo.c"] == hashlib.sha256(b"int x;\n").hexdigest()
    files, why = pv.load_sources(prov)
    assert files == {"Kbuild": "obj-m := demo.o\n", "demo.c": "int x;\n"} and why == ""
    (tmp_path / "demo.c").write_text("int y;\n")
    files, why = pv.load_sources(prov)
    assert files is None and "changed since" in why
    evil = {**prov, "sources": {"dir": str(tmp_path), "files": {"../etc/passwd": "0" * 64}}}
    files, why = pv.load_sources(evil)
    assert files is None and "unsafe" in why
    files, why = pv.load_sources({"format": pv.FORMAT})
    assert files is None and "no source files" in why


def test_provenance_file_beside_a_module_and_bad_json(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    ko = tmp_path / "sub" / "demo.ko"
    ko.write_bytes(b"\x7fELF")
    assert pv.beside(ko) is None
    (tmp_path / "PROVENANCE").write_text(pv.dumps(pv.make(module="demo")))
    assert pv.beside(ko) == tmp_path / "PROVENANCE"
    assert pv.read(tmp_path / "PROVENANCE") == {"format": pv.FORMAT, "module": "demo"}
    (tmp_path / "PROVENANCE").write_text("module: demo\n")  # the old text format
    with pytest.raises(InputError, match="not JSON"):
        pv.read(tmp_path / "PROVENANCE")
    (tmp_path / "PROVENANCE").write_text("[1]")
    with pytest.raises(InputError, match="JSON object"):
        pv.read(tmp_path / "PROVENANCE")


def _run(script: Path, *args: str, stub: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", str(script), *args], capture_output=True, text=True,
                          timeout=30, check=False,
                          env={**os.environ, "PATH": f"{stub}:{os.environ['PATH']}"})


def test_hooks_call_rebuild_with_the_kernel_and_never_fail_the_package(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    stub = tmp_path / "bin"
    stub.mkdir()
    log = tmp_path / "calls"
    # a stand-in for kmend (named as such): records its argv, fails like a rebuild that
    # could not carry a fix over
    fake = stub / "fake-kmend"
    fake.write_text(f'#!/bin/sh\necho "$@" >> {log}\nexit 1\n')
    fake.chmod(0o755)
    with SafeRoot(root) as r:
        debian = hooks.debian_hook([str(fake), "rebuild", "--root", str(root)])
        plugin = hooks.kernel_install_hook([str(fake), "rebuild", "--root", str(root)])
        done = hooks.install_hooks(r)
        assert [h.action for h in done] == ["created", "created"]
        assert [h.action for h in hooks.install_hooks(r)] == ["unchanged", "unchanged"]
        cmd = hooks.kmend_command(r)
        assert cmd[-2:] == ["--root", str(root)]
    assert (root / hooks.DEBIAN_HOOK).stat().st_mode & 0o777 == 0o755
    (tmp_path / "zz").write_text(debian)
    (tmp_path / "90").write_text(plugin)
    res = _run(tmp_path / "zz", "6.1.0-57-amd64", "/boot/vmlinuz-6.1.0-57-amd64", stub=stub)
    assert res.returncode == 0 and "failed (exit 1)" in res.stderr
    res = _run(tmp_path / "90", "remove", "6.1.0-57-amd64", "/boot/efi/x", stub=stub)
    assert res.returncode == 0
    res = _run(tmp_path / "90", "add", "6.12.117+deb12-amd64", "/boot/efi/x", "/boot/vmlinuz",
               stub=stub)
    assert res.returncode == 0
    assert log.read_text().splitlines() == [
        f"rebuild --root {root} --kernel 6.1.0-57-amd64",
        f"rebuild --root {root} --kernel 6.12.117+deb12-amd64"]


def test_hook_install_refuses_a_foreign_file_and_removes_only_its_own(tmp_path: Path) -> None:
    foreign = tmp_path / hooks.DEBIAN_HOOK
    foreign.parent.mkdir(parents=True)
    foreign.write_text("#!/bin/sh\n# someone else's\n")
    with SafeRoot(tmp_path) as r:
        with pytest.raises(StateError, match="not written by kmend"):
            hooks.install_hooks(r)
        assert foreign.read_text() == "#!/bin/sh\n# someone else's\n"
        with pytest.raises(StateError, match="not written by kmend"):
            hooks.remove_hooks(r)
        foreign.unlink()
        hooks.install_hooks(r)
        assert [h.action for h in hooks.remove_hooks(r)] == ["removed", "removed"]
    assert not (tmp_path / hooks.KERNEL_INSTALL_HOOK).exists()


def test_decisions_round_trip(tmp_path: Path) -> None:
    from kmend.install import decisions

    with SafeRoot(tmp_path) as r:
        decisions.save(r, "6.1.0-57-amd64", [decisions.Decision(
            module="xen_evtchn", action=decisions.RETIRED, reason="r", release="v6.1.180")])
        got = decisions.load(r, "6.1.0-57-amd64")
    assert got["xen_evtchn"].release == "v6.1.180" and got["xen_evtchn"].decided
    doc = json.loads((tmp_path / "var/lib/kmend/rebuild/6.1.0-57-amd64.json").read_text())
    assert doc["decisions"][0]["action"] == "retired"


# An excerpt of Debian's linux 6.1.192-1 changelog (bookworm-security), as packaged.
CHANGELOG = """linux (6.1.192-1) bookworm-security; urgency=high

  * New upstream stable update:
    https://www.kernel.org/pub/linux/kernel/v6.x/ChangeLog-6.1.191
    - io-wq: order the exit bit against worker creation task work
    - io_uring/io-wq: don't strand work when a worker exits
    - apparmor: fix out-of-bounds write when null terminating a label vec
      (CVE-2026-89761)
"""


def test_changelog_lists_a_fix_by_its_whole_subject() -> None:
    from kmend.rebuild.changelog import lists_fix

    assert lists_fix(CHANGELOG, "io_uring/io-wq: don't strand work when a worker exits")
    assert lists_fix(CHANGELOG, "apparmor: fix out-of-bounds write when null terminating a "
                                "label vec")  # followed by its wrapped CVE note
    assert not lists_fix(CHANGELOG, "io_uring/io-wq: don't strand work")  # a prefix only
    assert not lists_fix(CHANGELOG, "io-wq")  # too short to mean anything
    assert not lists_fix(CHANGELOG, "xen/evtchn: fix the unbind race")


def test_the_real_debian_changelogs_tell_57_from_47() -> None:
    from kmend.rebuild.changelog import changelog_paths, listed_in

    need(changelog_paths(Path("/"), "6.1.0-57-amd64")
         and changelog_paths(Path("/"), "6.1.0-47-amd64"),
         "linux-image-6.1.0-47-amd64 / -57-amd64 changelogs not installed")
    subject = "io_uring/io-wq: don't strand work when a worker exits"  # imported in 6.1.192
    assert listed_in(Path("/"), "6.1.0-57-amd64", subject) is not None
    assert listed_in(Path("/"), "6.1.0-47-amd64", subject) is None  # 6.1.170 predates it
