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
