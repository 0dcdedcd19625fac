"""The decisions of ``kmend doctor``: facts in, checks + verdict + next command out (pure).

The verdict names the symptom (``xl hangs`` / ``xl list fails``), the state of the store
daemon, and the kernel crash that killed or stuck it — a crash is linked to the daemon
by its ``Comm:`` (xenstored, oxenstored) and, when the daemon still exists, by its pid.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kmend.doctor.model import Check, CrashSummary, DoctorReport, ProcState, XenFacts
from kmend.doctor.procfs import STATE_WORDS, XENSTORE_DAEMONS
from kmend.doctor.xenstate import REQUIRED_MODULES

#: Process states in which the daemon does not serve requests.
BAD_STATES = frozenset("DZXTt")
#: Labels of sources that are not files (the next command saves them first).
_SAVE_FIRST = {
    "dmesg": "dmesg > kernel.log",
    "/dev/kmsg": "dmesg > kernel.log",
    "journalctl -k -b": "journalctl -k -b -o json > kernel.log",
}


def describe_crash(crash: CrashSummary) -> str:
    """``kernel BUG at drivers/xen/evtchn.c:264 in xen_evtchn`` style words for a crash."""
    if crash.type == "BUG" and crash.location and crash.title.startswith("kernel BUG"):
        text = f"kernel BUG at {crash.location}"
    elif crash.location:
        text = f"{crash.title} at {crash.location}"
    else:
        text = crash.title
    if crash.module and not text.endswith(f" in {crash.module}"):
        # "in <function>" already said: name the module apart, not as a second "in"
        text += f" (module {crash.module})" if " in " in text else f" in {crash.module}"
    return text


def daemon_crash(crashes: Sequence[CrashSummary]) -> CrashSummary | None:
    """The newest crash that hit a Xen store daemon (by its Comm:)."""
    hits = [c for c in crashes if c.comm in XENSTORE_DAEMONS]
    return hits[-1] if hits else None


def next_command(crash: CrashSummary) -> str:
    """The command that takes *crash* on to a fix."""
    release = crash.kernel_release or "<release>"
    log = crash.source
    prefix = ""
    if log in _SAVE_FIRST:
        prefix, log = _SAVE_FIRST[log] + " && ", "kernel.log"
    argv = ["kmend", "run", log, "--index", str(crash.index)]
    tail = f" --source <kernel git or tree> --kernel {shlex.quote(release)}"
    return prefix + shlex.join(argv) + tail


def _daemon_words(daemons: Sequence[ProcState]) -> str:
    """``xenstored (pid 7) is stuck in the kernel (uninterruptible sleep, D)``."""
    words = (f"{d.comm} (pid {d.pid}) is {STATE_WORDS.get(d.state, d.state)}" for d in daemons)
    return ", ".join(words)


@dataclass(frozen=True)
class _Xen:
    checks: tuple[Check, ...]
    symptom: str | None  # "xl hangs" / "xl list fails (exit 1)"
    problem: str | None  # what is wrong with the daemon, without a crash
    daemon_bad: bool
    fix_hint: str | None


def _xen_checks(f: XenFacts) -> _Xen:
    if f.capabilities is not None and not f.is_dom0:
        # a guest (domU): xenstored, xl and the backend modules live in dom0
        return _Xen(
            (Check("xen", True, "Xen guest (domU): dom0 checks skipped"),), None, None, False, None
        )
    role = "Xen dom0" if f.is_dom0 else "Xen host, role unknown (no /proc/xen/capabilities)"
    checks = [Check("xen", True, role)]
    checks.append(
        Check("proc-xen", f.capabilities is not None,
              f"capabilities: {f.capabilities or '(empty)'}" if f.capabilities is not None
              else "/proc/xen/capabilities missing (xenfs not mounted)")
    )  # fmt: skip
    evtchn = "/dev/xen/evtchn " + ("present" if f.evtchn_device else "missing")
    checks.append(Check("evtchn-device", f.evtchn_device, evtchn))
    missing = [m for m in REQUIRED_MODULES if m not in f.modules]
    checks.append(
        Check(
            "xen-modules",
            not missing,
            ("loaded: " + ", ".join(f.modules))
            if not missing
            else "missing: " + ", ".join(missing),
        )
    )
    live = [d for d in f.daemons if d.state not in "ZX"]
    bad = [d for d in f.daemons if d.state in BAD_STATES]
    daemon_ok = bool(live) and not bad
    detail = "not running" if not f.daemons else _daemon_words(f.daemons)
    checks.append(Check("xenstored", daemon_ok, detail))
    symptom = None
    if f.xl is None:
        checks.append(Check("xl-list", True, "not run (xl not installed or not captured)"))
    elif f.xl.hung:
        symptom = "xl hangs"
        checks.append(Check("xl-list", False, f"no answer within {f.xl.timeout:g} s (killed)"))
    elif f.xl.rc != 0:
        symptom = f"xl list fails (exit {f.xl.rc})"
        last = f.xl.output.strip().splitlines()[-1:] or [""]
        checks.append(Check("xl-list", False, f"exit {f.xl.rc}: {last[0][:160]}"))
    else:
        took = f" in {f.xl.seconds:.1f} s" if f.xl.seconds is not None else ""
        checks.append(Check("xl-list", True, f"answered{took}"))
    problem = hint = None
    if not live:
        problem = "xenstored is not running" if not f.daemons else detail
        hint = "xenstored --pid-file /run/xenstored.pid  (or: systemctl restart xenstored)"
    elif bad:
        problem = _daemon_words(bad)
        pid = bad[0].pid
        hint = (
            f"kill -CONT {pid}"
            if bad[0].state in "Tt"
            else f"cat /proc/{pid}/stack  (where the daemon is stuck)"
        )
    elif missing:
        problem = "Xen modules missing: " + ", ".join(missing)
        hint = "modprobe -a " + " ".join(m.replace("_", "-") for m in missing)
    return _Xen(tuple(checks), symptom, problem, bool(problem), hint)


def _how_hit(crash: CrashSummary, daemons: Sequence[ProcState]) -> str:
    """How the crash left the daemon: died / stuck / a zombie / restarted since."""
    same = [d for d in daemons if crash.pid is not None and d.pid == crash.pid]
    if same and same[0].state == "D":
        return "is stuck in"
    if same and same[0].state == "Z":
        return "died (a zombie now) in"
    if same:
        return f"is {STATE_WORDS.get(same[0].state, same[0].state)} after"
    if any(d.state not in "ZX" for d in daemons):
        return "was restarted after it died in"
    return "died in"


def _crash_count(crashes: Sequence[CrashSummary]) -> str:
    newest = describe_crash(crashes[-1])
    more = f" (newest: {newest})" if len(crashes) > 1 else f": {newest}"
    # "since boot" only when every crash is known to be of this boot (a log file without
    # a boot banner is read whole, so its crashes may be older).
    when = "since boot" if all(c.since_boot for c in crashes) else "in the logs read"
    return f"{len(crashes)} kernel crash(es) {when}{more}"


def _no_evidence(read: Sequence[str], missed: Sequence[str], errors: Sequence[str]) -> str | None:
    """Why the logs cannot vouch for the host (None: they can)."""
    if missed:
        return "could not read " + ", ".join(missed)
    if not read:
        why = "; ".join(errors) if errors else "no kernel log found (no --log, no journal, " \
            "no var/log/messages or kern.log, no ring buffer)"
        return f"no kernel log read: {why}"
    return None


def decide(
    xen: XenFacts,
    crashes: Sequence[CrashSummary],
    root: str = "/",
    sources: Sequence[str] = (),
    errors: Sequence[str] = (),
    *,
    read: Sequence[str] | None = None,
    missed: Sequence[str] = (),
    other_hosts: Sequence[CrashSummary] = (),
) -> DoctorReport:
    """The whole report from the facts (pure).  *read* is the sources actually read (None:
    all of *sources*); without any, or with a requested log unread, the host is not called
    healthy: no evidence is not good news."""
    read = tuple(sources) if read is None else tuple(read)
    blind = _no_evidence(read, missed, errors)
    if crashes:
        crash_detail = _crash_count(crashes)
    elif blind:
        crash_detail = blind
    else:
        crash_detail = "none since boot in " + ", ".join(read)
    crash_check = Check("kernel-crashes", not crashes and not blind, crash_detail)
    extra: dict[str, Any] = {"logs_read": read, "other_hosts": tuple(other_hosts)}
    hit = daemon_crash(crashes)
    nxt = next_command(hit or crashes[-1]) if crashes else None
    if not xen.is_xen:
        plain = (Check("xen", True, "not a Xen host"), crash_check)
        if crashes:
            verdict = f"not a Xen host; {_crash_count(crashes)}"
        else:
            verdict = f"unknown: {blind}" if blind else "healthy"
        return DoctorReport(
            root, crash_check.ok, verdict, nxt, plain, tuple(crashes), tuple(sources),
            tuple(errors), **extra,
        )
    x = _xen_checks(xen)
    checks = (*x.checks, crash_check)  # type: tuple[Check, ...]
    trouble = x.symptom or x.problem
    if hit is not None and (trouble or x.daemon_bad):
        cause = f"{hit.comm} {_how_hit(hit, xen.daemons)} {describe_crash(hit)}"
        verdict = f"{x.symptom} because {cause}" if x.symptom else cause
    elif trouble:
        because = x.problem or "xenstored is running but does not answer"
        verdict = f"{x.symptom} because {because}" if x.symptom else because
        verdict += " (no kernel crash names it)" if not hit else ""
        if crashes:
            verdict += f"; {_crash_count(crashes)}"
        nxt = nxt or x.fix_hint
    elif crashes:
        head = "Xen dom0 answers" if xen.is_dom0 else "Xen guest (domU)"
        verdict = f"{head}, but {_crash_count(crashes)}"
        if hit is not None:
            verdict += f"; it hit {hit.comm} pid {hit.pid}"
    else:
        what = "Xen dom0" if xen.is_dom0 else "Xen guest"
        verdict = f"healthy: {what}" + (
            ", xenstored running, xl list answers" if xen.is_dom0 and xen.xl is not None else ""
        )
        if blind:
            verdict = f"unknown: {what} answers, but {blind}"
    healthy = all(c.ok for c in checks)
    return DoctorReport(
        root, healthy, verdict, nxt, checks, tuple(crashes), tuple(sources), tuple(errors),
        **extra,
    )
