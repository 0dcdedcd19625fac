"""Decode the fields of a crash report: identity line, taint, PC, registers, frames, modules.

Pure functions over the report's text lines.  Each parser accepts the forms of every era:
``Pid: N, comm: X`` (2.6.3x), ``CPU: N PID: N Comm: X`` (3.10+), ``CPU: N UID: N PID: N``
(6.11), the 2025 WARNING line ``..., CPU#N: comm/pid``; RIP with raw addresses (≤4.9)
and without (4.10+, since commit bb5e5ce545f2
"x86/dumpstack: Remove kernel text addresses from stack dump"); call-trace markers inline
(``<IRQ>``/``<EOI>``, ≤4.9) or on their own lines (4.10+, ``<TASK>`` 5.16+).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from kmend._compat import dataclass
from kmend.oops.frames import FRAME_RE, PC_KEYS, TRACE_START_RE, USER_PC_RE, parse_frame
from kmend.oops.model import Frame, Location, ProgramCounter
from kmend.oops.taint import is_taint_token

#: The most digits a number read from a log may have.  The kernel prints 64-bit values:
#: at most 20 decimal or 16 hex digits.  A longer "number" is debris (and Python refuses
#: to convert more than 4300 decimal digits): it is read as absent, never as an error.
MAX_DEC_DIGITS = 20
MAX_HEX_DIGITS = 16
_U64 = (1 << 64) - 1


def dec(text: str | None) -> int | None:
    """A decimal number from a log, or None when absent or longer than a 64-bit value."""
    if not text or len(text) > MAX_DEC_DIGITS or not text.isdigit():
        return None
    value = int(text)
    return value if value <= _U64 else None


def hexnum(text: str | None) -> int | None:
    """A hex number from a log (``0x`` optional), or None when absent or over 64 bits."""
    if not text:
        return None
    if text[:2] in ("0x", "0X"):
        text = text[2:]
    digits = text.lstrip("0")
    if len(digits) > MAX_HEX_DIGITS:
        return None
    try:
        return int(text, 16) if text else None
    except ValueError:
        return None


def bounded(value: int | None) -> int | None:
    """*value* if it fits in 64 bits (a number parsed elsewhere from a log line)."""
    return value if value is not None and 0 <= value <= _U64 else None


_IDENT_RE = re.compile(
    r"\bCPU: (?P<cpu>\d+) (?:UID: \d+ )?PID: (?P<pid>\d+) Comm: (?P<comm>.{1,20}?) "
    r"(?:Kdump: loaded )?(?P<taint>Not tainted|Tainted: [A-Z \-]*?)\s*(?P<rest>\S.*)?$"
)
_OLD_IDENT_RE = re.compile(
    r"\bPid: (?P<pid>\d+), comm: (?P<comm>.{1,20}?) (?P<taint>Not tainted|Tainted: [A-Z \-]*?)"
    r"\s*(?P<rest>\S.*)?$"
)
_WARN_2025_RE = re.compile(r"WARNING: .* at \S+, CPU#(?P<cpu>\d+): (?P<comm>.+)/(?P<pid>\d+)$")
_HUNG_RE = re.compile(r"INFO: task (?P<comm>.{1,64}):(?P<pid>\d+) blocked")
_SOFTLOCKUP_RE = re.compile(
    r"soft lockup - CPU#(?P<cpu>\d+) stuck for \d+s! \[(?P<comm>.+):(?P<pid>\d+)\]"
)
_HARDWARE_RE = re.compile(r"^\s*Hardware name: (?P<hw>.+?)\s*$")
#: The die line, ``"%s: %04lx [#%d]"`` (arch/x86/kernel/dumpstack.c; arm64 prints %016lx).
_DIE_RE = re.compile(r":\s+[0-9a-f]{4,16}(?: ilc:\d)?\s+\[#(?P<n>\d+)\]")
_BUG_AT_RE = re.compile(r"[Kk]ernel BUG at (?P<file>[^\s:]+):(?P<line>\d+)!?")
_WARN_AT_RE = re.compile(
    r"WARNING: (?:\[[^\]]*\] )?(?:CPU: \d+ PID: \d+ )?(?:at )?"
    r"(?P<file>[^\s:]+\.[chS]):(?P<line>\d+)"
)
_UBSAN_AT_RE = re.compile(r"UBSAN: .* in (?P<file>[^\s:]+\.[ch]):(?P<line>\d+):\d+")
_RIP_RE = re.compile(
    rf"^\s*(?P<key>{PC_KEYS})\s*:?\s*(?:(?P<seg>[0-9a-fA-F]{{4}}):)?"
    r"(?:\[<(?P<addr>[0-9a-fA-F]+)>\]\s*(?:\[<[0-9a-fA-F]+>\]\s*)?)?(?P<rest>.*)$"
)
_REG_LINE_RE = re.compile(r"^\s*(?:[A-Z]{2,3}\d?|R\d{1,2}|x\d{1,2}|sp|pc|lr|r\d{1,2}|ORIG_RAX)\s*:")
_REG_RE = re.compile(
    r"\b(?P<name>R[A-Z0-9]{1,3}|E[A-Z]{2}|[CDFGE]S|CR\d|DR\d|EFLAGS|ORIG_RAX|x\d{1,2}|sp|pc|lr|"
    r"pstate|r\d{1,2}|ip|fp)\s*:\s*(?:(?P<seg>[0-9a-f]{4}):)?(?P<val>[0-9a-fA-F]{4,16})\b"
)
_MODULES_RE = re.compile(r"Modules linked in:(?P<list>.*)$")
_CONTEXT_MARK_RE = re.compile(r"<(/?)(IRQ|SOFTIRQ|NMI|TASK|EOI|#DF|DB|MCE|#MC|#DB)>|<<EOE>>")

#: What a code segment selector in a RIP line says about the machine.
SEGMENTS: dict[str, str] = {
    "0010": "kernel code segment",
    "e030": "Xen PV guest kernel (ring-3 kernel code segment under the Xen hypervisor)",
    "e033": "Xen PV guest, user code segment",
    "0033": "user space, 64-bit",
    "0023": "user space, 32-bit compat",
    "0060": "kernel code segment (i386)",
    "0073": "user space (i386)",
}


@dataclass(frozen=True, slots=True)
class Identity:
    cpu: int | None = None
    pid: int | None = None
    comm: str | None = None
    taint_raw: str | None = None
    release: str | None = None


def _split_taint_release(taint: str, rest: str | None) -> tuple[str, str | None]:
    """``Tainted: G D 3.10.20-11... #1`` → ("G D", "3.10.20-11...")."""
    taint_text = taint[len("Tainted:") :].strip() if taint.startswith("Tainted:") else ""
    words = (rest or "").split()
    release: str | None = None
    for i, word in enumerate(words):
        if is_taint_token(word) and i + 1 < len(words) and not words[i + 1].startswith("#"):
            taint_text = (taint_text + " " + word).strip()
            continue
        release = word
        break
    raw = taint_text if taint.startswith("Tainted:") else "Not tainted"
    return raw, release


