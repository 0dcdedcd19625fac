"""Rust (v0 and legacy) and C++ names in frames and titles are demangled.

The oracle is binutils' ``c++filt -p`` (a real demangler, installed with gcc).  It prints Rust
crate disambiguators (``core[6c85…]``) and legacy hashes (``::h0123…``) and the type of a
const generic (``8: usize``), which titles leave out as rustc-demangle's alternate form does;
those are removed from its answer before comparing.  The symbol names are real: Rust v0
names from the kernel's Rust binder (a syzbot report) and from rustc's own library, C++ names
from libstdc++.  A C++ name outside the supported subset (templates, substitutions) must come
back unchanged, never wrong."""

from __future__ import annotations

import re
import shutil

import pytest

from conftest import need
from kmend import proc
from kmend.logs import parse_text
from kmend.oops import parse_reports
from kmend.oops.demangle import demangle
from kmend.oops.frames import parse_frame

RUST_V0 = (
    "_RNvMs3_NtCshgDM7dBCdno_11rust_binder7processNtB5_7Process10update_ref",
    "_RNvMs2_NtCshgDM7dBCdno_11rust_binder6threadNtB5_6Thread10write_read",
    "_RNvCscSpY9Juk0HT_7___rustc17rust_begin_unwind",
    "_RNvNtCs9jEwPDbx20M_4core9panicking9panic_fmt",
    "_RNvNtNtCs9jEwPDbx20M_4core9panicking11panic_const24panic_const_sub_overflow",
    "_RNvXs1b_NtCs9jEwPDbx20M_4core3fmtRNtNtNtB8_5panic10panic_info9PanicInfoNtB6_7Display3fmt"
    "Cs43vyB533jt3_6kernel",
    "_RNvMNtNtCs43vyB533jt3_6kernel5alloc9allocatorNtB2_11ReallocFunc4call",
    "_RNvMs0_NtCshgDM7dBCdno_11rust_binder4nodeNtB5_4Node22update_refcount_locked",
    "_RNvMs1_NtNtCsdadwybgsbvk_12rustc_middle3hir3mapNtNtNtB9_2ty7context6TyCtxt15parent_hir_node",
    "_RNvMs0_NtNtCsjrHSEGnQ3l9_3std4sync4onceNtB5_4Once10wait_force",
    "_RNvMs3_NtCsjxgNLT6K5IZ_10serde_json2deINtB5_12DeserializerNtNtB7_4read7StrReadE"
    "23parse_exponent_overflowB7_",
    "_RNvXsf_NtNtCsjrHSEGnQ3l9_3std2io5stdioRNtB5_6StdoutNtB7_5Write14write_vectored",
    "_RNvMNtCs2hCOSJlNTWo_12tracing_core8callsiteNtB2_15DefaultCallsite8register",
    "_RNvXs0_NtCs7BI5CoEw5O8_13fluent_bundle5typesNtB5_11FluentValueNtNtCsgEmfK2I1SDS_4core3cmp"
    "9PartialEq2eq",
    "_RNvNCNKNvNCNvNtNtCshek8c565Rq6_18rustc_attr_parsing7context5early17ATTRIBUTE_PARSERS0so_"
    "12STATE_OBJECT0023___RUST_STD_INTERNAL_VAL",
    "_RINvMNtCs3MG2ofusW15_21rustc_data_structures9vec_cacheNtB3_9SlotIndex17initialize_bucket"
    "INtNtNtCsdadwybgsbvk_12rustc_middle5query5erase10ErasedDataAhj8_EEB1v_",
)
RUST_LEGACY = (
    "_ZN4core9panicking9panic_fmt17h0123456789abcdefE",
    "_ZN6kernel5print11call_printk17h5d8a9b0c1e2f3a4bE",
    "_ZN71_$LT$core..ops..range..Range$LT$Idx$GT$$u20$as$u20$core..fmt..Debug$GT$3fmt"
    "17h0123456789abcdefE",
)
CXX = (
    "_ZN10__cxxabiv116__enum_type_infoD0Ev",
    "_ZN10__cxxabiv117__array_type_infoD1Ev",
    "_ZNK10__cxxabiv117__class_type_info10__do_catchEPKSt9type_infoPPvj",
    "_ZNK10__cxxabiv119__pointer_type_info14__is_pointer_pEv",
    "_ZNSdC1Ev",
    "_ZNSd4swapERSd",
    "_ZN9__gnu_cxx18stdio_sync_filebufIcSt11char_traitsIcEE4fileEv",  # template: unchanged
    "_ZN11__gnu_debug19_Safe_iterator_base16_M_attach_singleEPNS_19_Safe_sequence_baseEb",
)


