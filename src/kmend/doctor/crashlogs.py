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
banner counts whole); files are read with the crash prefilter and searched for the banner
as bytes, so a large /var/log/messages costs about what ``kmend scan`` costs.  The same
crash seen in two sources (same signature, pid, comm and location) is reported once.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from kmend import proc
from kmend.doctor.model import CrashSummary
from kmend.errors import InputError, KmendError
from kmend.logs import LogLine, parse_text, read_paths
from kmend.logs.lines import iter_blocks
from kmend.logs.open import decompressed, open_file
from kmend.logs.prefilter import kernel_syslog_hosts
from kmend.oops import CrashReport, parse_reports

CAPTURE_DIR = "kmend-capture"
FILE_LOGS = ("var/log/messages", "var/log/kern.log")
_BANNER = b"Linux version "
#: What may precede the banner on its line: syslog, dmesg/console, /dev/kmsg, journal JSON.
_BANNER_PREFIXES = (b"kernel: ", b"] ", b";", b'"MESSAGE":"', b'"MESSAGE" : "')
_KMSG_LIMIT = 64 << 20


@dataclass
class CrashScan:
    crashes: list[CrashSummary] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    #: Sources read without an error (the evidence a verdict stands on).
    read: list[str] = field(default_factory=list)
    #: Explicitly requested logs (--log) that could not be read.
    missed: list[str] = field(default_factory=list)
    #: Crashes whose lines name another host than this one.
    other_hosts: list[CrashSummary] = field(default_factory=list)


def summarize(
    rep: CrashReport, source: str, index: int, *, since_boot: bool = True
) -> CrashSummary:
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
        host=rep.host,
        since_boot=since_boot,
    )


def _kernel_banner(block: bytes, pos: int) -> bool:
    """Whether the ``Linux version`` at *pos* is the kernel's banner (not some program's)."""
    start = block.rfind(b"\n", 0, pos) + 1
    prefix = block[start:pos]
    return not prefix or prefix.endswith(_BANNER_PREFIXES)


def _blocks(path: str) -> Iterator[bytes]:
    """The (decompressed) file *path* in blocks of whole lines (an over-long line is cut,
    as the log reader cuts it: memory stays bounded)."""
    with open_file(path) as fh:
        reader, _kind = decompressed(fh)
        for block in iter_blocks(reader, count=False):
            yield block.data[block.start : block.end]


def last_banner_line(path: str) -> int:
    """The line number of the last kernel boot banner in the file *path* (0: none).

    A byte search over the (decompressed) file, so that the crashes themselves can be read
    with the fast prefilter, which skips banner lines.
    """
    last = base = 0
    try:
        for block in _blocks(path):
            pos = block.find(_BANNER)
            while pos >= 0:
                if _kernel_banner(block, pos):
                    last = base + block.count(b"\n", 0, pos) + 1
                pos = block.find(_BANNER, pos + 1)
            base += block.count(b"\n")
    except (KmendError, OSError, EOFError, ValueError):
        pass  # the crash reader reports the unreadable part
    return last


def _line_at(block: bytes, pos: int) -> tuple[bytes, int]:
    """The line of *block* holding offset *pos*, and the offset where the next one starts
    (a search goes on from there: each line is looked at once, however many hits it has)."""
    start = block.rfind(b"\n", 0, pos) + 1
    end = block.find(b"\n", pos)
    end = len(block) if end < 0 else end
    return block[start:end], end + 1


def only_other_hosts(path: str, me: str) -> str | None:
    """Another host's name when every kernel syslog line of the log file *path* names
    another host than *me* (a central log of other machines: it cannot vouch for this
    one); None when a kernel line of *me*, or one that names no host, is seen.

    Byte searches: `` ME kernel`` and `` ME.`` (a full name) anywhere in the file, checked
    by the syslog grammar on their line; the first other host's kernel line, once.
    """
    mine = b" " + me.encode("utf-8", "replace")
    other: bytes | None = None
    try:
        for block in _blocks(path):
            for needle in (mine + b" kernel", mine + b"."):
                pos = block.find(needle)
                while pos >= 0:
                    line, after = _line_at(block, pos)
                    hosts = kernel_syslog_hosts(line)
                    if hosts is None or any(h.split(b".")[0] == mine[1:] for h in hosts):
                        return None  # this host's kernel line (or one of no named host)
                    pos = block.find(needle, after)
            pos = block.find(b" kernel") if other is None else -1
            while pos >= 0:
                line, after = _line_at(block, pos)
                hosts = kernel_syslog_hosts(line)
                if hosts is None:
                    return None  # a line of no named host: taken as this host's
                if hosts:
                    other = hosts[0]
                    break
                pos = block.find(b" kernel", after)
    except (KmendError, OSError, EOFError, ValueError):
        return None  # the crash reader reports the unreadable part
    return None if other is None else other.decode("utf-8", "replace")


