"""Lay out the inline SVG timelines: one row per host, crashes and install/rollback markers.

Pure geometry; the template draws it (every label goes through Jinja2's escaping).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from kmend.fleetreport.model import Event

LABEL_W = 150
PLOT_W = 620
ROW_H = 26
AXIS_H = 30


@dataclass(frozen=True)
class Marker:
    x: float
    y: float
    kind: str
    title: str


@dataclass(frozen=True)
class Row:
    label: str
    y: float
    undated: int  # events of this row without a date (not drawn)


@dataclass(frozen=True)
class Timeline:
    width: int
    height: int
    plot_x: int
    plot_w: int
    rows: tuple[Row, ...]
    markers: tuple[Marker, ...]
    start: str
    end: str
    axis_y: float


def _span(times: Sequence[datetime]) -> tuple[datetime, datetime]:
    lo, hi = min(times), max(times)
    if hi - lo < timedelta(seconds=1):
        lo, hi = lo - timedelta(minutes=1), hi + timedelta(minutes=1)
    pad = (hi - lo) * 0.03
    return lo - pad, hi + pad


def layout(hosts: Sequence[str], events: Sequence[Event]) -> Timeline:
    """Rows in *hosts* order; a marker per dated event."""
    dated = [e.when for e in events if e.when is not None]
    rows: list[Row] = []
    markers: list[Marker] = []
    index = {h: i for i, h in enumerate(hosts)}
    lo, hi = _span(dated) if dated else (None, None)
    for i, host in enumerate(hosts):
        y = 10 + i * ROW_H + ROW_H / 2
        rows.append(Row(host, y, sum(1 for e in events if e.host == host and e.when is None)))
    for e in events:
        if e.when is None or lo is None or hi is None or e.host not in index:
            continue
        frac = (e.when - lo) / (hi - lo)
        markers.append(Marker(round(LABEL_W + frac * PLOT_W, 1), rows[index[e.host]].y,
                              e.kind, e.label))
    axis_y = 10 + len(hosts) * ROW_H + 4
    fmt = "%Y-%m-%d %H:%M:%S"
    return Timeline(
        width=LABEL_W + PLOT_W + 20, height=int(axis_y + AXIS_H), plot_x=LABEL_W,
        plot_w=PLOT_W, rows=tuple(rows), markers=tuple(markers),
        start=lo.strftime(fmt) if lo else "", end=hi.strftime(fmt) if hi else "",
        axis_y=axis_y,
    )