def _cxxfilt(names: tuple[str, ...]) -> list[str]:
    exe = shutil.which("c++filt")
    need(exe, "binutils' c++filt (installed with gcc)")
    assert exe is not None
    res = proc.run([exe, "-p", *names], timeout=30)
    out = res.stdout.splitlines()
    assert len(out) == len(names)
    return out


def _rustc_form(text: str) -> str:
    text = re.sub(r"\[[0-9a-f]+\]", "", text)  # crate disambiguators
    text = re.sub(r"::h[0-9a-f]{16}$", "", text)  # legacy hash
    return re.sub(r"(\d+): [ui](?:8|16|32|64|128|size)\b", r"\1", text)  # const generic type


@pytest.mark.parametrize("group", ["v0", "legacy"])
def test_rust_names_match_cxxfilt(group: str) -> None:
    names = RUST_V0 if group == "v0" else RUST_LEGACY
    for name, ref in zip(names, _cxxfilt(names), strict=True):
        assert ref != name, f"c++filt did not demangle {name}"
        assert demangle(name) == _rustc_form(ref), name


def test_cxx_names_match_cxxfilt_or_stay_unchanged() -> None:
    changed = 0
    for name, ref in zip(CXX, _cxxfilt(CXX), strict=True):
        got = demangle(name)
        assert got in (ref, name), name
        changed += got != name
    assert changed >= 4  # the plain nested names and constructors/destructors


def test_non_mangled_and_malformed_names_are_left_alone() -> None:
    for name in ("ext4_fill_super", "_R", "_RNvC", "_RNvB9_", "_ZN3fooE", "_Z", "_ZN99xE",
                 "_RNvNtCs" + "N" * 500):
        assert demangle(name) in (name, "foo"), name


def test_frames_carry_demangled_names() -> None:
    line = (" _RNvMs3_NtCshgDM7dBCdno_11rust_binder7processNtB5_7Process10update_ref"
            "+0x17e5/0x1860")
    frame = parse_frame(line)
    assert frame is not None
    assert frame.name == "<rust_binder::process::Process>::update_ref"
    legacy = parse_frame(
        " _ZN71_$LT$core..ops..range..Range$LT$Idx$GT$$u20$as$u20$core..fmt..Debug$GT$3fmt"
        "17h0123456789abcdefE+0x10/0x20"
    )
    assert legacy is not None
    assert legacy.name == "<core::ops::range::Range<Idx> as core::fmt::Debug>::fmt"


# A Rust panic in the binder driver, as syzbot printed it (its title in syzkaller's corpus:
# "attempt to subtract with overflow in <rust_binder::process::Process>::update_ref").
_RUST_PANIC = """\
[   23.717039][  T298] rust_kernel: panicked at drivers/android/binder/node.rs:877:13:
[   23.717039][  T298] attempt to subtract with overflow
[   23.745283][  T298] ------------[ cut here ]------------
[   23.771620][  T298] kernel BUG at rust/helpers/bug.c:7!
[   23.772028][  T298] Oops: invalid opcode: 0000 [#1] PREEMPT SMP KASAN PTI
[   23.800761][  T298] CPU: 0 UID: 0 PID: 298 Comm: syz-executor821 Not tainted 6.12.23-syzkaller #0
[   23.829979][  T298] RIP: 0010:rust_helper_BUG+0x8/0x10
[   24.057562][  T298] Call Trace:
[   24.060834][  T298]  <TASK>
[   24.063751][  T298]  _RNvCscSpY9Juk0HT_7___rustc17rust_begin_unwind+0x15b/0x160
[   24.128451][  T298]  _RNvNtCs9jEwPDbx20M_4core9panicking9panic_fmt+0x84/0x90
[   24.143499][  T298]  _RNvNtNtCs9jEwPDbx20M_4core9panicking11panic_const24panic_const_sub_overflow+0xb2/0xc0
[   24.163987][  T298]  _RNvMs3_NtCshgDM7dBCdno_11rust_binder7processNtB5_7Process10update_ref+0x17e5/0x1860
[   24.204041][  T298]  _RNvMs2_NtCshgDM7dBCdno_11rust_binder6threadNtB5_6Thread10write_read+0x27cf/0x96a0
[   24.265461][  T298]  </TASK>
"""


def test_rust_panic_title_names_the_demangled_caller() -> None:
    reports = list(parse_reports(parse_text(_RUST_PANIC, source="t")))
    assert reports
    assert reports[0].title == (
        "attempt to subtract with overflow in <rust_binder::process::Process>::update_ref"
    )
