"""Kernel crashes since boot, from every log the host keeps.

Sources, in the order their crashes are preferred when the same crash is in several
(a file is a better argument for ``kmend run`` than the ring buffer):

1. ``--log`` paths given by the user;
2. ``<root>/var/log/messages`` and ``<root>/var/log/kern.log`` when present;
3. live host (root ``/``): ``journalctl -k -b -o json`` when journalctl exists, and the
   ring buffer (``dmesg``, or ``/dev/kmsg`` read without blocking when dmesg is refused);
   captured tree: ``<root>/kmend-capture/journal.json`` and ``<root>/kmend-capture/dmesg.log``.

"Since boot": the journal (``-b``) and the ring buffer hold only this boot.  In a file,
only crashes after its last ``Linux version …`` boot banner count (a file without a
banner counts whole).  The same crash seen in two sources (same signature, pid, comm and
location) is reported once.
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from kmend import proc
from kmend.doctor.model import CrashSummary
from kmend.errors import InputError, KmendError
from kmend.logs import LogLine, parse_text, read_paths
from kmend.oops import CrashReport, parse_reports

CAPTURE_DIR = "kmend-capture"
FILE_LOGS = ("var/log/messages", "var/log/kern.log")
BOOT_BANNER = "Linux version "
_KMSG_LIMIT = 64 << 20


@dataclass
class CrashScan:
    crashes: list[CrashSummary] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def summarize(rep: CrashReport, source: str, index: int) -> CrashSummary:
    loc = f"{rep.location.file}:{rep.location.line}" if rep.location else None
    return CrashSummary(
        title=rep.title,
        type=rep.type,
        location=loc,
        function=rep.function,
        module=rep.module,
        pid=rep.pid,
        comm=rep.comm,
        kernel_release=rep.kernel_release,
        timestamp=rep.timestamp,
        source=source,
        index=index,
        panicked=rep.panicked,
        signature=rep.signature,
    )


def since_last_banner(lines: Iterable[LogLine], banners: dict[str, int]) -> Iterator[LogLine]:
    """Pass *lines* through, noting in *banners* the last boot banner line of each source."""
    for line in lines:
        if line.text.startswith(BOOT_BANNER):
            banners[line.source] = line.lineno
        yield line


def crashes_in(lines: Iterable[LogLine], label: str) -> list[CrashSummary]:
    """The crashes of one source after its last boot banner, with their show indexes."""
    banners: dict[str, int] = {}
    reports = list(parse_reports(since_last_banner(lines, banners)))
    kept: list[CrashSummary] = []
    for index, rep in enumerate(reports):
        path = rep.source.path if rep.source else label
        first = rep.source.first_line if rep.source else 0
        if first > banners.get(path, 0):
            kept.append(summarize(rep, label, index))
    return kept


def dedupe(crashes: Iterable[CrashSummary]) -> list[CrashSummary]:
    seen: set[tuple[object, ...]] = set()
    out: list[CrashSummary] = []
    for c in crashes:
        key = (c.signature, c.pid, c.comm, c.location)
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out


def read_kmsg(path: Path = Path("/dev/kmsg")) -> str:
    """The ring buffer's records from /dev/kmsg, read without blocking (one per read)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    records: list[str] = []
    total = 0
    try:
        while total < _KMSG_LIMIT:
            try:
                chunk = os.read(fd, 8192)
            except BlockingIOError:
                break
            except OSError as exc:
                if exc.errno == errno.EPIPE:  # overwritten while reading: go on
                    continue
                raise
            if not chunk:
                break
            total += len(chunk)
            records.append(chunk.decode("utf-8", "replace").rstrip("\n"))
    finally:
        os.close(fd)
    return "\n".join(records) + "\n"


def _live_sources(scan: CrashScan, timeout: float) -> Iterator[tuple[str, str]]:
    """(label, text) of the live journal and ring buffer."""
    if shutil.which("journalctl"):
        try:
            res = proc.run(["journalctl", "-k", "-b", "-o", "json", "--no-pager"], timeout=timeout)
            yield "journalctl -k -b", res.stdout
        except KmendError as err:
            scan.errors.append(f"journalctl -k -b: {err.message}")
    try:
        yield "dmesg", proc.run(["dmesg"], timeout=timeout).stdout
        return
    except KmendError as err:
        dmesg_error = err.message
    try:
        yield "/dev/kmsg", read_kmsg()
    except OSError as exc:
        scan.errors.append(f"dmesg: {dmesg_error}; /dev/kmsg: {exc.strerror or exc}")


def scan_crashes(
    root: Path, logs: Iterable[str], *, defaults: bool = True, live: bool, timeout: float = 30.0
) -> CrashScan:
    """Every crash since boot in the host's logs (see the module docstring)."""
    scan = CrashScan()
    found: list[CrashSummary] = []
    paths = list(logs)
    if defaults:
        paths += [str(root / rel) for rel in FILE_LOGS if (root / rel).is_file()]
        if not live:
            capture = root / CAPTURE_DIR
            paths += [str(capture / n) for n in ("journal.json", "dmesg.log")]
            paths = [p for p in paths if not p.startswith(str(capture)) or Path(p).is_file()]

    def on_error(err: InputError) -> None:
        scan.errors.append(str(err))

    for path in paths:
        scan.sources.append(path)
        found += crashes_in(read_paths([path], on_error=on_error), path)
    if defaults and live:
        for label, text in _live_sources(scan, timeout):
            scan.sources.append(label)
            found += crashes_in(parse_text(text, label), label)
    scan.crashes = dedupe(found)
    return scan
