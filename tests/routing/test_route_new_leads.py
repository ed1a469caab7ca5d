"""Routing against the warehouse: assignments, audit and the persisted round-robin pointer."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import duckdb
import pytest

from leadflow.config import RoutingConfig
from routing import route_new_leads

CONFIG = RoutingConfig.model_validate(
    {
        "territories": [{"name": "na", "countries": ["US"], "pool": "na"}],
        "pools": {"na": ["a@s.io", "b@s.io", "c@s.io"]},
        "fallback_owner": "a@s.io",
    }
)
T0 = datetime(2026, 6, 1)


@pytest.fixture(autouse=True)
def world(con: duckdb.DuckDBPyConnection) -> None:
    """The shared warehouse plus the intermediate table routing reads and three CRM owners."""
    con.execute("create schema intermediate")
    con.execute(
        "create table intermediate.int_leads_unified (lead_id varchar, crm_owner_id varchar, "
        "country_code varchar, region varchar, created_at timestamp)"
    )
    for n, email in enumerate(["a@s.io", "b@s.io", "c@s.io"], start=1):
        payload = {
            "id": str(n),
            "email": email,
            "archived": False,
            "updatedAt": "2026-01-01T00:00:00Z",
        }
        con.execute(
            "insert into raw.hubspot__owners values (?, ?, null, ?, ?, ?, 'r', ?)",
            [f"o{n}", str(n), T0, json.dumps(payload), f"h{n}", T0],
        )


def add_leads(con: duckdb.DuckDBPyConnection, names: list[str], offset: int = 0) -> None:
    for n, lead in enumerate(names):
        con.execute(
            "insert into intermediate.int_leads_unified values (?, null, 'US', 'NA', ?)",
            [lead, T0 + timedelta(minutes=offset + n)],
        )


def owners(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [
        row[0]
        for row in con.execute(
            "select owner_email from ops.lead_assignments order by assigned_at, lead_id"
        ).fetchall()
    ]


def test_the_rotation_continues_across_runs_and_assigned_leads_stay_put(
    con: duckdb.DuckDBPyConnection,
) -> None:
    add_leads(con, ["l1", "l2"])
    first = route_new_leads(con, CONFIG, run_id="r1", as_of=T0)
    add_leads(con, ["l3", "l4"], offset=10)
    second = route_new_leads(con, CONFIG, run_id="r2", as_of=T0 + timedelta(hours=1))
    assert (first.routed, second.routed, second.considered) == (2, 2, 2)
    assert owners(con) == ["a@s.io", "b@s.io", "c@s.io", "a@s.io"]
    assert con.execute("select next_index from ops.routing_pools where pool = 'na'").fetchone() == (
        1,
    )
    # every decision is audited with the rules it evaluated
    audit = con.execute(
        "select lead_id, rule, evaluated from ops.routing_audit order by lead_id"
    ).fetchall()
    assert [row[1] for row in audit] == ["territory:na"] * 4
    assert json.loads(audit[0][2])[0]["rule"] == "existing_owner"
    # a run with nothing new routes nothing
    assert route_new_leads(con, CONFIG, run_id="r3", as_of=T0).considered == 0
