"""The page: given report data, the sections, the numbers, the empty states and the escaping."""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest

from leadflow.report.queries import (
    CohortRate,
    FunnelTotals,
    ReportData,
    RepRow,
    SpeedToLead,
    StaleCount,
    StaleLead,
)
from leadflow.report.render import conversion_series, fmt_minutes, render

GENERATED = datetime(2026, 12, 1, 9, 30)
CHARTS = [
    "funnel",
    "speed-to-lead",
    "conversion-by-source",
    "time-in-stage",
    "stale-leads",
    "pipeline-velocity",
]


def empty_data() -> ReportData:
    return ReportData(
        warehouse="/data/w.duckdb",
        as_of=None,
        leads_total=0,
        funnel=FunnelTotals(0, 0, 0, 0, 0),
        speed=SpeedToLead([("< 5 min", 0)], 0, 0, None, None, None),
    )


def test_conversion_is_a_trailing_rate_per_source_over_every_week() -> None:
    # GIVEN meta leads in weeks 1 and 3 (none in week 2) and hubspot leads in week 2
    w1, w2, w3 = date(2026, 11, 2), date(2026, 11, 9), date(2026, 11, 16)
    cohorts = [
        CohortRate(w1, "meta", 4, 1, 0.25),
        CohortRate(w3, "meta", 4, 3, 0.75),
        CohortRate(w2, "hubspot", 2, 2, 1.0),
    ]
    # WHEN pooled over two weeks
    weeks, series = conversion_series(cohorts, window=2)
    # THEN every week has a point, and each is MQLs / leads of that week and the one before
    assert weeks == [w1, w2, w3]
    by_name = {s.name: list(s.values) for s in series}
    assert by_name["meta"] == [0.25, 0.25, 0.75]
    assert by_name["hubspot"] == [None, 1.0, 1.0]
    # AND the larger source comes first
    assert [s.name for s in series] == ["meta", "hubspot"]


def test_small_sources_are_pooled_as_other() -> None:
    week = date(2026, 11, 2)
    cohorts = [CohortRate(week, f"s{i}", 10 - i, 1, None) for i in range(4)]
    _, series = conversion_series(cohorts, max_sources=3, window=1)
    assert [s.name for s in series] == ["s0", "s1", "other"]
    assert series[2].values == [pytest.approx(2 / 15)]  # s2 (8 leads) + s3 (7), one MQL each


def test_the_page_has_every_section_and_shows_empty_marts_as_no_data() -> None:
    # GIVEN a warehouse whose marts are all empty
    html = render(empty_data(), generated_at=GENERATED)
    # THEN every chart is there, each saying it has no data, and the tables say so too
    assert re.findall(r'<svg data-chart="([^"]+)"', html) == CHARTS
    assert html.count('data-empty="true"') == len(CHARTS)
    assert html.count(">No data yet</text>") == len(CHARTS)
    for message in ("No stale or dead leads.", "No leads assigned yet.", "No opportunities yet."):
        assert message in html
    assert "unknown (no completed run)" in html
    # AND the page fetches nothing
    assert not re.search(r"(src|href)=", html)


def test_the_header_and_tiles_carry_the_totals() -> None:
    data = empty_data()
    data.as_of = datetime(2026, 11, 30, 9, 0)
    data.leads_total = 1200
    data.funnel = FunnelTotals(1200, 300, 120, 40, 12)
    html = render(data, generated_at=GENERATED)
    assert "Data as of <strong>2026-11-30 09:00 UTC</strong>" in html
    assert "/data/w.duckdb" in html
    assert ">1,200<" in html and "qualified-lead rate 25.0%" in html and "lead → won 1.0%" in html
    # the funnel's step rates: 300 / 1200, 120 / 300, 40 / 120, 12 / 40
    for rate in ("25.0%", "40.0%", "33.3%", "30.0%"):
        assert f"\u2193 {rate}" in html


def test_values_from_the_warehouse_are_escaped() -> None:
    # GIVEN names that carry markup in every table and chart
    data = empty_data()
    evil = "<img src=x onerror=alert(1)>"
    data.cohorts = [CohortRate(date(2026, 11, 2), evil, 3, 1, 0.3333)]
    data.stale_counts = [StaleCount(evil, 1, 0)]
    data.stale_leads = [StaleLead(f'lf_"{evil}', evil, evil, 20.0, 14.0, 3.0, True, False)]
    data.reps = [RepRow("o1", evil, 3, 2, 1, 0, 12.0, 1.5)]
    data.warehouse = evil
    html = render(data, generated_at=GENERATED)
    # THEN no markup from the data reaches the page
    assert "<img" not in html
    assert html.count("&lt;img src=x onerror=alert(1)&gt;") >= 5


def test_the_stale_table_marks_dead_and_stale() -> None:
    data = empty_data()
    data.stale_counts = [StaleCount("lead", 2, 1)]
    data.stale_leads = [
        StaleLead("lf_dead", "ana@sales.example", "lead", 90.0, 14.0, 75.0, True, True),
        StaleLead("lf_stale", "unassigned", "lead", 20.0, 14.0, 3.5, True, False),
    ]
    html = render(data, generated_at=GENERATED)
    rows = re.findall(r"<tr><td><code>(lf_\w+)</code>.*?</tr>", html)
    assert rows == ["lf_dead", "lf_stale"]
    dead_row = re.search(r"<tr><td><code>lf_dead</code>.*?</tr>", html)
    assert dead_row and "tag dead" in dead_row.group(0) and "90.0" in dead_row.group(0)
    stale_row = re.search(r"<tr><td><code>lf_stale</code>.*?</tr>", html)
    assert stale_row and "tag dead" not in stale_row.group(0)
    assert "Oldest stale and dead leads (top 2)" in html


@pytest.mark.parametrize(
    ("minutes", "shown"),
    [(None, "\u2013"), (4.25, "4.2 min"), (90, "1.5 h"), (2880, "2.0 days")],
    ids=["none", "minutes", "hours", "days"],
)
def test_durations_are_shown_in_a_readable_unit(minutes: float | None, shown: str) -> None:
    assert fmt_minutes(minutes) == shown
