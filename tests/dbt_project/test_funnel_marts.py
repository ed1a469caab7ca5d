"""The lifecycle and funnel marts (models/marts/leads, models/marts/funnel) on a hand-made
warehouse: test_dbt_build's five leads plus tests/dbt_project/funnel_fixture.py's outcomes,
built with "now" pinned (var as_of) so ages and staleness are fixed numbers.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from leadflow.dbt import build, run_dbt
from leadflow.warehouse import Warehouse
from tests.dbt_project.funnel_fixture import add_funnel_rows, add_later_activity
from tests.dbt_project.querying import rows
from tests.dbt_project.test_dbt_build import load_fixture

AS_OF = "2026-05-12 12:00:00"
COUNTS = ("leads", "mqls", "sqls", "opportunities", "won", "lost", "disqualified", "recycled")
SLICE = ("source", "campaign", "owner_id", "segment")


@dataclass(frozen=True)
class Built:
    path: Path
    target_path: Path


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = tmp_path_factory.mktemp("funnel_marts")
    path = root / "w.duckdb"
    warehouse = Warehouse(path)
    warehouse.ensure_schema()
    with warehouse.connect() as con:
        load_fixture(con)
        add_funnel_rows(con)
    target_path = root / "target"
    build("prepare", path, target_path=target_path, dbt_vars={"as_of": AS_OF})
    build("publish", path, target_path=target_path, dbt_vars={"as_of": AS_OF})
    return Built(path, target_path)


@pytest.fixture
def query(built: Built) -> Any:
    def run(sql: str) -> list[dict[str, Any]]:
        return rows(built.path, sql)

    return run


def test_dim_leads_outcomes_segment_and_ages(query: Any) -> None:
    got = {r["lead_id"]: r for r in query("select * from marts.dim_leads")}
    # GIVEN ann's only deal closed lost THEN she is lost, at its close, and no longer open
    ann = got["lead-ann"]
    assert (ann["is_lost"], ann["lost_at"], ann["is_open"]) == (
        True,
        datetime(2026, 5, 8, 12),
        False,
    )
    # GIVEN the recycle flow closed bob THEN he is disqualified then
    bob = got["lead-bob"]
    assert (bob["is_disqualified"], bob["disqualified_at"]) == (True, datetime(2026, 5, 9, 9))
    dee = got["lead-dee"]
    assert (dee["is_recycled"], dee["recycled_at"], dee["count_recycles"], dee["is_open"]) == (
        True,
        datetime(2026, 5, 8, 10),
        1,
        True,
    )
    # AND segments come from the employee band
    assert got["lead-eve"]["segment"] == "enterprise"
    assert got["lead-ann"]["segment"] == "unknown"
    # AND ages run to the pinned as_of: dee was created 2026-04-30 11:00, last active 04-30 15:00
    assert dee["lead_age_days"] == Decimal("12.04")
    assert dee["days_since_activity"] == Decimal("11.88")


def test_stage_history_ends_with_the_outcome(query: Any) -> None:
    got = query(
        """
        select lead_id, stage, stage_order, is_terminal, exited_at, next_stage, is_current,
               hours_in_stage
        from marts.fct_lead_stage_history
        where lead_id in ('lead-ann', 'lead-bob')
        order by lead_id, stage_order
        """
    )
    assert [tuple(r.values()) for r in got] == [
        ("lead-ann", "lead", 1, False, datetime(2026, 4, 29, 12), "mql", False, Decimal("50")),
        ("lead-ann", "mql", 2, False, datetime(2026, 5, 1, 9, 30), "sql", False, Decimal("45.5")),
        ("lead-ann", "sql", 3, False, datetime(2026, 5, 3, 10), "opportunity", False,
         Decimal("48.5")),
        # the lost deal closes the opportunity stay: 05-03 10:00 -> 05-08 12:00
        ("lead-ann", "opportunity", 4, False, datetime(2026, 5, 8, 12), "lost", False,
         Decimal("122")),
        ("lead-ann", "lost", 6, True, None, None, True, None),
        ("lead-bob", "lead", 1, False, datetime(2026, 5, 9, 9), "disqualified", False,
         Decimal("235")),
        ("lead-bob", "disqualified", 7, True, None, None, True, None),
    ]  # fmt: skip
    # a current stay has no length in the fact (it would depend on "now"): cy is still an MQL
    cy = query(
        "select is_current, hours_in_stage from marts.fct_lead_stage_history"
        " where lead_id = 'lead-cy' and stage = 'mql'"
    )
    assert cy == [{"is_current": True, "hours_in_stage": None}]


def test_daily_funnel_counts_each_entry_on_its_day(query: Any) -> None:
    got = query(
        "select * from marts.rpt_funnel_daily where activity_date = '2026-05-08' order by source"
    )
    # GIVEN on 05-08 ann's deal was lost, dee was recycled and eve became an SQL
    assert [(r["source"], r["owner_id"], r["segment"], *(r[c] for c in COUNTS)) for r in got] == [
        ("hubspot", "unassigned", "enterprise", 0, 0, 1, 0, 0, 0, 0, 0),
        ("meta", "unassigned", "unknown", 0, 0, 0, 0, 0, 0, 0, 1),
        ("typeform", "51000001", "unknown", 0, 0, 0, 0, 0, 1, 0, 0),
    ]  # fmt: skip
    totals = query(
        "select " + ", ".join(f"sum({c}) as {c}" for c in COUNTS) + " from marts.rpt_funnel_daily"
    )[0]
    # THEN the totals are the fixture's stage entries: 5 leads, ann/cy/dee MQL, ann/eve SQL ...
    assert [totals[c] for c in COUNTS] == [5, 3, 2, 1, 1, 1, 1, 1]


def test_weekly_funnel_period_rates(query: Any) -> None:
    got = query(
        """
        select * from marts.rpt_funnel_weekly
        where activity_week = '2026-04-27' and source = 'meta'
        """
    )
    # GIVEN bob (bob's owner) and dee (unassigned) entered in the week of 04-27
    dee = next(r for r in got if r["owner_id"] == "unassigned")
    assert (dee["leads"], dee["mqls"], dee["lead_to_mql"], dee["lead_to_mql_drop_off"]) == (
        1,
        1,
        Decimal("1"),
        Decimal("0"),
    )
    # THEN a stage nobody entered has no rate, rather than a zero
    assert (dee["mql_to_sql"], dee["sql_to_opportunity"]) == (Decimal("0"), None)


def test_cohort_conversion_and_qualified_lead_rate(query: Any) -> None:
    got = {
        (str(r["created_week"]), r["source"]): r
        for r in query("select * from marts.rpt_cohort_conversion")
    }
    meta = got[("2026-04-27", "meta")]  # bob (disqualified as a lead) and dee (mql)
    assert [meta[c] for c in ("leads", "mqls", "sqls", "won", "disqualified")] == [2, 1, 0, 0, 1]
    assert meta["qualified_lead_rate"] == Decimal("0.5")
    ann = got[("2026-04-27", "typeform")]
    assert (ann["opportunities"], ann["lost"], ann["opportunity_to_won"]) == (1, 1, Decimal("0"))


def test_time_in_stage_and_lead_age(query: Any) -> None:
    stages = {r["stage"]: r for r in query("select * from marts.rpt_time_in_stage")}
    # lead stays: ann 50 h, bob 235 h, cy 24 h, dee 4 h, eve 24 h
    lead = stages["lead"]
    assert (lead["entries"], lead["exits"], lead["mean_hours"], lead["median_hours"]) == (
        5,
        5,
        Decimal("67.4"),
        Decimal("24"),
    )
    assert lead["p90_hours"] == Decimal("161")  # 50 + 0.6 * (235 - 50)
    assert (stages["won"]["entries"], stages["won"]["exits"], stages["won"]["mean_hours"]) == (
        1,
        0,
        None,
    )
    assert set(stages) == {"lead", "mql", "sql", "opportunity", "won"}
    ages = {r["current_stage"]: r for r in query("select * from marts.rpt_lead_age")}
    assert (ages["mql"]["leads"], ages["mql"]["open_leads"]) == (2, 2)


def test_stale_leads(query: Any) -> None:
    got = query("select * from marts.rpt_stale_leads")
    # dee has sat in mql since 04-30 15:00 (limit 7 days); cy only since 05-06 09:00; ann, bob
    # and eve are closed
    assert [
        (r["lead_id"], r["current_stage"], r["days_in_stage"], r["stale_after_days"],
         r["is_stale"], r["is_dead"])
        for r in got
    ] == [("lead-dee", "mql", Decimal("11.88"), 7, True, False)]  # fmt: skip


def test_nurture_requalification(query: Any) -> None:
    got = query(
        "select * from marts.rpt_nurture_requalification order by nurture_track, enrolled_week"
    )
    assert [
        (str(r["enrolled_week"]), r["enrolled"], r["requalified"], r["requalification_rate"])
        for r in got
    ] == [("2026-04-27", 1, 0, Decimal("0")), ("2026-05-04", 2, 1, Decimal("0.5"))]


def funnel_daily(path: Path) -> list[tuple[Any, ...]]:
    return [
        tuple(r.values())
        for r in rows(
            path,
            "select * from marts.rpt_funnel_daily order by activity_date, " + ", ".join(SLICE),
        )
    ]


def add_contact_version(con: duckdb.DuckDBPyConnection, contact_id: str, **properties: str) -> None:
    """A newer raw version of a HubSpot contact, loaded after the first build, with `properties`
    changed."""
    (payload, updated, loaded) = con.execute(
        "select payload, record_updated_at, _loaded_at from raw.hubspot__contacts"
        " where record_id = ? order by record_updated_at desc limit 1",
        [contact_id],
    ).fetchone() or (None, None, None)
    assert payload is not None
    contact = json.loads(payload)
    contact["properties"].update(properties)
    con.execute(
        """
        insert into raw.hubspot__contacts
            (_raw_id, record_id, _partition, record_updated_at, payload, payload_hash, _run_id,
             _loaded_at)
        values (?, ?, null, ?, ?, ?, 'run-later', ?)
        """,
        [f"hubspot__contacts-{contact_id}-later", contact_id, updated + timedelta(days=1),
         json.dumps(contact), f"h-{contact_id}-later", loaded + timedelta(days=1)],
    )  # fmt: skip


# The incremental models of the prepare step, compared with a full refresh like the facts.
INCREMENTAL_PREPARE = (
    "staging.stg_hubspot__contacts",
    "staging.stg_meta__leads",
    "staging.stg_typeform__responses",
    "intermediate.int_leads_unified",
)


def test_incremental_funnel_events_match_a_full_refresh(built: Built, tmp_path: Path) -> None:
    # GIVEN a built warehouse, then later activity: a new lead and an assignment of lead-cy
    path = tmp_path / "w.duckdb"
    shutil.copy(built.path, path)
    with duckdb.connect(str(path)) as con:
        add_later_activity(con)
        # AND a newer raw version of ann's HubSpot contact: more page views, a new lifecycle stage
        add_contact_version(
            con, "101", hs_analytics_num_page_views="42", lifecyclestage="salesqualifiedlead"
        )
        # AND contact 102 was loaded a day before the others (outside the staging lookback)
        con.execute(
            "update raw.hubspot__contacts set _loaded_at = _loaded_at - interval 1 day"
            " where record_id = '102'"
        )
        con.execute(
            "update staging.stg_hubspot__contacts set loaded_at = loaded_at - interval 1 day"
            " where contact_id = '102'"
        )
        # AND lead-cy's stored events were derived from an older state of hers: one on a day she
        # no longer has (as a rewritten CRM date leaves), all under another funnel_state_hash
        con.execute(
            "update marts.fct_lead_funnel_events"
            " set occurred_at = '2026-04-01 00:00:00', activity_date = '2026-04-01'"
            " where lead_id = 'lead-cy' and event = 'lead'"
        )
        for fact in ("fct_lead_funnel_events", "fct_lead_stage_history"):
            con.execute(
                f"update marts.{fact} set funnel_state_hash = 'older' where lead_id = 'lead-cy'"
            )
        # AND lead-eve was merged into lead-ann since: her records now resolve to ann
        con.execute("update ops.lead_identity set lead_id = 'lead-ann' where lead_id = 'lead-eve'")
        (unchanged,) = con.execute(
            "select min(lead_id) from marts.fct_lead_funnel_events"
            " where lead_id not in ('lead-cy', 'lead-fay', 'lead-ann', 'lead-eve')"
        ).fetchone() or (None,)
        assert unchanged is not None
    # AND a copy where an unchanged lead's stored event is tampered with: whether the incremental
    # build rewrites it shows whether it re-derived that lead
    tampered = tmp_path / "tampered.duckdb"
    shutil.copy(path, tampered)
    with duckdb.connect(str(tampered)) as con:
        con.execute(
            "update marts.fct_lead_funnel_events set activity_date = '2026-01-01' where lead_id = ?",
            [unchanged],
        )
        # (the same for the unchanged lead's unified row and its records' staged rows)
        con.execute(
            "update intermediate.int_leads_unified set company = 'tampered' where lead_id = ?",
            [unchanged],
        )
        con.execute("update staging.stg_hubspot__contacts set analytics_source = 'tampered'")
    hourly_vars = {"as_of": AS_OF}

    # WHEN the hourly run builds both incrementally
    for warehouse in (path, tampered):
        for selector in ("prepare", "publish"):
            run_dbt(
                ["run", "--selector", selector],
                warehouse_path=warehouse,
                target_path=built.target_path,
                dbt_vars=hourly_vars,
            )

    # THEN the incremental result equals a full refresh of the same data
    refreshed = tmp_path / "refreshed.duckdb"
    shutil.copy(path, refreshed)
    run_dbt(
        ["run", "--full-refresh"],
        warehouse_path=refreshed,
        target_path=built.target_path,
        dbt_vars=hourly_vars,
    )
    for relation in (
        *INCREMENTAL_PREPARE,
        "marts.fct_lead_stage_history",
        "marts.fct_lead_funnel_events",
    ):
        every_row = f"select * from {relation} order by all"
        assert rows(path, every_row) == rows(refreshed, every_row), relation
    # AND ann's row holds her contact's newest version and eve's records (merged into her)
    (ann,) = rows(path, "select * from intermediate.int_leads_unified where lead_id = 'lead-ann'")
    assert (ann["page_views"], ann["lifecycle_stage"]) == (42, "salesqualifiedlead")
    assert ann["count_records"] == 3
    assert (
        rows(path, "select * from intermediate.int_leads_unified where lead_id = 'lead-eve'") == []
    )
    incremental = funnel_daily(path)
    assert incremental == funnel_daily(refreshed)
    # AND the merged-away lead-eve has no rows left in either fact
    for fact in ("fct_lead_stage_history", "fct_lead_funnel_events"):
        assert rows(path, f"select * from marts.{fact} where lead_id = 'lead-eve'") == []
    # AND lead-cy's moved event left nothing behind on its old day
    assert date(2026, 4, 1) not in {r[0] for r in incremental}
    # AND it holds the new activity: fay's lead, and cy's days moved to her new owner
    by_day = {(r[0], r[3]): r for r in incremental}
    assert by_day[(date(2026, 5, 11), "unassigned")][5] == 1  # fay, leads = 1
    assert (date(2026, 5, 5), "unassigned") not in by_day
    assert by_day[(date(2026, 5, 5), "51000001")][5] == 1
    # AND only changed leads were re-derived: the unchanged lead's tampered events stay as they were
    kept = rows(
        tampered,
        f"select distinct activity_date from marts.fct_lead_funnel_events where lead_id = '{unchanged}'",
    )
    assert [str(r["activity_date"]) for r in kept] == ["2026-01-01"]
    (company,) = rows(
        tampered,
        f"select company from intermediate.int_leads_unified where lead_id = '{unchanged}'",
    )
    assert company["company"] == "tampered"
    # (a contact with no raw version loaded since the last build's lookback is not staged again:
    # 101 has its source back, 102 keeps the tampered one)
    staged = rows(tampered, "select * from staging.stg_hubspot__contacts order by contact_id")
    assert [(r["contact_id"], r["analytics_source"] == "tampered") for r in staged] == [
        ("101", False),
        *((r["contact_id"], True) for r in staged[1:]),
    ]
    assert len(staged) > 1


def test_facts_built_before_the_state_hash_are_derived_again(built: Built, tmp_path: Path) -> None:
    # GIVEN incremental facts built by an earlier LeadFlow: no funnel_state_hash, and the funnel
    # events' old watermark column
    path = tmp_path / "w.duckdb"
    shutil.copy(built.path, path)
    with duckdb.connect(str(path)) as con:
        for fact in ("fct_lead_stage_history", "fct_lead_funnel_events"):
            con.execute(f"alter table marts.{fact} drop column funnel_state_hash")
        con.execute("alter table marts.fct_lead_funnel_events add column lead_changed_at timestamp")
        con.execute("delete from marts.fct_lead_funnel_events where event = 'lead'")

    # WHEN the hourly publish runs
    run_dbt(
        ["run", "--selector", "publish"],
        warehouse_path=path,
        target_path=built.target_path,
        dbt_vars={"as_of": AS_OF},
    )

    # THEN every lead was derived again: the facts equal the first build's, hash column included
    for fact in ("fct_lead_stage_history", "fct_lead_funnel_events"):
        every_row = f"select * from marts.{fact} order by lead_id, occurred_at"
        if fact == "fct_lead_stage_history":
            every_row = every_row.replace("occurred_at", "stage_order")
        assert rows(path, every_row) == rows(built.path, every_row), fact
