"""State-aware builds (leadflow/dbt_state.py) on test_dbt_build's hand-made warehouse: a build
leaves the models whose inputs did not change, and what it builds equals dbt's own full build."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest

from leadflow.dbt import DbtError, build
from leadflow.dbt_state import STATE_TABLE, BuildPlan, build_changed
from leadflow.warehouse import Warehouse
from tests.dbt_project.querying import rows
from tests.dbt_project.test_dbt_build import hubspot_contact, load_fixture

# Marts compared with a plain `dbt build`; dim_leads' ages are left out (they move with "now").
COMPARED = {
    "staging.stg_hubspot__contacts": "record_key",
    "intermediate.int_leads_unified": "lead_id",
    "marts.fct_lead_stage_history": "lead_id, stage",
    "marts.sync_hubspot__contacts": "lead_id",
    "marts.rpt_quarantine_reasons": "1, 2",
}


def names(plan: BuildPlan, attribute: str = "build") -> set[str]:
    return {uid.split(".")[2] for uid in getattr(plan, attribute)}


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture's warehouse before any dbt build."""
    path = tmp_path_factory.mktemp("dbt_state") / "seed.duckdb"
    warehouse = Warehouse(path)
    warehouse.ensure_schema()
    with warehouse.connect() as con:
        load_fixture(con)
    return path


