"""`reassign`: an SLA breach re-routes one assigned lead; the audit keeps who had it and why."""

from __future__ import annotations

from datetime import timedelta

import duckdb
import pytest

from routing import reassign, route_new_leads
from routing.explain import explain_routing
from tests.routing.world import T0, add_leads, build_world, owners_by_lead, routing_config


@pytest.fixture
def world(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    build_world(con)
    add_leads(con, ["l1"], crm_owner_id="1")  # sticky with a
    route_new_leads(con, routing_config(), run_id="r1", as_of=T0)
    return con


def test_a_breached_lead_moves_to_another_rep_and_the_audit_keeps_the_previous_owner(
    world: duckdb.DuckDBPyConnection,
) -> None:
    later = T0 + timedelta(minutes=10)
    decision = reassign(
        world,
        routing_config(),
        "l1",
        exclude_owner_ids={"1"},
        reason="SLA hot: no first touch in 5 working minutes",
        run_id="r2",
        as_of=later,
    )
    # THEN the sticky rule no longer keeps a, the pool gives it to b
    assert (decision.outcome, decision.rule, decision.owner and decision.owner.email) == (
        "reassigned",
        "na",
        "b@s.io",
    )
    row = world.execute(
        "select owner_id, owner_email, rule, reason, assigned_at, run_id from ops.lead_assignments"
    ).fetchall()
    assert len(row) == 1 and row[0][:3] == ("2", "b@s.io", "na")
    assert row[0][4:] == (later, "r2") and row[0][3].startswith("re-routed (SLA hot")
    audit = world.execute(
        "select outcome, owner_id, previous_owner_id from ops.routing_audit order by decided_at"
    ).fetchall()
    assert audit == [("kept", "1", None), ("reassigned", "2", "1")]
    text = "\n".join(explain_routing(world, "l1"))
    assert "kept with a@s.io by rule existing_owner" in text
    assert "re-assigned to b@s.io by rule na" in text and "previous owner: a@s.io" in text
    assert text.index("kept with") < text.index("re-assigned")


def test_a_reroute_in_the_same_run_as_the_assignment_is_audited_too(
    world: duckdb.DuckDBPyConnection,
) -> None:
    reassign(
        world, routing_config(), "l1", exclude_owner_ids={"1"}, reason="x", run_id="r1", as_of=T0
    )
    assert world.execute(
        "select count(*) from ops.routing_audit where run_id = 'r1'"
    ).fetchone() == (2,)


def test_with_nobody_else_available_the_lead_stays_and_the_attempt_is_audited(
    world: duckdb.DuckDBPyConnection,
) -> None:
    config = routing_config(pools={"na": ["a@s.io"]})
    decision = reassign(
        world, config, "l1", exclude_owner_ids={"1"}, reason="SLA", run_id="r2", as_of=T0
    )
    assert decision.owner is None and "stays where it is" in decision.reason
    assert owners_by_lead(world) == {"l1": "a@s.io"}
    assert world.execute(
        "select outcome, previous_owner_id from ops.routing_audit where run_id = 'r2'"
    ).fetchall() == [("unassigned", "1")]


def test_a_reroute_to_a_queue_takes_the_lead_off_its_owner(
    world: duckdb.DuckDBPyConnection,
) -> None:
    config = routing_config(rules=[{"name": "escalate", "queue": "sla-escalations"}])
    decision = reassign(
        world, config, "l1", exclude_owner_ids={"1"}, reason="SLA", run_id="r2", as_of=T0
    )
    assert decision.outcome == "queued"
    assert owners_by_lead(world) == {}
    assert world.execute("select lead_id, queue from ops.routing_queue").fetchall() == [
        ("l1", "sla-escalations")
    ]


def test_an_unknown_lead_is_a_key_error(world: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(KeyError):
        reassign(
            world,
            routing_config(),
            "nope",
            exclude_owner_ids=set(),
            reason="x",
            run_id="r2",
            as_of=T0,
        )
