"""Build a CrashReport from the lines of one report region."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace

from kmend.logs.model import LogLine
from kmend.oops import culprit as culprits
from kmend.oops import fields
from kmend.oops.code import disassemble
from kmend.oops.extract import OOT_LOOKBACK, PANIC_LINE, Region, naming_lines
from kmend.oops.frames import shorten_syscall
from kmend.oops.location import guilty_location
from kmend.oops.model import CrashReport, Frame, ProgramCounter, SourceSpan
from kmend.oops.skip import is_skipped
from kmend.oops.taint import decode_taint
from kmend.oops.titles import name_report

PANIC_MARK = PANIC_LINE
SIGNATURE_FRAMES = 3
#: The most of a report's text kept in ``raw`` (a report is at most 1500 lines of at most
#: 1 KiB; real ones are a few KiB).
MAX_RAW = 256 << 10


def signature(title: str, module: str | None, frames: Sequence[str]) -> str:
    """A stable id for de-duplication: the canonical title, the module and the calling chain
    (function names only: no addresses, offsets, PIDs, CPUs or times)."""
    text = "\n".join([title, module or "", *frames])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _culprit(
    pc: ProgramCounter | None, frames: Sequence[Frame], blamed: str | None
) -> tuple[str | None, str | None]:
    """The module and function to fix.  The title blames a frame by syzkaller's rules (for a
    stall, the one above the dispatcher); an operator needs the code that ran: a faulting PC
    inside a module wins, then the blamed frame, then the first module frame on the stack."""
    if pc and pc.module and pc.function:
        return pc.module, pc.function.split(".")[0]
    module = next(
        (
            f.module
            for f in frames
            if f.module and blamed and shorten_syscall(f.function.split(".")[0]) == blamed
        ),
        None,
    )
    if module is None:
        module = next(
            (f.module for f in frames if f.module and f.reliable and not is_skipped(f.function)),
            None,
        )
    function = blamed or (pc.function.split(".")[0] if pc and pc.function else None)
    return module, function


def oot_before(lines: Sequence[LogLine], start: int) -> list[str]:
    """The "loading out-of-tree module" lines among the ``OOT_LOOKBACK`` lines before *start*
    (the culprit rules read them: the module may have been loaded long before it crashed)."""
    return [
        ln.text for ln in lines[max(0, start - OOT_LOOKBACK) : start] if "out-of-tree" in ln.text
    ]


def build_report(
    lines: Sequence[LogLine],
    region: Region,
    *,
    panicked: bool,
    oot_lines: Sequence[str] | None = None,
) -> CrashReport | None:
    """Decode *region* of *lines* into a CrashReport (None: not a crash after all).
    *oot_lines* are :func:`oot_before` of the region's start, when the caller knows them."""
    header_line = lines[region.start]
    texts = [lines[j].text for j in region.indexes]
    naming = name_report(naming_lines(lines, region), region.header.header.name, header_line.text)
    if naming is None:
        return None

    ident = fields.identity(texts)
    taint_raw, release = ident.taint_raw, ident.release
    if release is None:
        hung_taint, hung_release = fields.hung_task_release(texts)
        taint_raw, release = taint_raw or hung_taint, hung_release
    taint = decode_taint(taint_raw, release) if taint_raw is not None else None

    pc = fields.program_counter(texts)
    frames = fields.call_trace(texts)
    code_line = fields.kernel_code_line(texts)
    code = disassemble(code_line, pc.address if pc else None) if code_line else None

    blamed = naming.frame if naming.frame and naming.frame != "corrupted" else None
    module, function = _culprit(pc, frames, blamed)

    chain: list[str] = []
    passed_blamed = blamed is None
    for frame in frames:
        if not frame.reliable:
            continue
        name = shorten_syscall(frame.function.split(".")[0])
        if not passed_blamed:
            passed_blamed = name == blamed
            continue
        if is_skipped(name):
            continue
        chain.append(name)
        if len(chain) >= SIGNATURE_FRAMES:
            break

    first = lines[region.indexes[0]]
    if region.prefix and "cut here" in lines[region.prefix[-1]].text:
        first = lines[region.prefix[-1]]
    last = lines[region.indexes[-1]]
    span = SourceSpan(first.source, first.lineno, last.lineno)
    flags = culprits.module_flags(texts)
    faulted = module or culprits.header_site(header_line.text)[1]
    before = list(oot_lines) if oot_lines is not None else oot_before(lines, region.start)
    guilty = culprits.choose(faulted, flags, taint=taint.raw if taint else "",
                             frame_modules=[f.module for f in frames if f.module],
                             oot_lines=culprits.oot_loaded(before + texts))
    notes: list[str] = []
    if code_line and code is None:
        notes.append("the kernel could not read the code bytes: " + code_line.strip())
    if not frames:
        notes.append("the report has no call trace (a truncated log, or an early panic)")
    if pc and pc.note and pc.segment and pc.segment.lower() not in ("0010",):
        notes.append(f"PC segment {pc.segment}: {pc.note}")
    cut = [lines[j] for j in (*region.prefix, *region.indexes) if lines[j].cut]
    if cut:
        where = ", ".join(str(line.lineno) for line in cut[:5]) + (", …" if len(cut) > 5 else "")
        notes.append(
            f"{len(cut)} over-long line(s) cut to {len(cut[0].text)} characters"
            f" (line {where}; the longest had {max(line.cut for line in cut)})"
        )
    raw = "\n".join([lines[j].text for j in region.prefix] + texts)
    if len(raw) > MAX_RAW:
        notes.append(f"the raw report text is cut to its first {MAX_RAW} characters")
        raw = raw[:MAX_RAW]
    return CrashReport(
        title=naming.title,
        alt_titles=naming.alt_titles,
        type=naming.type,
        corrupted=naming.corrupted,
        location=guilty_location(texts, naming.title) or fields.location(texts),
        function=function,
        module=module,
        kernel_release=release,
        taint=taint,
        cpu=ident.cpu,
        pid=ident.pid,
        comm=ident.comm,
        hardware=fields.hardware(texts),
        die_counter=fields.die_counter(texts),
        pc=pc,
        frames=frames,
        code=code,
        modules_linked=fields.modules_linked(texts),
        registers=fields.registers(texts),
        host=header_line.host,
        timestamp=header_line.timestamp,
        boot_id=header_line.boot,
        uptime=header_line.uptime,
        source=span,
        panicked=panicked,
        signature=signature(naming.title, module, chain),
        raw=raw,
        arch=fields.detect_arch(texts),
        corrupted_reason=naming.corrupted_reason,
        frame=naming.frame,
        header=header_line.text,
        notes=tuple(notes),
        modules_flags=flags,
        culprit_module=guilty.module,
        culprit_reason=guilty.reason,
    )


