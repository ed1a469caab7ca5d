"""A small hand-made warehouse for the nurture and recycle tests: what dbt `prepare` and scoring
would have left (lead profiles, events, scores, HubSpot contacts) and a roster of two reps."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import duckdb

from leadflow.config import HttpSettings, NurtureConfig, RoutingConfig
from sandbox import Sandbox

T0 = datetime(2026, 6, 1, 10, 0)  # a Monday morning, inside default working hours
MQL = 50
LEMLIST_KEY = "test-lemlist-key"
GENERAL = "cam_sbxNurtureGeneral"
SMALL = "cam_sbxNurtureSmallBiz"
RECYCLED = "cam_sbxNurtureRecycled"

NURTURE = NurtureConfig.model_validate(
    {
        "tracks": [
            {
                "name": "small-business",
                "when": {"field": "is_free_email", "equals": True},
                "lemlist_campaign_id": SMALL,
            },
            {"name": "general", "lemlist_campaign_id": GENERAL},
            {"name": "recycled", "lemlist_campaign_id": RECYCLED},
        ],
        "recycle_track": "recycled",
        "close_when": {"field": "grade", "equals": "E"},
    }
)
ROUTING = RoutingConfig.model_validate(
    {
        "eligible": {
            "any": [
                {"field": "is_mql", "equals": True},
                {"field": "crm_owner_id", "exists": True},
                {"field": "nurture_exit_reason", "in": ["mql", "pricing_visit", "replied"]},
            ]
        },
        "fallback_owner": "rep.a@s.io",
    }
)
FAST_HTTP = HttpSettings(max_attempts=2, backoff_base_s=0.01, backoff_max_s=0.01, timeout_s=5)

PROFILE_COLUMNS = (
    "lead_id varchar, email varchar, first_name varchar, last_name varchar, company varchar, "
    "is_free_email boolean, crm_owner_id varchar, country_code varchar, region varchar, "
    "lifecycle_stage varchar, became_lead_at timestamp, became_mql_at timestamp, "
    "became_sql_at timestamp, became_opportunity_at timestamp, became_customer_at timestamp, "
    "created_at timestamp, updated_at timestamp"
)


def build_world(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists intermediate")
    con.execute(f"create table intermediate.int_leads_unified ({PROFILE_COLUMNS})")
    con.execute(
        "create table intermediate.int_lead_events_unioned (event_id varchar, lead_id varchar, "
        "event varchar, occurred_at timestamp, quantity integer, source varchar, record_key varchar)"
    )
    for n, email in enumerate(["rep.a@s.io", "rep.b@s.io"], start=1):
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


def add_lead(
    con: duckdb.DuckDBPyConnection,
    lead_id: str,
    *,
    score: int = 20,
    grade: str = "D",
    email: str | None = None,
    free_email: bool = False,
    crm_owner_id: str | None = None,
    created_at: datetime = T0,
    lead_status: str | None = None,
    optout: bool | None = None,
    **profile: Any,
) -> None:
    """A lead with a profile, a score and, when CRM facts are given, a HubSpot contact."""
    email = email or f"{lead_id}@acme.example"
    values: dict[str, Any] = {
        "lead_id": lead_id,
        "email": email,
        "first_name": lead_id.title(),
        "company": "Acme",
        "is_free_email": free_email,
        "crm_owner_id": crm_owner_id,
        "country_code": "US",
        "region": "NA",
        "created_at": created_at,
        "updated_at": created_at,
        **profile,
    }
    columns = ", ".join(values)
    con.execute(
        f"insert into intermediate.int_leads_unified ({columns}) "
        f"values ({', '.join('?' for _ in values)})",
        list(values.values()),
    )
    set_score(con, lead_id, score, grade)
    if lead_status is not None or optout is not None:
        properties = {"hs_lead_status": lead_status, "email": email}
        if optout is not None:
            properties["hs_email_optout"] = "true" if optout else "false"
        record_id = f"c-{lead_id}"
        con.execute(
            "insert into raw.hubspot__contacts values (?, ?, null, ?, ?, ?, 'r', ?)",
            [
                f"raw-{lead_id}",
                record_id,
                created_at,
                json.dumps({"id": record_id, "properties": properties}),
                f"h-{lead_id}",
                created_at,
            ],
        )
        con.execute(
            "insert into ops.lead_identity (record_key, lead_id, rule, matched_record_key, resolved_at, run_id)"
            " values (?, ?, 'email', null, ?, 'r')",
            [f"hubspot:contacts:{record_id}", lead_id, created_at],
        )


def set_score(con: duckdb.DuckDBPyConnection, lead_id: str, score: int, grade: str = "D") -> None:
    con.execute("delete from ops.lead_scores where lead_id = ?", [lead_id])
    con.execute(
        "insert into ops.lead_scores (lead_id, score, fit_score, intent_score, negative_score, grade, "
        "temperature, is_mql, factors, reasons, model_version, scored_as_of, scored_at, run_id) "
        "values (?, ?, ?, 0, 0, ?, 'cold', ?, '[]', '', 'rules-v1', ?, ?, 'r')",
        [lead_id, score, score, grade, score >= MQL, T0, T0],
    )


def add_event(
    con: duckdb.DuckDBPyConnection, lead_id: str, event: str, occurred_at: datetime
) -> None:
    con.execute(
        "insert into intermediate.int_lead_events_unioned values (?, ?, ?, ?, 1, 'meta', ?)",
        [f"{lead_id}:{event}:{occurred_at}", lead_id, event, occurred_at, f"meta:leads:{lead_id}"],
    )


def memberships(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    """(lead_id, track, exited?, exit_reason) per membership, oldest first."""
    return con.execute(
        "select lead_id, track, exited_at is not null, exit_reason from ops.nurture_memberships "
        "order by lead_id, entered_at"
    ).fetchall()


def owner_of(con: duckdb.DuckDBPyConnection, lead_id: str) -> str | None:
    row = con.execute(
        "select owner_email from ops.lead_assignments where lead_id = ?", [lead_id]
    ).fetchone()
    return None if row is None else row[0]


@contextmanager
def lemlist_sandbox() -> Iterator[Sandbox]:
    """A small sandbox whose Lemlist accepts LEMLIST_KEY, with no rate limit."""
    sandbox = Sandbox(seed=3, leads=5, tokens={"lemlist": LEMLIST_KEY})
    sandbox.set_rate_limit("lemlist", 0, 1)
    with sandbox:
        yield sandbox
