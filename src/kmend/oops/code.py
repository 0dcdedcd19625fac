"""Disassemble the ``Code:`` line of a crash report with capstone.

x86 prints the bytes around the faulting instruction, the faulting byte in ``<xx>`` (or, for
a user-space RIP, ``(xx)``); since 4.x that is 42 bytes before and 21 after (show_opcodes
in arch/x86/kernel/dumpstack.c), so the first bytes usually start mid-instruction.  We try
every left offset and keep the first decoding in which an instruction starts exactly at the
marked byte.
arm64 prints 32-bit words with the faulting one in parentheses; each word is one instruction,
printed as a host-endian number, so it is converted to little-endian bytes.
"""

from __future__ import annotations

import re
from typing import Any

from kmend.oops.model import Code, Instruction

try:
    import capstone
except ImportError:  # a host without capstone (the fleet's on-host verbs): bytes, no listing
    capstone = None

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


_ENGINES: dict[str, Any] = {}


def _engine(arch: str) -> Any:
    """One capstone engine per architecture (creating one costs more than a decoding)."""
    md = _ENGINES.get(arch)
    if md is None:
        if arch == "arm64":
            md = capstone.Cs(capstone.CS_ARCH_ARM64, capstone.CS_MODE_ARM)
        else:
            md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
        _ENGINES[arch] = md
    return md


#: Relative branches, whose one immediate operand is a target address.
_X86_BRANCH = frozenset({"call", "loop", "loope", "loopne", "jrcxz", "jecxz", "jcxz", "xbegin"})
_ARM64_BRANCH = frozenset({"b", "bl", "cbz", "cbnz", "tbz", "tbnz"})
_NUMBER_RE = re.compile(r"0x[0-9a-f]+|[0-9]+")


def _window_target(mnemonic: str, op_str: str) -> str:
    """A relative branch's target when the window's kernel address is unknown: as an
    offset from the window's first byte (``<-0x3b>``, the notation of the offsets), not
    an address computed from 0 (``0xffffffffffffffc5``)."""
    branch = (mnemonic in _X86_BRANCH or mnemonic.startswith("j")
              or mnemonic in _ARM64_BRANCH or mnemonic.startswith("b."))
    head, sep, last = op_str.rpartition(", ")  # arm64: the target is the last operand
    number = last.removeprefix("#")
    if not branch or not _NUMBER_RE.fullmatch(number):
        return op_str
    target = int(number, 0)
    if target >= 1 << 63:
        target -= 1 << 64
    sign = "-" if target < 0 else "+"
    return f"{head}{sep}<{sign}{abs(target):#04x}>"


def _decode(md: Any, data: bytes, start: int, fault: int | None,
            base: int | None = None) -> list[Instruction]:
    """Instructions from byte *start*; *base* is the kernel address of byte 0 (so a call's
    or jump's target reads as the real address), None when unknown (then a target is an
    offset from byte 0, like the instructions' own offsets)."""
    out: list[Instruction] = []
    origin = base or 0
    for address, size, mnemonic, op_str in md.disasm_lite(data[start:], origin + start):
        offset = address - origin
        out.append(
            Instruction(
                offset=offset,
                size=size,
                mnemonic=mnemonic,
                op_str=op_str if base is not None else _window_target(mnemonic, op_str),
                faulting=fault is not None and offset == fault,
            )
        )
    return out


def _reaches(md: Any, data: bytes, start: int, fault: int) -> bool:
    """Whether decoding from *start* has an instruction start exactly at *fault*."""
    for address, _size, _mnemonic, _op_str in md.disasm_lite(data[start:], start):
        if address >= fault:
            return bool(address == fault)
    return False


def disassemble(text: str, pc: int | None = None) -> Code | None:
    """Decode the ``Code:`` line in *text*; None when there is none or it is unreadable.
    With the faulting *pc* (the RIP/pc address), the bytes are placed at their kernel
    address: the marked byte is at *pc*, and relative calls and jumps show real targets."""
    parsed = parse_code_line(text)
    if parsed is None:
        return None
    data, fault, arch = parsed
    base = pc - fault if pc is not None and fault is not None and pc >= fault else None
    if capstone is None:
        return Code(data.hex(), fault, (), arch)
    md = _engine(arch)
    if arch == "arm64":
        return Code(data.hex(), fault, tuple(_decode(md, data, 0, fault, base)), arch)
    best: list[Instruction] = []
    if fault is not None:
        for shift in range(min(MAX_SHIFT, fault + 1)):
            if _reaches(md, data, shift, fault):
                best = _decode(md, data, shift, fault, base)
                break
        if not best:
            # No alignment reaches the marked byte: decode from it.
            best = _decode(md, data, fault, fault, base)
    else:
        best = _decode(md, data, 0, None)
    return Code(data.hex(), fault, tuple(best), arch)
