"""Terminal control sequences in captured text.

A log captured from a terminal keeps them: ``dmesg --color=always``, ``journalctl`` forced
to colour, script(1), a CI console, a guest's serial console.  The kernel prints no ESC of
its own, so every sequence is debris.
"""

from __future__ import annotations

import re

#: What the report's notes call their removal from a pasted log.
TERMINAL_CODES = "terminal colour codes"
#: ECMA-48 CSI (ESC [, parameter and intermediate bytes, a final byte; SGR colours are
#: ``ESC[1;31m``), OSC (ESC ], up to BEL or ESC \\: window titles, hyperlinks), a reset
#: (``ESC c``, as firmware prints on a serial console) and a character set choice
#: (``ESC ( B`` of ``tput sgr0``).
_SEQUENCE_RE = re.compile(
    r"\x1b(?:\[[0-?]{0,32}[ -/]{0,4}[@-~]|\][^\x07\x1b]{0,512}(?:\x07|\x1b\\)?|c|[()][0-9A-Za-z]?)"
)


def strip_terminal_codes(text: str) -> str:
    """*text* without its terminal control sequences (a lone ESC stays)."""
    return _SEQUENCE_RE.sub("", text)
