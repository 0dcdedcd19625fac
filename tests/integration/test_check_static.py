"""`kmend check` on real modules against real headers trees, against what real Debian
kernels printed for the same cases (recorded by booting 6.1.0-47 and 6.1.0-57 and loading
each module with insmod; the vm tier re-derives every one of these by booting, see tests/vm/test_oracle_matrix.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import need
from kmend.cli import main
from kmend.kernel.target import KernelTarget
from kmend.ko import read_module
from kmend.loadcheck import check_module
from kmodbuild import built_modules, kdir_of

__all__ = ["built_modules"]  # the session fixture, imported so pytest finds it

pytestmark = pytest.mark.integration

K47, K57, K612 = "6.1.0-47-amd64", "6.1.0-57-amd64", "6.12.117+deb12-amd64"
SIZE_MSG = ("module hello: .gnu.linkonce.this_module section size must match the kernel's "
            "built struct module size at run time")


def first_error(built: dict[str, dict[str, Path]], build: str, label: str, target: str) -> str | None:
    verdict = check_module(read_module(built[build][label]), KernelTarget.from_kdir(kdir_of(target)))
    first = verdict.first_error
    assert verdict.will_load == (first is None)
    return first.message if first else None


# (built against, module, loaded into, the first error the real kernel printed / None = loads)
LAB_CASES = [
    (K57, "hello", K57, None),
    (K47, "hello", K47, None),
    (K612, "hello", K612, None),
    (K47, "hello", K57, "hello: disagrees about version of symbol module_layout"),
    (K57, "hello", K47, "hello: disagrees about version of symbol module_layout"),
    (K612, "hello", K57, "hello: disagrees about version of symbol module_layout"),
    (K57, "hello", K612, SIZE_MSG),
    (K57, "vm-release", K57, None),
    (K612, "vm-release", K612, None),
    (K57, "vm-flags", K57, "hello: version magic '6.1.0-57-amd64 SMP PREEMPT mod_unload modversions ' "
     "should be '6.1.0-57-amd64 SMP preempt mod_unload modversions '"),
    (K612, "vm-flags", K612, "hello: version magic '6.12.117+deb12-amd64 SMP PREEMPT mod_unload "
     "modversions ' should be '6.12.117+deb12-amd64 SMP preempt mod_unload modversions '"),
    (K47, "noversions", K57, "hello: version magic '6.1.0-47-amd64 SMP preempt mod_unload modversions ' "
     "should be '6.1.0-57-amd64 SMP preempt mod_unload modversions '"),
    (K57, "noversions", K57, None),
    (K57, "badsym", K57, "badsym: Unknown symbol kmend_nonexistent_symbol_xyz (err -2)"),
    (K612, "badsym", K612, "badsym: Unknown symbol kmend_nonexistent_symbol_xyz (err -2)"),
    (K57, "unexp", K57, "unexp: Unknown symbol kallsyms_lookup_name (err -2)"),
    (K612, "unexp", K612, "unexp: Unknown symbol kallsyms_lookup_name (err -2)"),
]


@pytest.mark.parametrize("build,label,target,expected", LAB_CASES)
def test_agrees_with_recorded_kernel_messages(built_modules: dict[str, dict[str, Path]], build: str,
                                              label: str, target: str, expected: str | None) -> None:
    assert first_error(built_modules, build, label, target) == expected


def test_noversions_taints_forced(built_modules: dict[str, dict[str, Path]]) -> None:
    """A module of our own with __versions hidden loads; the booted kernel showed taint 12290
    (F forced, O out-of-tree, E unsigned)."""
    v = check_module(read_module(built_modules[K57]["noversions"]), KernelTarget.from_kdir(kdir_of(K57)))
    assert v.will_load and v.taints == "FOE"
    assert v.findings[0].message == "hello: module_layout: kernel tainted."


def test_depends_resolved_in_modules_tree(built_modules: dict[str, dict[str, Path]]) -> None:
    mods = built_modules[K57]
    target = KernelTarget.from_kdir(kdir_of(K57))
    alone = check_module(read_module(mods["needdep"]), target)
    assert not alone.will_load
    tree = mods["depprov"].parent
    with_tree = check_module(read_module(mods["needdep"]), target, modules_tree=tree)
    assert with_tree.will_load and with_tree.needs_loaded == ("depprov",)


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_exit_codes_and_json(built_modules: dict[str, dict[str, Path]], capsys: pytest.CaptureFixture[str]) -> None:
    ok = str(built_modules[K57]["hello"])
    code, out, _ = run_cli(["check", ok, "--kdir", str(kdir_of(K57))], capsys)
    assert code == 0 and "LOADS" in out
    code, out, _ = run_cli(["check", ok, "--kernel", K47], capsys)
    assert code == 1
    assert "hello: disagrees about version of symbol module_layout" in out
    assert f"rebuild it against the headers of {K47}" in out
    code, out, _ = run_cli(["check", ok, "--symvers", str(kdir_of(K47) / "Module.symvers"), "--json"], capsys)
    doc = json.loads(out)
    assert code == 1 and doc["will_load"] is False
    assert doc["first_error"] == "hello: disagrees about version of symbol module_layout"
    assert doc["module_file"]["name"] == "hello" and doc["kernel_target"]["symvers"] > 20000


def test_cli_bad_inputs(built_modules: dict[str, dict[str, Path]], tmp_path: Path,
                        capsys: pytest.CaptureFixture[str]) -> None:
    good = built_modules[K57]["hello"].read_bytes()
    cases = {
        "empty": (b"", "empty file"),
        "text": (b"hello world\n" * 10, "not an ELF file"),
        "truncated": (good[: len(good) // 2], "truncated"),
        "header-only": (good[:40], "truncated ELF header"),
        "corrupt": (good[:0x20] + b"\xff" * 16 + good[0x30:], "corrupt"),
        "wrong-arch": (good[:18] + (183).to_bytes(2, "little") + good[20:], "wrong architecture"),
        "xz-garbage": (b"\xfd7zXZ\x00" + b"\x00" * 64, "corrupt or truncated xz"),
    }
    kdir = str(kdir_of(K57))
    for name, (data, words) in cases.items():
        path = tmp_path / f"{name}.ko"
        path.write_bytes(data)
        code, _out, err = run_cli(["check", str(path), "--kdir", kdir], capsys)
        assert code == 4, (name, code, err)
        lines = [line for line in err.splitlines() if line]
        assert len(lines) == 1 and words in lines[0] and "Traceback" not in err, (name, err)
    code, _, err = run_cli(["check", str(tmp_path / "missing.ko"), "--kdir", kdir], capsys)
    assert code == 4 and "no such file" in err


def test_cli_stripped_is_refused_with_kernel_message(built_modules: dict[str, dict[str, Path]],
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["check", str(built_modules[K57]["stripped"]), "--kdir", str(kdir_of(K57))], capsys)
    assert code == 1 and "hello: module has no symbols (stripped?)" in out


def test_headers_without_symvers(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                 built_modules: dict[str, dict[str, Path]]) -> None:
    src = kdir_of(K57)
    fake = tmp_path / "headers"
    (fake / "include/generated").mkdir(parents=True)
    (fake / "include/config").mkdir(parents=True)
    shutil.copyfile(src / "include/generated/utsrelease.h", fake / "include/generated/utsrelease.h")
    shutil.copyfile(src / "include/config/auto.conf", fake / "include/config/auto.conf")
    code, _, err = run_cli(["check", str(built_modules[K57]["hello"]), "--kdir", str(fake)], capsys)
    assert code == 4 and "without Module.symvers" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli(["check", str(built_modules[K57]["hello"]), "--kdir", str(tmp_path / "nope")], capsys)
    assert code == 4 and f"--kdir {tmp_path / 'nope'}: no such directory" in err
    code, _, err = run_cli(["check", str(built_modules[K57]["hello"]), "--kernel", "9.9.9-nope"], capsys)
    assert code == 3 and "apt-get install linux-headers-9.9.9-nope" in err


def test_a_root_without_headers_says_whose_headers_checked_it_with_or_without_kernel(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The README: when the root has no headers for the kernel, check (as install) uses
    # this machine's headers of the same release and says so -- also when --kernel names
    # the release (that note was dropped).  A real module of Debian's 6.1.0-47 kernel.
    module = Path(f"/lib/modules/{K47}/kernel/net/key/af_key.ko")
    need(module.is_file() and Path(f"/lib/modules/{K47}/build/Module.symvers").is_file(),
         f"Debian's {K47} modules and headers are not installed")
    (tmp_path / "lib/modules" / K47).mkdir(parents=True)
    note = f"checked against this machine's headers for {K47} (none under {tmp_path})"
    for extra in ([], ["--kernel", K47]):
        assert main(["check", str(module), "--root", str(tmp_path), *extra]) == 0
        assert f"  note: {note}\n" in capsys.readouterr().out, extra
        assert main(["check", str(module), "--root", str(tmp_path), "--json", *extra]) == 0
        assert json.loads(capsys.readouterr().out)["note"] == note, extra
