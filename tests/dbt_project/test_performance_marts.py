"""The performance marts (dbt_project/models/marts/performance) on the dbt fixture, end to end.

The fixture is test_dbt_build's five leads, four deals and Meta spend, plus what
`load_performance_fixture` adds:
- eve is assigned to sam (51000002) a minute after she was created, and her HubSpot contact gets a
  newer version with sam's first sales engagement 4 minutes after she was created (ann's, from the
  base fixture, came 23 h 20 min after her Typeform response, before LeadFlow assigned her);
- two first-touch SLA breaches: bob's owner (51000002) missed the default policy, and a rep who
  no longer owns ann (51000009) missed the hot one before she was re-routed to 51000001.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from leadflow.dbt import DbtRunResult, build, run_dbt
from leadflow.warehouse import Warehouse
from tests.dbt_project.querying import rows
from tests.dbt_project.test_dbt_build import LOADED, RAW_HUBSPOT_CONTACTS, RUN, load_fixture, ts

# eve: created 2026-05-07 08:00 (her contact's createdate), assigned at 08:01, touched at 08:04
EVE_ASSIGNED_AT = "2026-05-07 08:01:00"
EVE_FIRST_ENGAGEMENT = "2026-05-07T08:04:00.000Z"

# lead_id, owner_id, owner_email, policy, assigned_at, due_at, touched_at, breached_at, action,
# new_owner
SLA_BREACHES = [
    ("lead-bob", "51000002", "sam@ourco.com", "default", "2026-05-10 12:00:00",
     "2026-05-11 12:00:00", None, "2026-05-11 13:00:00", "record", None),
    ("lead-ann", "51000009", "old.rep@ourco.com", "hot", "2026-04-27 10:30:00",
     "2026-04-27 10:35:00", None, "2026-04-27 11:00:00", "reroute", "51000001"),
]  # fmt: skip


def load_performance_fixture(con: duckdb.DuckDBPyConnection) -> None:
    """Add a first touch, an assignment and SLA breaches to test_dbt_build's fixture (load that
    first)."""
    record_id, _, payload = RAW_HUBSPOT_CONTACTS[-1]
    assert record_id == "102", "the base fixture's last contact is eve's"
    touched = copy.deepcopy(payload)
    touched["properties"]["hs_sa_first_engagement_date"] = EVE_FIRST_ENGAGEMENT
    touched["properties"]["hs_sa_first_engagement_object_type"] = "CALL"
    touched["properties"]["lastmodifieddate"] = touched["updatedAt"] = "2026-05-09T17:00:00.000Z"
    con.execute(
        """
        insert into raw.hubspot__contacts
            (_raw_id, record_id, _partition, record_updated_at, payload, payload_hash, _run_id,
             _loaded_at)
        values ('hubspot__contacts-eve-touched', '102', null, ?, ?, 'h-eve-touched', ?, ?)
        """,
        [ts("2026-05-09 17:00:00"), json.dumps(touched), RUN, LOADED],
    )
    con.execute(
        """
        insert into ops.lead_assignments
            (lead_id, owner_id, owner_email, pool, rule, reason, assigned_at, run_id)
        values ('lead-eve', '51000002', 'sam@ourco.com', null, 'existing_owner', 'test', ?, ?)
        """,
        [ts(EVE_ASSIGNED_AT), RUN],
    )
    for breach in SLA_BREACHES:
        lead_id, owner_id, email, policy, assigned, due, touched_at, breached, action, new = breach
        con.execute(
            """
            insert into ops.sla_breaches
                (lead_id, owner_id, owner_email, policy, assigned_at, due_at, touched_at,
                 breached_at, action, new_owner, run_id)
            values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [lead_id, owner_id, email, policy, ts(assigned), ts(due),
             ts(touched_at) if touched_at else None, ts(breached), action, new, RUN],
        )  # fmt: skip


@dataclass(frozen=True)
class Built:
    path: Path
    target_path: Path
    publish: DbtRunResult


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = tmp_path_factory.mktemp("performance_marts")
    path = root / "w.duckdb"
    warehouse = Warehouse(path)
    warehouse.ensure_schema()
    with warehouse.connect() as con:
        load_fixture(con)
        load_performance_fixture(con)
    target_path = root / "target"
    build("prepare", path, target_path=target_path)
    publish = build("publish", path, target_path=target_path)
    return Built(path, target_path, publish)


