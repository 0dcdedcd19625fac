"""Stack frame lines: parsing, the functions a title must not blame, syscall-name shortening.

A frame line is optional spaces, up to two ``[<address>]`` groups, an optional ``? `` (an
unreliable frame), then a function name immediately followed by ``+0x`` or ``.`` (so
``name.isra.0+0x1/0x2`` names ``name``), an optional ``/0xSIZE`` and an optional ``[module]``
(with a build id after a space on newer kernels).  An ARM line ``[<pc>] (f) from [<lr>] (g+0x..)``
says f was called from g; the frame it contributes is g, the function with an offset.
"""

from __future__ import annotations

import re

from kmend._compat import dataclass
from kmend.oops.demangle import demangle

_NAME = r"[A-Za-z0-9_$]+"

FRAME_RE = re.compile(
    r"^\s*(?:\[\s*<?(?:0x)?[0-9a-fA-F]+>?\]\s*){0,2}(?P<q>\?\s+)?"
    r"\(?(?P<name>" + _NAME + r")(?P<suffix>(?:\.[A-Za-z0-9_.$]+)?)"
    r"\+0x(?P<off>[0-9a-fA-F]+)(?:/0x(?P<size>[0-9a-fA-F]+))?"
    r"(?:\s*\[(?P<mod>[A-Za-z0-9_.-]+)(?:\s+[0-9a-f]+)?\])?"
)

#: Frames whose offset is missing or garbled.  A symbolizer replaces the offset by a source
#: location, and the name keeps its compiler suffix: ``journal_keys_sort.cold
#: (fs/bcachefs/recovery.c:46)`` (scripts/decode_stacktrace.sh); a console that drops
#: characters leaves ``xas_create+0x ra : ...``.  A name followed by ``.suffix`` and then a
#: space, the end of the line or ``+``, or a name followed directly by ``+``, is a frame; a
#: bare ``name (file:line)`` is not (it is the form inlined callees take too).
FRAME_LOOSE_RE = re.compile(
    r"^\s*(?:\[\s*<?(?:0x)?[0-9a-fA-F]+>?\]\s*){0,2}(?P<q>\?\s+)?"
    r"(?P<name>" + _NAME + r")(?:(?P<suffix>\.[A-Za-z0-9_.$]*)(?=\s|$|\+)|(?=\+))"
)

#: Where a frame may follow on the same line: RIP/IP/NIP/EIP/pc/PC is at/epc headers.
#: The words that open a faulting-PC line: x86 (RIP/EIP/IP), powerpc (NIP), arm64 (pc),
#: arm ("PC is at"), mips (epc).  Three readers match them slightly differently.
PC_KEYS = r"RIP|EIP|IP|NIP|pc|PC is at|epc"
PC_LINE_RE = re.compile(
    rf"(?:^|\s)(?:{PC_KEYS}|ip)\s*:?\s*(?:[0-9a-fA-F]{{4}}:)?"
    r"(?:\[<?[0-9a-fA-F]+>?\]\s*){0,2}(?P<rest>.*)$"
)

#: The line that opens a stack section (x86 "Call Trace:", arm64 "Call trace:", arm "Backtrace:").
#: Before 4.10, x86 printed the raw stack words and then "Call Trace:" as continuations of one
#: record, so on a console the header may end a line of hex words: with its colon, it counts
#: anywhere in the line.
TRACE_START_RE = re.compile(
    r"^(?:\s*(?:Call Trace|Call trace|Backtrace|Call Trace \(from)\s*:?|.*?Call [Tt]race:)"
)
#: A faulting-PC line from user space (its Code: and frames are not the kernel's).
USER_PC_RE = re.compile(r"^\s*RIP: 00(?:33|23):|^\s*EIP: 0073:")

#: powerpc marks where an exception interrupted the kernel inside its call trace:
#: ``--- interrupt: 700 at f+0x2c/0x70`` (then ``LR = g+0x..`` on older kernels, or a register
#: dump on newer ones); f, the interrupted function, is a frame of the stack like any other.
PPC_INTERRUPT_RE = re.compile(r"^\s*--- interrupt: [0-9a-fA-F]+ at (?P<rest>\S.*)$")

ARM_FROM_RE = re.compile(r"\) from \[<[0-9a-fA-F]+>\] \((?P<name>" + _NAME + r")(?:[.+]|\))")


@dataclass(frozen=True, slots=True)
class ParsedFrame:
    name: str  # without .isra/.constprop/.cold suffixes
    full_name: str  # as printed, suffixes included
    offset: int | None
    size: int | None
    module: str | None
    reliable: bool


def readable(name: str, suffix: str = "") -> tuple[str, str]:
    """(name, suffix) with a Rust/C++ *name* demangled; a legacy Rust name contains ``..``
    (``_ZN..core..fmt..E``), which the frame pattern reads as a suffix: it is joined back."""
    if not name.startswith(("_R", "_Z")):
        return name, suffix
    if suffix and name.startswith("_ZN"):
        whole = name + suffix
        cut = whole.find("E.")
        whole, rest = (whole[: cut + 1], whole[cut + 1 :]) if cut >= 0 else (whole, "")
        joined = demangle(whole)
        if joined != whole:
            return joined, rest
    return demangle(name), suffix


def parse_frame(line: str) -> ParsedFrame | None:
    """Parse a call-trace frame line; None when *line* is not one.  Rust and C++ names are
    demangled (``kmend.oops.demangle``)."""
    m = FRAME_RE.match(line)
    if m is None:
        ppc = PPC_INTERRUPT_RE.match(line)
        if ppc is not None:
            return parse_frame(ppc.group("rest"))
        bare = FRAME_LOOSE_RE.match(line)
        if bare is not None:
            name, suffix = readable(bare.group("name"), bare.group("suffix") or "")
            return ParsedFrame(name, name + suffix, None, None, None, bare.group("q") is None)
        m2 = ARM_FROM_RE.search(line)
        if m2 is None:
            return None
        name = readable(m2.group("name"))[0]
        return ParsedFrame(name, name, None, None, None, True)
    name, suffix = readable(m.group("name"), m.group("suffix") or "")
    return ParsedFrame(
        name=name,
        full_name=name + suffix,
        offset=int(m.group("off"), 16),
        size=int(m.group("size"), 16) if m.group("size") else None,
        module=m.group("mod"),
        reliable=m.group("q") is None,
    )


def parse_pc_line(line: str) -> ParsedFrame | None:
    """The frame on a faulting-PC line (``RIP: 0010:f+0x1/0x2``, ``pc : f+0x``…)."""
    m = PC_LINE_RE.search(line)
    if m is None:
        return None
    return parse_frame(m.group("rest"))


SYSCALL_PREFIXES: tuple[str, ...] = (
    "SYSC_",
    "SyS_",
    "sys_",
    "__x64_",
    "__ia32_",
    "__arm64_",
    "____sys_",
    "___sys_",
    "__sys_",
    "__se_",
    "__se_sys_",
    "__do_sys_",
    "compat_SYSC_",
    "compat_SyS_",
    "ksys_",
)


def single_strips(name: str) -> list[str]:
    """Every name obtained by removing one syscall-wrapper prefix from *name*."""
    return [name[len(p) :] for p in SYSCALL_PREFIXES if name.startswith(p) and len(name) > len(p)]


def shorten_syscall(name: str) -> str:
    """The shortest single-prefix strip (``__x64_sys_rmdir`` → ``sys_rmdir``)."""
    options = [name, *single_strips(name)]
    return min(options, key=len)