def identity(lines: Sequence[str]) -> Identity:
    """CPU, PID, comm, taint string and kernel release from the report's identity line."""
    for text in lines:
        m = _IDENT_RE.search(text) or _OLD_IDENT_RE.search(text)
        if m:
            raw, release = _split_taint_release(m.group("taint"), m.group("rest"))
            cpu = dec(m.groupdict().get("cpu"))
            return Identity(cpu, dec(m.group("pid")), m.group("comm").strip(), raw, release)
    for text in lines[:3]:
        for rx in (_WARN_2025_RE, _SOFTLOCKUP_RE, _HUNG_RE):
            m = rx.search(text)
            if m:
                gd = m.groupdict()
                return Identity(dec(gd.get("cpu")), dec(gd["pid"]), gd["comm"])
    return Identity()


_HUNG_TAINT_RE = re.compile(
    r"^\s+(?P<taint>Not tainted|Tainted: [A-Z \-]*?)\s+(?P<rest>\S.* #.*)$"
)


def hung_task_release(lines: Sequence[str]) -> tuple[str | None, str | None]:
    """Hung-task reports print ``      Tainted: G  L  6.1.0 #1`` on their own line."""
    for text in lines[:4]:
        m = _HUNG_TAINT_RE.match(text)
        if m:
            return _split_taint_release(m.group("taint"), m.group("rest"))
    return None, None


def hardware(lines: Sequence[str]) -> str | None:
    for text in lines:
        m = _HARDWARE_RE.match(text)
        if m:
            return m.group("hw")
    return None


def die_counter(lines: Sequence[str]) -> int | None:
    for text in lines:
        m = _DIE_RE.search(text)
        if m:
            return dec(m.group("n"))
    return None


def location(lines: Sequence[str]) -> Location | None:
    """The source position the kernel itself names (BUG at, WARNING at, UBSAN in)."""
    for text in lines[:6]:
        for rx in (_BUG_AT_RE, _WARN_AT_RE, _UBSAN_AT_RE):
            m = rx.search(text)
            if m:
                path = m.group("file")
                path = path[2:] if path.startswith("./") else path
                line = dec(m.group("line"))
                return Location(path, line) if line is not None else None
    return None


def program_counter(lines: Sequence[str]) -> ProgramCounter | None:
    """The first kernel faulting-PC line (``RIP: e030:[<addr>] [<addr>] f+0x/0x [mod]``)."""
    for text in lines:
        m = _RIP_RE.match(text)
        if m is None or USER_PC_RE.match(text):
            continue
        frame = parse_frame(m.group("rest"))
        addr = hexnum(m.group("addr"))
        if frame is None and addr is None:
            continue
        seg = m.group("seg")
        note = SEGMENTS.get(seg.lower()) if seg else None
        return ProgramCounter(
            function=frame.full_name if frame else None,
            offset=bounded(frame.offset) if frame else None,
            size=bounded(frame.size) if frame else None,
            module=frame.module if frame else None,
            address=addr,
            segment=seg,
            note=note,
        )
    return None