@pytest.fixture
def query(built: Built) -> Any:
    def run(sql: str) -> list[dict[str, Any]]:
        return rows(built.path, sql)

    return run


def test_publish_builds_and_tests_the_performance_marts(built: Built) -> None:
    # GIVEN the fixture WHEN publish ran THEN nothing failed
    assert built.publish.success and built.publish.failed == ()
    # AND it built every performance mart and ran their unit tests and reconciliation tests
    results = json.loads((built.target_path / "run_results.json").read_text(encoding="utf-8"))
    passed = {
        r["unique_id"].split(".")[-1]
        for r in results["results"]
        if r["status"] in ("success", "pass")
    }
    marts = {
        "fct_lead_first_touch",
        "rpt_speed_to_lead",
        "rpt_pipeline_velocity",
        "rpt_source_attribution",
        "rpt_rep_leaderboard",
        "rpt_data_completeness",
    }
    assert marts <= passed
    assert {
        "test_performance_speed_to_lead_reconciles",
        "test_performance_attribution_reconciles",
        "test_performance_leaderboard_reconciles",
        "test_fct_lead_first_touch_timing",
        "test_rpt_speed_to_lead_groups_and_totals",
        "test_rpt_pipeline_velocity_by_month",
        "test_rpt_source_attribution_first_and_last_touch",
        "test_rpt_source_attribution_without_spend_or_deals",
        "test_rpt_rep_leaderboard",
        "test_rpt_data_completeness",
    } <= passed


def test_first_touch_is_incremental_by_lead_and_equals_a_full_refresh(
    built: Built, tmp_path: Path
) -> None:
    import shutil

    path = tmp_path / "w.duckdb"
    shutil.copy(built.path, path)
    with duckdb.connect(str(path)) as con:
        # GIVEN a mark on ann's stored row that no derivation would write
        con.execute(
            "update marts.fct_lead_first_touch set campaign = 'kept' where lead_id = 'lead-ann'"
        )
        # AND the SLA check saw eve's owner miss her first touch
        con.execute(
            """
            insert into ops.sla_breaches (lead_id, owner_id, owner_email, policy, assigned_at,
                due_at, touched_at, breached_at, action, new_owner, run_id)
            values ('lead-eve', '51000002', 'sam@ourco.com', 'late', ?, ?, null, ?, 'record',
                null, 'run-2')
            """,
            [ts("2026-05-07 08:01:00"), ts("2026-05-07 08:06:00"), ts("2026-05-07 08:07:00")],
        )
    # WHEN publish builds incrementally
    build("publish", path, target_path=tmp_path / "target", unit_tests=False)
    query = "select * from marts.fct_lead_first_touch order by lead_id"
    incremental = {r["lead_id"]: r for r in rows(path, query)}
    # THEN eve's row is derived again with the breach
    assert (
        incremental["lead-eve"]["sla_breached"],
        incremental["lead-eve"]["count_sla_breaches"],
    ) == (
        True,
        1,
    )
    # AND ann's inputs did not change: her row was not read again (the mark stayed)
    assert incremental["lead-ann"]["campaign"] == "kept"
    # AND apart from the mark, the table equals a full refresh of the same warehouse
    run_dbt(
        ["build", "--select", "fct_lead_first_touch", "--full-refresh"],
        warehouse_path=path,
        target_path=tmp_path / "target",
    )
    full = {r["lead_id"]: r for r in rows(path, query)}
    incremental["lead-ann"]["campaign"] = full["lead-ann"]["campaign"]
    assert incremental == full