def crashes_in(
    lines: Iterable[LogLine], label: str, banner_of: Callable[[str], int] | None = None
) -> list[CrashSummary]:
    """The crashes of one source (after its file's last boot banner), with show indexes."""
    reports = list(parse_reports(lines))
    banners: dict[str, int] = {}
    kept: list[CrashSummary] = []
    for index, rep in enumerate(reports):
        path = rep.source.path if rep.source else label
        first = rep.source.first_line if rep.source else 0
        if banner_of is not None and path not in banners:
            banners[path] = banner_of(path)
        if first > banners.get(path, 0):
            # A file without a boot banner is read whole: its crashes may be older.
            since_boot = banner_of is None or banners.get(path, 0) > 0
            kept.append(summarize(rep, label, index, since_boot=since_boot))
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


def local_hostname(root: Path, *, live: bool) -> str | None:
    """This host's name: the root's /etc/hostname, else (live) the kernel's nodename."""
    try:
        name = (root / "etc" / "hostname").read_text(errors="replace").strip()
    except OSError:
        name = ""
    if not name and live:
        name = os.uname().nodename
    return name.split(".")[0] or None


def _empty_file(path: str) -> bool:
    try:
        st = os.stat(path)
    except OSError:
        return False  # the reader says why
    return stat.S_ISREG(st.st_mode) and st.st_size == 0


def scan_crashes(
    root: Path, logs: Iterable[str], *, defaults: bool = True, live: bool, timeout: float = 30.0
) -> CrashScan:
    """Every crash since boot in the host's logs (see the module docstring)."""
    scan = CrashScan()
    found: list[CrashSummary] = []
    requested = list(logs)
    paths = list(requested)
    if defaults:
        paths += [str(root / rel) for rel in FILE_LOGS if (root / rel).is_file()]
        if not live:
            capture = root / CAPTURE_DIR
            paths += [str(capture / n) for n in ("journal.json", "dmesg.log")]
            paths = [p for p in paths if not p.startswith(str(capture)) or Path(p).is_file()]

    def on_error(err: InputError) -> None:
        scan.errors.append(str(err))

    # Evidence is lines read: an empty file holds none (it is not read, and vouches for
    # nothing), and a damaged compressed log was not read whole (a log asked for with
    # --log is then missed: the verdict cannot be "healthy").  A log whose kernel lines
    # all name other hosts vouches for nothing either: its crashes are theirs.
    me = local_hostname(root, live=live)
    for i, path in enumerate(paths):
        scan.sources.append(path)
        before = len(scan.errors)
        if _empty_file(path):
            scan.errors.append(f"{path}: an empty file (no line in it)")
            continue
        damage: list[InputError] = []
        lines = read_paths([path], prefilter=True, on_error=on_error, on_warning=damage.append)
        found += crashes_in(lines, path, None if path == "-" else last_banner_line)
        scan.errors += [str(err) for err in damage]
        stranger = only_other_hosts(path, me) if me is not None and path != "-" else None
        if stranger is not None:
            scan.errors.append(f"{path}: no kernel line of this host ({me}); its kernel lines "
                               f"are other hosts' (the first: {stranger})")
        elif len(scan.errors) == before:
            scan.read.append(path)
        elif damage and len(scan.errors) == before + len(damage):
            scan.read.append(path)  # every line before the damage was read
            if i < len(requested):
                scan.missed.append(f"{path} to its end (damaged)")
        elif i < len(requested):
            scan.missed.append(path)
    if defaults and live:
        for label, text in _live_sources(scan, timeout):
            scan.sources.append(label)
            scan.read.append(label)
            found += crashes_in(parse_text(text, label), label)
    for crash in dedupe(found):
        theirs = me is not None and crash.host is not None and crash.host.split(".")[0] != me
        (scan.other_hosts if theirs else scan.crashes).append(crash)
    return scan