@pytest.fixture(scope="module")
def built_once(seeded: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture's warehouse after one state-aware prepare and publish (state stored)."""
    path = tmp_path_factory.mktemp("dbt_state_built") / "w.duckdb"
    shutil.copy(seeded, path)
    target = path.parent / "target"
    for selector in ("prepare", "publish"):
        result, plan = build_changed(selector, path, target_path=target)
        assert result.success and plan.skipped == ()  # a first build builds everything
    return path


def copy_of(path: Path, tmp_path: Path) -> tuple[Path, Path]:
    copy = tmp_path / "w.duckdb"
    shutil.copy(path, copy)
    return copy, path.parent / "target"


def snapshot(path: Path) -> dict[str, list[dict[str, Any]]]:
    return {
        table: rows(path, f"select * from {table} order by {key}")
        for table, key in COMPARED.items()
    }


def test_a_build_with_nothing_new_builds_no_model_and_reruns_no_test_of_it(
    built_once: Path, tmp_path: Path
) -> None:
    path, target = copy_of(built_once, tmp_path)
    before = snapshot(path)
    # WHEN prepare runs again on the same contents
    result, plan = build_changed("prepare", path, target_path=target)
    # THEN no model or seed is built; the only tests run are those whose `where` reads a table
    # of its own (they may change with it)
    assert plan.build == ()
    assert plan.tests and all("ops.lead_records" in where_of(target, uid) for uid in plan.tests)
    assert result.success and set(result.status_counts) == {"pass"}
    # AND publish rebuilds only what measures against now and what reads it (dim_leads onwards)
    _, published = build_changed("publish", path, target_path=target)
    assert {"dim_leads", "rpt_stale_leads", "sync_hubspot__contacts"} <= names(published)
    assert "rpt_quarantine_reasons" not in names(published)
    assert "dim_accounts" not in names(published)
    # AND every table is as it was
    assert snapshot(path) == before


def test_a_new_raw_version_rebuilds_its_staging_and_what_reads_it_and_nothing_else(
    built_once: Path, tmp_path: Path
) -> None:
    path, target = copy_of(built_once, tmp_path)
    # GIVEN a rep logged a sixth touch on HubSpot contact 102 (a new raw version)
    contact = hubspot_contact(
        "102", "2026-05-10T13:00:00.000Z", email="eve@bigco.com", num_contacted_notes="6"
    )
    with duckdb.connect(str(path)) as con:
        con.execute(
            """
            insert into raw.hubspot__contacts (_raw_id, record_id, record_updated_at, payload,
                payload_hash, _run_id, _loaded_at)
            values ('hubspot__contacts-new', '102', timestamp '2026-05-10 13:00:00', ?, 'h-new',
                'run-2', timestamp '2026-05-10 13:00:00')
            """,
            [json.dumps(contact)],
        )
    # WHEN prepare runs
    _, plan = build_changed("prepare", path, target_path=target)
    # THEN the contacts' staging and the models reading it are built, other sources' are not
    assert {"stg_hubspot__contacts", "int_leads_unified"} <= names(plan)
    assert not names(plan) & {"stg_meta__leads", "stg_typeform__responses", "stg_hubspot__deals"}
    assert "unique_stg_hubspot__contacts_record_key" in names(plan, "tests")
    assert not any(name.startswith("unique_stg_meta__leads") for name in names(plan, "tests"))
    # AND the result equals dbt's full build of the same contents
    _, _ = build_changed("publish", path, target_path=target)
    full = tmp_path / "full.duckdb"
    shutil.copy(path, full)
    for selector in ("prepare", "publish"):
        build(selector, full, target_path=tmp_path / "full-target", unit_tests=False)
    assert snapshot(path) == snapshot(full)
    assert rows(
        path,
        "select count_sales_touches from staging.stg_hubspot__contacts where contact_id = '102'",
    ) == [{"count_sales_touches": 6}]


def test_a_failed_build_stores_nothing_so_the_failure_is_not_skipped_next_time(
    built_once: Path, tmp_path: Path
) -> None:
    path, target = copy_of(built_once, tmp_path)
    state_before = rows(path, f"select node_id, input_key from {STATE_TABLE} order by 1")
    # GIVEN scoring wrote a grade the project does not know
    with duckdb.connect(str(path)) as con:
        con.execute("update ops.lead_scores set grade = 'Z' where lead_id = 'lead-bob'")
    # WHEN prepare runs THEN it fails, naming the test and the step
    with pytest.raises(DbtError, match="accepted_values_stg_leadflow__lead_scores_grade") as raised:
        build_changed("prepare", path, target_path=target)
    assert "dbt build --selector prepare (" in str(raised.value)
    # AND a second run on the same rows fails the same way: nothing was marked as built
    with pytest.raises(DbtError, match="accepted_values_stg_leadflow__lead_scores_grade"):
        build_changed("prepare", path, target_path=target)
    publish_nodes = {row["node_id"] for row in rows(path, f"select node_id from {STATE_TABLE}")} - {
        row["node_id"] for row in state_before
    }
    assert not publish_nodes


def test_a_dropped_table_other_vars_or_a_full_refresh_build_again(
    built_once: Path, tmp_path: Path
) -> None:
    path, target = copy_of(built_once, tmp_path)
    with duckdb.connect(str(path)) as con:
        con.execute("drop table marts.rpt_quarantine_reasons")
    # a dropped relation is built again, though its inputs did not change
    _, plan = build_changed("publish", path, target_path=target)
    assert "rpt_quarantine_reasons" in names(plan)
    assert rows(path, "select count(*) as n from marts.rpt_quarantine_reasons")[0]["n"] > 0
    # other vars: the whole step
    _, plan = build_changed(
        "prepare", path, target_path=target, dbt_vars={"staging_lookback_minutes": 6}
    )
    assert plan.skipped == () and "stg_meta__leads" in names(plan)
    # --full-refresh: the whole step, from scratch
    _, plan = build_changed("prepare", path, target_path=target, full_refresh=True)
    assert plan.skipped == ()


def test_the_state_is_off_when_the_setting_says_so(built_once: Path, tmp_path: Path) -> None:
    from leadflow import pipeline
    from leadflow.config import Settings, WarehouseConfig

    path, _ = copy_of(built_once, tmp_path)
    on = Settings(warehouse=WarehouseConfig(path=path))
    off = Settings(warehouse=WarehouseConfig(path=path, skip_unchanged_models=False))
    # the settings' vars are not the fixture build's: the first build is whole, the second not
    assert pipeline.build_models(on, "prepare")["skipped_unchanged"] == 0
    assert pipeline.build_models(on, "prepare")["skipped_unchanged"] > 100
    summary = pipeline.build_models(off, "prepare")
    assert summary["skipped_unchanged"] == 0 and summary["status_counts"]["success"] > 30


def where_of(target: Path, uid: str) -> str:
    """The `where` of a test's config, from the manifest the last build wrote."""
    manifest = json.loads((target / "manifest.json").read_text())
    return str(manifest["nodes"][uid]["config"].get("where") or "")
