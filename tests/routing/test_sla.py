"""First-touch SLAs: in time, late, never; working minutes over a night and a weekend; each action
once; the re-route audited. A real warehouse file with stand-ins for the dbt models SLA reads."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import duckdb
import pytest

from leadflow.config import ConfigError, SlaConfig, parse_settings
from routing import route_new_leads
from routing.sla import check_slas
from tests.routing.world import T0, add_leads, build_world, routing_config

HOT = {"field": "temperature", "equals": "hot"}


def sla(action: str = "record", minutes: float = 5, **extra: Any) -> SlaConfig:
    return SlaConfig.model_validate(
        {
            "escalate_to": "boss@s.io",
            "policies": [
                {"name": "hot", "when": HOT, "within_minutes": minutes, "action": action},
                {"name": "default", "within_minutes": 240},
            ],
            **extra,
        }
    )


@pytest.fixture
def world(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """l1 (hot) routed to a@s.io at T0 and pushed; the CRM shows the owner since T0 + 30 s."""
    build_world(con)
    con.execute("create schema if not exists staging")
    con.execute(
        """create table staging.stg_hubspot__contacts (contact_id varchar, owner_id varchar,
           owner_assigned_at timestamp, first_engagement_at timestamp)"""
    )
    add_leads(con, ["l1"])
    con.execute(
        """insert into ops.lead_scores values ('l1', 80, 50, 30, 0, 'A', 'hot', true, false, '[]',
           '', 'rules-v1', ?, ?, 'r0', null)""",
        [T0, T0],
    )
    route_new_leads(con, routing_config(), run_id="r1", as_of=T0)
    con.execute(
        "insert into ops.push_state (destination, lead_id, payload_hash, destination_record_id, acknowledged_at, run_id) values ('hubspot', 'l1', 'h', '901', ?, 'r1')",
        [T0],
    )
    crm(con, owner="1", assigned=T0 + timedelta(seconds=30))
    return con


def crm(
    con: duckdb.DuckDBPyConnection,
    *,
    owner: str | None,
    assigned: datetime | None,
    touched: datetime | None = None,
) -> None:
    con.execute("delete from staging.stg_hubspot__contacts")
    con.execute(
        "insert into staging.stg_hubspot__contacts values ('901', ?, ?, ?)",
        [owner, assigned, touched],
    )


def breaches(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    return con.execute(
        "select lead_id, owner_id, policy, due_at, touched_at, action, new_owner "
        "from ops.sla_breaches order by breached_at"
    ).fetchall()


@pytest.mark.parametrize(
    ("touched_after", "check_after", "breached"),
    [
        pytest.param(timedelta(minutes=3), timedelta(minutes=30), False, id="touched-in-time"),
        pytest.param(timedelta(minutes=9), timedelta(minutes=30), True, id="touched-late"),
        pytest.param(None, timedelta(minutes=6), True, id="never-touched-past-due"),
        pytest.param(None, timedelta(minutes=5), False, id="never-touched-not-due-yet"),
    ],
)
def test_a_breach_is_a_late_touch_or_no_touch_past_the_due_time(
    world: duckdb.DuckDBPyConnection,
    touched_after: timedelta | None,
    check_after: timedelta,
    breached: bool,
) -> None:
    # GIVEN the owner became visible at T0 + 30 s, a 5-minute limit (no calendar: wall-clock minutes)
    start = T0 + timedelta(seconds=30)
    crm(world, owner="1", assigned=start, touched=start + touched_after if touched_after else None)
    # WHEN the SLA check runs
    result = check_slas(world, sla(), routing_config(), run_id="r2", as_of=start + check_after)
    # THEN a breach is recorded exactly when the touch was late or is missing past due
    assert result.checked == 1
    assert bool(breaches(world)) is breached
    if breached:
        [(lead, owner, policy, due, _touched, action, new_owner)] = breaches(world)
        assert (lead, owner, policy, due, action, new_owner) == (
            "l1",
            "1",
            "hot",
            start + timedelta(minutes=5),
            "record",
            None,
        )


@pytest.mark.parametrize(
    ("as_of_local", "breached"),
    [
        pytest.param(datetime(2026, 6, 8, 9, 4), False, id="monday-0904-9-working-minutes"),
        pytest.param(datetime(2026, 6, 8, 9, 6), True, id="monday-0906-past-due"),
    ],
)
def test_the_limit_counts_the_owners_working_minutes_across_the_night_and_weekend(
    world: duckdb.DuckDBPyConnection, as_of_local: datetime, breached: bool
) -> None:
    # GIVEN a@s.io works 09:00-17:30 Berlin, and got the lead Friday 17:25 Berlin (15:25 UTC)
    friday = datetime(2026, 6, 5, 15, 25)
    world.execute("update ops.lead_assignments set assigned_at = ?", [friday])
    world.execute("update ops.push_state set acknowledged_at = ?", [friday])
    crm(world, owner="1", assigned=friday)
    berlin = {
        "timezone": "Europe/Berlin",
        "working_hours": {d: "09:00-17:30" for d in ("mon", "tue", "wed", "thu", "fri")},
    }
    routing = routing_config(reps={"a@s.io": {"availability": berlin}})
    # WHEN checked on Monday morning (Berlin is UTC+2 in June)
    as_of = as_of_local - timedelta(hours=2)
    check_slas(world, sla(minutes=10), routing, run_id="r2", as_of=as_of)
    # THEN 5 minutes on Friday + 5 on Monday make the 10: due Monday 09:05 Berlin
    assert bool(breaches(world)) is breached
    if breached:
        assert breaches(world)[0][3] == datetime(2026, 6, 8, 7, 5)


def test_a_breach_is_recorded_once_however_often_the_check_runs(
    world: duckdb.DuckDBPyConnection,
) -> None:
    for hours in (1, 2, 3):
        result = check_slas(
            world, sla(), routing_config(), run_id=f"r{hours}", as_of=T0 + timedelta(hours=hours)
        )
        assert sum(result.breaches.values()) == (1 if hours == 1 else 0)
    assert len(breaches(world)) == 1


def test_reroute_moves_an_untouched_lead_and_the_audit_keeps_the_breach(
    world: duckdb.DuckDBPyConnection,
) -> None:
    later = T0 + timedelta(minutes=20)
    result = check_slas(world, sla("reroute"), routing_config(), run_id="r2", as_of=later)
    # THEN the lead went to the next rep in the pool, and the breach names the new owner
    assert result.rerouted == 1 and result.breaches == {"reroute": 1}
    owner = world.execute("select owner_id, reason from ops.lead_assignments").fetchone()
    assert owner is not None and owner[0] != "1"
    assert owner[1].startswith("re-routed (SLA hot missed)")
    assert breaches(world)[0][5:] == ("reroute", owner[0])
    audit = world.execute(
        "select outcome, owner_id, previous_owner_id from ops.routing_audit where run_id = 'r2'"
    ).fetchall()
    assert audit == [("reassigned", owner[0], "1")]
    # AND the new owner's clock has not started (not in the CRM yet): no breach for them
    check_slas(
        world, sla("reroute"), routing_config(), run_id="r3", as_of=later + timedelta(hours=1)
    )
    assert len(breaches(world)) == 1


def test_a_late_touch_is_not_rerouted_only_recorded(world: duckdb.DuckDBPyConnection) -> None:
    crm(world, owner="1", assigned=T0, touched=T0 + timedelta(minutes=7))
    result = check_slas(
        world, sla("reroute"), routing_config(), run_id="r2", as_of=T0 + timedelta(minutes=20)
    )
    assert result.rerouted == 0 and breaches(world)[0][5] == "record"
    assert world.execute("select owner_id from ops.lead_assignments").fetchone() == ("1",)


def test_escalate_is_recorded_as_escalate(world: duckdb.DuckDBPyConnection) -> None:
    check_slas(world, sla("escalate"), routing_config(), run_id="r2", as_of=T0 + timedelta(hours=1))
    assert breaches(world)[0][5] == "escalate"


def test_no_clock_runs_before_the_owner_is_in_the_crm(world: duckdb.DuckDBPyConnection) -> None:
    # GIVEN the push has not carried the assignment and the CRM shows no owner
    world.execute("delete from ops.push_state")
    crm(world, owner=None, assigned=None)
    result = check_slas(world, sla(), routing_config(), run_id="r2", as_of=T0 + timedelta(days=1))
    assert result.checked == 0 and breaches(world) == []


def test_owners_kept_from_the_crm_are_off_the_clock_unless_asked(
    world: duckdb.DuckDBPyConnection,
) -> None:
    world.execute("update ops.lead_assignments set action = 'sticky'")
    later = T0 + timedelta(hours=1)
    assert check_slas(world, sla(), routing_config(), run_id="r2", as_of=later).checked == 0
    kept = sla(include_kept_owners=True)
    assert check_slas(world, kept, routing_config(), run_id="r3", as_of=later).checked == 1


def test_the_first_matching_policy_applies(world: duckdb.DuckDBPyConnection) -> None:
    world.execute("update ops.lead_scores set temperature = 'warm'")
    # 30 minutes is inside the default policy's 240
    check_slas(world, sla(), routing_config(), run_id="r2", as_of=T0 + timedelta(minutes=30))
    assert breaches(world) == []
    check_slas(world, sla(), routing_config(), run_id="r3", as_of=T0 + timedelta(hours=5))
    assert breaches(world)[0][2] == "default"


@pytest.mark.parametrize(
    ("sla_section", "message"),
    [
        pytest.param(
            {"policies": [{"name": "hot", "within_minutes": 5, "action": "escalate"}]},
            "sla: a policy escalates, so sla.escalate_to needs a manager's email",
            id="escalate-without-manager",
        ),
        pytest.param(
            {"policies": [{"name": "hot", "within_minutes": 0}]},
            "sla.policies.0.within_minutes",
            id="zero-limit",
        ),
        pytest.param(
            {"policies": [{"name": "hot", "within_minutes": 5, "action": "page"}]},
            "sla.policies.0.action",
            id="unknown-action",
        ),
    ],
)
def test_a_bad_sla_config_is_one_clear_line(sla_section: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")) as err:
        parse_settings({"sla": sla_section})
    assert "\n" not in str(err.value)
