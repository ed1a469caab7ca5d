"""leadflow.pg_mirror and `leadflow dbt-postgres`: the warehouse's raw and ops tables copied into
PostgreSQL exactly (nulls, empty strings, JSON, awkward text, tables the DDL does not know), the
dbt project built there, and one clear line when PostgreSQL is not there.

Tests marked `postgres` need the server (LEADFLOW_PG_*, default 127.0.0.1:5432) and skip without it.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
import yaml
from typer.testing import CliRunner

from leadflow.cli import app
from leadflow.pg_mirror import (
    MirrorError,
    PgSettings,
    PostgresUnreachable,
    connect,
    mirror_warehouse,
    postgres_type,
)
from leadflow.warehouse import Warehouse
from tests.dbt_project.postgres_compare import throwaway_database

runner = CliRunner()
PAYLOAD = {"id": "101", "properties": {"firstname": "Zoë", "company": 'Quote "Co"\tTab\nLine\\'}}
ODD_TEXT = 'O\'Brien\t& Sons\\N "quoted"\nsecond line'
EVIL_TABLE = 'x"; drop schema raw cascade; --'


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def pg() -> Iterator[PgSettings]:
    yield from throwaway_database("leadflow_mirror_test")


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    """A warehouse with awkward values, a table and a column the DDL does not create."""
    path = tmp_path / "w.duckdb"
    Warehouse(path).ensure_schema()
    with duckdb.connect(str(path)) as con:
        con.execute(
            "insert into raw.hubspot__contacts values (?, ?, ?, ?, ?, ?, ?, ?)",
            ["r1", "101", None, datetime(2026, 5, 1, 9, 30, 0, 123456), json.dumps(PAYLOAD),
             "h1", "run-1", datetime(2026, 5, 1, 10, 0)],
        )  # fmt: skip
        con.execute(
            """insert into ops.lead_records
                   (record_key, source, stream, record_id, _raw_id, email, company, first_name,
                    is_free_email, first_seen_at, run_id)
               values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            ["hubspot:contacts:101", "hubspot", "contacts", "101", "r1", "", ODD_TEXT, None,
             True, datetime(2026, 5, 1, 10, 0), "run-1"],
        )  # fmt: skip
        con.execute(
            """insert into ops.lead_records (record_key, source, stream, record_id, _raw_id,
                   first_seen_at, run_id)
               select 'meta:leads:' || i, 'meta', 'leads', i::varchar, 'm' || i,
                      timestamp '2026-05-02 00:00:00', 'run-1'
               from range(25000) as t(i)"""
        )
        con.execute("alter table ops.lead_records add column legacy_note varchar")
        con.execute(
            "create table ops.extra_metrics (amount decimal(18, 2), tags varchar[], day date,"
            " n bigint, ratio double)"
        )
        con.execute(
            "insert into ops.extra_metrics values (12.50, ['a', 'b'], date '2026-05-03', 7, 0.25),"
            " (null, null, null, null, null)"
        )
        con.execute(f'create table ops."{EVIL_TABLE.replace(chr(34), chr(34) * 2)}" (v integer)')
        con.execute(f'insert into ops."{EVIL_TABLE.replace(chr(34), chr(34) * 2)}" values (1)')
    return path


def duckdb_tables(path: Path) -> dict[tuple[str, str], int]:
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables"
            " where table_schema in ('raw', 'ops') and table_type = 'BASE TABLE'"
        ).fetchall()
        return {
            (s, t): con.execute(
                f'select count(*) from {s}."{t.replace(chr(34), chr(34) * 2)}"'
            ).fetchone()[0]  # type: ignore[index]
            for s, t in tables
        }


@pytest.mark.postgres
def test_every_raw_and_ops_table_arrives_with_its_rows(warehouse: Path, pg: PgSettings) -> None:
    # WHEN the warehouse is mirrored
    result = mirror_warehouse(warehouse, pg)

    # THEN every raw and ops table of the DuckDB file is there with as many rows
    expected = duckdb_tables(warehouse)
    assert {(t.schema, t.table): t.rows for t in result.tables} == expected
    assert result.rows == sum(expected.values()) >= 25_004
    with connect(pg) as conn:
        for (schema, table), rows in expected.items():
            (count,) = conn.execute(
                f'select count(*) from {schema}."{table.replace(chr(34), chr(34) * 2)}"'
            ).fetchone()
            assert count == rows, (schema, table)
        # AND the odd table name stayed a name: raw still exists
        assert conn.execute("select count(*) from raw.hubspot__contacts").fetchone() == (1,)


