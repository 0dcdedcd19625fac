"""Disassemble the ``Code:`` line of a crash report with capstone.

x86 prints the bytes around the faulting instruction, the faulting byte in ``<xx>`` (or, for
a user-space RIP, ``(xx)``); since 4.x that is 42 bytes before and 21 after (reference
crash-formats §2.7), so the first bytes usually start mid-instruction.  We try every left
offset and keep the first decoding in which an instruction starts exactly at the marked byte.
arm64 prints 32-bit words with the faulting one in parentheses; each word is one instruction,
printed as a host-endian number, so it is converted to little-endian bytes.
"""

from __future__ import annotations

import re

import capstone

from kmend.oops.model import Code, Instruction

_X86_TOKEN_RE = re.compile(r"^[<(]?[0-9a-fA-F]{2}[>)]?$")
_ARM64_TOKEN_RE = re.compile(r"^\(?[0-9a-fA-F]{8}\)?$")
MAX_SHIFT = 16


def parse_code_line(text: str) -> tuple[bytes, int | None, str] | None:
    """Bytes, index of the faulting byte and arch ("x86_64"/"arm64") of a ``Code:`` line."""
    pos = text.find("Code:")
    if pos < 0:
        return None
    tokens = text[pos + 5 :].split()
    if not tokens:
        return None
    if all(_ARM64_TOKEN_RE.match(t) for t in tokens) and any(
        len(t.strip("()")) == 8 for t in tokens
    ):
        data = bytearray()
        fault = None
        for t in tokens:
            if t.startswith("("):
                fault = len(data)
            data += int(t.strip("()"), 16).to_bytes(4, "little")
        return bytes(data), fault, "arm64"
    data = bytearray()
    fault = None
    for t in tokens:
        if not _X86_TOKEN_RE.match(t):
            break
        if t[0] in "<(":
            fault = len(data)
        data.append(int(t.strip("<>()"), 16))
    if not data:
        return None
    return bytes(data), fault, "x86_64"


def _decode(md: capstone.Cs, data: bytes, start: int, fault: int | None) -> list[Instruction]:
    out: list[Instruction] = []
    for insn in md.disasm(data[start:], start):
        out.append(
            Instruction(
                offset=insn.address,
                size=insn.size,
                mnemonic=insn.mnemonic,
                op_str=insn.op_str,
                faulting=fault is not None and insn.address == fault,
            )
        )
    return out


def disassemble(text: str) -> Code | None:
    """Decode the ``Code:`` line in *text*; None when there is none or it is unreadable."""
    parsed = parse_code_line(text)
    if parsed is None:
        return None
    data, fault, arch = parsed
    if arch == "arm64":
        md = capstone.Cs(capstone.CS_ARCH_ARM64, capstone.CS_MODE_ARM)
        return Code(data.hex(), fault, tuple(_decode(md, data, 0, fault)), arch)
    md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    best: list[Instruction] = []
    if fault is not None:
        for shift in range(min(MAX_SHIFT, fault + 1)):
            insns = _decode(md, data, shift, fault)
            if any(i.faulting for i in insns):
                best = insns
                break
        if not best:
            # No alignment reaches the marked byte: decode from it.
            best = _decode(md, data, fault, fault)
    else:
        best = _decode(md, data, 0, None)
    return Code(data.hex(), fault, tuple(best), arch)
