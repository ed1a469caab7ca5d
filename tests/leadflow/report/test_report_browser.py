"""The report in a real headless Chromium (Debian's chromium + chromedriver), on real marts.

GIVEN the warehouse one real lead_sync run left (the session fixture `synced_world`), WHEN
`leadflow report` writes the page and Chromium opens it from file://, THEN the browser logs no
error, every chart has drawn data marks, the funnel agrees with dim_leads, and a screenshot is kept
(under the test's tmp_path, and at $LEADFLOW_REPORT_SCREENSHOT when that is set).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from leadflow.cli import app

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHARTS = {
    "funnel",
    "conversion-by-source",
    "time-in-stage",
    "speed-to-lead",
    "stale-leads",
    "pipeline-velocity",
}

pytestmark = [
    pytest.mark.skipif(
        not CHROMIUM.is_file(), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    ),
    pytest.mark.skipif(
        not CHROMEDRIVER.is_file(),
        reason=f"no chromedriver at {CHROMEDRIVER} (apt-get install chromium-driver)",
    ),
    pytest.mark.skipif(
        importlib.util.find_spec("selenium") is None,
        reason="selenium is not installed (pip install -c constraints.txt -e '.[dev]')",
    ),
]


@pytest.fixture(scope="module")
def report(synced_world: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The report written by the CLI from a copy of the synced warehouse: (html, warehouse)."""
    tmp = tmp_path_factory.mktemp("report")
    warehouse = tmp / "warehouse.duckdb"
    shutil.copyfile(synced_world.warehouse, warehouse)
    config = tmp / "leadflow.yml"
    config.write_text(f"warehouse:\n  path: {warehouse}\n", encoding="utf-8")
    out = tmp / "report.html"
    result = CliRunner().invoke(app, ["report", "--config", str(config), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out, warehouse


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # Both paths are given, so Selenium Manager has nothing to look up or download.
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def test_the_page_is_self_contained(report: tuple[Path, Path]) -> None:
    html = report[0].read_text(encoding="utf-8")
    # nothing to fetch: no external script, stylesheet, font, image or import
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "@import" not in html and "url(" not in html
    assert "<script" not in html


def test_chromium_renders_every_chart_with_data_and_no_console_error(
    report: tuple[Path, Path], browser: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    html, warehouse = report
    # WHEN Chromium opens the file
    browser.get(html.resolve().as_uri())
    assert browser.execute_script("return document.readyState") == "complete"
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1400, int(height) + 40)
    screenshot = tmp_path / "report.png"
    assert browser.save_screenshot(str(screenshot))
    if target := os.environ.get("LEADFLOW_REPORT_SCREENSHOT"):
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(screenshot, target)

    # THEN the console has no error
    severe = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert severe == []
    # AND every chart is on the page, laid out, and has drawn at least one data mark
    charts = browser.find_elements(By.CSS_SELECTOR, "svg[data-chart]")
    assert {chart.get_attribute("data-chart") for chart in charts} == CHARTS
    empty = [c.get_attribute("data-chart") for c in charts if c.get_attribute("data-empty")]
    assert empty == [], f"charts that say 'No data yet': {empty}"
    for chart in charts:
        name = chart.get_attribute("data-chart")
        assert chart.size["width"] > 200 and chart.size["height"] > 100, name
        marks = chart.find_elements(By.CSS_SELECTOR, ".mark")
        assert marks, f"{name} has no data marks"
        assert all(mark.size["width"] > 0 or mark.size["height"] > 0 for mark in marks), name
    # AND the funnel's first bar is every lead in dim_leads, each stage no wider than the one above
    with duckdb.connect(str(warehouse), read_only=True) as con:
        leads = con.execute("select count(*) from marts.dim_leads").fetchall()[0][0]
        reps = con.execute("select count(*) from marts.rpt_rep_leaderboard").fetchall()[0][0]
    bars = browser.find_elements(By.CSS_SELECTOR, "svg[data-chart=funnel] rect.mark")
    counts = [float(bar.get_attribute("data-value")) for bar in bars]
    assert counts[0] == leads
    widths = [bar.size["width"] for bar in bars]
    assert widths == sorted(widths, reverse=True)
    # AND the leaderboard lists every rep
    rows = browser.find_elements(By.CSS_SELECTOR, "#rep-leaderboard tbody tr")
    assert len(rows) == reps
