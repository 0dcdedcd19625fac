"""Human renderings of crash reports and scan groups (rich)."""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from kmend.oops.model import CrashReport
from kmend.triage.scan import Group

#: How many signature characters the scan table shows (``kmend show --signature`` takes a
#: prefix; 8 hex digits keep collisions away in any real fleet's log).
SIG_SHOWN = 8


def _when(stamp: str | None) -> str:
    """A timestamp shortened for a table cell: date and minute, no fraction or offset."""
    if not stamp:
        return "-"
    text = stamp.replace("T", " ")
    return text[:16] if len(text) >= 16 and text[4] == "-" else text


def render_groups(console: Console, groups: Sequence[Group], total: int) -> None:
    """The scan table: one row per signature, narrow enough for 80 columns (cells wrap at
    word boundaries); the signature column is what ``kmend show --signature`` takes."""
    if not groups:
        console.print("no kernel crash found")
        return
    table = Table(
        title=f"{total} crash report(s), {len(groups)} signature(s)", title_justify="left",
        box=box.SIMPLE_HEAD, pad_edge=False, expand=False,
    )
    table.add_column("signature", no_wrap=True, style="cyan")
    table.add_column("count", justify="right", no_wrap=True)
    table.add_column("title (module, kernel)", ratio=3)
    table.add_column("hosts", ratio=1)
    table.add_column("last seen", no_wrap=False, ratio=1)
    for g in groups:
        hosts = ", ".join(g.hosts[:3]) + (f" +{len(g.hosts) - 3}" if len(g.hosts) > 3 else "")
        where = ", ".join(x for x in (g.module, ", ".join(g.kernel_releases)) if x)
        table.add_row(
            g.signature[:SIG_SHOWN],
            str(g.count),
            escape(g.title) + (f"\n[dim]{escape(where)}[/dim]" if where else ""),
            escape(hosts) or "-",
            _when(g.last_seen),
        )
    console.print(table)
    console.print("[dim]kmend show --signature SIG LOGS... decodes one (the newest) of a "
                  "signature[/dim]")


def _kv(console: Console, key: str, value: object) -> None:
    if value is None or value in ("", ()):
        return
    console.print(f"[bold]{key:<14}[/bold] " + escape(str(value)))


def render_report(console: Console, rep: CrashReport, index: int, total: int) -> None:
    console.print(
        f"[bold]crash {index % total + 1} of {total}[/bold] (--index {index % total}, "
        f"--signature {rep.signature[:SIG_SHOWN]}): " + escape(rep.title)
    )
    _kv(console, "type", rep.type)
    if rep.corrupted:
        _kv(console, "corrupted", rep.corrupted_reason or "yes")
    if rep.location:
        _kv(console, "location", f"{rep.location.file}:{rep.location.line}")
    _kv(console, "function", rep.function)
    _kv(console, "module", rep.module)
    _kv(console, "kernel", rep.kernel_release)
    if rep.taint:
        words = "; ".join(f"{f.letter} = {f.meaning}" for f in rep.taint.flags)
        _kv(console, "taint", f"{rep.taint.raw}" + (f"  ({words})" if words else ""))
    who = []
    if rep.comm:
        who.append(rep.comm)
    if rep.pid is not None:
        who.append(f"PID {rep.pid}")
    if rep.cpu is not None:
        who.append(f"CPU {rep.cpu}")
    _kv(console, "process", ", ".join(who))
    _kv(console, "hardware", rep.hardware)
    _kv(console, "die counter", rep.die_counter)
    _kv(console, "host", rep.host)
    _kv(console, "time", rep.timestamp)
    if rep.source:
        _kv(console, "source", f"{rep.source.path}:{rep.source.first_line}-{rep.source.last_line}")
    _kv(console, "panicked", "yes" if rep.panicked else "no")
    _kv(console, "arch", rep.arch)
    _kv(console, "signature", rep.signature)
    if rep.pc:
        pc = rep.pc
        where = pc.function or "?"
        if pc.offset is not None:
            where += f"+{pc.offset:#x}" + (f"/{pc.size:#x}" if pc.size is not None else "")
        if pc.module:
            where += f" [{pc.module}]"
        if pc.address is not None:
            where += f" at {pc.address:#x}"
        if pc.segment:
            where += f" (CS {pc.segment})"
        _kv(console, "faulting PC", where)
    for note in rep.notes:
        _kv(console, "note", note)
    if rep.frames:
        console.print("[bold]call trace[/bold]")
        for f in rep.frames:
            mark = "  " if f.reliable else "? "
            mod = f" [{f.module}]" if f.module else ""
            ctx = f"  <{f.context}>" if f.context != "task" else ""
            off = f"+{f.offset:#x}" if f.offset is not None else ""
            console.print(f"  {mark}{f.function}{off}{mod}{ctx}", markup=False)
    if rep.code and rep.code.instructions:
        console.print(f"[bold]code ({rep.code.arch})[/bold]")
        # offsets in hex like the call trace's +0x.. (and objdump); with the faulting PC
        # known, each instruction's kernel address too (the marked byte is at the PC)
        fault = rep.code.fault_index
        base = (rep.pc.address - fault) if (rep.pc and rep.pc.address is not None
                                            and fault is not None) else 0
        for ins in rep.code.instructions:
            marker = "  <-- faulting instruction" if ins.faulting else ""
            at = f"{base + ins.offset:#x} " if base else ""
            console.print(f"  {at}<+{ins.offset:#04x}>: {ins.text}{marker}", markup=False)
    if rep.registers:
        regs = " ".join(f"{k}={v}" for k, v in list(rep.registers.items())[:24])
        _kv(console, "registers", regs)
    if rep.culprit_module and rep.culprit_module != rep.module:
        _kv(console, "culprit", f"{rep.culprit_module} ({rep.culprit_reason})")
    if rep.modules_linked:
        mods = " ".join(rep.modules_linked)
        _kv(console, "modules", mods if len(mods) < 400 else mods[:400] + " …")
