"""How a revision is shown to a person: a full commit hash as its first 12 hex digits
(git's default abbreviation for a kernel-sized history), anything else (a tag, a label like
``v6.1.170+fix``) whole.  JSON always carries the full 40-hex hash."""

from __future__ import annotations

import re

SHORT = 12
_FULL_HASH = re.compile(r"[0-9a-f]{40}")


def short_rev(rev: str) -> str:
    return rev[:SHORT] if _FULL_HASH.fullmatch(rev) else rev
