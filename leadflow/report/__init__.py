"""`leadflow report`: one self-contained HTML page of funnel charts, drawn from the dbt marts.

queries.py reads the marts into dataclasses, svg.py draws charts as pure functions, render.py lays
out the page. `build_report` ties them together over an open (read-only) warehouse connection.
"""

from __future__ import annotations

from datetime import datetime

from leadflow.report.queries import REPORT_MARTS, Connection, load_report, missing_marts
from leadflow.report.render import render

__all__ = ["REPORT_MARTS", "build_report", "missing_marts"]


def build_report(
    con: Connection, *, warehouse: str, generated_at: datetime, top_n: int = 25
) -> str:
    """The report's HTML for the warehouse behind `con` (check missing_marts(con) first)."""
    return render(load_report(con, warehouse, top_n=top_n), generated_at=generated_at)