@pytest.mark.postgres
def test_values_arrive_exactly(warehouse: Path, pg: PgSettings) -> None:
    mirror_warehouse(warehouse, pg)
    with connect(pg) as conn:
        # JSON payloads parse to the same object; microseconds survive
        payload, updated = conn.execute(
            "select payload, record_updated_at from raw.hubspot__contacts"
        ).fetchone()
        assert payload == PAYLOAD
        assert updated == datetime(2026, 5, 1, 9, 30, 0, 123456)
        # an empty string stays empty, a null stays null, tabs/quotes/backslashes/newlines survive
        row = conn.execute(
            "select email, company, first_name, is_free_email, legacy_note from ops.lead_records"
            " where record_key = 'hubspot:contacts:101'"
        ).fetchone()
        assert row == ("", ODD_TEXT, None, True, None)
        # a table the DDL does not know is created from DuckDB's types; a list becomes JSON
        extra = conn.execute(
            "select amount, tags, day, n, ratio from ops.extra_metrics order by amount nulls last"
        ).fetchall()
        assert extra == [
            (Decimal("12.50"), ["a", "b"], date(2026, 5, 3), 7, 0.25),
            (None, None, None, None, None),
        ]


@pytest.mark.postgres
def test_what_postgresql_cannot_hold_arrives_readable(tmp_path: Path, pg: PgSettings) -> None:
    # GIVEN what a vendor may send and DuckDB keeps: a NUL in text, a NUL escaped in JSON (in a
    # value and in a key), NaN and Infinity in JSON
    path = tmp_path / "w.duckdb"
    Warehouse(path).ensure_schema()
    with duckdb.connect(str(path)) as con:
        con.execute(
            "insert into raw.hubspot__contacts values (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                "r1",
                "10\x001",
                None,
                datetime(2026, 5, 1),
                '{"a": NaN, "b": "x\\u0000y", "c\\u0000": -Infinity, "d": "Zo\u00eb"}',
                "h",
                "run",
                datetime(2026, 5, 1),
            ],
        )
    # WHEN it is mirrored THEN PostgreSQL holds it, NUL as U+FFFD and NaN/Infinity as null, and
    # reads every field of the JSON as text
    mirror_warehouse(path, pg)
    with connect(pg) as conn:
        row = conn.execute(
            "select record_id, payload->>'a', payload->>'b', payload->>'c\ufffd', payload->>'d'"
            " from raw.hubspot__contacts"
        ).fetchone()
    assert row == ("10\ufffd1", None, "x\ufffdy", None, "Zoë")


@pytest.mark.postgres
def test_a_second_mirror_replaces_the_first(warehouse: Path, pg: PgSettings) -> None:
    # GIVEN a mirror, then rows deleted from the warehouse
    mirror_warehouse(warehouse, pg)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("delete from ops.lead_records where source = 'meta'")
    # WHEN it is mirrored again
    result = mirror_warehouse(warehouse, pg)
    # THEN PostgreSQL holds the warehouse as it is now, nothing appended
    copied = {(t.schema, t.table): t.rows for t in result.tables}
    assert copied[("ops", "lead_records")] == 1
    with connect(pg) as conn:
        assert conn.execute("select count(*) from ops.lead_records").fetchone() == (1,)


