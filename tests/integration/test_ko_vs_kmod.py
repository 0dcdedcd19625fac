"""kmend.ko against kmod's own readers (modinfo, modprobe --dump-modversions) on real
modules: ours built against three Debian headers trees, and Debian's signed, compressed ones."""

from __future__ import annotations

import glob
import shutil
from pathlib import Path

import pytest

from kmend import proc
from kmend.ko import read_module
from kmodbuild import built_modules, need

__all__ = ["built_modules"]  # the session fixture, imported so pytest finds it

pytestmark = pytest.mark.integration


def modinfo(path: Path, field: str) -> list[str]:
    out = proc.run(["modinfo", "-F", field, str(path)], timeout=30).stdout
    return [line for line in out.split("\n") if line]


def dump_modversions(path: Path) -> dict[str, int]:
    out = proc.run(["modprobe", "--dump-modversions", str(path)], timeout=30).stdout
    pairs = (line.split("\t") for line in out.splitlines() if line)
    return {name: int(crc, 16) for crc, name in pairs}


def test_our_modules_read_like_modinfo(built_modules: dict[str, dict[str, Path]]) -> None:
    need(shutil.which("modinfo"), "kmod not installed")
    for release, mods in built_modules.items():
        for label, ko in mods.items():
            mod = read_module(ko)
            assert mod.vermagic == (modinfo(ko, "vermagic") or [None])[0], (release, label)
            assert mod.name == modinfo(ko, "name")[0]
            assert list(mod.depends) == [d for d in ",".join(modinfo(ko, "depends")).split(",") if d]
            assert mod.license == modinfo(ko, "license")[0]
            if label not in {"noversions", "stripped"}:
                assert dict(mod.versions) == dump_modversions(ko), (release, label)


def test_vermagic_carries_release(built_modules: dict[str, dict[str, Path]]) -> None:
    for release, mods in built_modules.items():
        assert read_module(mods["hello"]).vermagic.split(" ")[0] == release  # type: ignore[union-attr]


def test_exports_match_module_symvers(built_modules: dict[str, dict[str, Path]]) -> None:
    """depprov's export and CRC as Kbuild wrote them into its Module.symvers."""
    for mods in built_modules.values():
        symvers = (mods["depprov"].parent / "Module.symvers").read_text().split("\t")
        exp = read_module(mods["depprov"]).exports
        assert [(e.name, e.crc, e.export) for e in exp] == [
            (symvers[1], int(symvers[0], 16), symvers[3])
        ]


@pytest.mark.parametrize("release", ["6.1.0-47-amd64", "6.12.117+deb12-amd64"])
def test_debian_signed_module(release: str) -> None:
    found = sorted(glob.glob(f"/lib/modules/{release}/kernel/drivers/xen/xen-evtchn.ko*"))
    need(found and shutil.which("modinfo"), f"linux-image-{release} not installed")
    path = Path(found[0])
    mod = read_module(path)
    assert mod.intree and mod.name == "xen_evtchn"
    assert mod.signature is not None
    assert mod.signature.signer == modinfo(path, "signer")[0]
    assert mod.signature.key_id == modinfo(path, "sig_key")[0]
    assert mod.signature.hash_algo == modinfo(path, "sig_hashalgo")[0]
    assert dict(mod.versions) == dump_modversions(path)
    assert mod.compression == ("xz" if path.name.endswith(".xz") else "")


@pytest.mark.parametrize("tool,suffix,kind", [("xz", ".xz", "xz"), ("zstd", ".zst", "zst"), ("gzip", ".gz", "gz")])
def test_compressed_copies(built_modules: dict[str, dict[str, Path]], tmp_path: Path,
                           tool: str, suffix: str, kind: str) -> None:
    need(shutil.which(tool), f"{tool} not installed")
    src = built_modules["6.1.0-57-amd64"]["hello"]
    copy = tmp_path / "hello.ko"
    shutil.copyfile(src, copy)
    proc.run([tool, "-q", str(copy)], timeout=60)
    packed = tmp_path / f"hello.ko{suffix}"
    mod, plain = read_module(packed), read_module(src)
    assert mod.compression == kind
    assert (mod.vermagic, dict(mod.versions), mod.undefined) == (plain.vermagic, dict(plain.versions), plain.undefined)