def test_first_touch_per_lead(query: Any) -> None:
    rows = {
        r["lead_id"]: r
        for r in query(
            """
            select lead_id, source, owner_id, first_touch_at, minutes_to_first_touch,
                is_within_5_minutes, count_sales_touches, minutes_assigned_to_first_touch,
                sla_breached, count_sla_breaches
            from marts.fct_lead_first_touch
            """
        )
    }
    # THEN ann (Typeform 04-27 10:00, first call 04-28 09:20) waited 23 h 20 min
    ann = rows["lead-ann"]
    assert (ann["first_touch_at"], ann["minutes_to_first_touch"]) == (
        ts("2026-04-28 09:20:00"),
        Decimal("1400.00"),
    )
    assert (ann["is_within_5_minutes"], ann["count_sales_touches"]) == (False, 3)
    # AND she was touched before LeadFlow assigned her: no response time for her owner
    assert ann["minutes_assigned_to_first_touch"] is None
    # AND her breach counts although the rep who missed it no longer owns her
    assert (ann["owner_id"], ann["sla_breached"], ann["count_sla_breaches"]) == (
        "51000001",
        True,
        1,
    )
    # AND eve was called 4 minutes after she came in, 3 after sam got her
    eve = rows["lead-eve"]
    assert (eve["minutes_to_first_touch"], eve["is_within_5_minutes"]) == (Decimal("4.00"), True)
    assert (eve["owner_id"], eve["minutes_assigned_to_first_touch"]) == (
        "51000002",
        Decimal("3.00"),
    )
    assert eve["sla_breached"] is False
    # AND an untouched lead is not within five minutes, and has no timing
    bob = rows["lead-bob"]
    assert (bob["first_touch_at"], bob["minutes_to_first_touch"]) == (None, None)
    assert (bob["is_within_5_minutes"], bob["sla_breached"]) == (False, True)


def test_speed_to_lead_by_source_and_rep(query: Any) -> None:
    rows = {
        (r["source"], r["owner_id"]): r
        for r in query(
            """
            select source, owner_id, leads, touched_leads, median_minutes, p90_minutes,
                share_within_5_minutes, sla_breaches
            from marts.rpt_speed_to_lead
            """
        )
    }

    def figures(source: str, owner_id: str) -> tuple[Any, ...]:
        return tuple(list(rows[(source, owner_id)].values())[2:])

    # THEN every lead: 2 of 5 touched (4 and 1400 minutes), 1 of 5 within five minutes
    assert figures("all", "all") == (
        5, 2, Decimal("702.00"), Decimal("1260.40"), Decimal("0.2000"), 2,
    )  # fmt: skip
    # AND per source: Typeform's two leads (ann touched late, cy never)
    assert figures("typeform", "all") == (2, 1, Decimal("1400.00"), Decimal("1400.00"),
                                          Decimal("0.0000"), 1)  # fmt: skip
    assert figures("hubspot", "51000002") == (1, 1, Decimal("4.00"), Decimal("4.00"),
                                              Decimal("1.0000"), 0)  # fmt: skip
    # AND per rep: sam has eve (4 minutes) and bob (never touched, his SLA breached)
    assert figures("all", "51000002") == (2, 1, Decimal("4.00"), Decimal("4.00"),
                                          Decimal("0.5000"), 1)  # fmt: skip
    # AND the breach on ann counts against the rep who missed it, who owns nothing now
    assert figures("all", "51000009") == (0, 0, None, None, None, 1)
    assert figures("all", "51000001")[:3] == (1, 1, Decimal("1400.00"))
    assert figures("all", "unassigned") == (2, 0, None, None, Decimal("0.0000"), 0)


def test_pipeline_velocity_by_month(query: Any) -> None:
    rows = query("select * from marts.rpt_pipeline_velocity order by period_month")
    # THEN May 2026: four deals created (12000, 5000, 2500.75, 1000: 5125.19 on average), one won
    # (eve's, in 31 hours: 1.29 days) and one lost: 4 x 5125.19 x 0.5 / 1.29 a day
    assert [(str(r["period_month"]), r["opportunities"], r["won"], r["lost"]) for r in rows] == [
        ("2026-05-01", 4, 1, 1)
    ]
    may = rows[0]
    assert (may["avg_deal_value"], may["win_rate"], may["avg_cycle_days"]) == (
        Decimal("5125.19"),
        Decimal("0.5000"),
        Decimal("1.29"),
    )
    assert (may["won_amount"], may["velocity_per_day"]) == (Decimal("12000.00"), Decimal("7946.03"))