def test_settings_come_from_the_dbt_profile_variables() -> None:
    env = {"LEADFLOW_PG_HOST": "db.internal", "LEADFLOW_PG_PORT": "6543", "LEADFLOW_PG_USER": "bi"}
    settings = PgSettings.from_env(env)
    assert (settings.host, settings.port, settings.user, settings.dbname) == (
        "db.internal",
        6543,
        "bi",
        "leadflow",
    )
    assert PgSettings.from_env({}, dbname="analytics").dbname == "analytics"
    assert PgSettings.from_env({}) == PgSettings()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"LEADFLOW_PG_PORT": "fivefour"}, "LEADFLOW_PG_PORT='fivefour' is not a port number"),
        ({"LEADFLOW_PG_DBNAME": "x; drop"}, "is not a usable database name"),
    ],
    ids=["bad-port", "bad-dbname"],
)
def test_bad_settings_are_one_clear_error(env: dict[str, str], message: str) -> None:
    with pytest.raises(MirrorError, match=message):
        PgSettings.from_env(env)


def test_an_unreachable_server_says_how_to_fix_it_without_the_password() -> None:
    settings = PgSettings(port=closed_port(), password="s3cret-pw")
    with pytest.raises(PostgresUnreachable) as caught:
        connect(settings)
    message = str(caught.value)
    assert f"cannot connect to PostgreSQL at postgres@127.0.0.1:{settings.port}/leadflow" in message
    assert "LEADFLOW_PG_HOST" in message and "s3cret-pw" not in message


@pytest.mark.parametrize(
    ("duckdb_type", "expected"),
    [
        ("VARCHAR", "varchar"),
        ("JSON", "json"),
        ("DECIMAL(18,2)", "numeric(18, 2)"),
        ("TIMESTAMP", "timestamp"),
        ("TIMESTAMP WITH TIME ZONE", "timestamptz"),
        ("VARCHAR[]", "json"),
        ("STRUCT(a INTEGER)", "json"),
        ("DOUBLE", "double precision"),
    ],
)
def test_duckdb_types_map_to_postgres(duckdb_type: str, expected: str) -> None:
    assert postgres_type(duckdb_type) == expected


def write_config(tmp_path: Path, warehouse: Path) -> Path:
    config = tmp_path / "leadflow.yml"
    config.write_text(yaml.safe_dump({"warehouse": {"path": str(warehouse)}}), encoding="utf-8")
    return config


def test_cli_exits_2_with_the_fix_when_postgres_is_down(
    tmp_path: Path, warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEADFLOW_PG_PORT", str(closed_port()))
    result = runner.invoke(
        app, ["dbt-postgres", "--config", str(write_config(tmp_path, warehouse))]
    )
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert line.startswith("leadflow: cannot connect to PostgreSQL at ")
    assert "start the server or set LEADFLOW_PG_HOST" in line


def test_cli_exits_2_when_there_is_no_warehouse_yet(tmp_path: Path) -> None:
    config = write_config(tmp_path, tmp_path / "missing.duckdb")
    result = runner.invoke(app, ["dbt-postgres", "--config", str(config)])
    assert result.exit_code == 2
    assert result.output.strip() == (
        f"leadflow: no warehouse at {tmp_path / 'missing.duckdb'}: run `leadflow run` first"
    )


@pytest.mark.postgres
def test_cli_mirrors_builds_and_summarizes(tmp_path: Path, pg: PgSettings) -> None:
    # GIVEN the dbt fixture's warehouse (five leads), built on DuckDB by nobody yet
    from tests.dbt_project.test_dbt_build import load_fixture

    path = tmp_path / "w.duckdb"
    Warehouse(path).ensure_schema()
    with Warehouse(path).connect() as con:
        load_fixture(con)

    # WHEN `leadflow dbt-postgres` runs against a throwaway database
    result = runner.invoke(
        app, ["dbt-postgres", "--config", str(write_config(tmp_path, path)), "--dbname", pg.dbname]
    )

    # THEN it says what it copied and built
    assert result.exit_code == 0, result.output
    lines = dict(
        (line[:19].strip(), line[19:].split()[0])
        for line in result.output.splitlines()[1:]
        if line.strip()
    )
    assert int(lines["Tables copied"]) == len(duckdb_tables(path))
    assert int(lines["Rows copied"]) > 20
    assert int(lines["Models built"]) >= 20
    assert int(lines["Tests passed"]) >= 50
    # AND the marts are there on PostgreSQL
    with connect(pg) as conn:
        assert conn.execute("select count(*) from marts.dim_leads").fetchone() == (5,)
