"""On the sandbox world every metric exists as a table on both targets with identical values.

The session fixture `synced_world` is one real lead_sync run on a 150-person sandbox world. Its
warehouse is copied, rebuilt on DuckDB with a pinned `as_of`, mirrored into a fresh PostgreSQL
database with leadflow.pg_mirror (the `leadflow dbt-postgres` path) and built there with the same
vars; then every staging, intermediate and mart relation is compared row for row. Needs the
dbt-postgres adapter and a PostgreSQL server (see test_dbt_postgres); skipped without them.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from leadflow.dbt import build
from leadflow.pg_mirror import PgSettings, build_on_postgres, mirror_warehouse
from tests.conftest import SyncedWorld
from tests.dbt_project.postgres_compare import compare_models, throwaway_database

pytestmark = pytest.mark.postgres

# Marts that may hold no rows on a world synced once, and why; every other mart must have rows.
# None today: the world has deals (pipeline velocity), ad spend, nurture enrolments, quarantined
# records, SLA-timed first touches and leads idle long enough to be stale. A new mart that can be
# empty on it goes here with the reason, e.g. {"rpt_x": "needs a second run to have a change"}.
MAY_BE_EMPTY: dict[str, str] = {
    # The world syncs HubSpot, Meta and Typeform: no lead has a Pipedrive person to update
    # (tests/flows/test_all_sources.py pushes to Pipedrive).
    "sync_pipedrive__persons": "no Pipedrive source in the shipped leadflow.yml",
}


@dataclass(frozen=True)
class BothBuilt:
    warehouse: Path
    compared: dict[str, int]


@pytest.fixture(scope="module")
def world_pg() -> Iterator[PgSettings]:
    yield from throwaway_database("leadflow_world_test")


@pytest.fixture(scope="module")
def both_built(
    synced_world: SyncedWorld, world_pg: PgSettings, tmp_path_factory: pytest.TempPathFactory
) -> BothBuilt:
    tmp = tmp_path_factory.mktemp("world_pg")
    path = tmp / "warehouse.duckdb"
    shutil.copyfile(synced_world.warehouse, path)
    dbt_vars = {"as_of": synced_world.as_of.strftime("%Y-%m-%d %H:%M:%S")}
    build("prepare", path, target_path=tmp / "duckdb_target", dbt_vars=dbt_vars)
    build("publish", path, target_path=tmp / "duckdb_target", dbt_vars=dbt_vars)
    mirror_warehouse(path, world_pg)
    build_on_postgres(path, world_pg, target_path=tmp / "pg_target", dbt_vars=dbt_vars)
    return BothBuilt(path, compare_models(path, world_pg))


def test_every_relation_holds_the_same_rows_on_both_targets(both_built: BothBuilt) -> None:
    # GIVEN the synced sandbox world built on DuckDB and on PostgreSQL (compare_models asserted
    # equality of every relation while building the fixture)
    with duckdb.connect(str(both_built.warehouse), read_only=True) as con:
        marts = {
            f"marts.{name}"
            for (name,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts'"
            ).fetchall()
        }
    # THEN every mart was compared, among them the metrics issue 7 asks for
    assert marts <= set(both_built.compared)
    assert {
        "marts.dim_leads",
        "marts.fct_lead_stage_history",
        "marts.rpt_funnel_weekly",
        "marts.rpt_cohort_conversion",
        "marts.rpt_speed_to_lead",
        "marts.sync_hubspot__contacts",
    } <= marts


def test_every_mart_has_rows_on_the_sandbox_world(
    both_built: BothBuilt, synced_world: SyncedWorld
) -> None:
    # GIVEN a world of 150 people, synced once
    leads = synced_world.summary["leads"]
    assert leads > 100
    # THEN every mart has rows, except those listed with a reason
    empty = {
        relation
        for relation, rows in both_built.compared.items()
        if relation.startswith("marts.") and rows == 0
    }
    assert empty <= {f"marts.{name}" for name in MAY_BE_EMPTY}, sorted(empty)
    # AND dim_leads holds one row per lead of the run
    assert both_built.compared["marts.dim_leads"] == leads