def test_source_attribution_first_and_last_touch(query: Any) -> None:
    rows = {
        (r["attribution_model"], r["source"], r["campaign"]): r
        for r in query("select * from marts.rpt_source_attribution")
    }
    # THEN bob and dee came through Meta's Spring campaign, which spent 40.00 + 35.50 (the
    # restated day): 37.75 a lead
    spring = rows[("first_touch", "meta", "Spring")]
    assert (spring["leads"], spring["mqls"], spring["spend"], spring["cost_per_lead"]) == (
        2,
        1,
        Decimal("75.50"),
        Decimal("37.75"),
    )
    # AND Summer spent 20.00 and brought no lead: a row, but no cost per lead
    summer = rows[("first_touch", "meta", "Summer")]
    assert (summer["leads"], summer["spend"], summer["cost_per_lead"]) == (
        0,
        Decimal("20.00"),
        None,
    )
    # AND ann's pipeline (her open 5000 deal; the lost one is not pipeline) goes to her first
    # touch, Typeform's 'brand' campaign, and to her last, the HubSpot contact
    brand = rows[("first_touch", "typeform", "brand")]
    assert (brand["pipeline_amount"], brand["won_amount"], brand["spend"]) == (
        Decimal("5000.00"),
        Decimal("0.00"),
        None,
    )
    last_hubspot = rows[("last_touch", "hubspot", "unknown")]
    assert (last_hubspot["leads"], last_hubspot["won"]) == (2, 1)
    assert (last_hubspot["pipeline_amount"], last_hubspot["won_amount"]) == (
        Decimal("17000.00"),
        Decimal("12000.00"),
    )
    # AND under each model every lead is credited once
    for model in ("first_touch", "last_touch"):
        assert sum(r["leads"] for key, r in rows.items() if key[0] == model) == 5


def test_rep_leaderboard(query: Any) -> None:
    rows = {r["owner_id"]: r for r in query("select * from marts.rpt_rep_leaderboard")}
    assert set(rows) == {"51000001", "51000002", "51000009"}
    # THEN rita: ann, contacted (before the assignment: no response time), reached sql
    rita = rows["51000001"]
    assert (rita["owner_email"], rita["assigned"], rita["contacted"], rita["converted"]) == (
        "rita@ourco.com",
        1,
        1,
        1,
    )
    assert (rita["median_response_minutes"], rita["touches_per_lead"]) == (None, Decimal("3.00"))
    # AND sam: bob (never touched, SLA missed) and eve (touched 3 minutes after the assignment,
    # 5 sales touches, won)
    sam = rows["51000002"]
    assert (sam["assigned"], sam["contacted"], sam["converted"], sam["won"]) == (2, 1, 1, 1)
    assert (sam["contact_rate"], sam["conversion_rate"], sam["sla_breaches"]) == (
        Decimal("0.5000"),
        Decimal("0.5000"),
        1,
    )
    assert (sam["median_response_minutes"], sam["touches_per_lead"]) == (
        Decimal("3.00"),
        Decimal("2.50"),
    )
    # AND the rep ann was taken from after a missed hot SLA keeps a row for it
    gone = rows["51000009"]
    assert (gone["owner_email"], gone["assigned"], gone["contact_rate"], gone["sla_breaches"]) == (
        "old.rep@ourco.com",
        0,
        None,
        1,
    )


def test_data_completeness_by_source(query: Any) -> None:
    rows = {r["source"]: r for r in query("select * from marts.rpt_data_completeness")}
    # THEN Meta's two leads: bob has an email, dee a phone, neither a company or a title
    meta = rows["meta"]
    assert [meta[c] for c in ("records", "email_share", "phone_share", "company_share")] == [
        2,
        Decimal("0.5000"),
        Decimal("0.5000"),
        Decimal("0.0000"),
    ]
    assert (meta["job_title_share"], meta["country_share"], meta["name_share"]) == (
        Decimal("0.0000"),
        Decimal("1.0000"),
        Decimal("1.0000"),
    )
    assert meta["completeness"] == Decimal("0.5000")  # (1 + 1 + 0 + 0 + 2 + 2) / 12
    # AND Typeform's: ann's full response and cy's phone-only one
    assert rows["typeform"]["completeness"] == Decimal("0.7500")
    assert rows["hubspot"]["completeness"] == Decimal("0.6667")
