"""Does ``xl list`` answer?  Run it now with a hard timeout, or read a captured result.

A hung ``xl`` (blocked on a dead xenstored) must not hang kmend: :func:`kmend.proc.run`
kills its process group at the timeout and raises CommandTimeout, which here means
"xl hangs".
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from kmend import proc
from kmend.doctor.model import XlProbe
from kmend.errors import CommandTimeout, EnvironmentMissing

DEFAULT_TIMEOUT = 10.0
#: Exit statuses of a command killed by ``timeout``: coreutils' 124, SIGKILL, SIGTERM.
TIMEOUT_STATUSES = frozenset({124, 128 + 9, 128 + 15})


def probe_live(timeout: float = DEFAULT_TIMEOUT, xl: str = "xl") -> XlProbe | None:
    """Run ``xl list`` now; None when xl is not installed."""
    if shutil.which(xl) is None:
        return None
    start = time.monotonic()
    try:
        result = proc.run([xl, "list"], timeout=timeout, check=False)
    except CommandTimeout as exc:
        out = (exc.stdout + exc.stderr).strip()
        return XlProbe("live", None, True, time.monotonic() - start, timeout, out)
    except EnvironmentMissing:
        return None
    out = (result.stdout + result.stderr).strip()
    return XlProbe("live", result.returncode, False, time.monotonic() - start, timeout, out)


def _read(path: Path) -> str | None:
    try:
        with path.open("rb") as fh:
            return fh.read(1 << 16).decode("utf-8", "replace")
    except OSError:
        return None


def _number(text: str | None) -> float | None:
    try:
        return float(text.strip()) if text is not None else None
    except ValueError:
        return None


def classify_captured(rc: int | None, seconds: float | None, timeout: float) -> bool:
    """True when a captured ``timeout N xl list`` was killed (hung), from status and time."""
    if rc in TIMEOUT_STATUSES:
        return True
    return seconds is not None and seconds >= timeout


def probe_captured(capture: Path) -> XlProbe | None:
    """Read ``xl-list.{rc,out,seconds,timeout}`` from a capture directory; None if absent."""
    rc_value = _number(_read(capture / "xl-list.rc"))
    if rc_value is None:
        return None
    rc = int(rc_value)
    seconds = _number(_read(capture / "xl-list.seconds"))
    timeout = _number(_read(capture / "xl-list.timeout")) or DEFAULT_TIMEOUT
    hung = classify_captured(rc, seconds, timeout)
    out = (_read(capture / "xl-list.out") or "").strip()
    return XlProbe("captured", None if hung else rc, hung, seconds, timeout, out)
