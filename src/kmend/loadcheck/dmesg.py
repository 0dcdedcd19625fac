"""Read a real kernel's verdict out of the messages one module load produced."""

from __future__ import annotations

import re

#: load_module()'s refusal printks (kernel/module/{main,version,signing}.c); a line
#: matching one of these is an error line, everything else (taint notices, the module's
#: own printk) is not.
_REFUSALS = (
    r": disagrees about version of symbol ",
    r": version magic '.*' should be '",
    r": Unknown symbol \S+ \(err -?\d+\)$",
    r": no symbol version for ",
    r"\.gnu\.linkonce\.this_module",
    r": module has no symbols \(stripped\?\)$",
    r": No module found in object$",
    r"^Loading of .* is rejected$",
    r"^Lockdown: .*: unsigned module loading is restricted; see man kernel_lockdown\.7$",
    r"^PKCS7: Invalid module sig ",
    r": exports duplicate symbol ",
    r", but does not import it\.$",
    r"^Invalid (ELF|architecture|module architecture)",
    r": module is marked as livepatch module",
    r"^Module \S+ is blacklisted$",
)
_REFUSAL = re.compile("|".join(f"(?:{p})" for p in _REFUSALS))

#: kernel/panic.c taint bit -> letter
_TAINT_LETTERS = "PFSRMBUDAWCIOELKXTN"


def first_error(messages: tuple[str, ...] | list[str]) -> str | None:
    """The first refusal line among *messages* (timestamps already stripped)."""
    return next((m.strip() for m in messages if _REFUSAL.search(m.strip())), None)


def taint_letters(value: int | None) -> str:
    """Letters for the taint bits of /proc/sys/kernel/tainted (kernel/panic.c order)."""
    if not value:
        return ""
    return "".join(letter for bit, letter in enumerate(_TAINT_LETTERS) if value >> bit & 1)
