"""The Reports page's SVG charts: well-formed, titled for screen readers, as wide as their box,
free of anything the console's Content-Security-Policy refuses, and every label escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from markupsafe import Markup

from web.chart_svg import width_of
from web.charts import (
    ChartText,
    DaysToClose,
    Group,
    PeriodCount,
    completion_chart,
    days_to_close_chart,
    grouped_bars_chart,
)

SVG = "{http://www.w3.org/2000/svg}"
TEXT = ChartText("Cases closed", "Cases closed per week", "Nothing closed in this period")
HOSTILE = '</text><script>alert("x")</script><text a=\'1\' & onload="x()"'


def _parse(markup: Markup) -> ET.Element:
    root = ET.fromstring(str(markup))  # noqa: S314 - our own output, under test
    assert root.tag == f"{SVG}svg"
    return root


def _texts(root: ET.Element) -> list[str]:
    # What each <text> shows: its own text, not that of its <title> (the tooltip).
    return [(t.text or "") + "".join(c.tail or "" for c in t) for t in root.iter(f"{SVG}text")]


def _bars(root: ET.Element) -> list[ET.Element]:
    return [r for r in root.iter(f"{SVG}rect") if "hl-bar" in r.get("class", "").split()]


def _refused_by_csp(root: ET.Element) -> list[str]:
    found = []
    for e in root.iter():
        if e.tag in (f"{SVG}script", f"{SVG}style", f"{SVG}foreignObject"):
            found.append(e.tag)
        found += [a for a in e.attrib if a == "style" or a.lower().startswith("on")]
        found += [a for a, v in e.attrib.items() if "javascript:" in v.lower()]
    return found


def _charts(label: str) -> list[Markup]:
    return [
        completion_chart("done", [PeriodCount(label, 3)], TEXT),
        days_to_close_chart("days", [DaysToClose(label, 12, 5, 30)], TEXT, median=label,
                            spread=label),
        grouped_bars_chart("rej", [Group(label, (2, 1.5))], [label, "reminders"], TEXT),
    ]


def test_each_chart_is_an_accessible_svg_as_wide_as_its_box() -> None:
    for chart in _charts("Sales"):
        root = _parse(chart)
        assert root.get("width") == "100%"
        assert root.get("viewBox", "").startswith("0 0 360 ")
        assert root.get("role") == "img"
        assert root.get("aria-label") == "Cases closed"
        title = root.find(f"{SVG}title")
        desc = root.find(f"{SVG}desc")
        assert title is not None and title.text == "Cases closed"
        assert desc is not None and desc.text == "Cases closed per week"
        assert root.get("aria-labelledby") == title.get("id")
        assert root.get("aria-describedby") == desc.get("id")
        assert _refused_by_csp(root) == []


def test_a_hostile_label_is_text_not_markup() -> None:
    for chart in _charts(HOSTILE):
        assert "<script" not in str(chart)
        root = _parse(chart)
        assert _refused_by_csp(root) == []
        tooltips = ["".join(t.itertext()) for t in root.iter(f"{SVG}title")]
        assert any(HOSTILE in tip for tip in tooltips)  # whole, as a tooltip
        assert any(t.startswith(HOSTILE[:8]) for t in _texts(root))  # cut, as the label


def test_a_hostile_title_is_escaped_in_the_attribute_and_the_title() -> None:
    hostile = ChartText('"><script>x()</script>', "<b>d</b>", "<i>e</i>")
    for chart in (completion_chart("a", [], hostile), completion_chart("a", [PeriodCount("w", 1)],
                                                                       hostile)):
        root = _parse(chart)
        assert root.get("aria-label") == hostile.title
        assert _refused_by_csp(root) == []
        assert list(root.iter(f"{SVG}b")) == [] and list(root.iter(f"{SVG}i")) == []


def test_empty_data_draws_the_empty_message_and_no_bars() -> None:
    charts = [completion_chart("a", [], TEXT),
              days_to_close_chart("b", [], TEXT, median="median", spread="range"),
              grouped_bars_chart("c", [], ["rejected"], TEXT)]
    for chart in charts:
        root = _parse(chart)
        assert _bars(root) == []
        assert _texts(root) == ["Nothing closed in this period"]


def test_a_single_period_draws_one_bar_with_its_count() -> None:
    root = _parse(completion_chart("a", [PeriodCount("2026-W48", 7)], TEXT))
    (bar,) = _bars(root)
    assert float(bar.get("height", "0")) > 0
    assert "7" in _texts(root) and "2026-W48" in _texts(root)


def test_a_period_with_nothing_closed_has_a_zero_bar_and_no_division_by_zero() -> None:
    root = _parse(completion_chart("a", [PeriodCount("w1", 0), PeriodCount("w2", 0)], TEXT))
    assert [float(b.get("height", "-1")) for b in _bars(root)] == [0.0, 0.0]


def test_bars_are_in_proportion_to_their_values() -> None:
    root = _parse(completion_chart("a", [PeriodCount("w1", 2), PeriodCount("w2", 4)], TEXT))
    small, large = (float(b.get("height", "0")) for b in _bars(root))
    assert large == pytest.approx(2 * small, rel=0.01)


def test_the_days_chart_writes_median_and_range_and_draws_the_range() -> None:
    root = _parse(days_to_close_chart(
        "d", [DaysToClose("Sales", 12, 5, 30), DaysToClose("IT", 4)], TEXT, median="median",
        spread="range", number=lambda v: f"{v:g} d"))
    texts = _texts(root)
    assert "12 d (5 d–30 d)" in texts and "4 d" in texts
    whiskers = [ln for ln in root.iter(f"{SVG}line") if ln.get("class") == "hl-range"]
    assert len(whiskers) == 1 + 3  # the legend's, and Sales's line with its two caps
    sales, it = (float(b.get("width", "0")) for b in _bars(root)[1:])
    assert sales == pytest.approx(3 * it, rel=0.01)


def test_many_departments_each_get_a_labelled_bar_and_the_chart_grows_taller() -> None:
    few = [Group(f"Department {n}", (n, n % 3)) for n in range(2)]
    many = [Group(f"Department {n} with a rather long name", (n, n % 3)) for n in range(40)]
    series = ["items rejected at least once", "reminders per case"]
    small = _parse(grouped_bars_chart("g", few, series, TEXT))
    root = _parse(grouped_bars_chart("g", many, series, TEXT))
    bars = _bars(root)
    assert len(bars) == 80
    assert float(root.get("viewBox", "").split()[3]) > float(small.get("viewBox", "").split()[3])
    assert {b.get("fill") for b in bars} == {"currentColor", "url(#g-hatch)"}
    pattern_ids = {p.get("id") for p in root.iter(f"{SVG}pattern")}
    assert "g-hatch" in pattern_ids
    labels = _texts(root)
    assert sum(1 for t in labels if t.startswith("Department")) == 40
    assert all(width_of(t) <= 104 for t in labels if t.startswith("Department"))
    assert all(t.endswith("…") for t in labels if t.startswith("Department"))


def test_series_differ_by_pattern_so_print_in_black_and_white_tells_them_apart() -> None:
    groups = [Group("Sales", (1, 2, 3, 4))]
    root = _parse(grouped_bars_chart("g", groups, ["a", "b", "c", "d"], TEXT))
    fills = [b.get("fill") for b in _bars(root)]
    assert len(set(fills)) == 4


def test_a_group_without_a_value_for_every_series_is_refused() -> None:
    with pytest.raises(ValueError, match="one value per series"):
        grouped_bars_chart("g", [Group("Sales", (1,))], ["a", "b"], TEXT)


def test_a_chart_id_that_could_break_out_of_its_attribute_is_refused() -> None:
    with pytest.raises(ValueError, match="chart id"):
        completion_chart('x" onload="y', [], TEXT)


def test_wide_characters_count_as_wider_when_a_label_is_cut() -> None:
    chinese = "研究与开发部门第一组第二分队"  # 14 characters, 168 units
    root = _parse(grouped_bars_chart("g", [Group(chinese, (1,))], ["a"], TEXT))
    (cut,) = [t for t in _texts(root) if t.startswith("研究")]
    assert cut.endswith("…") and len(cut) <= 9 and width_of(cut) <= 104
