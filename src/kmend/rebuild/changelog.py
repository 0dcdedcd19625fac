"""Does a distribution kernel's package changelog list a fix?

Debian's kernel changelog names every upstream stable commit it imports by subject
(``    - io_uring/io-wq: don't strand work when a worker exits``) and its own backports as
``  * subject``; so a fix whose subject is listed in the changelog of kernel R's image
package is in R even when R's upstream version is older than the fix's release.  The
changelog is read from the root (``usr/share/doc/linux-image-R[-unsigned]/``).
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

from kmend.kernel.paths import resolve_in_root

#: Changelogs are a few MB; a larger file is not read past this.
MAX_TEXT = 64 * 1024 * 1024
#: Shorter subjects are too generic to match on.
MIN_SUBJECT = 15
_SPACE = re.compile(r"\s+")


def changelog_paths(root: Path, release: str) -> list[Path]:
    out = []
    for pkg in (f"linux-image-{release}", f"linux-image-{release}-unsigned"):
        for name in ("changelog.Debian.gz", "changelog.gz"):
            path = resolve_in_root(root, f"/usr/share/doc/{pkg}/{name}")
            if path is not None and path.is_file():
                out.append(path)
    return out


def entries(text: str) -> list[str]:
    """The changelog's entries (``- …`` and ``* …`` items), each with its wrapped
    continuation lines joined by single spaces."""
    out: list[str] = []
    current: list[str] | None = None
    indent = 0
    for line in text.splitlines():
        body = line.lstrip()
        lead = len(line) - len(body)
        if body.startswith(("- ", "* ")):
            if current is not None:
                out.append(" ".join(current))
            current, indent = [body[2:].strip()], lead
        elif current is not None and body and lead > indent and not body.startswith("http"):
            current.append(body.strip())
        else:
            if current is not None:
                out.append(" ".join(current))
            current = None
    if current is not None:
        out.append(" ".join(current))
    return [_SPACE.sub(" ", e) for e in out]


def lists_fix(text: str, subject: str) -> bool:
    """Whether changelog *text* has an entry that is *subject* (perhaps followed by a
    parenthesised note such as ``(CVE-…)`` or ``(Closes: #…)``)."""
    want = _SPACE.sub(" ", subject).strip()
    if len(want) < MIN_SUBJECT:
        return False
    return any(e == want or e.startswith(want + " (") for e in entries(text))


def listed_in(root: Path, release: str, subject: str) -> Path | None:
    """The changelog of *release* under *root* that lists *subject*, if any."""
    for path in changelog_paths(root, release):
        try:
            with gzip.open(path, "rt", encoding="utf-8", errors="replace") as fh:
                text = fh.read(MAX_TEXT)
        except (OSError, EOFError):
            continue
        if lists_fix(text, subject):
            return path
    return None
