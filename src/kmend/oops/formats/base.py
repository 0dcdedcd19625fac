"""The format record and its builder, shared by the tables of every header family."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kmend.oops.skip import compile_skips

# Where frames are read from, in order:
#   "header" — the function in the matched title pattern's group named "func"
#   "pc"     — the frame on the first faulting-PC line (RIP:/IP:/pc :/PC is at/NIP)
#   "trace"  — the frames under the first "Call Trace:"/"Call trace:"/"Backtrace:"
#   "stall"  — like pc+trace but starting after the interrupt entry (stalls)
#   "here"   — the frames printed right under the matched line (KMSAN has no trace header)
#   "lockdep" — functions on lockdep "at:" lines
#   "irqsafe" — the stack under lockdep's "... which became X-irq-safe at:"
#   "after:TEXT" — the frames under the first line that starts with TEXT
PC, TRACE, HEADER, STALL, LOCKDEP, HERE = "pc", "trace", "header", "stall", "lockdep", "here"
IRQSAFE = "irqsafe"

#: A function name on a header line.  C and Rust names never start with a digit: an
#: unsymbolized address in a function's place ("at mac.c:208 0x82b64874 [mt7603e@...]")
#: names no function, and the report is then named from its frames.
FUNC = r"(?P<func>[A-Za-z_][A-Za-z0-9_]*)"
ADDR = r"(?:0x)?[0-9a-fA-F]+"


@dataclass(frozen=True)
class Format:
    title: re.Pattern[str]
    template: str
    parts: tuple[str, ...] = (PC, TRACE)
    alt: tuple[str, ...] = ()
    skip: tuple[re.Pattern[str], ...] = ()
    corrupted: bool = False
    needs_stack: bool = True
    blame: str = "first"  # "first" | "stall" | "hang"
    report: re.Pattern[str] | None = None
    extra: dict[str, str] = field(default_factory=dict)


def F(
    title: str,
    template: str,
    parts: tuple[str, ...] = (PC, TRACE),
    *,
    alt: tuple[str, ...] = (),
    skip: tuple[str, ...] = (),
    corrupted: bool = False,
    needs_stack: bool = True,
    blame: str = "first",
    report: str | None = None,
) -> Format:
    return Format(
        title=re.compile(title, re.MULTILINE),
        template=template,
        parts=parts,
        alt=alt,
        skip=compile_skips(skip),
        corrupted=corrupted,
        needs_stack=needs_stack,
        blame=blame,
        report=re.compile(report, re.MULTILINE | re.DOTALL) if report else None,
    )


BAD = ("bad-access in {frame}",)
