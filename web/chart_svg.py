"""The pieces the console's charts are drawn from: an ``<svg>`` frame that reads well at any
width (a viewBox, ``width="100%"``), its title and description for screen readers, fill
patterns that tell series apart without colour, and escaped text.

Pure: strings in, markup out. Every piece of text passes through ``markupsafe.escape``; no
``style`` attribute or element and no script (the console's Content-Security-Policy refuses
them): the look comes from ``class`` names styled by console.css and from presentation
attributes (``fill``, ``stroke``), which the policy allows.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable

from markupsafe import Markup, escape

WIDTH = 360  # viewBox units: about one CSS pixel each on a 390-pixel phone
FONT = 12
LABEL_ROOM = 104.0  # labels wider than this are cut, the whole label in a <title> (tooltip)
_ID = re.compile(r"[a-z][a-z0-9-]{0,39}")

Number = Callable[[float], str]

PATTERNS = ("solid", "hatch", "dots", "cross")
_PATTERN_BODY = {
    "hatch": '<path d="M0,6 L6,0" stroke="currentColor" stroke-width="1.5"/>',
    "dots": '<circle cx="3" cy="3" r="1.4" fill="currentColor"/>',
    "cross": ('<path d="M0,0 L6,6 M0,6 L6,0" stroke="currentColor" stroke-width="1"/>'),
}


def check_id(chart_id: str) -> str:
    """``chart_id`` names the chart's elements on its page: lowercase letters, digits, '-'."""
    if not _ID.fullmatch(chart_id):
        raise ValueError(f"chart id {chart_id!r}: lowercase letters, digits and '-' only")
    return chart_id


def plain_number(value: float) -> str:
    """A count as an integer, anything else with at most two decimals (no locale)."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.2f}".rstrip("0").rstrip(".")


def nice_top(value: float) -> float:
    """The axis's top: 1, 2 or 5 times a power of ten, at least ``value`` (1 for nothing)."""
    if value <= 0 or not math.isfinite(value):
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return float(next(m * power for m in (1, 2, 5, 10) if m * power >= value))


def fill_of(chart_id: str, series: int) -> str:
    """The fill of the ``series``-th series: solid, then hatched, dotted, cross-hatched."""
    kind = PATTERNS[series % len(PATTERNS)]
    return "currentColor" if kind == "solid" else f"url(#{chart_id}-{kind})"


def pattern_defs(chart_id: str) -> str:
    """The ``<defs>`` of the patterns ``fill_of`` names."""
    body = "".join(
        f'<pattern id="{chart_id}-{kind}" width="6" height="6" '
        f'patternUnits="userSpaceOnUse">{_PATTERN_BODY[kind]}</pattern>'
        for kind in PATTERNS[1:])
    return f"<defs>{body}</defs>"


def text(x: float, y: float, content: str, *, anchor: str = "start", cls: str = "hl-label",
         full: str | None = None) -> str:
    """A ``<text>`` at (x, y); ``full``, when given, is the whole label, as a tooltip."""
    tip = f"<title>{escape(full)}</title>" if full is not None and full != content else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{FONT}" '
            f'class="{cls}" fill="currentColor">{tip}{escape(content)}</text>')


def width_of(label: str) -> float:
    """About how wide ``label`` is drawn, in viewBox units (a wide CJK character is a square,
    any other a little over half of one: sans-serif letters and digits average less)."""
    return sum(FONT if unicodedata.east_asian_width(c) in "WF" else FONT * 0.58 for c in label)


def short(label: str, room: float = LABEL_ROOM) -> str:
    """``label`` cut to fit ``room`` viewBox units (an ellipsis marks the cut)."""
    if width_of(label) <= room:
        return label
    kept = ""
    for c in label:
        if width_of(kept + c + "…") > room:
            break
        kept += c
    return kept + "…"


def rect(x: float, y: float, w: float, h: float, fill: str, cls: str, tip: str) -> str:
    """A bar, outlined (so a hatched or dotted bar keeps its edge), with its value as tooltip."""
    return (f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{max(h, 0):.1f}" '
            f'fill="{fill}" stroke="currentColor" stroke-width="1" class="{cls}">'
            f"<title>{escape(tip)}</title></rect>")


def line(x1: float, y1: float, x2: float, y2: float, cls: str, width: float = 1) -> str:
    """A straight line in the text's colour."""
    return (f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
            f'stroke="currentColor" stroke-width="{width}" class="{cls}"/>')


def frame(chart_id: str, kind: str, height: float, title: str, description: str,
          body: Iterable[str]) -> Markup:
    """The whole ``<svg>``: titled and described for screen readers, as wide as its box."""
    t, d = f"{chart_id}-title", f"{chart_id}-desc"
    inner = "".join(body)
    return Markup(  # noqa: S704 - every text above went through escape(); numbers are formatted
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{chart_id}" class="hl-chart hl-{kind}" '
        f'viewBox="0 0 {WIDTH} {height:.0f}" width="100%" preserveAspectRatio="xMinYMin meet" '
        f'role="img" aria-label="{escape(title)}" aria-labelledby="{t}" aria-describedby="{d}">'
        f'<title id="{t}">{escape(title)}</title><desc id="{d}">{escape(description)}</desc>'
        f"{inner}</svg>")


def empty(chart_id: str, kind: str, title: str, description: str, message: str) -> Markup:
    """A chart with nothing to draw: its title, and ``message`` where the bars would be."""
    return frame(chart_id, kind, 60, title, description,
                 [text(WIDTH / 2, 34, message, anchor="middle", cls="hl-empty")])
