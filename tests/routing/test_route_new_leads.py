"""Routing against a real warehouse file: assignments, audit, pool state, queues, holds, caps."""

from __future__ import annotations

import json
from datetime import timedelta

import duckdb
import pytest

from leadflow.config import ConfigError
from leadflow.warehouse import Warehouse
from routing import route_new_leads
from routing.explain import explain_routing
from tests.routing.world import (
    T0,
    add_leads,
    add_owner,
    build_world,
    owners_by_lead,
    routing_config,
)


@pytest.fixture
def world(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    build_world(con)
    return con


def test_the_rotation_continues_across_runs_and_assigned_leads_stay_put(
    world: duckdb.DuckDBPyConnection,
) -> None:
    config = routing_config()
    add_leads(world, ["l1", "l2"])
    first = route_new_leads(world, config, run_id="r1", as_of=T0)
    add_leads(world, ["l3", "l4"], offset=10)
    second = route_new_leads(world, config, run_id="r2", as_of=T0 + timedelta(hours=1))
    assert (first.routed, second.routed, second.considered) == (2, 2, 2)
    owners = world.execute(
        "select owner_email from ops.lead_assignments order by assigned_at, lead_id"
    ).fetchall()
    assert [o[0] for o in owners] == ["a@s.io", "b@s.io", "c@s.io", "a@s.io"]
    turns, state = world.execute(
        "select next_index, state from ops.routing_pools where pool = 'na'"
    ).fetchone()  # type: ignore[misc]
    assert turns == 4 and json.loads(state) == {"a@s.io": -2.0, "b@s.io": 1.0, "c@s.io": 1.0}
    # a run with nothing new routes nothing and writes no audit
    again = route_new_leads(world, config, run_id="r3", as_of=T0)
    assert (again.considered, again.routed) == (0, 0)
    assert world.execute("select count(*) from ops.routing_audit").fetchone() == (4,)


def test_every_decision_is_audited_with_rules_candidates_skips_and_state(
    world: duckdb.DuckDBPyConnection,
) -> None:
    # GIVEN b is paused and a lead in NA
    config = routing_config(reps={"b@s.io": {"availability": {"paused": True}}})
    add_leads(world, ["l1", "l2"])
    route_new_leads(world, config, run_id="r1", as_of=T0)
    row = world.execute(
        """select outcome, rule, action, owner_email, pool, reason, evaluated, candidates, skipped,
                  strategy_before, strategy_after, decision_id
           from ops.routing_audit where lead_id = 'l2'"""
    ).fetchone()
    assert row is not None
    (
        outcome,
        rule,
        action,
        owner,
        pool,
        reason,
        evaluated,
        candidates,
        skipped,
        before,
        after,
        did,
    ) = row
    assert (outcome, rule, action, owner, pool) == ("assigned", "na", "pool", "c@s.io", "na")
    assert did == "r1:0000002" and "weighted round robin in pool na" in reason
    steps = json.loads(evaluated)
    assert [(s["rule"], s["matched"]) for s in steps] == [("existing_owner", True), ("na", True)]
    assert steps[0]["outcome"] == "no CRM owner"
    assert json.loads(candidates) == ["a@s.io", "b@s.io", "c@s.io"]
    assert json.loads(skipped) == [{"rep": "b@s.io", "why": "paused", "rule": "na"}]
    assert json.loads(before)["turns"] == 1 and json.loads(after)["turns"] == 2
    # AND explain reconstructs it
    lines = explain_routing(world, "l2")
    text = "\n".join(lines)
    assert "assigned to c@s.io by rule na" in text
    assert "rule existing_owner: matched (no condition) -> no CRM owner" in text
    assert "skipped b@s.io: paused" in text
    assert "run r1" in text and "pool na state: before turns=1" in text


def test_explain_says_so_for_a_lead_never_routed(world: duckdb.DuckDBPyConnection) -> None:
    assert explain_routing(world, "nope") == ["routing: lead nope has no routing decision recorded"]


def test_ineligible_leads_are_left_to_nurture(world: duckdb.DuckDBPyConnection) -> None:
    config = routing_config(eligible={"field": "crm_owner_id", "exists": True})
    add_leads(world, ["l1"])
    add_leads(world, ["l2"], offset=1, crm_owner_id="2")
    result = route_new_leads(world, config, run_id="r1", as_of=T0)
    assert (result.considered, result.not_eligible, result.routed) == (2, 1, 1)
    assert owners_by_lead(world) == {"l2": "b@s.io"}
    assert world.execute(
        "select count(*) from ops.routing_audit where lead_id = 'l1'"
    ).fetchone() == (0,)


def _score(con: duckdb.DuckDBPyConnection, lead_id: str, score: int) -> None:
    con.execute(
        """insert or replace into ops.lead_scores (lead_id, score, fit_score, intent_score,
               negative_score, grade, temperature, is_mql, factors, reasons, model_version,
               scored_as_of, scored_at, run_id)
           values (?, ?, ?, 0, 0, 'C', 'cold', false, '[]', '', 'rules', ?, ?, 'r0')""",
        [lead_id, score, score, T0, T0],
    )


def test_a_lead_left_to_nurture_is_read_again_only_when_its_row_or_the_condition_changes(
    world: duckdb.DuckDBPyConnection,
) -> None:
    config = routing_config(eligible={"field": "score", "gte": 50})
    # GIVEN two leads scored below the bar and one above it
    add_leads(world, ["l1", "l2", "l3"])
    for lead_id, score in (("l1", 10), ("l2", 20), ("l3", 80)):
        _score(world, lead_id, score)
    first = route_new_leads(world, config, run_id="r1", as_of=T0)
    assert (first.considered, first.not_eligible, first.routed) == (3, 2, 1)
    assert sorted(lead for lead, _ in first.judged_not_eligible) == ["l1", "l2"]
    # WHEN nothing changed: both are still counted as left to nurture, and neither is read
    again = route_new_leads(world, config, run_id="r2", as_of=T0)
    assert (again.considered, again.not_eligible, again.not_eligible_unchanged) == (2, 2, 2)
    assert again.judged_not_eligible == [] and again.routed == 0
    # WHEN l1's score rises past the bar (ops.lead_scores, not the lead's own row) and l2's CRM
    # record changes without making it eligible
    _score(world, "l1", 60)
    world.execute("update intermediate.int_leads_unified set region = 'EMEA' where lead_id = 'l2'")
    third = route_new_leads(world, config, run_id="r3", as_of=T0)
    # THEN both are read again: l1 is routed, l2 judged again
    assert (third.considered, third.not_eligible_unchanged, third.routed) == (2, 0, 1)
    assert [lead for lead, _ in third.judged_not_eligible] == ["l2"]
    assert set(owners_by_lead(world)) == {"l1", "l3"}
    assert world.execute("select lead_id from ops.routing_not_eligible").fetchall() == [("l2",)]
    # WHEN the condition changes, every unrouted lead is judged under it
    lower = routing_config(eligible={"field": "score", "gte": 15})
    fourth = route_new_leads(world, lower, run_id="r4", as_of=T0)
    assert (fourth.considered, fourth.not_eligible_unchanged, fourth.routed) == (1, 0, 1)
    assert world.execute("select count(*) from ops.routing_not_eligible").fetchone() == (0,)


def test_a_nurture_exit_makes_a_lead_eligible(world: duckdb.DuckDBPyConnection) -> None:
    config = routing_config(eligible={"field": "nurture_exit_reason", "exists": True})
    # GIVEN l1 left nurture as an MQL, l2 is still in a track, and l3 left as an MQL long ago but
    # was recycled back into a track since
    add_leads(world, ["l1", "l2", "l3"])
    world.execute(
        "insert into ops.nurture_memberships (lead_id, track, entered_at, exited_at, exit_reason, run_id) "
        "values ('l1', 't', ?, ?, 'mql', 'r0'), ('l2', 't', ?, null, null, 'r0'), "
        "('l3', 't', ?, ?, 'mql', 'r0'), ('l3', 'recycled', ?, null, null, 'r1')",
        [
            T0 - timedelta(days=9),
            T0 - timedelta(hours=1),
            T0 - timedelta(days=9),
            T0 - timedelta(days=90),
            T0 - timedelta(days=80),
            T0 - timedelta(days=2),
        ],
    )
    # WHEN routing runs
    route_new_leads(world, config, run_id="r1", as_of=T0)
    # THEN only the lead whose latest membership ended on a trigger is routed
    assert set(owners_by_lead(world)) == {"l1"}


def test_a_queued_lead_waits_in_its_queue_and_is_not_routed_again(
    world: duckdb.DuckDBPyConnection,
) -> None:
    config = routing_config(
        rules=[
            {
                "name": "review",
                "when": {"field": "country_code", "equals": "KP"},
                "queue": "compliance",
            }
        ]
    )
    add_leads(world, ["l1"], country_code="KP")
    first = route_new_leads(world, config, run_id="r1", as_of=T0)
    second = route_new_leads(world, config, run_id="r2", as_of=T0)
    assert (first.queued, first.routed, second.considered) == (1, 0, 0)
    assert world.execute("select lead_id, queue, rule from ops.routing_queue").fetchall() == [
        ("l1", "compliance", "review")
    ]
    assert owners_by_lead(world) == {}
    assert "queued in compliance by rule review" in "\n".join(explain_routing(world, "l1"))


def test_a_held_lead_is_routed_by_a_later_run(world: duckdb.DuckDBPyConnection) -> None:
    # GIVEN a pool on hold whose reps all work Berlin hours, and a lead at 20:00 UTC (22:00 Berlin)
    berlin = {"availability": {"timezone": "Europe/Berlin"}}
    config = routing_config(
        pools={"na": {"reps": ["b@s.io", "c@s.io"], "when_unavailable": "hold"}},
        reps={"b@s.io": berlin, "c@s.io": berlin},
    )
    add_leads(world, ["l1"])
    night = route_new_leads(world, config, run_id="r1", as_of=T0.replace(hour=20))
    assert (night.held, night.routed) == (1, 0) and owners_by_lead(world) == {}
    # WHEN the next morning's run routes it
    morning = route_new_leads(
        world, config, run_id="r2", as_of=T0.replace(hour=7) + timedelta(days=1)
    )
    assert morning.routed == 1 and owners_by_lead(world) == {"l1": "b@s.io"}
    outcomes = world.execute(
        "select outcome from ops.routing_audit where lead_id = 'l1' order by decided_at"
    ).fetchall()
    assert [o[0] for o in outcomes] == ["held", "assigned"]


def test_the_open_cap_counts_only_leads_still_open(world: duckdb.DuckDBPyConnection) -> None:
    # GIVEN a holds two leads, one of which became a customer; a's open cap is 2
    config = routing_config(reps={"a@s.io": {"caps": {"open": 2}}}, fallback_owner=None)
    add_leads(world, ["old1", "old2"])
    route_new_leads(world, routing_config(pools={"na": ["a@s.io"]}), run_id="r0", as_of=T0)
    world.execute(
        "update intermediate.int_leads_unified set became_customer_at = ? where lead_id = 'old1'",
        [T0],
    )
    add_leads(world, ["l1", "l2"], offset=5)
    route_new_leads(world, config, run_id="r1", as_of=T0 + timedelta(days=1))
    owners = owners_by_lead(world)
    # THEN a takes one more (1 open + 1 = 2) and the next goes to b
    assert (owners["l1"], owners["l2"]) == ("a@s.io", "b@s.io")
    skipped = world.execute("select skipped from ops.routing_audit where lead_id = 'l2'").fetchone()
    assert skipped is not None and "open-lead cap reached (2/2)" in skipped[0]


def test_period_caps_count_the_assignments_already_in_the_warehouse(
    world: duckdb.DuckDBPyConnection,
) -> None:
    config = routing_config(
        reps={"a@s.io": {"caps": {"per_day": 1}}}, pools={"na": ["a@s.io", "b@s.io"]}
    )
    add_leads(world, ["l1"])
    route_new_leads(world, config, run_id="r1", as_of=T0)
    add_leads(world, ["l2", "l3"], offset=5)
    route_new_leads(world, config, run_id="r2", as_of=T0 + timedelta(minutes=30))
    owners = owners_by_lead(world)
    assert owners == {"l1": "a@s.io", "l2": "b@s.io", "l3": "b@s.io"}


def test_account_owner_uses_the_crm_owner_of_another_lead_at_the_domain(
    world: duckdb.DuckDBPyConnection,
) -> None:
    config = routing_config(
        rules=[
            {"name": "existing_owner", "sticky": True},
            {"name": "account", "account_owner": True},
        ]
    )
    add_leads(world, ["known"], crm_owner_id="3", email_domain="acme.io", is_free_email=False)
    add_leads(world, ["new"], offset=5, email_domain="acme.io", is_free_email=False)
    route_new_leads(world, config, run_id="r1", as_of=T0)
    assert owners_by_lead(world) == {"known": "c@s.io", "new": "c@s.io"}
    rule = world.execute(
        "select rule, reason from ops.lead_assignments where lead_id = 'new'"
    ).fetchone()
    assert rule is not None and rule[0] == "account" and "owner of lead known" in rule[1]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"rules": [{"name": "x", "when": {"field": "regoin", "equals": "NA"}, "pool": "na"}]},
            "routing.rules.x.when: unknown lead field 'regoin'",
        ),
        (
            {"eligible": {"field": "scroe", "gte": 1}},
            "routing.eligible: unknown lead field 'scroe'",
        ),
        (
            {"pools": {"na": ["a@s.io", "typo@s.io"]}},
            "routing.pools.na.reps[1]: a rep is not a CRM owner",
        ),
        ({"fallback_owner": "nobody@s.io"}, "routing.fallback_owner: a rep is not a CRM owner"),
    ],
    ids=[
        "unknown-field-in-rule",
        "unknown-field-in-eligible",
        "unknown-pool-rep",
        "unknown-fallback",
    ],
)
def test_config_naming_unknown_fields_or_reps_is_one_line_error(
    world: duckdb.DuckDBPyConnection, overrides: dict[str, object], message: str
) -> None:
    add_leads(world, ["l1"])
    with pytest.raises(ConfigError) as err:
        route_new_leads(world, routing_config(**overrides), run_id="r1", as_of=T0)
    assert str(err.value).startswith(message) and "\n" not in str(err.value)
    assert "@" not in str(err.value)  # no email in an error message


