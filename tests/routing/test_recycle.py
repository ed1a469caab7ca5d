"""Recycling stale leads against a real DuckDB warehouse: the 60-day default, recycle vs close, the
reasons recorded, what is left alone, and a re-run that changes nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb
import pytest

from leadflow.config import NurtureConfig
from routing.recycle import last_activity, recycle_stale_leads
from tests.routing.nurture_helpers import (
    NURTURE,
    RECYCLED,
    T0,
    add_event,
    add_lead,
    build_world,
    memberships,
)

OLD = T0 - timedelta(days=90)


@pytest.fixture(autouse=True)
def world(con: duckdb.DuckDBPyConnection) -> None:
    build_world(con)


def assign(con: duckdb.DuckDBPyConnection, lead_id: str, at: datetime) -> None:
    con.execute(
        "insert into ops.lead_assignments (lead_id, owner_id, owner_email, rule, reason, "
        "assigned_at, run_id) values (?, '1', 'rep.a@s.io', 'fallback', 'test', ?, 'r0')",
        [lead_id, at],
    )


def recycling(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute(
        "select lead_id, action, reason, previous_owner_id, track, crm_lead_status "
        "from ops.lead_recycling order by lead_id, recycled_at"
    ).fetchall()


def test_the_default_is_60_days() -> None:
    assert NurtureConfig().recycle_after_days == 60


@pytest.mark.parametrize(
    ("idle_days", "recycled"),
    [
        pytest.param(59, False, id="59-days-idle-is-kept"),
        pytest.param(61, True, id="61-days-idle-is-recycled"),
    ],
)
def test_leads_idle_longer_than_the_limit_are_recycled(
    con: duckdb.DuckDBPyConnection, idle_days: int, recycled: bool
) -> None:
    # GIVEN an assigned lead whose last activity (its assignment) is idle_days old
    add_lead(con, "l1", score=30, grade="C", created_at=T0 - timedelta(days=200))
    assign(con, "l1", T0 - timedelta(days=idle_days))
    # WHEN the recycle runs with the 60-day default
    result = recycle_stale_leads(con, NURTURE, run_id="d1", as_of=T0)
    # THEN only the lead idle for more than 60 days is recycled
    assert result.recycled == (1 if recycled else 0)
    assert (con.execute("select count(*) from ops.lead_assignments").fetchone() or [0])[0] == (
        0 if recycled else 1
    )


def test_a_recycled_lead_is_released_back_to_nurture_with_its_reason(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # GIVEN an assigned C lead idle for 90 days, and a nurtured D lead idle as long
    add_lead(con, "l1", score=30, grade="C", created_at=OLD)
    assign(con, "l1", OLD)
    add_lead(con, "l2", score=10, grade="D", created_at=OLD)
    con.execute(
        "insert into ops.nurture_memberships (lead_id, track, entered_at, run_id) "
        "values ('l2', 'general', ?, 'r0')",
        [OLD],
    )
    # WHEN the recycle runs
    result = recycle_stale_leads(con, NURTURE, run_id="d1", as_of=T0)
    # THEN both are recycled into the recycled track, with the reason and the CRM status
    assert (result.recycled, result.closed) == (2, 0)
    assert recycling(con) == [
        ("l1", "recycled", "no activity for 90 days", "1", "recycled", "BAD_TIMING"),
        ("l2", "recycled", "no activity for 90 days", None, "recycled", "BAD_TIMING"),
    ]
    assert con.execute("select count(*) from ops.lead_assignments").fetchone() == (0,)
    assert memberships(con) == [
        ("l1", "recycled", False, None),
        ("l2", "general", True, "recycled"),
        ("l2", "recycled", False, None),
    ]
    campaigns = con.execute(
        "select distinct lemlist_campaign_id from ops.nurture_memberships where exited_at is null"
    ).fetchall()
    assert campaigns == [(RECYCLED,)]


@pytest.mark.parametrize(
    ("lead", "reason"),
    [
        pytest.param(
            {"grade": "E", "score": 5},
            "no activity for 90 days; matches nurture.close_when",
            id="close-when",
        ),
        pytest.param(
            {"grade": "C", "score": 30, "optout": True},
            "no activity for 90 days; unsubscribed, so it cannot be nurtured",
            id="unsubscribed",
        ),
    ],
)
def test_leads_matching_close_when_or_unsubscribed_are_closed(
    con: duckdb.DuckDBPyConnection, lead: dict, reason: str
) -> None:
    add_lead(con, "l1", created_at=OLD, **lead)
    assign(con, "l1", OLD)
    result = recycle_stale_leads(con, NURTURE, run_id="d1", as_of=T0)
    assert (result.recycled, result.closed) == (0, 1)
    assert recycling(con) == [("l1", "closed", reason, "1", None, "UNQUALIFIED")]
    # a closed lead keeps its owner as the record of who had it
    assert con.execute("select count(*) from ops.lead_assignments").fetchone() == (1,)


def test_recent_activity_deals_and_closed_leads_are_left_alone(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # GIVEN an old lead with a form submission last week, an old opportunity, and an idle lead
    add_lead(con, "active", created_at=OLD)
    add_event(con, "active", "webinar_signup", T0 - timedelta(days=7))
    add_lead(con, "deal", created_at=OLD, became_opportunity_at=OLD)
    add_lead(con, "idle", grade="E", score=5, created_at=OLD)
    assert last_activity(con)["active"] == T0 - timedelta(days=7)
    # WHEN the recycle runs twice, the second time 100 days later
    first = recycle_stale_leads(con, NURTURE, run_id="d1", as_of=T0)
    second = recycle_stale_leads(con, NURTURE, run_id="d2", as_of=T0 + timedelta(days=100))
    # THEN only the idle lead is closed, once; the deal is never considered
    assert (first.closed, second.closed) == (1, 0)
    assert [row[:2] for row in recycling(con)] == [("active", "recycled"), ("idle", "closed")]
    assert first.considered == 2


def test_a_rerun_the_same_day_changes_nothing(con: duckdb.DuckDBPyConnection) -> None:
    add_lead(con, "l1", score=30, grade="C", created_at=OLD)
    assign(con, "l1", OLD)
    first = recycle_stale_leads(con, NURTURE, run_id="d1", as_of=T0)
    second = recycle_stale_leads(con, NURTURE, run_id="d2", as_of=T0 + timedelta(hours=6))
    assert (first.recycled, second.recycled, second.closed) == (1, 0, 0)
    assert len(recycling(con)) == 1
    assert len(memberships(con)) == 1
