"""Taint letters decoded into words, by era and distro.

The kernel prints one character per taint bit (``print_tainted()``, kernel/panic.c): a letter
when the bit is set, a space (or, on RHEL 7, a dash for RHEL's private bits) when not; bit 0 is
``P`` when set and ``G`` when not.  Letters were added over the years; a letter is decoded by
itself, never by its position, and the distro decides the few letters that clash (RHEL's ``T``
"Tech Preview" versus mainline's ``T`` struct randomisation; RHEL's ``H`` "unsupported
hardware").  The letters are those of the kernel's taint_flags table of each era.
"""

from __future__ import annotations

import re

from kmend.oops.model import Taint, TaintFlag

MAINLINE: dict[str, str] = {
    "G": "all loaded modules are GPL-compatible (not proprietary)",
    "P": "a proprietary module was loaded",
    "F": "a module was force-loaded (insmod -f)",
    "S": "the kernel runs on a CPU out of specification (or an SMP-unsafe CPU)",
    "R": "a module was force-unloaded (rmmod -f)",
    "M": "a machine-check exception occurred",
    "B": "a bad page was found (page-state corruption)",
    "U": "taint requested by user space",
    "D": "the kernel died recently (an earlier oops or BUG)",
    "A": "an ACPI table was overridden",
    "W": "a kernel warning (WARN) was issued",
    "C": "a staging driver was loaded",
    "I": "a workaround for broken platform firmware is active",
    "O": "an out-of-tree module was loaded",
    "E": "an unsigned module was loaded",
    "L": "a soft lockup occurred",
    "K": "the kernel has been live-patched",
    "X": "auxiliary taint (set by the distribution)",
    "T": "the kernel was built with struct randomisation (randstruct)",
    "N": "an in-kernel test (kunit) was run",
    "J": "userspace used a mutating debug operation in fwctl",
}

#: Red Hat's private bits (RHEL 6/7/8 kernels): bits 28/29 print 'H' and 'T'.
RHEL: dict[str, str] = {
    "H": "unsupported hardware (Red Hat)",
    "T": "a Technology Preview feature is in use (Red Hat)",
}

_RHEL_RELEASE_RE = re.compile(r"\.el\d+")


def is_rhel(release: str | None) -> bool:
    return bool(release and _RHEL_RELEASE_RE.search(release))


def decode_taint(raw: str, release: str | None = None) -> Taint:
    """Decode the taint string printed after ``Tainted:`` (or ``Not tainted``)."""
    text = raw.strip()
    if not text or text.lower() == "not tainted":
        return Taint(raw="Not tainted", flags=())
    rhel = is_rhel(release)
    flags: list[TaintFlag] = []
    seen: set[str] = set()
    for ch in text:
        if ch in " -" or ch in seen:
            continue
        seen.add(ch)
        meaning = (RHEL.get(ch) if rhel else None) or MAINLINE.get(ch)
        flags.append(TaintFlag(ch, meaning or "unknown taint letter (newer or vendor kernel)"))
    return Taint(raw=text, flags=tuple(flags))


def is_taint_token(token: str) -> bool:
    """True for a word of a ``Tainted:`` string (letters and RHEL's dashes only)."""
    return bool(token) and all(c.isupper() or c == "-" for c in token)
