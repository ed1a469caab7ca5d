"""The same models on PostgreSQL give the same rows as on DuckDB.

Needs the dbt-postgres adapter, `psql` and a server at LEADFLOW_PG_HOST/PORT/USER (default
127.0.0.1:5432, postgres); skipped when any is missing. The fixture of test_dbt_build is loaded
into DuckDB, copied table by table into a fresh PostgreSQL database, and both targets build
`prepare` then `publish`; every intermediate and mart table must hold the same rows.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import duckdb
import pytest

from leadflow.dbt import build
from leadflow.warehouse import (
    MODEL_DDL,
    NOTIFY_DDL,
    NURTURE_DDL,
    OPS_DDL,
    RAW_STREAMS,
    RAW_TABLE_DDL,
    ROUTING_DDL,
    Warehouse,
)
from tests.dbt_project.test_dbt_build import load_fixture

pytestmark = pytest.mark.postgres

COMPARED_TABLES = (
    "staging.stg_hubspot__contacts",
    "staging.stg_meta__leads",
    "staging.stg_typeform__responses",
    "intermediate.int_leads_unified",
    "intermediate.int_lead_events_unioned",
    "intermediate.int_lead_stages_unpivoted",
    "marts.dim_leads",
    "marts.fct_lead_stage_history",
    "marts.fct_funnel_weekly",
    "marts.rpt_quarantine_reasons",
    "marts.sync_hubspot__contacts",
)
# Set when the row is written, so never equal across two builds.
VOLATILE_COLUMNS = frozenset({"loaded_at"})


def psql(sql: str, *, dbname: str = "postgres") -> str:
    env = {**os.environ, "PGPASSWORD": os.environ.get("LEADFLOW_PG_PASSWORD", "")}
    command = [
        "psql",
        "-h", os.environ.get("LEADFLOW_PG_HOST", "127.0.0.1"),
        "-p", os.environ.get("LEADFLOW_PG_PORT", "5432"),
        "-U", os.environ.get("LEADFLOW_PG_USER", "postgres"),
        "-d", dbname,
        "-v", "ON_ERROR_STOP=1", "-X", "-q", "-At",
    ]  # fmt: skip
    done = subprocess.run(command, input=sql, text=True, capture_output=True, env=env, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip())
    return done.stdout


@pytest.fixture(scope="module")
def pg_database() -> Iterator[str]:
    pytest.importorskip("dbt.adapters.postgres", reason="the dbt-postgres adapter is not installed")
    if shutil.which("psql") is None:
        pytest.skip("psql is not installed")
    try:
        psql("select 1")
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"no PostgreSQL server to test against: {exc}")
    dbname = f"leadflow_dbt_test_{uuid.uuid4().hex[:8]}"
    psql(f"create database {dbname}")
    try:
        yield dbname
    finally:
        psql(f"drop database if exists {dbname} with (force)")


def normalize(value: Any) -> str:
    """One text form for a value read from either engine (psql CSV or DuckDB Python values)."""
    if value is None or value == "":
        return ""
    text = str(value)
    if text in {"True", "true", "t"}:
        return "t"
    if text in {"False", "false", "f"}:
        return "f"
    if re.fullmatch(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?", text):
        # DuckDB prints microseconds in full, PostgreSQL without trailing zeros
        return (
            text.replace("T", " ").rstrip("0").rstrip(".")
            if "." in text
            else text.replace("T", " ")
        )
    try:
        return str(Decimal(text).normalize())
    except InvalidOperation:
        return text


def test_postgres_builds_the_same_rows(
    pg_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the fixture in DuckDB, built there
    path = tmp_path / "w.duckdb"
    warehouse = Warehouse(path)
    warehouse.ensure_schema()
    with warehouse.connect() as con:
        load_fixture(con)
    build("prepare", path, target_path=tmp_path / "duckdb_target")
    build("publish", path, target_path=tmp_path / "duckdb_target")

    # AND the same raw and ops rows in PostgreSQL
    ddl = ["create schema raw;", "create schema ops;"]
    ddl += [RAW_TABLE_DDL.format(name=f"{s}__{t}") + ";" for s, t in RAW_STREAMS]
    # every ops table, as Warehouse.ensure_schema creates them
    ops_ddl = [OPS_DDL, ROUTING_DDL, NURTURE_DDL, MODEL_DDL, NOTIFY_DDL]
    psql("\n".join([*ddl, *ops_ddl]), dbname=pg_database)
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables"
            " where table_schema in ('raw', 'ops') and table_type = 'BASE TABLE'"
        ).fetchall()
        for schema, table in tables:
            csv_path = tmp_path / f"{schema}.{table}.csv"
            con.execute(f"copy {schema}.{table} to '{csv_path}' (header, delimiter ',')")
            psql(
                f"\\copy {schema}.{table} from '{csv_path}' with (format csv, header true)",
                dbname=pg_database,
            )

    # WHEN both selectors build on PostgreSQL
    monkeypatch.setenv("LEADFLOW_PG_DBNAME", pg_database)
    prepare = build("prepare", path, target="postgres", target_path=tmp_path / "pg_target")
    publish = build("publish", path, target="postgres", target_path=tmp_path / "pg_target")
    assert prepare.success and publish.success

    # THEN every compared table holds the same rows on both engines
    with duckdb.connect(str(path), read_only=True) as con:
        for table in COMPARED_TABLES:
            schema, name = table.split(".")
            columns = [
                c
                for (c,) in con.execute(
                    "select column_name from information_schema.columns"
                    " where table_schema = ? and table_name = ? order by ordinal_position",
                    [schema, name],
                ).fetchall()
                if c not in VOLATILE_COLUMNS
            ]
            select = f"select {', '.join(columns)} from {table}"
            in_duckdb = sorted(tuple(map(normalize, row)) for row in con.execute(select).fetchall())
            exported = psql(f"copy ({select}) to stdout with csv", dbname=pg_database)
            in_postgres = sorted(
                tuple(map(normalize, row)) for row in csv.reader(io.StringIO(exported))
            )
            assert in_postgres == in_duckdb, table
