"""The nurture step against a real DuckDB warehouse and the sandbox's Lemlist.

Enrolment rules (below the threshold, disqualified, never when unsubscribed, never when owned or
routed), the track choice, each exit trigger ending in an assignment by the route step of the same
run, the Lemlist calls made once per change, and a re-run that changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import duckdb
import pytest
from pydantic import SecretStr

from connectors.http import ApiClient
from connectors.lemlist.client import make_client
from routing import route_new_leads
from routing.nurture import choose_track, run_nurture
from sandbox import Sandbox
from tests.routing.nurture_helpers import (
    FAST_HTTP,
    GENERAL,
    LEMLIST_KEY,
    NURTURE,
    ROUTING,
    SMALL,
    T0,
    add_event,
    add_lead,
    build_world,
    lemlist_sandbox,
    memberships,
    owner_of,
    set_score,
)


@pytest.fixture(autouse=True)
def world(con: duckdb.DuckDBPyConnection) -> None:
    build_world(con)


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with lemlist_sandbox() as sandbox:
        yield sandbox


@pytest.fixture
def lemlist(sb: Sandbox) -> Iterator[ApiClient]:
    client = make_client(sb.urls["lemlist"], SecretStr(LEMLIST_KEY), FAST_HTTP)
    yield client
    client.close()


def nurture(con: duckdb.DuckDBPyConnection, client: ApiClient | None, run: str, minutes: int = 0):  # type: ignore[no-untyped-def]
    return run_nurture(
        con,
        NURTURE,
        ROUTING,
        lemlist_client=client,
        run_id=run,
        as_of=T0 + timedelta(minutes=minutes),
    )


@pytest.mark.parametrize(
    ("lead", "expected_track"),
    [
        pytest.param({"score": 20}, "general", id="below-threshold"),
        pytest.param(
            {"score": 20, "free_email": True}, "small-business", id="first-matching-track"
        ),
        pytest.param({"score": 20, "lead_status": "UNQUALIFIED"}, "general", id="disqualified"),
        # routing.eligible decides first: an MQL is routing's even when the CRM disqualified it
        pytest.param({"score": 70, "lead_status": "UNQUALIFIED"}, None, id="disqualified-mql"),
        pytest.param({"score": 70}, None, id="mql-is-routed-not-nurtured"),
        pytest.param({"score": 20, "crm_owner_id": "1"}, None, id="owned-in-crm"),
        pytest.param({"score": 20, "optout": True}, None, id="unsubscribed-never"),
    ],
)
def test_enrolment_rules(
    con: duckdb.DuckDBPyConnection, lead: dict, expected_track: str | None
) -> None:
    # GIVEN one scored lead
    add_lead(con, "l1", **lead)
    # WHEN the nurture step runs (no Lemlist configured)
    result = nurture(con, None, "r1")
    # THEN it is enrolled in the expected track, or not at all
    rows = memberships(con)
    assert rows == ([("l1", expected_track, False, None)] if expected_track else [])
    assert result.enrolled == (1 if expected_track else 0)


def test_an_unsubscribed_lead_is_flagged_once_and_never_enrolled(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # GIVEN a lead below the threshold whose CRM contact opted out of email
    add_lead(con, "l1", score=10, optout=True)
    # WHEN the step runs twice
    first = nurture(con, None, "r1")
    second = nurture(con, None, "r2", minutes=60)
    # THEN it is flagged once, with the reason, and never enrolled
    assert (first.flagged_unsubscribed, second.flagged_unsubscribed) == (1, 0)
    assert con.execute("select lead_id, reason from ops.nurture_exclusions").fetchall() == [
        ("l1", "unsubscribed")
    ]
    assert memberships(con) == []


def test_a_lead_that_unsubscribes_in_a_track_leaves_it_and_is_not_routed(
    con: duckdb.DuckDBPyConnection,
) -> None:
    add_lead(con, "l1", score=10, optout=False)
    nurture(con, None, "r1")
    # WHEN the contact opts out and the next run's nurture and route steps run
    con.execute(
        "update raw.hubspot__contacts set payload = json_object('id', 'c-l1', 'properties', "
        "json_object('hs_email_optout', 'true'))"
    )
    result = nurture(con, None, "r2", minutes=60)
    route_new_leads(con, ROUTING, run_id="r2", as_of=T0 + timedelta(minutes=60))
    # THEN the membership ends with 'unsubscribed' and the lead is not given to a rep
    assert result.exits_by_reason == {"unsubscribed": 1}
    assert memberships(con) == [("l1", "general", True, "unsubscribed")]
    assert owner_of(con, "l1") is None


def test_track_choice_needs_a_matching_track() -> None:
    lead = {"lead_id": "x", "is_free_email": False}
    assert choose_track(lead, NURTURE.tracks[:1]) is None
    chosen = choose_track(lead, NURTURE.tracks)
    assert chosen is not None and chosen.name == "general"


def _trigger_mql(con: duckdb.DuckDBPyConnection, sb: Sandbox) -> None:
    set_score(con, "l1", 75, "B")


def _trigger_pricing(con: duckdb.DuckDBPyConnection, sb: Sandbox) -> None:
    add_event(con, "l1", "pricing_request", T0 + timedelta(minutes=30))


def _trigger_reply(con: duckdb.DuckDBPyConnection, sb: Sandbox) -> None:
    sb.lemlist_reply(GENERAL, "l1@acme.example")


@pytest.mark.parametrize(
    ("trigger", "reason"),
    [
        pytest.param(_trigger_mql, "mql", id="score-crosses-threshold"),
        pytest.param(_trigger_pricing, "pricing_visit", id="pricing-visit"),
        pytest.param(_trigger_reply, "replied", id="lemlist-reply"),
    ],
)
def test_each_exit_trigger_ends_in_an_assignment_in_the_same_run(
    con: duckdb.DuckDBPyConnection,
    sb: Sandbox,
    lemlist: ApiClient,
    trigger,
    reason: str,  # type: ignore[no-untyped-def]
) -> None:
    # GIVEN a lead nurtured in the general track (and in its Lemlist campaign), not routed
    add_lead(con, "l1", score=20)
    nurture(con, lemlist, "r1")
    route_new_leads(con, ROUTING, run_id="r1", as_of=T0)
    assert owner_of(con, "l1") is None
    assert [lead["email"] for lead in sb.lemlist_leads()] == ["l1@acme.example"]
    # WHEN an exit trigger happens, then the next run's nurture and route steps run
    trigger(con, sb)
    as_of = T0 + timedelta(hours=1)
    result = run_nurture(con, NURTURE, ROUTING, lemlist_client=lemlist, run_id="r2", as_of=as_of)
    route_new_leads(con, ROUTING, run_id="r2", as_of=as_of)
    # THEN the membership is closed with the reason, the lead left the campaign, and it has a rep
    assert result.exits_by_reason == {reason: 1}
    assert memberships(con) == [("l1", "general", True, reason)]
    assert sb.lemlist_leads() == []
    assert owner_of(con, "l1") == "rep.a@s.io"
    # AND the Lemlist calls are recorded once each
    assert con.execute(
        "select operation, status from ops.nurture_pushes order by sent_at"
    ).fetchall() == [("add", "ok"), ("remove", "ok")]


def test_a_pricing_event_before_enrolment_is_not_an_exit(con: duckdb.DuckDBPyConnection) -> None:
    add_lead(con, "l1", score=20)
    add_event(con, "l1", "pricing_request", T0 - timedelta(days=3))
    nurture(con, None, "r1")
    result = nurture(con, None, "r2", minutes=60)
    assert result.exited == 0
    assert memberships(con) == [("l1", "general", False, None)]


def test_a_rerun_with_nothing_new_enrols_exits_and_sends_nothing(
    con: duckdb.DuckDBPyConnection, sb: Sandbox, lemlist: ApiClient
) -> None:
    # GIVEN three nurtured leads, one of them in the small-business campaign
    add_lead(con, "l1", score=20)
    add_lead(con, "l2", score=30, free_email=True)
    add_lead(con, "l3", score=90)  # an MQL: routing's, not nurture's
    first = nurture(con, lemlist, "r1")
    sb.clear_request_log()
    # WHEN the step runs again with nothing new
    second = nurture(con, lemlist, "r2", minutes=60)
    # THEN nothing is enrolled, exited or sent (only the replies are read)
    assert (first.enrolled, first.lemlist_added) == (2, 2)
    assert (second.enrolled, second.exited, second.lemlist_added, second.lemlist_removed) == (
        0,
        0,
        0,
        0,
    )
    assert {path for _, method, path, _ in sb.request_log if method != "GET"} == set()
    assert sorted((r["campaign_id"], r["email"]) for r in sb.lemlist_leads()) == [
        (GENERAL, "l1@acme.example"),
        (SMALL, "l2@acme.example"),
    ]


def test_a_failed_lemlist_call_is_retried_next_run_and_a_rejected_one_is_not(
    con: duckdb.DuckDBPyConnection, sb: Sandbox, lemlist: ApiClient
) -> None:
    # GIVEN Lemlist failing with 500s for longer than the client retries, and a bad address
    add_lead(con, "l1", score=20)
    add_lead(con, "l2", score=20, email="not-an-address")
    sb.inject_faults("lemlist", 500, 2, "/api/campaigns")
    first = nurture(con, lemlist, "r1")
    # THEN the run goes on (memberships recorded) and the failure is owed, not lost
    assert first.enrolled == 2 and first.lemlist_failed == 1
    second = nurture(con, lemlist, "r2", minutes=60)
    third = nurture(con, lemlist, "r3", minutes=120)
    statuses = dict(con.execute("select lead_id, status from ops.nurture_pushes").fetchall())
    assert statuses == {"l1": "ok", "l2": "rejected"}
    assert (second.lemlist_added, third.lemlist_added, third.lemlist_failed) == (1, 0, 0)
    # AND the rejection reason names no address
    error = con.execute("select error from ops.nurture_pushes where lead_id = 'l2'").fetchone()
    assert error is not None and "not-an-address" not in error[0] and "Bad params" in error[0]


def test_the_profile_is_unsubscribed_flag_wins_over_the_raw_property(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # GIVEN a lead profile that carries is_unsubscribed (enrichment's flag), and no CRM opt-out
    con.execute("alter table intermediate.int_leads_unified add column is_unsubscribed boolean")
    add_lead(con, "l1", score=10, is_unsubscribed=True)
    add_lead(con, "l2", score=10, is_unsubscribed=False, optout=False)
    # WHEN the step runs
    result = nurture(con, None, "r1")
    # THEN the flagged lead is not enrolled, the other is
    assert memberships(con) == [("l2", "general", False, None)]
    assert result.flagged_unsubscribed == 1


def test_a_disqualified_lead_does_not_leave_on_its_score(con: duckdb.DuckDBPyConnection) -> None:
    # GIVEN a disqualified lead in nurture whose score then crosses the threshold
    add_lead(con, "l1", score=10, lead_status="UNQUALIFIED")
    nurture(con, None, "r1")
    set_score(con, "l1", 80, "A")
    # WHEN the next run's step runs
    result = nurture(con, None, "r2", minutes=60)
    # THEN it stays: the CRM said it is not a fit, a high score does not undo that
    assert result.exited == 0
    assert memberships(con) == [("l1", "general", False, None)]


def test_a_lead_a_rep_took_in_the_crm_leaves_nurture(con: duckdb.DuckDBPyConnection) -> None:
    add_lead(con, "l1", score=10)
    nurture(con, None, "r1")
    con.execute("update intermediate.int_leads_unified set crm_owner_id = '2'")
    result = nurture(con, None, "r2", minutes=60)
    assert result.exits_by_reason == {"owned": 1}
    assert memberships(con) == [("l1", "general", True, "owned")]
