"""Chart primitives: given numbers, the SVG draws them (labels, proportional marks, escaping)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from leadflow.report import svg
from leadflow.report.svg import Series

NS = {"s": "http://www.w3.org/2000/svg"}
PLOT_HEIGHT = svg.HEIGHT - svg.TOP - svg.BOTTOM


def parse(chart: str) -> ET.Element:
    """The chart as XML: it must be well-formed to be parsed at all."""
    return ET.fromstring(chart)


def marks(chart: str) -> list[ET.Element]:
    return [el for el in parse(chart).iter() if "mark" in el.get("class", "").split()]


def texts(chart: str) -> list[str]:
    return [el.text or "" for el in parse(chart).iter(f"{{{NS['s']}}}text")]


def test_bar_heights_are_proportional_to_the_values() -> None:
    # GIVEN three stages with 10, 20 and 40 leads
    chart = svg.bar_chart(
        "c", "Leads", ["lead", "mql", "sql"], [Series("n", [10, 20, 40])], x_label="x", y_label="y"
    )
    bars = marks(chart)
    # THEN one bar per value, labelled, each as tall as its share of the axis top (40)
    assert [(b.get("data-label"), b.get("data-value")) for b in bars] == [
        ("lead", "10"),
        ("mql", "20"),
        ("sql", "40"),
    ]
    heights = [float(b.get("height", "0")) for b in bars]
    assert heights[2] == pytest.approx(PLOT_HEIGHT)
    assert heights[0] * 4 == pytest.approx(heights[2], abs=0.05)
    assert heights[1] * 2 == pytest.approx(heights[2], abs=0.05)
    # AND the bars stand on one baseline
    bottoms = {round(float(b.get("y", "0")) + float(b.get("height", "0")), 1) for b in bars}
    assert len(bottoms) == 1
    # AND the category labels, the axis titles and the ticks 0..40 are drawn
    labels = texts(chart)
    for expected in ("lead", "mql", "sql", "x", "y", "0", "40"):
        assert expected in labels


def test_grouped_bars_have_a_legend_and_one_mark_per_value() -> None:
    chart = svg.bar_chart(
        "t",
        "Time in stage",
        ["lead", "mql"],
        [Series("Median", [5, 10]), Series("P90", [20, None])],
        x_label="Stage",
        y_label="days",
    )
    assert len(marks(chart)) == 3  # a None value draws nothing
    assert "Median" in texts(chart) and "P90" in texts(chart)


@pytest.mark.parametrize(
    ("top", "ticks"),
    [
        (87, [0, 20, 40, 60, 80, 100]),
        (4, [0, 1, 2, 3, 4]),
        (1, [0, 0.2, 0.4, 0.6, 0.8, 1.0]),
        (0, [0, 1]),
        (1234, [0, 250, 500, 750, 1000, 1250]),
    ],
    ids=["87", "4", "one", "zero", "1234"],
)
def test_axis_ticks_are_round_and_cover_the_largest_value(top: float, ticks: list[float]) -> None:
    assert svg.nice_ticks(top) == pytest.approx(ticks)


def test_count_axes_have_whole_ticks() -> None:
    assert svg.nice_ticks(2, integer=True) == [0, 1, 2]
    chart = svg.histogram("h", "Speed", [("<5m", 2), ("5-15m", 1)], x_label="x", y_label="Leads")
    assert "0.5" not in texts(chart) and "2" in texts(chart)


@pytest.mark.parametrize(
    "chart",
    [
        svg.bar_chart("e", "Empty", [], [], x_label="x", y_label="y"),
        svg.bar_chart("e", "Zeros", ["a"], [Series("n", [0])], x_label="x", y_label="y"),
        svg.line_chart("e", "Empty", ["w1"], [Series("s", [None])], x_label="x", y_label="y"),
        svg.histogram("e", "Empty", [], x_label="x", y_label="y"),
        svg.funnel_chart("e", "Empty", [("Leads", 0), ("MQLs", 0)]),
    ],
    ids=["no-categories", "all-zero", "line-without-values", "histogram", "funnel-of-zeros"],
)
def test_a_chart_without_data_says_so(chart: str) -> None:
    root = parse(chart)
    assert root.get("data-empty") == "true"
    assert "No data yet" in texts(chart)
    assert marks(chart) == []


def test_every_chart_is_labelled_for_screen_readers() -> None:
    chart = svg.histogram("speed", "Speed to lead", [("< 5 min", 3)], x_label="x", y_label="Leads")
    root = parse(chart)
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "speed-title speed-desc"
    title = root.find("s:title", NS)
    assert title is not None and title.text == "Speed to lead" and title.get("id") == "speed-title"
    desc = root.find("s:desc", NS)
    assert desc is not None and "< 5 min" in (desc.text or "")


def test_text_from_the_warehouse_is_escaped() -> None:
    # GIVEN a source name and a title carrying markup
    evil = '<script>alert("x")</script>'
    chart = svg.line_chart(
        "c\"'><x", "Rates & <b>", ["w1", "w2"], [Series(evil, [0.1, 0.2])], x_label="x", y_label="y"
    )
    # THEN the markup is text, not elements, and the SVG still parses
    assert "<script>" not in chart and "<b>" not in chart
    assert "&lt;script&gt;" in chart
    assert evil in texts(chart)
    assert parse(chart).get("data-chart") == "c\"'><x"


def test_a_missing_value_breaks_the_line() -> None:
    chart = svg.line_chart(
        "l",
        "Rate",
        ["w1", "w2", "w3", "w4"],
        [Series("meta", [0.5, None, 0.25, 1.0])],
        x_label="week",
        y_label="rate",
        y_top=1.0,
    )
    points = marks(chart)
    assert [p.get("data-value") for p in points] == ["0.5", "0.25", "1"]
    path = next(el for el in parse(chart).iter(f"{{{NS['s']}}}path"))
    assert path.get("d", "").count("M") == 2
    # a rate of 1.0 sits on the axis top, 0.5 halfway down
    ys = [float(p.get("cy", "0")) for p in points]
    assert ys[2] == pytest.approx(svg.TOP, abs=0.1)
    assert ys[0] == pytest.approx(svg.TOP + PLOT_HEIGHT / 2, abs=0.1)


def test_the_funnel_bars_shrink_with_the_counts_and_show_each_step() -> None:
    chart = svg.funnel_chart("f", "Funnel", [("Leads", 200), ("MQLs", 50), ("Won", 5)])
    bars = marks(chart)
    widths = [float(b.get("width", "0")) for b in bars]
    assert widths[0] / widths[1] == pytest.approx(4, rel=0.01)
    assert widths[0] / widths[2] == pytest.approx(40, rel=0.01)
    labels = texts(chart)
    assert "200" in labels and "50" in labels and "5" in labels
    assert "\u2193 25.0%" in labels and "\u2193 10.0%" in labels


def test_histogram_bars_touch() -> None:
    chart = svg.histogram(
        "h", "Speed", [("< 5 min", 4), ("5-15 min", 2)], x_label="min", y_label="Leads"
    )
    first, second = marks(chart)
    gap = float(second.get("x", "0")) - (
        float(first.get("x", "0")) + float(first.get("width", "0"))
    )
    assert gap < 15  # a bar chart leaves a quarter of each slot empty (60 px here)
