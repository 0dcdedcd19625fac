"""Run the prefilter (read, decompress, needle search, windowing) in a second process.

On a multi-core machine the parent parses the kept windows while a forked child reads
and searches the rest of the stream.  The child inherits the already-open stream, the
block iterator and the window state through ``fork`` (nothing is pickled but the kept
blocks) and sends its results through a pipe, which also bounds memory: the child
blocks when the parent falls behind.  Errors raised in the child (a corrupt compressed
tail) are sent over and re-raised in the parent.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from kmend.logs.lines import Block
from kmend.logs.prefilter import WindowFilter, fast_line_ops

if TYPE_CHECKING:
    from typing import TypeAlias

_END = "end"

#: quoted: an alias is evaluated at import, and ``X | None`` needs Python 3.10 (hosts: 3.9)
Message: TypeAlias = (
    "list[tuple[int, bytes, bool, bool, list[int] | None] | None] | str | BaseException"
)


def available() -> bool:
    """Whether a forked worker can help: fork exists and there is a second CPU."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return False
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    return cpus >= 2


def _child(blocks: Iterator[Block], wf: WindowFilter, conn: Connection) -> None:
    try:
        wf.count, wf.advance = fast_line_ops()  # imported here: the parent need not load numpy
        for block in blocks:
            kept = wf.feed(block)
            if kept:
                msg: Message = [
                    None if b is None
                    else (b.lineno, b.data[b.start : b.end], b.cont_first, b.open_end, b.linenos)
                    for b in kept
                ]  # fmt: skip
                conn.send(msg)
        conn.send(_END)
    except BrokenPipeError:  # the parent stopped reading
        pass
    except Exception as err:
        try:
            conn.send(err)
        except Exception:
            conn.send(RuntimeError(f"{type(err).__name__}: {err}"))
    finally:
        conn.close()


def filter_in_child(blocks: Iterator[Block], wf: WindowFilter) -> Iterator[Block | None]:
    """Like ``wf.feed`` over *blocks*, computed in a forked child process.

    The caller must not touch *blocks*, *wf* or the stream behind them afterwards.
    """
    ctx = multiprocessing.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(blocks, wf, send), daemon=True)
    proc.start()
    send.close()
    try:
        while True:
            try:
                msg: Any = recv.recv()
            except EOFError:
                raise RuntimeError("the log reader's worker process died") from None
            if isinstance(msg, str):
                return
            if isinstance(msg, BaseException):
                raise msg
            for item in msg:
                if item is None:
                    yield None
                else:
                    lineno, data, cont_first, open_end, linenos = item
                    yield Block(data, 0, len(data), lineno, cont_first, open_end, -1, linenos)
    finally:
        recv.close()
        if proc.is_alive():
            proc.terminate()
        proc.join(10)
