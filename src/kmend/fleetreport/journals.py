"""Read kmend's install journals copied from (or lying under) the hosts' roots.

``--txn HOST=DIR`` (or ``--txn DIR``, the host then being DIR's name): every
``journal.json`` below DIR is one transaction of that host — DIR may be the host's root,
its ``var/lib/kmend`` or a directory the playbook fetched the journals into.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from kmend.errors import InputError, UsageError
from kmend.install.journal import JOURNAL, from_dict
from kmend.install.model import InstallTransaction

#: A journal is a few KiB; anything far larger is not one of kmend's.
MAX_JOURNAL_BYTES = 4 << 20
#: Directories walked below one --txn DIR (a host root holds far fewer under var/lib/kmend).
MAX_DIRS = 20000


@dataclass(frozen=True)
class HostJournals:
    host: str
    directory: str
    transactions: tuple[InstallTransaction, ...]


def parse_spec(spec: str) -> tuple[str, Path]:
    """``HOST=DIR`` or ``DIR`` → (host, dir)."""
    host, sep, path = spec.partition("=")
    if not sep:
        path, host = spec, ""
    directory = Path(path)
    if not host:
        host = directory.resolve().name
    if not host or not path:
        raise UsageError(f"--txn {spec!r}: give HOST=DIR or DIR", "e.g. --txn web1=out/txn/web1")
    return host, directory


def _journal_paths(directory: Path) -> list[Path]:
    state = directory / "var/lib/kmend"
    top = state if state.is_dir() else directory
    found: list[Path] = []
    for walked, (dirpath, dirnames, filenames) in enumerate(os.walk(top), 1):  # no symlinks
        if walked > MAX_DIRS:
            raise InputError(f"--txn {directory}: more than {MAX_DIRS} directories",
                             "point --txn at the host's root or its var/lib/kmend")
        dirnames[:] = sorted(d for d in dirnames if d not in ("backup", "new", "saved"))
        if JOURNAL in filenames:
            found.append(Path(dirpath, JOURNAL))
    return found


def read_journal(path: Path) -> InstallTransaction:
    try:
        if path.is_symlink():
            raise InputError(f"{path} is a symlink; kmend reads only real journal files")
        with path.open("rb") as fh:
            data = fh.read(MAX_JOURNAL_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc
    if len(data) > MAX_JOURNAL_BYTES:
        raise InputError(f"{path} is larger than any kmend journal", "check the --txn path")
    try:
        return from_dict(json.loads(data))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"{path} is not a kmend journal ({exc})",
                         "give the directories kmend install wrote") from exc


def read_host(spec: str) -> HostJournals:
    host, directory = parse_spec(spec)
    if not directory.is_dir():
        raise InputError(f"--txn {directory}: not a directory",
                         "give a host root or the directory its journals were fetched into")
    txns = sorted((read_journal(p) for p in _journal_paths(directory)), key=lambda t: t.id)
    return HostJournals(host, str(directory), tuple(txns))