def kernel_code_line(lines: Sequence[str]) -> str | None:
    """The ``Code:`` line that belongs to the first kernel PC line (not a user-space RIP's)."""
    kernel_pc = False
    for text in lines:
        if _RIP_RE.match(text):
            kernel_pc = not USER_PC_RE.match(text)
            continue
        if text.lstrip().startswith("Code:"):
            if kernel_pc:
                return text
            kernel_pc = False
    return None


def registers(lines: Sequence[str]) -> dict[str, str]:
    """Register values from the first register dump (names as printed, values as hex)."""
    regs: dict[str, str] = {}
    for text in lines:
        if not _REG_LINE_RE.match(text) or text.lstrip().startswith(("RIP", "Code")):
            if regs and text.strip().startswith("Call Trace"):
                break
            continue
        for m in _REG_RE.finditer(text):
            name = m.group("name")
            if name not in regs:
                regs[name] = m.group("val").lower()
    return regs


def modules_linked(lines: Sequence[str]) -> tuple[str, ...]:
    """Names from ``Modules linked in:``, flags like ``(OE)`` and ``[last unloaded]`` removed."""
    for i, text in enumerate(lines):
        m = _MODULES_RE.search(text)
        if not m:
            continue
        words = m.group("list").split()
        # long lists wrap onto following lines that hold only module names
        for cont in lines[i + 1 : i + 4]:
            if re.match(
                r"^\s*[a-z0-9_]+(?:\([A-Z+\-]+\))?(?:\s+[a-z0-9_]+(?:\([A-Z+\-]+\))?)+\s*$", cont
            ):
                words += cont.split()
            else:
                break
        names: list[str] = []
        skip_next = False
        for w in words:
            if skip_next:
                skip_next = False
                continue
            if w.startswith("[last"):
                skip_next = True
                continue
            name = re.sub(r"\([A-Z+\-]*\)$", "", w)
            if re.fullmatch(r"[A-Za-z0-9_\-]+", name):
                names.append(name)
        return tuple(names)
    return ()


_FRAME_ADDR_RE = re.compile(r"\[<([0-9a-fA-F]{1,16})>\]")
_TRACE_END_RE = re.compile(
    r"^\s*(?:Code:|---\[ end|Kernel Offset|Kernel panic|Modules linked|Dumping ftrace)"
)


def call_trace(lines: Sequence[str]) -> tuple[Frame, ...]:
    """Every frame of the first call trace, with reliability and stack context.

    Sanitizer reports (KFENCE, KMSAN) print their first stack right under the header with no
    ``Call Trace:`` line; then the frames that follow the header, up to a blank line, are it.
    """
    start = next((i for i, t in enumerate(lines) if TRACE_START_RE.match(t)), None)
    headerless = start is None
    if start is None:
        start = 0
    frames: list[Frame] = []
    context = "task"
    for text in lines[start + 1 :]:
        if _TRACE_END_RE.match(text) or USER_PC_RE.match(text):
            break
        if TRACE_START_RE.match(text) and frames:
            break
        if headerless and frames and not text.strip():
            break
        for mark in _CONTEXT_MARK_RE.finditer(text):
            if mark.group(0) == "<<EOE>>":
                context = "task"
                continue
            closing, name = mark.group(1), mark.group(2)
            if name == "EOI" or closing or name == "TASK":
                context = "task"
            else:
                context = {"#DF": "double-fault", "NMI": "nmi", "SOFTIRQ": "softirq"}.get(
                    name, name.lower()
                )
        body = _CONTEXT_MARK_RE.sub("", text)
        m = FRAME_RE.match(body)
        if m is None:
            continue
        addr_m = _FRAME_ADDR_RE.search(body)
        frames.append(
            Frame(
                function=m.group("name") + (m.group("suffix") or ""),
                offset=hexnum(m.group("off")),
                size=hexnum(m.group("size")),
                module=m.group("mod"),
                reliable=m.group("q") is None,
                context=context,
                address=hexnum(addr_m.group(1)) if addr_m else None,
            )
        )
    return tuple(frames)


def detect_arch(lines: Sequence[str]) -> str:
    text = "\n".join(lines[:80])
    if re.search(r"^\s*RIP: ", text, re.M) or "RAX: " in text:
        return "x86_64"
    if re.search(r"^\s*(?:pc : |x29: )", text, re.M) or "Internal error: Oops:" in text:
        return "arm64"
    if "PC is at" in text or re.search(r"^\s*r10: ", text, re.M):
        return "arm"
    if "EIP: " in text:
        return "i386"
    if "NIP" in text:
        return "powerpc"
    if "epc : " in text:
        return "riscv64"
    return "x86_64"
