"""Name a crash: title, alternative titles, blamed frame and the corrupted flag.

Input is the report's text lines (containers stripped) starting at the header line.  The
header's group of formats (``kmend.oops.formats``) is searched; the format whose pattern
matches earliest wins; its template is filled with the pattern's groups and the blamed frame,
then canonicalised (``kmend.oops.canon``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from kmend._compat import dataclass
from kmend.oops import formats as fm
from kmend.oops.canon import canonical_title
from kmend.oops.frames import (
    PC_KEYS,
    TRACE_START_RE,
    USER_PC_RE,
    ParsedFrame,
    parse_frame,
    parse_pc_line,
    shorten_syscall,
    single_strips,
)
from kmend.oops.skip import format_skips, is_dispatcher, is_skipped
from kmend.oops.types import crash_type

STACK_END_RE = re.compile(
    r"^\s*(?:Call Trace|Call trace|Allocated by task|Freed by task|backtrace:|Uninit was "
    r"(?:stored|created)|Local variable|Last potentially related work creation"
    r"|Second to last potentially related|The buggy address|Memory state around"
    r"|---\[ end trace|Kernel Offset|Modules linked in|Dumping ftrace|irq event stamp"
    r"|hardirqs last|softirqs last|Showing busy workqueues|Sending NMI from CPU"
    r"|NMI backtrace for cpu|Mem-Info)"
)
STALL_START_RE = re.compile(
    r"(?:apic_timer_interrupt\w*\+0x|el1h_64_irq\+0x|Exception stack|"
    r"</IRQ>)"
)
IRQ_ENTRY_RE = re.compile(r"^(?:\w*apic_timer_interrupt\w*|el1h_64_irq\w*|irq_exit\w*)$")
#: The fault-injection framework's own frames (its stack is printed when it injects a
#: failure); should_fail_bio, should_fail_alloc_page... are ordinary callers of it.
FAULT_INJECTION_RE = re.compile(r"^(?:should_fail|should_failslab)$")
TIMESTAMP_IN_TITLE_RE = re.compile(r"\[ *\d+\.\d+\]")
LOCKDEP_AT_RE = re.compile(r"(?:, at:|\bat:)\s*(?:\[<[0-9a-f]+>\]\s*)?(?P<rest>\S.*)$")


@dataclass(frozen=True, slots=True)
class Naming:
    title: str
    alt_titles: tuple[str, ...]
    type: str | None
    corrupted: bool
    corrupted_reason: str | None
    frame: str | None
    raw_frame: str | None


def _trace_frames(lines: Sequence[str], start: int) -> tuple[list[ParsedFrame], bool]:
    """Frames of the first stack section at or after *start*; and whether it looked broken."""
    for i in range(start, len(lines)):
        if TRACE_START_RE.match(lines[i]):
            # a register dump inside the trace (the task an interrupt stack returned to) is
            # not a frame of it: its PC was the faulting-PC part's to read, if the kind reads
            # one
            return _frames_after(lines, i + 1, pc_lines=False), _section_broken(lines, i)
    return [], True


def _frames_after(
    lines: Sequence[str],
    begin: int,
    limit: int = 400,
    *,
    through_trace_start: bool = False,
    pc_lines: bool = True,
) -> list[ParsedFrame]:
    frames: list[ParsedFrame] = []
    for j in range(begin, min(len(lines), begin + limit)):
        text = lines[j]
        if through_trace_start and TRACE_START_RE.match(text):
            through_trace_start = False  # once: a register dump's own call trace follows it
            continue
        if STACK_END_RE.match(text):
            break
        frame = parse_frame(text) or (
            parse_pc_line(text) if pc_lines and _is_pc_line(text) else None
        )
        if frame is not None:
            frames.append(frame)
    return frames


def _section_broken(lines: Sequence[str], header: int) -> bool:
    """A stack section with no frame in the next 15 lines, or fewer than 4 lines after it."""
    tail = lines[header + 1 : header + 16]
    if len(lines) - header - 1 < 4:
        return True
    return not any(parse_frame(t) or (_is_pc_line(t) and parse_pc_line(t)) for t in tail)


_PC_KEY_RE = re.compile(rf"^\s*(?:{PC_KEYS})\s*:?\s")


def _is_pc_line(text: str) -> bool:
    return bool(_PC_KEY_RE.match(text)) and not USER_PC_RE.match(text)


def _pc_frames(lines: Sequence[str], start: int) -> list[ParsedFrame]:
    for i in range(start, len(lines)):
        if _is_pc_line(lines[i]):
            frame = parse_pc_line(lines[i])
            if frame is not None:
                return [frame]
    return []


# -- fault injection interleaved with a report ------------------------------------------------
# A failure injected by the fault-injection framework prints its own stack (FAULT_INJECTION:
# forcing a failure ... should_fail, should_failslab, the allocator, its caller).  Without
# printk caller ids that stack interleaves with the report's lines, and a report is read as
# the sequence of its parts (faulting PC, call-trace header, frames), each after the last:
# an injection frame met while a part is looked for means the lines around it are the
# injection's, so that part is given up and what follows the injection frame is read as the
# next part — the frames under should_failslab name the allocation that failed and the code
# that made it.  Frames stop at the next injection frame.


def _injection_lines(lines: Sequence[str], start: int) -> list[int]:
    out: list[int] = []
    for k in range(start, len(lines)):
        frame = parse_frame(lines[k]) if "should_fail" in lines[k] else None
        if frame is not None and frame.reliable and FAULT_INJECTION_RE.match(frame.name):
            out.append(k)
    return out


def _next_at(marks: Sequence[int], cursor: int) -> int | None:
    return next((k for k in marks if k >= cursor), None)


def _pc_around_injection(
    lines: Sequence[str], cursor: int, marks: Sequence[int]
) -> tuple[list[ParsedFrame], int]:
    """The faulting-PC part read from *cursor*: (frames, the cursor after it)."""
    at = next((p for p in range(cursor, len(lines)) if _is_pc_line(lines[p])
               and parse_pc_line(lines[p]) is not None), None)
    injected = _next_at(marks, cursor)
    if injected is not None and (at is None or injected < at):
        return [], injected + 1  # the PC line, if any, is past the injection's dump
    if at is None:
        return [], cursor
    frame = parse_pc_line(lines[at])
    return ([frame] if frame else []), at + 1


def _trace_around_injection(
    lines: Sequence[str], cursor: int, marks: Sequence[int]
) -> list[ParsedFrame]:
    """The call-trace part read from *cursor*, up to the next injection frame."""
    header = next((k for k in range(cursor, len(lines)) if TRACE_START_RE.match(lines[k])), None)
    injected = _next_at(marks, cursor)
    if injected is not None and (header is None or injected < header):
        begin = injected + 1
    elif header is not None:
        begin = header + 1
    else:
        return []
    stop = _next_at(marks, begin)
    limit = (stop - begin) if stop is not None else 400
    return _frames_after(lines, begin, limit=limit, pc_lines=False)


def _warning_stack(
    lines: Sequence[str], start: int, marks: Sequence[int], skips: Skips
) -> tuple[list[ParsedFrame], bool]:
    """A WARNING's stack is read one of two ways, each on its own: the PC line where WARN
    trapped and the frames printed straight after it (kernels before 4.x print the stack
    there; an interrupt stack printed before the PC is not the warning's), else the frames
    under the call-trace header.  The first way stands only when it has a frame to blame and
    no injection frame broke into it.  Returns the frames and whether the first way stood."""
    pc, cursor = _pc_around_injection(lines, start, marks)
    broken = _next_at(marks, start) is not None and _next_at(marks, start) == cursor - 1
    end = next((k for k in range(cursor, len(lines)) if STACK_END_RE.match(lines[k])), len(lines))
    injected = _next_at(marks, cursor)
    if injected is not None and injected < end:
        broken, end = True, injected
    if not pc:  # no PC line: the first way has nothing to start from
        return _trace_around_injection(lines, start, marks), False
    first = pc + _frames_after(lines, cursor, limit=end - cursor, pc_lines=False)
    if not broken and any(f.reliable and not is_skipped(f.name, skips) for f in first):
        return first, True
    return _trace_around_injection(lines, start, marks), False


def _lockdep_frames(lines: Sequence[str], start: int) -> list[ParsedFrame]:
    """Functions named on lockdep's ``at:`` lines (the frame may follow on the next line)."""
    frames: list[ParsedFrame] = []
    for k in range(start, len(lines)):
        text = lines[k]
        if TRACE_START_RE.match(text) or text.startswith("stack backtrace"):
            break
        if text.rstrip().endswith(" at:") and k + 1 < len(lines):
            frame = parse_frame(lines[k + 1])
            if frame is not None:
                frames.append(frame)
            continue
        m = LOCKDEP_AT_RE.search(text)
        if m:
            frame = parse_frame(m.group("rest"))
            if frame is not None:
                frames.append(frame)
    return frames


_IRQSAFE_RE = re.compile(r"which became \S+-irq-safe at:")


def _irqsafe_frames(lines: Sequence[str], start: int) -> list[ParsedFrame]:
    for i in range(start, len(lines)):
        if _IRQSAFE_RE.search(lines[i]):
            return _frames_after(lines, i + 1, limit=60)
    return []


def _stall_frames(
    lines: Sequence[str], start: int, *, interrupted_only: bool = False
) -> list[ParsedFrame]:
    """The stack of the loop a timer interrupt landed in; without an interrupt entry, the
    faulting PC and call trace (unless *interrupted_only*: then no frame)."""
    i = start - 1
    entered = False
    while i + 1 < len(lines):
        i += 1
        if STALL_START_RE.search(lines[i]):
            entered = True
            # The stall is where the timer interrupt landed: past the end of the IRQ stack.
            for k in range(i, min(len(lines), i + 8)):
                if "</IRQ>" in lines[k] or "<EOI>" in lines[k]:
                    i = k
                    break
            # The interrupted context is the one whose registers were dumped: when the next
            # PC line after the interrupt entry is a kernel one, the loop's stack starts
            # there, and frames printed between the two (an interleaved or half-unwound
            # interrupt stack) are not the loop's.  A user-space PC: no loop in the kernel.
            at = next((p for p in range(i + 1, len(lines)) if _PC_KEY_RE.match(lines[p])), None)
            if at is not None and _is_pc_line(lines[at]) and parse_pc_line(lines[at]):
                # the register dump may precede the interrupted task's own call trace
                after = _frames_after(lines, at, through_trace_start=True)
            else:
                after = _frames_after(lines, i + 1)
            after = [f for f in after if not IRQ_ENTRY_RE.match(f.name)]
            if after:
                return after
            if at is not None:
                break
            # No frame and no PC line after it: this entry closed another task's stack (an
            # ARM "Exception stack" under the RCU kthread's dump); the stalled CPU's is later.
    if interrupted_only and not entered:
        return []
    pc = _pc_frames(lines, start)
    trace, _ = _trace_frames(lines, start)
    return pc + trace


def _section_frames(lines: Sequence[str], start: int, marker: str) -> list[ParsedFrame]:
    for i in range(start, len(lines)):
        if lines[i].lstrip().startswith(marker):
            return _frames_after(lines, i + 1)
    return []


Skips = tuple[re.Pattern[str], ...]


def _skips(fmt: fm.Format, groups: dict[str, str]) -> Skips:
    """The format's own never-blamed functions and the classes its kind of report adds (the
    kind is read from the title with the pattern's groups filled: ``BUG: spinlock ...``)."""
    head = fmt.template
    for key, value in groups.items():
        head = head.replace("{" + key + "}", value)
    return fmt.skip + format_skips(head)


def _blame_first(frames: Sequence[ParsedFrame], skips: Skips) -> ParsedFrame | None:
    for frame in frames:
        if not frame.reliable:
            continue
        if FAULT_INJECTION_RE.match(frame.name):
            return None  # an injected failure: the stack above it is not the bug
        if not is_skipped(frame.name, skips):
            return frame
    return None


def _found_before_trace(chosen: ParsedFrame | None, early: Sequence[ParsedFrame]) -> bool:
    """The blamed frame came from a part read before the call trace (PC line, header...)."""
    return chosen is not None and any(f.full_name == chosen.full_name for f in early)


def _renamed(frame: ParsedFrame, name: str) -> ParsedFrame:
    """*frame* reported under a family *name*; ``full_name`` keeps what the stack said."""
    return ParsedFrame(name, frame.name, frame.offset, frame.size, frame.module, frame.reliable)


def _blame_stall(frames: Sequence[ParsedFrame], skips: Skips) -> ParsedFrame | None:
    """The frame above the first dispatcher.  Frames of the skipped classes are not on the
    stack for this (a lock helper named do_mmap_read_unlock dispatches nothing); a CPU
    waiting in smp_call_function for the others is named by that wait."""
    kept = [f for f in frames if f.reliable and not is_skipped(f.name, skips)]
    for i, frame in enumerate(kept):
        if "smp_call_function" in frame.name:
            return _renamed(frame, "smp_call_function")
        if is_dispatcher(frame.name):
            return kept[i - 1] if i else frame
    return None  # no dispatcher: the stack is cut or not the stalled task's


def _blame_hang(frames: Sequence[ParsedFrame], skips: Skips) -> ParsedFrame | None:
    reliable = [f for f in frames if f.reliable]
    for frame in reliable:
        # any way of waiting for RTNL, named as it is (a refcount helper that takes it on
        # the way is a refcount helper)
        if "rtnl_lock" in frame.name and not is_skipped(frame.name):
            return frame
    for frame in reliable:
        if re.search(r"synchronize_(?:rcu|srcu|net|sched)", frame.name):
            return _renamed(frame, "synchronize_rcu")
    for frame in reliable:
        if is_skipped(frame.name, skips):
            continue
        return frame
    return None


@dataclass(frozen=True, slots=True)
class _Pick:
    fmt: fm.Format
    match: re.Match[str]
    line: int


def _pick_format(group: str, text: str, line_starts: Sequence[int]) -> _Pick | None:
    best: _Pick | None = None
    first_line_end = line_starts[1] if len(line_starts) > 1 else len(text) + 1
    for fmt in fm.GROUPS.get(group, ()):
        m = fmt.title.search(text)
        if m is None or m.start() >= first_line_end:
            continue
        if best is None or m.start() < best.match.start():
            line = _line_of(line_starts, m.start())
            best = _Pick(fmt, m, line)
    return best


def _line_of(line_starts: Sequence[int], pos: int) -> int:
    lo, hi = 0, len(line_starts) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if line_starts[mid] <= pos:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _fill(template: str, groups: dict[str, str], frame: str | None) -> str:
    out = template
    for key, value in groups.items():
        out = out.replace("{" + key + "}", value)
    return out.replace("{frame}", frame if frame is not None else "corrupted")


def name_report(
    lines: Sequence[str], group: str, header_line: str, *, cut_short: bool = False
) -> Naming | None:
    """Name the report whose text (from the header line on) is *lines*; None when the header
    is one that only counts as a crash in a known shape (``fatal error:`` of Go programs).
    *cut_short*: the text stops where a second crash began."""
    text = "\n".join(lines)
    starts: list[int] = []
    pos = 0
    for line in lines:
        starts.append(pos)
        pos += len(line) + 1
    pick = _pick_format(group, text, starts)
    if pick is None:
        if group in fm.NEEDS_FORMAT:
            return None
        return _verbatim(header_line, group)
    fmt, m = pick.fmt, pick.match
    groups = {k: v for k, v in m.groupdict().items() if v is not None and k != "func"}
    reasons: list[str] = []
    if fmt.corrupted:
        reasons.append("the report matches only a fallback shape")
    if fmt.report is not None and not fmt.report.search(text):
        verbatim = _verbatim(header_line, group)
        return Naming(
            verbatim.title,
            (),
            verbatim.type,
            True,
            "the report lacks the body its header promises",
            None,
            None,
        )

    raw: str | None = None
    title_name: str | None = None
    if "{frame}" in fmt.template:
        frames: list[ParsedFrame] = []
        early: list[ParsedFrame] = []  # frames read before the call trace
        broken_trace = _trace_frames(lines, pick.line)[1]
        trace_cut = False  # a "Call Trace:" header with no frame under it
        marks = _injection_lines(lines, pick.line)
        cursor = pick.line  # where the next part is looked for, when an injection interleaves
        for part in fmt.parts:
            if (
                part == fm.HEADER
                and m.groupdict().get("func")
                and not trace_cut
                # a WARNING's header stands in for a missing stack, not for one an injected
                # failure's dump broke into
                and not (marks and fm.WARN in fmt.parts)
            ):
                frames.append(ParsedFrame(m.group("func"), m.group("func"), None, None, None, True))
            elif part == fm.WARN:
                got, trapped = _warning_stack(lines, pick.line, marks, _skips(fmt, groups))
                early = list(frames) + (got if trapped else [])
                trace_cut = cut_short and not got  # see the trace part below
                frames += got
            elif part == fm.PC and marks:
                got, cursor = _pc_around_injection(lines, cursor, marks)
                frames += got
            elif part == fm.TRACE and marks:
                early = list(frames)
                got = _trace_around_injection(lines, cursor, marks)
                broken_trace = broken_trace or not got
                frames += got
            elif part == fm.PC:
                frames += _pc_frames(lines, pick.line)
            elif part == fm.HERE:
                frames += _frames_after(lines, pick.line + 1)
            elif part == fm.TRACE:
                early = list(frames)
                got, broken = _trace_frames(lines, pick.line)
                # The header's function stands in for a stack that is missing or useless (a
                # paste that ends early, a pre-4.x WARNING with no dump, every frame
                # questionable), not for one that another crash cut off: that report is
                # incomplete, its frame unknown.
                trace_cut = cut_short and not got
                frames += got
                broken_trace = broken_trace or broken
            elif part == fm.STALL:
                frames += _stall_frames(lines, pick.line)
            elif part == fm.INTERRUPTED:
                frames += _stall_frames(lines, pick.line, interrupted_only=True)
            elif part == fm.LOCKDEP:
                frames += _lockdep_frames(lines, pick.line)
            elif part == fm.IRQSAFE:
                frames += _irqsafe_frames(lines, pick.line)
            elif part == "backtrace":
                frames += _section_frames(lines, pick.line, "backtrace")
            elif part.startswith("after:"):
                frames += _section_frames(lines, pick.line, part[len("after:") :])
        injected = next(
            (i for i, f in enumerate(frames) if f.reliable and FAULT_INJECTION_RE.match(f.name)),
            None,
        )
        if injected is not None:
            # An injected allocation failure: the stack below it is the test's doing, not the
            # bug's; a frame read before it (the faulting PC) still names the crash.
            frames = frames[:injected]
        if fmt.blame == "stall":
            chosen = _blame_stall(frames, _skips(fmt, groups))
        elif fmt.blame == "hang":
            chosen = _blame_hang(frames, _skips(fmt, groups))
        else:
            chosen = _blame_first(frames, _skips(fmt, groups))
        if chosen is None and (injected is not None or marks):
            reasons.append("the stack passes through fault injection")
        if chosen is None and fm.LOCKDEP in fmt.parts and not reasons:
            # Every lock site is plumbing (flush_workqueue, say): name the first one.
            sites = _lockdep_frames(lines, pick.line)
            chosen = sites[0] if sites else None
        if chosen is None:
            reasons.append("no usable stack frame")
        else:
            title_name = chosen.name
            raw = chosen.full_name.split(".")[0]
        needs_trace = fmt.needs_stack and (fm.TRACE in fmt.parts or fm.WARN in fmt.parts)
        if needs_trace and broken_trace and not _found_before_trace(chosen, early):
            reasons.append("the call trace is missing or empty")
    frame = shorten_syscall(title_name) if title_name else None
    title = canonical_title(_fill(fmt.template, groups, frame))
    if TIMESTAMP_IN_TITLE_RE.search(_fill(fmt.template, groups, frame)):
        reasons.append("console lines are merged into the title")
    alts = _alt_titles(fmt, groups, frame, raw, title)
    return Naming(
        title=title,
        alt_titles=alts,
        type=crash_type(title),
        corrupted=bool(reasons),
        corrupted_reason="; ".join(reasons) or None,
        # a format whose title quotes the function as printed names it in a "where" group
        frame=frame or groups.get("where") or ("corrupted" if "{frame}" in fmt.template else None),
        raw_frame=raw,
    )


def _alt_titles(
    fmt: fm.Format, groups: dict[str, str], frame: str | None, raw: str | None, title: str
) -> tuple[str, ...]:
    """The alternative templates with the title's frame, and every template with the frame as
    the stack printed it (and with each single syscall-prefix strip of it)."""
    names: list[str | None] = [frame]
    if raw:
        names += [raw, *single_strips(raw)]
    out: list[str] = []
    for template in fmt.alt:
        for name in names:
            out.append(canonical_title(_fill(template, groups, name)))
    if "{frame}" in fmt.template and raw:
        for name in names[1:]:
            out.append(canonical_title(_fill(fmt.template, groups, name)))
    return tuple(sorted({t for t in out if t != title}))


def _verbatim(header_line: str, group: str) -> Naming:
    pos = header_line.find(group)
    title = canonical_title(header_line[pos:] if pos >= 0 else header_line)
    return Naming(title, (), crash_type(title), False, None, None, None)
