"""Resolve paths inside a root directory without letting symlinks lead out of it.

``/lib/modules/R/build`` is an absolute symlink (``/usr/src/linux-headers-R``); under
``--root DIR`` it must be read as ``DIR/usr/src/linux-headers-R``, never as the host's.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

_MAX_LINKS = 40


def resolve_in_root(root: Path, path: str) -> Path | None:
    """Resolve absolute *path* as seen from *root*; None if it escapes or loops."""
    root = root.resolve()
    pure = PurePosixPath(path)
    parts = list(pure.parts[1:] if path.startswith("/") else pure.parts)
    current: list[str] = []
    hops = 0
    while parts:
        part = parts.pop(0)
        if part in {"", "."}:
            continue
        if part == "..":
            if not current:
                return None
            current.pop()
            continue
        candidate = root.joinpath(*current, part)
        if candidate.is_symlink():
            hops += 1
            if hops > _MAX_LINKS:
                return None
            target = os.readlink(candidate)
            if target.startswith("/"):
                current = []
                parts = list(PurePosixPath(target).parts[1:]) + parts
            else:
                parts = list(PurePosixPath(target).parts) + parts
            continue
        current.append(part)
    return root.joinpath(*current)
