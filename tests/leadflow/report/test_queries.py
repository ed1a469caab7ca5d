"""Reading the marts: given rows in the marts, the report's numbers; and `leadflow report` itself."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from leadflow.cli import app
from leadflow.report.queries import (
    FunnelTotals,
    bucket_minutes,
    load_report,
    missing_marts,
)

runner = CliRunner()


def _config(tmp_path: Path, warehouse: Path) -> Path:
    config = tmp_path / "leadflow.yml"
    config.write_text(f"warehouse:\n  path: {warehouse}\n", encoding="utf-8")
    return config


def test_the_marts_are_read_into_the_report_numbers(marts_warehouse: Path) -> None:
    # GIVEN the marts of conftest.py
    with duckdb.connect(str(marts_warehouse), read_only=True) as con:
        # WHEN the report reads them
        assert missing_marts(con) == []
        data = load_report(con, str(marts_warehouse), top_n=2)
    # THEN the funnel sums the cohorts
    assert data.funnel == FunnelTotals(leads=10, mqls=5, sqls=3, opportunities=2, won=1)
    assert data.leads_total == 10
    # AND the as-of time is the last *completed* run's clock
    assert data.as_of == datetime(2026, 11, 30, 9, 0)
    # AND stages come in funnel order, terminal ones after
    assert [t.stage for t in data.stage_times] == ["lead", "sql", "won"]
    assert data.stage_times[1].median_hours == 24.0
    # AND the speed-to-lead headline is the mart's 'all' row, the histogram the touched leads
    assert data.speed is not None
    assert (data.speed.leads, data.speed.touched, data.speed.median_minutes) == (6, 5, 5.0)
    assert data.speed.share_within_5_minutes == pytest.approx(0.4)
    assert dict(data.speed.buckets)["<5m"] == 2
    assert sum(count for _, count in data.speed.buckets) == 5
    # AND the stale list is dead leads first, then the longest in stage, capped at top_n
    assert [lead.lead_id for lead in data.stale_leads] == ["lf_8", "lf_9"]
    assert data.stale_leads[0].owner == "unassigned"
    assert data.stale_leads[1].owner == "bo@sales.example"
    assert (data.stale_total, data.dead_total) == (3, 1)
    assert [(c.stage, c.stale, c.dead, c.stale_after_days) for c in data.stale_counts] == [
        ("lead", 2, 0, 14.0),
        ("mql", 1, 1, 7.0),
    ]
    # AND reps by wins, months in order
    assert [rep.owner_email for rep in data.reps] == ["ana@sales.example", "bo@sales.example"]
    assert [v.period_month for v in data.velocity] == [date(2026, 10, 1), date(2026, 11, 1)]
    assert data.velocity[0].velocity_per_day == 1000.0


@pytest.mark.parametrize(
    ("minutes", "bucket"),
    [
        (0.0, "<5m"),
        (4.99, "<5m"),
        (5.0, "5\u201315m"),
        (59.99, "30\u201360m"),
        (60.0, "1\u20134h"),
        (1439.0, "4\u201324h"),
        (4320.0, "3d+"),
    ],
    ids=["zero", "just-under-5", "exactly-5", "under-an-hour", "an-hour", "under-a-day", "3-days"],
)
def test_a_first_touch_time_falls_in_one_bucket(minutes: float, bucket: str) -> None:
    counts = dict(bucket_minutes([minutes]))
    assert counts[bucket] == 1
    assert sum(counts.values()) == 1


def test_leadflow_report_writes_the_page(marts_warehouse: Path, tmp_path: Path) -> None:
    # GIVEN a config pointing at the warehouse
    config = _config(tmp_path, marts_warehouse)
    out = tmp_path / "out" / "funnel.html"
    # WHEN the report is written
    result = runner.invoke(app, ["report", "--config", str(config), "--out", str(out), "--json"])
    # THEN it says where, and that every chart has data
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"out": str(out), "charts": 6, "empty_charts": 0}
    html = out.read_text(encoding="utf-8")
    assert html.count("<svg data-chart=") == 6
    assert "ana@sales.example" in html and "lf_8" in html
    assert "2026-11-30 09:00 UTC" in html


def test_the_default_report_is_next_to_the_warehouse(marts_warehouse: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", "--config", str(_config(tmp_path, marts_warehouse))])
    assert result.exit_code == 0, result.output
    assert (marts_warehouse.parent / "report.html").is_file()
    assert result.output.strip() == f"report: {marts_warehouse.parent / 'report.html'} (6 charts)"


def test_a_warehouse_without_marts_says_to_run_first(tmp_path: Path) -> None:
    # GIVEN a warehouse that was never modelled
    warehouse = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(warehouse)).close()
    # WHEN the report is asked for
    result = runner.invoke(app, ["report", "--config", str(_config(tmp_path, warehouse))])
    # THEN one line says what is missing and what to do, and nothing is written
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("leadflow: the warehouse has no marts.dim_leads, ")
    assert lines[0].endswith("yet: run `leadflow run` first")
    assert not (tmp_path / "report.html").exists()


def test_no_warehouse_at_all_is_one_line(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["report", "--config", str(_config(tmp_path, tmp_path / "none.duckdb"))]
    )
    assert result.exit_code == 2
    assert result.output.strip() == (
        f"leadflow: no warehouse at {tmp_path / 'none.duckdb'}: run `leadflow run` first"
    )


def test_top_must_list_at_least_one_lead(marts_warehouse: Path, tmp_path: Path) -> None:
    config = _config(tmp_path, marts_warehouse)
    result = runner.invoke(app, ["report", "--config", str(config), "--top", "0"])
    assert result.exit_code == 2
    assert result.output.strip() == "leadflow: --top must be at least 1"


def test_top_caps_the_stale_list(marts_warehouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    config = _config(tmp_path, marts_warehouse)
    result = runner.invoke(
        app, ["report", "--config", str(config), "--out", str(out), "--top", "1"]
    )
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "<code>lf_8</code>" in html and "<code>lf_9</code>" not in html