def test_mutated_modules_never_crash(built_modules: dict[str, dict[str, Path]]) -> None:
    """Untrusted .ko bytes: any corruption gives a ModuleFile or one InputError, nothing else."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from kmend.errors import InputError
    from kmend.ko import parse_module

    good = built_modules["6.1.0-57-amd64"]["needdep"].read_bytes()

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(st.tuples(st.integers(0, len(good) - 1), st.integers(0, 255)), max_size=8),
           st.integers(0, len(good)))
    def mutate(edits: list[tuple[int, int]], cut: int) -> None:
        data = bytearray(good[:cut] if cut > len(good) // 2 else good)
        for pos, value in edits:
            if pos < len(data):
                data[pos] = value
        try:
            parse_module(bytes(data), Path("fuzz.ko"))
        except InputError as exc:
            assert "\n" not in str(exc)

    mutate()


def test_extended_modversions_preferred(built_modules: dict[str, dict[str, Path]], tmp_path: Path) -> None:
    """≥6.14 kbuild (CONFIG_EXTENDED_MODVERSIONS) adds __version_ext_crcs (s32 array) and
    __version_ext_names (NUL-separated); the kernel prefers them.  Added here with objcopy."""
    import struct

    need(shutil.which("objcopy"), "binutils not installed")
    src = built_modules["6.1.0-57-amd64"]["hello"]
    names = ["module_layout", "a_symbol_name_well_over_fifty_six_characters_long_for_the_ext_table"]
    crcs = tmp_path / "crcs"
    crcs.write_bytes(struct.pack("<2I", 0xDEADBEEF, 0x12345678))
    strs = tmp_path / "names"
    strs.write_bytes(b"".join(n.encode() + b"\0" for n in names))
    out = tmp_path / "ext.ko"
    proc.run(["objcopy", "--add-section", f"__version_ext_crcs={crcs}",
              "--set-section-flags", "__version_ext_crcs=alloc,readonly",
              "--add-section", f"__version_ext_names={strs}",
              "--set-section-flags", "__version_ext_names=alloc,readonly", str(src), str(out)],
             timeout=60)
    mod = read_module(out)
    assert mod.versions_source == "__version_ext"
    assert dict(mod.versions) == {names[0]: 0xDEADBEEF, names[1]: 0x12345678}


def nm_undefined(path: Path) -> tuple[list[str], list[str]]:
    """(strong, weak) undefined symbols in symbol-table order, as binutils' nm lists them."""
    out = proc.run(["nm", "-p", "--undefined-only", str(path)], timeout=60).stdout
    pairs = [line.split() for line in out.splitlines() if line.strip()]
    return ([n for kind, n in pairs if kind == "U"], [n for kind, n in pairs if kind in "wv"])


def test_debian_modules_of_every_size_read_like_kmod_and_nm() -> None:
    """A plain .ko is read in pieces (its two ends, the sections a check needs): the
    smallest, a middle-sized and the largest module of a Debian tree, each as modinfo,
    modprobe --dump-modversions and nm read the whole file."""
    tree = Path("/lib/modules/6.1.0-47-amd64/kernel")
    need(tree.is_dir() and shutil.which("modinfo") and shutil.which("nm"),
         "linux-image-6.1.0-47-amd64 or binutils not installed")
    by_size = sorted(tree.rglob("*.ko"), key=lambda p: (p.stat().st_size, str(p)))
    picked = [by_size[0], by_size[len(by_size) // 2], by_size[-1]]
    assert picked[0].stat().st_size < 8192 < picked[-1].stat().st_size  # all-tail and not
    for path in picked:
        mod = read_module(path)
        assert mod.vermagic == modinfo(path, "vermagic")[0]
        assert list(mod.depends) == [d for d in ",".join(modinfo(path, "depends")).split(",")
                                     if d]
        assert mod.signature is not None
        assert mod.signature.signer == modinfo(path, "signer")[0]
        assert mod.signature.key_id == modinfo(path, "sig_key")[0]
        assert dict(mod.versions) == dump_modversions(path)
        assert (list(mod.undefined), list(mod.weak_undefined)) == nm_undefined(path), path
        assert mod.size == path.stat().st_size
