"""The Reports page's charts, drawn on the server as SVG: cases closed over time, days from
notice to close by department (median and range), and grouped bars (rejections, reminders,
escalations by department or period).

Pure: the data and every word shown come in as parameters (the page translates them and
formats numbers for the locale through ``number``); out comes ``Markup`` to place in a
template as is. Each chart is one ``<svg role="img">`` with a title and a description, reads
in black and white (every bar carries its value as text; series differ by pattern, not
colour) and fits a 390-pixel phone (``width="100%"`` over a fixed viewBox).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

from web import chart_svg as s

_LEFT = 112.0  # the label column of the horizontal charts
_RIGHT = 300.0  # bars end here at the axis's top, leaving room for the value after them


@dataclass(frozen=True)
class ChartText:
    """What a chart says: its title, a sentence describing it, and what it shows when empty."""

    title: str
    description: str
    empty: str


@dataclass(frozen=True)
class PeriodCount:
    """Cases closed in one period (``label``: the period as the page names it)."""

    label: str
    closed: int


@dataclass(frozen=True)
class DaysToClose:
    """One department's days from notice to close: the median, and the range when known."""

    department: str
    median: float
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class Group:
    """One group of bars (a department or a period): one value per series, in series order."""

    label: str
    values: tuple[float, ...]


def completion_chart(chart_id: str, periods: Sequence[PeriodCount], text: ChartText, *,
                     number: s.Number = s.plain_number) -> Markup:
    """Vertical bars, one per period in the order given, each with its count above it.

    ``chart_id`` is unique on the page (lowercase letters, digits, '-').
    """
    s.check_id(chart_id)
    if not periods:
        return s.empty(chart_id, "completion", text.title, text.description, text.empty)
    top = s.nice_top(max(p.closed for p in periods))
    left, right, base, height = 30.0, s.WIDTH - 6.0, 150.0, 130.0
    step = (right - left) / len(periods)
    every = math.ceil(len(periods) / 6)  # at most six period labels under the axis
    body = [s.line(left, base, right, base, "hl-axis"),
            s.text(left - 4, base - height + 4, number(top), anchor="end", cls="hl-tick"),
            s.text(left - 4, base + 4, number(0), anchor="end", cls="hl-tick")]
    for n, p in enumerate(periods):
        x, h = left + n * step, height * p.closed / top
        tip = f"{p.label}: {number(p.closed)}"
        body.append(s.rect(x + step * 0.15, base - h, step * 0.7, h, "currentColor", "hl-bar",
                           tip))
        if step >= 14:
            body.append(s.text(x + step / 2, base - h - 3, number(p.closed), anchor="middle",
                               cls="hl-value"))
        if n % every == 0:
            body.append(s.text(x + step / 2, base + 16, s.short(p.label, step * every - 4),
                               anchor="middle", cls="hl-tick", full=p.label))
    return s.frame(chart_id, "completion", base + 24, text.title, text.description, body)


def days_to_close_chart(chart_id: str, rows: Sequence[DaysToClose], text: ChartText, *,
                        median: str, spread: str, number: s.Number = s.plain_number) -> Markup:
    """Horizontal bars, one per department in the order given: the bar is the median, the
    whisker across it the range (low to high) when known, written out as ``median (low–high)``.
    ``median`` and ``spread`` are the legend's words for the two.
    """
    s.check_id(chart_id)
    if not rows:
        return s.empty(chart_id, "days", text.title, text.description, text.empty)
    top = s.nice_top(max(max(r.median, r.high or 0) for r in rows))
    scale = (_RIGHT - _LEFT) / top
    body = [s.rect(_LEFT, 6, 12, 10, "currentColor", "hl-bar", median),
            s.text(_LEFT + 16, 15, median, cls="hl-legend"),
            s.line(_LEFT + 96, 11, _LEFT + 116, 11, "hl-range", 2),
            s.text(_LEFT + 120, 15, spread, cls="hl-legend")]
    y = 28.0
    for r in rows:
        written = number(r.median)
        if r.low is not None and r.high is not None:
            written += f" ({number(r.low)}–{number(r.high)})"
        body += [s.text(_LEFT - 4, y + 12, s.short(r.department), anchor="end",
                        full=r.department),
                 s.rect(_LEFT, y + 3, r.median * scale, 12, "currentColor", "hl-bar",
                        f"{r.department}: {written}")]
        end = r.median
        if r.low is not None and r.high is not None:
            lo, hi, mid = _LEFT + r.low * scale, _LEFT + r.high * scale, y + 9
            body += [s.line(lo, mid, hi, mid, "hl-range", 2),
                     s.line(lo, mid - 5, lo, mid + 5, "hl-range", 2),
                     s.line(hi, mid - 5, hi, mid + 5, "hl-range", 2)]
            end = max(end, r.high)
        body.append(s.text(_LEFT + end * scale + 4, y + 13, written, cls="hl-value"))
        y += 24
    body.append(s.line(_LEFT, 24, _LEFT, y, "hl-axis"))
    return s.frame(chart_id, "days", y + 6, text.title, text.description, body)


def grouped_bars_chart(chart_id: str, groups: Sequence[Group], series: Sequence[str],
                       text: ChartText, *, number: s.Number = s.plain_number) -> Markup:
    """Horizontal bars, a group per label in the order given, one bar per series (told apart
    by pattern and legend, each with its value after it). Every group has a value for every
    series (ValueError otherwise).
    """
    s.check_id(chart_id)
    if not series or any(len(g.values) != len(series) for g in groups):
        raise ValueError("every group needs one value per series, and there must be a series")
    if not groups:
        return s.empty(chart_id, "grouped", text.title, text.description, text.empty)
    top = s.nice_top(max(max(g.values) for g in groups))
    scale = (_RIGHT - _LEFT) / top
    body = [s.pattern_defs(chart_id)]
    y = 6.0
    for n, name in enumerate(series):  # the legend, one line per series
        body += [s.rect(_LEFT, y, 14, 10, s.fill_of(chart_id, n), f"hl-series-{n}", name),
                 s.text(_LEFT + 20, y + 9, s.short(name, s.WIDTH - _LEFT - 24), cls="hl-legend",
                        full=name)]
        y += 16
    axis_from = y + 2
    for g in groups:
        y += 6
        body.append(s.text(_LEFT - 4, y + 10, s.short(g.label), anchor="end", full=g.label))
        for n, (name, value) in enumerate(zip(series, g.values, strict=True)):
            body += [s.rect(_LEFT, y, value * scale, 10, s.fill_of(chart_id, n),
                            f"hl-bar hl-series-{n}", f"{g.label}, {name}: {number(value)}"),
                     s.text(_LEFT + value * scale + 4, y + 9, number(value), cls="hl-value")]
            y += 13
    body.append(s.line(_LEFT, axis_from, _LEFT, y + 2, "hl-axis"))
    return s.frame(chart_id, "grouped", y + 8, text.title, text.description, body)
