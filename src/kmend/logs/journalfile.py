"""systemd journal files and the local journal, read through ``journalctl``.

A journal file (``*.journal``, ``*.journal~`` for one journald did not close cleanly, the
files of ``/var/log/journal/MACHINE-ID/`` or of a systemd-journal-remote output directory)
is a binary database whose format belongs to systemd; its own reader, ``journalctl
--file=F -o export``, turns it into the export stream that ``kmend.logs.journal`` parses.
Only kernel entries are asked for (the match ``_TRANSPORT=kernel + SYSLOG_IDENTIFIER=kernel``),
so the output is a small part of the journal.  It goes to a temporary file, never into
memory, and is then read entry by entry.  Each entry keeps its ``__REALTIME_TIMESTAMP``
(µs since the epoch, an instant), ``_HOSTNAME`` and ``_BOOT_ID``.

Files are recognised by name or by their first eight bytes (``LPKSHHRH``).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from kmend import proc
from kmend._compat import dataclass
from kmend.errors import CommandTimeout, EnvironmentMissing, InputError, UsageError
from kmend.logs.journal import JournalEntry, iter_export

#: The signature every journal file starts with (systemd's journal-def.h).
JOURNAL_MAGIC = b"LPKSHHRH"
_NAME_RE = re.compile(r"\.journal~?$")
#: Kernel messages only: journald's kernel transport, or a kernel line relayed by syslog.
KERNEL_MATCH = ("_TRANSPORT=kernel", "+", "SYSLOG_IDENTIFIER=kernel")
#: The fields kmend reads (export always adds __CURSOR, the timestamps and _BOOT_ID).
FIELDS = (
    "MESSAGE,_TRANSPORT,SYSLOG_IDENTIFIER,_HOSTNAME,_BOOT_ID,_SOURCE_MONOTONIC_TIMESTAMP,PRIORITY"
)
TIMEOUT = 900.0
_BOOT_RE = re.compile(r"^(?:all|[0-9a-fA-F]{32}(?:[+-]?\d{1,6})?|[+-]?\d{1,6})$")
_SINCE_RE = re.compile(r"^[\w:.+@ -]{1,64}$")


@dataclass(frozen=True, slots=True)
class JournalQuery:
    """Which part of a journal to read: ``--boot`` (an offset like 0 or -1, a boot id,
    or ``all``) and ``--since`` (any time journalctl accepts, e.g. ``2026-12-01``,
    ``yesterday``, ``-2h``)."""

    boot: str | None = None
    since: str | None = None

    def check(self) -> None:
        """Raise UsageError for a value journalctl would not take as one."""
        if self.boot is not None and not _BOOT_RE.match(self.boot):
            raise UsageError(
                f"--boot {self.boot!r}: not a boot offset or id", "e.g. --boot 0, --boot -1"
            )
        if self.since is not None and not _SINCE_RE.match(self.since):
            raise UsageError(
                f"--since {self.since!r}: not a time", "e.g. --since 2026-12-01 or 'yesterday'"
            )


def is_journal_name(name: str) -> bool:
    """Whether a file name is a journal file's (``.journal`` or ``.journal~``)."""
    return bool(_NAME_RE.search(name))


def is_journal_file(path: str) -> bool:
    """Whether *path* is a journal file: by its name, else by its first bytes."""
    if is_journal_name(path):
        return True
    try:
        with open(path, "rb") as fh:
            return fh.read(len(JOURNAL_MAGIC)) == JOURNAL_MAGIC
    except OSError:
        return False  # the text reader reports it


def journal_argv(files: Sequence[str], query: JournalQuery) -> list[str]:
    """The journalctl command that prints the kernel entries of *files* (none: the local
    journal) in export format, oldest first (entries of several files interleaved)."""
    argv = ["journalctl", "--no-pager", "--quiet", "-o", "export", f"--output-fields={FIELDS}"]
    argv += [f"--file={os.path.abspath(f)}" for f in files]  # never taken as an option
    if query.boot is not None:
        argv.append(f"--boot={query.boot}" if query.boot != "all" else "--boot=all")
    if query.since is not None:
        argv.append(f"--since={query.since}")
    argv += KERNEL_MATCH
    return argv


def iter_journal(
    files: Sequence[str], label: str, query: JournalQuery | None = None
) -> Iterator[tuple[int, JournalEntry]]:
    """(entry number, entry) for each kernel entry of the journal *files* (none: the local
    journal), oldest first.  *label* names the input in errors.

    journalctl missing raises EnvironmentMissing (exit 3) naming *label*; a file it cannot
    read raises InputError.
    """
    query = query or JournalQuery()
    query.check()
    argv = journal_argv(files, query)
    try:
        proc.which("journalctl")
    except EnvironmentMissing:
        raise EnvironmentMissing(
            f"{label}: reading a systemd journal needs journalctl, which is not installed",
            "apt-get install systemd, or export it elsewhere: journalctl --file F -o export",
        ) from None
    with tempfile.TemporaryDirectory(prefix="kmend-journal-") as tmp:
        out = Path(tmp) / "export"
        try:
            res = proc.run(argv, timeout=TIMEOUT, check=False, stdout_path=out)
        except CommandTimeout as err:
            raise CommandTimeout(f"{label}: {err.message}", err.hint, argv=err.argv) from None
        if res.returncode != 0:
            detail = (res.stderr.strip().splitlines() or [f"exit status {res.returncode}"])[-1]
            if query.boot is not None and "boot" in detail.lower():
                raise UsageError(f"{label}: {detail}", "journalctl --list-boots shows the boots")
            if query.since is not None and "timestamp" in detail.lower():
                raise UsageError(f"--since {query.since!r}: {detail}", "e.g. --since 2026-12-01")
            raise InputError(f"{label}: journalctl cannot read it ({detail})", "")
        with open(out, "rb") as fh:
            for n, (_lineno, entry) in enumerate(iter_export(fh), 1):
                yield n, entry
