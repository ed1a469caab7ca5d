"""Every dbt model gives the same rows on PostgreSQL as on DuckDB.

Needs the dbt-postgres adapter and a server at LEADFLOW_PG_HOST/PORT/USER (default 127.0.0.1:5432,
postgres); skipped when either is missing. The fixture of test_dbt_build is loaded into DuckDB and
built there; leadflow.pg_mirror copies its raw and ops tables into a fresh PostgreSQL database (the
path `leadflow dbt-postgres` takes) and builds there. Then every table and view DuckDB has in the
schemas staging, intermediate and marts (models and seeds, listed from its catalog, so a new model
is compared without touching this file) must exist on PostgreSQL with the same rows.

Both builds get the same fixed `as_of` var, so models that measure time "until now" (hours in stage,
lead age, stale leads) compute the same values on both engines. A last test, without a server,
checks that no relation dbt creates has a name longer than PostgreSQL accepts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from leadflow.dbt import build, run_dbt
from leadflow.pg_mirror import PgSettings, build_on_postgres, mirror_warehouse
from leadflow.warehouse import Warehouse
from tests.dbt_project.postgres_compare import compare_models, throwaway_database
from tests.dbt_project.test_dbt_build import load_fixture

# "Now" for both builds: a week after the fixture's last activity (2026-05-10).
AS_OF = "2026-05-17 12:00:00"
DBT_VARS = {"as_of": AS_OF}

# PostgreSQL's identifier limit (NAMEDATALEN - 1); a longer relation name is an error there.
POSTGRES_MAX_NAME = 63


@pytest.fixture(scope="module")
def pg_database() -> Iterator[PgSettings]:
    yield from throwaway_database("leadflow_dbt_test")


@pytest.mark.postgres
def test_postgres_builds_the_same_rows(pg_database: PgSettings, tmp_path: Path) -> None:
    # GIVEN the fixture in DuckDB, built there
    path = tmp_path / "w.duckdb"
    warehouse = Warehouse(path)
    warehouse.ensure_schema()
    with warehouse.connect() as con:
        load_fixture(con)
    build("prepare", path, target_path=tmp_path / "duckdb_target", dbt_vars=DBT_VARS)
    build("publish", path, target_path=tmp_path / "duckdb_target", dbt_vars=DBT_VARS)

    # AND its raw and ops tables mirrored into PostgreSQL
    mirror = mirror_warehouse(path, pg_database)
    with duckdb.connect(str(path), read_only=True) as con:
        (count_raw_ops,) = con.execute(
            "select count(*) from information_schema.tables"
            " where table_schema in ('raw', 'ops') and table_type = 'BASE TABLE'"
        ).fetchone() or (0,)
    assert len(mirror.tables) == count_raw_ops
    assert mirror.rows > 0

    # WHEN both selectors build on PostgreSQL
    prepare, publish = build_on_postgres(
        path, pg_database, target_path=tmp_path / "pg_target", dbt_vars=DBT_VARS
    )
    assert prepare.success and publish.success

    # THEN every staging, intermediate and mart relation holds the same rows on both engines
    compared = compare_models(path, pg_database)
    assert {relation.split(".")[0] for relation in compared} == {"staging", "intermediate", "marts"}
    assert {"marts.dim_leads", "marts.sync_hubspot__contacts"} <= set(compared)
    assert compared["marts.dim_leads"] == 5  # the fixture's five leads


def test_every_relation_name_fits_postgres(tmp_path: Path) -> None:
    # GIVEN the project as dbt parses it (no database needed)
    run_dbt(["parse"], warehouse_path=tmp_path / "w.duckdb", target_path=tmp_path / "target")
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text(encoding="utf-8"))
    # THEN no model, seed or unit test (each becomes a relation) has a name PostgreSQL rejects
    names = [
        node["name"]
        for section in ("nodes", "unit_tests")
        for node in manifest.get(section, {}).values()
        if node["resource_type"] in {"model", "seed", "snapshot", "unit_test"}
    ]
    assert len(names) > 30
    assert [name for name in names if len(name) > POSTGRES_MAX_NAME] == []
