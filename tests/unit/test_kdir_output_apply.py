"""Header lookup and hints, DKMS output files, and fix application (real git)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from kmend.backport.apply import apply_patch, merge3
from kmend.backport.model import BackportPlan, Probe
from kmend.backport.output import dkms_conf, package_version, provenance, write_output
from kmend.build.kdir import find_kdir, headers_package
from kmend.errors import EnvironmentMissing, InputError, UsageError
from kmend.source.kbuild import KbuildModule


@pytest.mark.parametrize(("release", "os_ids", "expected"), [
    ("6.1.0-47-amd64", "debian", "apt-get install linux-headers-6.1.0-47-amd64"),
    ("5.15.0-91-generic", "ubuntu debian", "apt-get install linux-headers-5.15.0-91-generic"),
    ("4.18.0-425.el8.x86_64", "", "dnf install kernel-devel-4.18.0-425.el8.x86_64"),
    ("3.10.20-11.el6.centos.alt.x86_64", "centos rhel",
     "dnf install kernel-devel-3.10.20-11.el6.centos.alt.x86_64"),
    ("5.14.21-150500.55.19-default", "opensuse-leap suse",
     "zypper install kernel-default-devel-5.14.21-150500.55.19"),
])
def test_headers_package_per_distribution(release: str, os_ids: str, expected: str) -> None:
    assert headers_package(release, os_ids or "none") == expected


def test_missing_headers_exit_3_with_the_package(tmp_path: Path) -> None:
    with pytest.raises(EnvironmentMissing) as err:
        find_kdir(None, "9.9.9-1-amd64")
    assert err.value.exit_code == 3 and "linux-headers-9.9.9-1-amd64" in str(err.value)
    with pytest.raises(EnvironmentMissing, match="no such kernel build directory"):
        find_kdir(tmp_path / "nope")
    fake = tmp_path / "linux-headers-7.0.0-1-amd64"
    fake.mkdir()
    (fake / "Makefile").write_text("all:\n")
    with pytest.raises(EnvironmentMissing, match=r"linux-headers-7\.0\.0-1-amd64"):
        find_kdir(fake)


MOD = KbuildModule(name="kmend-demo", kernel_name="kmend_demo", directory="drivers/kmdemo",
                   makefile="drivers/kmdemo/Makefile", config="CONFIG_KMDEMO", parts=(),
                   sources=("demo_main.c",), headers=(), flag_lines=())
PLAN = BackportPlan(
    module="kmend-demo", files=("drivers/kmdemo/Makefile",), base_rev="b" * 40,
    chosen_rev="abcdef1234567890+fedcba", probes=(
        Probe(rev="r1", label="newer", kind="revision", ok=False, diagnostics=(),
              first_diagnostic="x.c:1: error: implicit declaration of function 'kvmemdup'",
              needs=("function kvmemdup()",), seconds=1.0),
    ), policy="minimal", chosen_label="base with fix", chosen_kind="fix-on-base", fix="f" * 40,
    source="/src", target="6.1.0-47-amd64", kdir="/kdir", search="smallest change first")


def test_dkms_conf_and_provenance() -> None:
    conf = dkms_conf(MOD, PLAN)
    assert 'PACKAGE_NAME="kmend-demo"' in conf
    assert 'BUILT_MODULE_NAME[0]="kmend-demo"' in conf
    assert 'DEST_MODULE_LOCATION[0]="/kernel/drivers/kmdemo"' in conf
    assert package_version(PLAN) == "kmend.abcdef123456.fedcba"
    files = {"demo_main.c": "int x;\n", "Kbuild": "obj-m += kmend-demo.o\n"}
    prov = json.loads(provenance(PLAN, MOD, files, Path("/out/dir")))  # JSON, not text
    assert prov["format"] == "kmend-provenance/1"
    assert prov["revision"] == "abcdef1234567890+fedcba"
    assert "revision_commit" not in prov  # base+fix is no commit
    assert prov["fix_commit"] == "f" * 40 and prov["policy"] == "minimal"
    assert prov["kernel"] == "6.1.0-47-amd64" and prov["module"] == "kmend_demo"
    assert prov["recipe"] == {"module": "kmend-demo", "kbuild_dir": "drivers/kmdemo",
                              "makefile": "drivers/kmdemo/Makefile", "make_args": ["modules"],
                              "files": ["Kbuild", "demo_main.c"]}
    assert prov["sources"]["files"]["demo_main.c"] == hashlib.sha256(b"int x;\n").hexdigest()
    assert prov["dkms"] == {"package": "kmend-demo", "version": "kmend.abcdef123456.fedcba",
                            "autoinstall": False}
    (probe,) = prov["probes"]
    assert probe["ok"] is False and probe["needs"] == ["function kvmemdup()"]


def test_output_is_refused_over_a_non_empty_directory(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_output(out, {"demo_main.c": "int x;\n", "Kbuild": "obj-m += kmend-demo.o\n"}, MOD, PLAN)
    assert sorted(p.name for p in out.iterdir()) == [
        "Kbuild", "Makefile", "PROVENANCE", "demo_main.c", "dkms.conf"]
    with pytest.raises(UsageError, match="not empty"):
        write_output(out, {"demo_main.c": ""}, MOD, PLAN)
    with pytest.raises(InputError, match="outside"):
        write_output(tmp_path / "o2", {"../evil.c": ""}, MOD, PLAN)
    assert not (tmp_path / "evil.c").exists() and not (tmp_path / "o2").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


BASE = "a\nb\nc\nd\ne\nf\ng\nh\n"


def test_merge3_carries_the_fix_onto_another_version() -> None:
    ours = BASE.replace("a\n", "a0\n")  # the target changed line 1
    theirs = BASE.replace("g\n", "G\n")  # the fix changes line 7
    m = merge3(ours, BASE, theirs)
    assert m.conflicts == 0 and m.text == "a0\nb\nc\nd\ne\nf\nG\nh\n"
    clash = merge3(BASE.replace("g\n", "x\n"), BASE, theirs)
    assert clash.conflicts == 1 and "<<<<<<<" in clash.text


PATCH = """\
--- a/d/f.c
+++ b/d/f.c
@@ -5,4 +5,4 @@
 e
 f
-g
+G
 h
"""


def test_apply_patch_forward_reverse_and_failure() -> None:
    files = {"d/f.c": BASE.replace("a\n", "a0\n")}
    res = apply_patch(files, PATCH)
    assert res.ok and res.files["d/f.c"] == "a0\nb\nc\nd\ne\nf\nG\nh\n"
    assert apply_patch(res.files, PATCH, reverse=True, check_only=True).ok
    assert not apply_patch(files, PATCH, reverse=True, check_only=True).ok
    bad = apply_patch({"d/f.c": "nothing alike\n"}, PATCH)
    assert not bad.ok and bad.message