class Decoder:
    """:func:`build_report` that decodes each distinct report text once.

    Logs repeat crashes: a ``WARN_ON`` in a loop prints the same report thousands of times,
    a crash loop puts it in every boot.  Every field of a report but where and when it was
    seen is a function of its lines' texts, the region's shape, the panic flag and the
    out-of-tree lines before it; those are the key, and a repeat gets the decoded fields of
    the first with its own host, time, boot, uptime and line span.  Reports with cut
    over-long lines (whose notes name line numbers) are always decoded.  The memory is
    bounded by the characters of the texts it keeps (least recently used first out).
    """

    def __init__(self, max_chars: int = 8 << 20) -> None:
        self._memo: dict[tuple[object, ...], CrashReport | None] = {}
        self._sizes: dict[tuple[object, ...], int] = {}
        self._chars = 0
        self.max_chars = max_chars
        self.hits = 0

    def __call__(
        self,
        lines: Sequence[LogLine],
        region: Region,
        *,
        panicked: bool,
        oot_lines: Sequence[str] | None = None,
    ) -> CrashReport | None:
        # only the distinct lines matter (the culprit rules read the module names in them)
        oot_lines = list(dict.fromkeys(
            oot_before(lines, region.start) if oot_lines is None else oot_lines
        ))  # fmt: skip
        texts: list[str] = []
        for j in (*region.prefix, *region.indexes):
            line = lines[j]
            if line.cut:
                return build_report(lines, region, panicked=panicked, oot_lines=oot_lines)
            texts.append(line.text)
        key = (
            region.header.header.name, region.header.pos, len(region.prefix), region.cut,
            panicked, tuple(oot_lines), tuple(texts),
        )  # fmt: skip
        memo = self._memo
        if key in memo:
            self.hits += 1
            cached = memo.pop(key)
            memo[key] = cached  # the most recently used goes last
            if cached is None:
                return None
            return _placed(cached, lines, region)
        report = build_report(lines, region, panicked=panicked, oot_lines=oot_lines)
        size = sum(map(len, texts)) + sum(map(len, oot_lines)) + 64
        if size <= self.max_chars // 4:
            memo[key] = report
            self._sizes[key] = size
            self._chars += size
            while self._chars > self.max_chars:
                old = next(iter(memo))
                del memo[old]
                self._chars -= self._sizes.pop(old)
        return report


def _placed(report: CrashReport, lines: Sequence[LogLine], region: Region) -> CrashReport:
    """*report* (decoded from the same texts elsewhere) with the place and time of *region*."""
    header_line = lines[region.start]
    first = lines[region.indexes[0]]
    if region.prefix and "cut here" in lines[region.prefix[-1]].text:
        first = lines[region.prefix[-1]]
    last = lines[region.indexes[-1]]
    return replace(
        report,
        host=header_line.host,
        timestamp=header_line.timestamp,
        boot_id=header_line.boot,
        uptime=header_line.uptime,
        source=SourceSpan(first.source, first.lineno, last.lineno),
    )
