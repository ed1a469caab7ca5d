"""Hand-made intermediate tables (what dbt's `prepare` builds) for scoring tests, no dbt needed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import duckdb
import pandas as pd

LEAD_COLUMNS = {
    "lead_id": "varchar",
    "email": "varchar",
    "email_domain": "varchar",
    "is_free_email": "boolean",
    "job_title": "varchar",
    "seniority": "varchar",
    "department": "varchar",
    "industry": "varchar",
    "employee_band": "varchar",
    "country_code": "varchar",
    "is_unsubscribed": "boolean",
    "is_bounced": "boolean",
    "lifecycle_stage": "varchar",
    "became_opportunity_at": "timestamp",
    "created_at": "timestamp",
}


def make_intermediate(
    con: duckdb.DuckDBPyConnection,
    leads: list[dict[str, Any]],
    events: Sequence[tuple[str, str, datetime, float]] = (),
    stages: Sequence[tuple[str, str, int, datetime]] = (),
) -> None:
    """(Re)create int_leads_unified, int_lead_events_unioned and int_lead_stages_unpivoted."""
    con.execute("create schema if not exists intermediate")
    con.execute(
        "create or replace table intermediate.int_leads_unified ("
        + ", ".join(f"{c} {t}" for c, t in LEAD_COLUMNS.items())
        + ")"
    )
    if leads:
        frame = pd.DataFrame([{c: lead.get(c) for c in LEAD_COLUMNS} for lead in leads])
        con.register("lead_rows", frame)
        con.execute("insert into intermediate.int_leads_unified by name select * from lead_rows")
        con.unregister("lead_rows")
    con.execute(
        "create or replace table intermediate.int_lead_events_unioned"
        " (lead_id varchar, event varchar, occurred_at timestamp, quantity double, source varchar)"
    )
    for row in events:
        con.execute(
            "insert into intermediate.int_lead_events_unioned"
            " (lead_id, event, occurred_at, quantity) values (?, ?, ?, ?)",
            row,
        )
    con.execute(
        "create or replace table intermediate.int_lead_stages_unpivoted"
        " (lead_id varchar, stage varchar, stage_order integer, entered_at timestamp)"
    )
    for row in stages:
        con.execute("insert into intermediate.int_lead_stages_unpivoted values (?, ?, ?, ?)", row)
