"""A small routing world in a real warehouse file: CRM owners and a stand-in int_leads_unified.

dbt builds intermediate.int_leads_unified in a real run; these tests create a table with the columns
routing reads, so each test stays well under a second.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import duckdb

from leadflow.config import RoutingConfig

T0 = datetime(2026, 6, 3, 14, 0)  # a Wednesday afternoon, UTC
REPS = ["a@s.io", "b@s.io", "c@s.io"]

LEAD_COLUMNS = {
    "lead_id": "varchar",
    "crm_owner_id": "varchar",
    "country_code": "varchar",
    "region": "varchar",
    "email_domain": "varchar",
    "is_free_email": "boolean",
    "language": "varchar",
    "lifecycle_stage": "varchar",
    "became_opportunity_at": "timestamp",
    "became_customer_at": "timestamp",
    "created_at": "timestamp",
    "updated_at": "timestamp",
}


def routing_config(**overrides: Any) -> RoutingConfig:
    base: dict[str, Any] = {
        "rules": [
            {"name": "existing_owner", "sticky": True},
            {"name": "na", "when": {"field": "region", "equals": "NA"}, "pool": "na"},
        ],
        "pools": {"na": REPS},
        "fallback_owner": "a@s.io",
        "lease_wait_s": 5,
    }
    base.update(overrides)
    return RoutingConfig.model_validate(base)


def build_world(con: duckdb.DuckDBPyConnection, owners: list[str] | None = None) -> None:
    con.execute("create schema if not exists intermediate")
    cols = ", ".join(f"{name} {kind}" for name, kind in LEAD_COLUMNS.items())
    con.execute(f"create table intermediate.int_leads_unified ({cols})")
    for n, email in enumerate(owners or REPS, start=1):
        add_owner(con, str(n), email)


def add_owner(
    con: duckdb.DuckDBPyConnection, owner_id: str, email: str, *, archived: bool = False
) -> None:
    payload = {"id": owner_id, "email": email, "archived": archived}
    con.execute(
        "insert into raw.hubspot__owners values (?, ?, null, ?, ?, ?, 'r', ?)",
        [
            f"o{owner_id}-{archived}",
            owner_id,
            T0,
            json.dumps(payload),
            f"h{owner_id}{archived}",
            T0,
        ],
    )


def add_leads(
    con: duckdb.DuckDBPyConnection, names: list[str], offset: int = 0, **fields: Any
) -> None:
    for n, lead_id in enumerate(names):
        row: dict[str, Any] = {
            "lead_id": lead_id,
            "country_code": "US",
            "region": "NA",
            "created_at": T0 - timedelta(hours=1) + timedelta(minutes=offset + n),
            "updated_at": T0 - timedelta(hours=1) + timedelta(minutes=offset + n),
            **fields,
        }
        names_sql = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        con.execute(
            f"insert into intermediate.int_leads_unified ({names_sql}) values ({marks})",
            list(row.values()),
        )


def owners_by_lead(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return dict(con.execute("select lead_id, owner_email from ops.lead_assignments").fetchall())


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    tables = [
        "lead_assignments",
        "routing_audit",
        "routing_pools",
        "routing_queue",
        "routing_lease",
    ]
    counts = {}
    for table in tables:
        row = con.execute(f"select count(*) from ops.{table}").fetchone()
        counts[table] = int(row[0]) if row else 0
    return counts
