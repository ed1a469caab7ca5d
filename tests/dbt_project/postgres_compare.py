"""PostgreSQL test helpers: a throwaway database, and a row-for-row comparison of every dbt relation
of a DuckDB warehouse with its PostgreSQL build.

Used by test_dbt_postgres (the hand-made fixture) and test_sandbox_world_postgres (a synced sandbox
world). The relations compared are listed from DuckDB's catalog after the build: every table and view
in the schemas staging, intermediate and marts. A relation missing on PostgreSQL fails.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from leadflow.pg_mirror import (
    PgSettings,
    PostgresUnreachable,
    connect,
    drop_database,
    ensure_database,
)

DBT_SCHEMAS = ("staging", "intermediate", "marts")

# Columns whose values cannot be equal across two builds, with the reason. Anything computed from
# "now" is not here: both builds get the same `as_of` var, and a model that reads the clock instead
# fails the comparison, as it should.
VOLATILE_COLUMNS = {
    "loaded_at": "set to the time the row is written by each build",
}
_NULL = "\x00null"
_SAMPLE_ROWS = 3


def throwaway_database(prefix: str) -> Iterator[PgSettings]:
    """A fresh, uniquely named database on the test server, dropped afterwards."""
    pytest.importorskip("dbt.adapters.postgres", reason="the dbt-postgres adapter is not installed")
    settings = PgSettings.from_env(dbname=f"{prefix}_{uuid.uuid4().hex[:8]}")
    try:
        with connect(settings, dbname="postgres"):
            pass
    except PostgresUnreachable as exc:
        pytest.skip(f"no PostgreSQL server to test against: {exc}")
    ensure_database(settings)
    try:
        yield settings
    finally:
        drop_database(settings)


def normalize(value: Any) -> str:
    """One text form for a value read from either engine (DuckDB or psycopg Python values)."""
    if value is None:
        return _NULL
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int | float | Decimal):
        # numeric(9,4) vs numeric(9,4) prints the same; a double or an exact average may differ in
        # the 16th digit between engines, which no reader of a report sees.
        number = Decimal(str(value))
        if not number.is_finite():
            return str(number)
        return format(round(number, 8).normalize(), "f")
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value.total_seconds())
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, sort_keys=True, default=str)
    text = str(value)
    if text[:1] in "{[":
        # A json column: DuckDB returns its text, psycopg the parsed value.
        try:
            return json.dumps(json.loads(text), sort_keys=True, default=str)
        except ValueError:
            return text
    return text


def _relations(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [
        f"{schema}.{name}"
        for schema, name in con.execute(
            "select table_schema, table_name from information_schema.tables"
            " where table_schema in ('staging', 'intermediate', 'marts')"
            " order by table_schema, table_name"
        ).fetchall()
    ]


def _columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[str]:
    schema, name = relation.split(".")
    return [
        column
        for (column,) in con.execute(
            "select column_name from information_schema.columns"
            " where table_schema = ? and table_name = ? order by ordinal_position",
            [schema, name],
        ).fetchall()
        if column not in VOLATILE_COLUMNS
    ]


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _describe(relation: str, columns: list[str], duck: list[tuple[str, ...]], pg: list[Any]) -> str:
    only_duck = list((Counter(duck) - Counter(pg)).elements())[:_SAMPLE_ROWS]
    only_pg = list((Counter(pg) - Counter(duck)).elements())[:_SAMPLE_ROWS]
    lines = [f"{relation}: {len(duck)} rows on DuckDB, {len(pg)} on PostgreSQL"]
    differing = {
        column
        for a, b in zip(only_duck, only_pg, strict=False)
        for column, x, y in zip(columns, a, b, strict=True)
        if x != y
    }
    if differing:
        lines.append(f"  columns that differ: {', '.join(sorted(differing))}")
    for row in only_duck:
        lines.append(f"  only on DuckDB:     {dict(zip(columns, row, strict=True))}")
    for row in only_pg:
        lines.append(f"  only on PostgreSQL: {dict(zip(columns, row, strict=True))}")
    return "\n".join(lines)


def compare_models(warehouse: Path, pg: PgSettings) -> dict[str, int]:
    """relation -> row count, after asserting every relation matches; one message lists all
    mismatches and missing relations."""
    problems: list[str] = []
    counts: dict[str, int] = {}
    with duckdb.connect(str(warehouse), read_only=True) as duck, connect(pg) as conn:
        relations = _relations(duck)
        on_pg = {
            f"{schema}.{name}"
            for schema, name in conn.execute(
                "select table_schema, table_name from information_schema.tables"
                " where table_schema in ('staging', 'intermediate', 'marts')"
            ).fetchall()
        }
        for relation in relations:
            if relation not in on_pg:
                problems.append(f"{relation}: built on DuckDB, missing on PostgreSQL")
                continue
            columns = _columns(duck, relation)
            schema, name = relation.split(".")
            select = "select {} from {}.{}".format(
                ", ".join(map(_quoted, columns)), _quoted(schema), _quoted(name)
            )
            in_duck = sorted(tuple(map(normalize, row)) for row in duck.execute(select).fetchall())
            in_pg = sorted(tuple(map(normalize, row)) for row in conn.execute(select).fetchall())
            counts[relation] = len(in_duck)
            if in_duck != in_pg:
                problems.append(_describe(relation, columns, in_duck, in_pg))
    assert relations, "no dbt relation in the DuckDB warehouse: was it built?"
    assert not problems, "DuckDB and PostgreSQL differ:\n" + "\n".join(problems)
    return counts