def test_an_archived_owner_is_known_but_skipped(world: duckdb.DuckDBPyConnection) -> None:
    add_owner(world, "1", "a@s.io", archived=True)  # a newer version of owner 1: archived
    world.execute(
        "update raw.hubspot__owners set record_updated_at = ? where _raw_id = 'o1-True'",
        [T0 + timedelta(minutes=1)],
    )
    add_leads(world, ["l1"])
    route_new_leads(world, routing_config(), run_id="r1", as_of=T0)
    assert owners_by_lead(world) == {"l1": "b@s.io"}


def test_an_old_warehouse_is_migrated_in_place(tmp_path: object) -> None:
    # GIVEN a warehouse whose audit is keyed (lead_id, run_id), as before the rules engine
    from pathlib import Path

    path = Path(str(tmp_path)) / "old.duckdb"
    with duckdb.connect(str(path)) as old:
        old.execute("create schema ops")
        old.execute(
            "create table ops.routing_audit (lead_id varchar not null, run_id varchar not null, "
            "decided_at timestamp not null, rule varchar not null, owner_id varchar, reason varchar not null, "
            "evaluated json not null, primary key (lead_id, run_id))"
        )
        old.execute(
            "insert into ops.routing_audit values ('l1', 'r1', ?, 'fallback', '5', 'why', '[]')",
            [T0],
        )
        old.execute(
            "create table ops.routing_pools (pool varchar primary key, next_index integer not null, updated_at timestamp not null)"
        )
        old.execute(
            "create table ops.lead_assignments (lead_id varchar primary key, owner_id varchar not null, owner_email varchar, "
            "pool varchar, rule varchar not null, reason varchar not null, assigned_at timestamp not null, run_id varchar not null)"
        )
    wh = Warehouse(path)
    # WHEN the schema is ensured (twice: idempotent)
    wh.ensure_schema()
    wh.ensure_schema()
    with wh.connect() as con:
        rows = con.execute(
            "select decision_id, lead_id, outcome, rule from ops.routing_audit"
        ).fetchall()
        cols = {r[0] for r in con.execute("describe ops.lead_assignments").fetchall()}
    assert rows == [("r1:l1", "l1", "assigned", "fallback")]
    assert "action" in cols
