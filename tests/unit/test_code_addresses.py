"""The Code: bytes placed at their kernel address: the marked byte is the RIP, and a call's
target is what the CPU would compute from the rel32 in the log's bytes."""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path

from kmend.jsonout import dumps
from kmend.logs import read_paths
from kmend.oops import parse_reports

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "w-xen09-messages.log"


def test_call_targets_and_the_faulting_address_are_real() -> None:
    text = EXAMPLE.read_text()
    rip = int(re.search(r"RIP: \w+:\[<([0-9a-f]+)>\]", text)[1], 16)  # type: ignore[index]
    code = re.search(r"Code: (.*)", text)[1].split()  # type: ignore[index]
    fault = next(i for i, t in enumerate(code) if t.startswith("<"))
    raw = bytes(int(t.strip("<>"), 16) for t in code)
    call_at = raw.rindex(b"\xe8", 0, fault)  # the call (e8 rel32) just before the fault
    (rel,) = struct.unpack("<i", raw[call_at + 1: call_at + 5])
    expected_target = rip - fault + call_at + 5 + rel

    (rep,) = parse_reports(read_paths([str(EXAMPLE)]))
    assert rep.code is not None
    faulting = [i for i in rep.code.instructions if i.faulting]
    assert [i.offset for i in faulting] == [fault]
    call = next(i for i in rep.code.instructions if i.mnemonic == "call")
    assert call.offset == call_at
    assert int(call.op_str, 16) == expected_target
    assert json.loads(dumps(rep))["code"]["fault_index"] == fault


def test_without_the_rip_address_a_jump_target_is_an_offset_in_the_window() -> None:
    # Debian 6.12 prints "RIP: 0010:crashmod_bug+0x9/0x10 [crashmod]": no address, so
    # a target computed from address 0 wrapped around (jmp 0xffffffffffffffc5).  The
    # expected target is the CPU's rule for "eb rel8": next instruction + rel8.
    log = (Path(__file__).resolve().parents[2] / "tests/data/crashes/6.12.117+deb12-amd64"
           / "bug_at_load.syslog.log")
    text = log.read_text()
    assert re.search(r"RIP: 0010:crashmod_bug\+", text)  # no [<address>] on the RIP line
    code = re.search(r"Code: (.*)", text)[1].split()  # type: ignore[index]
    raw = bytes(int(t.strip("<>"), 16) for t in code)
    assert raw[0] == 0xEB  # jmp rel8 at the window's first byte
    (rel,) = struct.unpack("<b", raw[1:2])
    target = 2 + rel
    rep = next(r for r in parse_reports(read_paths([str(log)])) if r.function == "crashmod_bug")
    assert rep.code is not None and rep.pc is not None and rep.pc.address is None
    first = rep.code.instructions[0]
    assert (first.offset, first.mnemonic) == (0, "jmp")
    assert first.op_str == f"<{'-' if target < 0 else '+'}{abs(target):#04x}>"
