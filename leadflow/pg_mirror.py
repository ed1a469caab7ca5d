"""Mirror the warehouse into PostgreSQL and build the dbt project there (`leadflow dbt-postgres`).

The sync writes one DuckDB file; DuckDB allows one writer and no reader while it writes, so a BI
tool that keeps a connection open would block the hourly run. The mirror gives such tools a server
to read instead: the Python-owned schemas `raw` and `ops` are copied into PostgreSQL, then dbt builds
`prepare` and `publish` on the `postgres` target (every model, data test and unit test), so
`staging`, `intermediate` and `marts` exist there with the same rows as in DuckDB.

How the copy works:
- Connection settings come from the LEADFLOW_PG_* environment variables, the ones the dbt profile
  (dbt_project/profiles.yml) reads, with the same defaults; the database is created if missing.
- `raw` and `ops` are dropped and recreated with the DDL `Warehouse.ensure_schema` runs on DuckDB
  (leadflow/warehouse.py), then reconciled with the DuckDB catalog: a table or column the DuckDB
  file has and the DDL does not (an older migration, a table another package creates) is created
  with the matching PostgreSQL type, so nothing in the file is left behind.
- Table names come from the DuckDB catalog of the schemas `raw` and `ops` only, and are quoted as
  identifiers on both sides; rows stream through PostgreSQL's COPY in batches, never one INSERT per
  row.
- Values arrive as they are, except what PostgreSQL cannot hold and DuckDB can: a NUL character in
  text (also escaped as \\u0000 in JSON) becomes U+FFFD, NaN and Infinity in JSON become null.
- The drop, the DDL and every copy run in one PostgreSQL transaction: a failed mirror leaves the
  previous one in place. Dropping `raw` and `ops` cascades to the dbt views over them, which the
  build right after recreates.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from leadflow.dbt import DbtRunResult, build, scoped_environ
from leadflow.warehouse import (
    MODEL_DDL,
    NOTIFY_DDL,
    NURTURE_DDL,
    OPS_DDL,
    RAW_STREAMS,
    RAW_TABLE_DDL,
    ROUTING_DDL,
    SCHEMAS,
    SCORING_COLUMNS_DDL,
)

# The variables dbt_project/profiles.yml reads for the `postgres` target, with its defaults.
PG_ENV = {
    "host": ("LEADFLOW_PG_HOST", "127.0.0.1"),
    "port": ("LEADFLOW_PG_PORT", "5432"),
    "user": ("LEADFLOW_PG_USER", "postgres"),
    "password": ("LEADFLOW_PG_PASSWORD", ""),
    "dbname": ("LEADFLOW_PG_DBNAME", "leadflow"),
}
COPY_BATCH_ROWS = 10_000
_CONNECT_TIMEOUT_S = 5
_DBNAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$-]{0,62}")

# DuckDB column types -> PostgreSQL, for tables or columns the DDL does not create. Anything nested
# (LIST, STRUCT, MAP) goes over as json.
_SCALAR_TYPES = {
    "VARCHAR": "varchar",
    "JSON": "json",
    "BOOLEAN": "boolean",
    "TINYINT": "smallint",
    "SMALLINT": "smallint",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "HUGEINT": "numeric(38, 0)",
    "UTINYINT": "smallint",
    "USMALLINT": "integer",
    "UINTEGER": "bigint",
    "UBIGINT": "numeric(20, 0)",
    "FLOAT": "real",
    "DOUBLE": "double precision",
    "DATE": "date",
    "TIME": "time",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP_NS": "timestamp",
    "TIMESTAMP_MS": "timestamp",
    "TIMESTAMP_S": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "INTERVAL": "interval",
    "UUID": "uuid",
    "BLOB": "bytea",
}


class PostgresUnreachable(Exception):
    """No PostgreSQL server answers with the configured settings; the message says how to fix it."""


class MirrorError(Exception):
    """The warehouse cannot be mirrored (missing or locked DuckDB file, a type PostgreSQL lacks)."""


@dataclass(frozen=True)
class PgSettings:
    """Where the mirror goes: the same settings as the dbt profile's `postgres` target."""

    host: str = "127.0.0.1"
    port: int = 5432
    user: str = "postgres"
    password: str = field(default="", repr=False)
    dbname: str = "leadflow"

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, dbname: str | None = None
    ) -> PgSettings:
        """Read LEADFLOW_PG_HOST/PORT/USER/PASSWORD/DBNAME; `dbname` overrides the database."""
        env = os.environ if environ is None else environ
        values = {key: env.get(name) or default for key, (name, default) in PG_ENV.items()}
        try:
            port = int(values["port"])
        except ValueError:
            raise MirrorError(
                f"LEADFLOW_PG_PORT={values['port']!r} is not a port number: set it to e.g. 5432"
            ) from None
        name = dbname or values["dbname"]
        if not _DBNAME.fullmatch(name):
            raise MirrorError(
                f"{name!r} is not a usable database name: use letters, digits and underscores"
            )
        return cls(values["host"], port, values["user"], values["password"], name)

    def where(self) -> str:
        """host:port/dbname as user, for messages (never the password)."""
        return f"{self.user}@{self.host}:{self.port}/{self.dbname}"

    def environ(self) -> dict[str, str]:
        """The LEADFLOW_PG_* variables that point the dbt profile at this database."""
        values = {
            "host": self.host,
            "port": str(self.port),
            "user": self.user,
            "password": self.password,
            "dbname": self.dbname,
        }
        return {PG_ENV[key][0]: value for key, value in values.items()}


@dataclass(frozen=True)
class TableCopy:
    schema: str
    table: str
    rows: int


@dataclass(frozen=True)
class MirrorResult:
    """What one mirror copied, table by table."""

    database: str
    tables: tuple[TableCopy, ...]

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)


@dataclass(frozen=True)
class PostgresRun:
    """A mirror and the dbt builds on it."""

    mirror: MirrorResult
    builds: tuple[DbtRunResult, ...]

    def count(self, status: str) -> int:
        return sum(b.status_counts.get(status, 0) for b in self.builds)

    def summary(self) -> str:
        """A few lines for the terminal: what was copied and built."""
        built, passed = self.count("success"), self.count("pass")
        warned, skipped = self.count("warn"), self.count("skipped")
        lines = [
            f"PostgreSQL mirror {self.mirror.database}",
            f"Tables copied      {len(self.mirror.tables):>7}   (raw + ops)",
            f"Rows copied        {self.mirror.rows:>7}",
            f"Models built       {built:>7}   (models and seeds, prepare + publish)",
            f"Tests passed       {passed:>7}"
            + (f"   ({warned} warned, {skipped} skipped)" if warned or skipped else ""),
        ]
        return "\n".join(lines)


def connect(settings: PgSettings, *, dbname: str | None = None, autocommit: bool = False) -> Any:
    """A psycopg connection; PostgresUnreachable (with the fix) when no server answers."""
    import psycopg

    try:
        return psycopg.connect(
            host=settings.host,
            port=settings.port,
            user=settings.user,
            password=settings.password or None,
            dbname=dbname or settings.dbname,
            connect_timeout=_CONNECT_TIMEOUT_S,
            autocommit=autocommit,
        )
    except psycopg.OperationalError as exc:
        cause = " ".join(str(exc).split())
        if "password" in cause.lower():
            cause = "authentication failed"
        raise PostgresUnreachable(
            f"cannot connect to PostgreSQL at {settings.where()} ({cause[:200]}): start the server"
            " or set LEADFLOW_PG_HOST, LEADFLOW_PG_PORT, LEADFLOW_PG_USER and LEADFLOW_PG_PASSWORD"
        ) from None


def ensure_database(settings: PgSettings) -> bool:
    """Create settings.dbname if it does not exist; True when it was created."""
    from psycopg import sql

    with connect(settings, dbname="postgres", autocommit=True) as conn:
        exists = conn.execute(
            "select 1 from pg_database where datname = %s", [settings.dbname]
        ).fetchone()
        if exists:
            return False
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(settings.dbname)))
        return True


def drop_database(settings: PgSettings) -> None:
    """Drop settings.dbname if it exists, closing other sessions on it (tests' throwaway databases)."""
    from psycopg import sql

    with connect(settings, dbname="postgres", autocommit=True) as conn:
        conn.execute(
            sql.SQL("drop database if exists {} with (force)").format(
                sql.Identifier(settings.dbname)
            )
        )


def warehouse_ddl() -> list[str]:
    """The statements Warehouse.ensure_schema runs on DuckDB, in its order, for PostgreSQL."""
    statements = [f"create schema if not exists {schema}" for schema in SCHEMAS]
    statements += [RAW_TABLE_DDL.format(name=f"{s}__{t}") for s, t in RAW_STREAMS]
    statements += [OPS_DDL, ROUTING_DDL, *SCORING_COLUMNS_DDL, NURTURE_DDL, MODEL_DDL, NOTIFY_DDL]
    return statements


def mirror_warehouse(warehouse_path: Path, settings: PgSettings) -> MirrorResult:
    """Copy every table of the schemas raw and ops from the DuckDB file into PostgreSQL."""
    from psycopg import sql

    with _read_only(warehouse_path) as duck:
        catalog = _duckdb_catalog(duck)
        ensure_database(settings)
        copied: list[TableCopy] = []
        with connect(settings) as conn, conn.transaction():
            for schema in SCHEMAS:
                conn.execute(
                    sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(schema))
                )
            for statement in warehouse_ddl():
                conn.execute(statement)
            for (schema, table), columns in catalog.items():
                _reconcile(conn, schema, table, columns)
                copied.append(_copy_table(duck, conn, schema, table, columns))
    return MirrorResult(database=settings.where(), tables=tuple(copied))


def build_on_postgres(
    warehouse_path: Path,
    settings: PgSettings,
    *,
    target_path: Path | None = None,
    dbt_vars: Mapping[str, Any] | None = None,
) -> tuple[DbtRunResult, DbtRunResult]:
    """dbt build `prepare` then `publish` on the postgres target (unit tests included)."""
    with scoped_environ(settings.environ()):
        prepare = build(
            "prepare", warehouse_path, target="postgres", target_path=target_path, dbt_vars=dbt_vars
        )
        publish = build(
            "publish", warehouse_path, target="postgres", target_path=target_path, dbt_vars=dbt_vars
        )
    return prepare, publish


def mirror_and_build(
    warehouse_path: Path,
    settings: PgSettings,
    *,
    target_path: Path | None = None,
    dbt_vars: Mapping[str, Any] | None = None,
) -> PostgresRun:
    """`leadflow dbt-postgres`: mirror raw + ops, then build and test every model there."""
    mirror = mirror_warehouse(warehouse_path, settings)
    builds = build_on_postgres(warehouse_path, settings, target_path=target_path, dbt_vars=dbt_vars)
    return PostgresRun(mirror=mirror, builds=builds)


# --- internals ---------------------------------------------------------------------------------


@contextmanager
def _read_only(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    if not Path(path).is_file():
        raise MirrorError(f"no warehouse at {path}: run `leadflow run` first")
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise MirrorError(
                f"the warehouse {path} is open in another process (a sync run?): DuckDB allows one"
                " writer, so wait for it to finish and try again"
            ) from None
        raise
    try:
        yield con
    finally:
        con.close()


def _duckdb_catalog(
    con: duckdb.DuckDBPyConnection,
) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """(schema, table) -> [(column, DuckDB type)] for the base tables of raw and ops."""
    rows = con.execute(
        """
        select c.table_schema, c.table_name, c.column_name, c.data_type
        from information_schema.columns as c
        join information_schema.tables as t
          on t.table_schema = c.table_schema and t.table_name = c.table_name
        where c.table_schema in (select unnest(?::varchar[])) and t.table_type = 'BASE TABLE'
        order by c.table_schema, c.table_name, c.ordinal_position
        """,
        [list(SCHEMAS)],
    ).fetchall()
    catalog: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for schema, table, column, data_type in rows:
        catalog.setdefault((schema, table), []).append((column, data_type))
    return catalog


def postgres_type(duckdb_type: str) -> str:
    """The PostgreSQL type a DuckDB column is copied into."""
    upper = duckdb_type.upper()
    if upper in _SCALAR_TYPES:
        return _SCALAR_TYPES[upper]
    decimal = re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", upper)
    if decimal:
        return f"numeric({decimal[1]}, {decimal[2]})"
    if upper.endswith("]") or upper.startswith(("STRUCT", "MAP", "UNION")):
        return "json"
    if upper.startswith("ENUM"):
        return "varchar"
    raise MirrorError(f"no PostgreSQL type for the DuckDB type {duckdb_type}")


def _reconcile(conn: Any, schema: str, table: str, columns: list[tuple[str, str]]) -> None:
    """Create the table, or the columns, the DDL left out, from DuckDB's catalog."""
    from psycopg import sql

    target = sql.Identifier(schema, table)
    present = {
        name
        for (name,) in conn.execute(
            "select column_name from information_schema.columns"
            " where table_schema = %s and table_name = %s",
            [schema, table],
        ).fetchall()
    }
    if not present:
        definitions = sql.SQL(", ").join(
            sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(postgres_type(kind)))
            for name, kind in columns
        )
        conn.execute(sql.SQL("create table {} ({})").format(target, definitions))
        return
    for name, kind in columns:
        if name not in present:
            conn.execute(
                sql.SQL("alter table {} add column {} {}").format(
                    target, sql.Identifier(name), sql.SQL(postgres_type(kind))
                )
            )


def _copy_table(
    duck: duckdb.DuckDBPyConnection,
    conn: Any,
    schema: str,
    table: str,
    columns: list[tuple[str, str]],
) -> TableCopy:
    """Stream one table through COPY, COPY_BATCH_ROWS rows read from DuckDB at a time."""
    from psycopg import sql

    names = [name for name, _ in columns]
    convert = [_converter(kind) for _, kind in columns]
    select = "select {} from {}.{}".format(
        ", ".join(_duck_ident(n) for n in names), _duck_ident(schema), _duck_ident(table)
    )
    copy_sql = sql.SQL("copy {} ({}) from stdin").format(
        sql.Identifier(schema, table), sql.SQL(", ").join(map(sql.Identifier, names))
    )
    count = 0
    cursor = duck.execute(select)
    with conn.cursor() as cur, cur.copy(copy_sql) as copy:
        while batch := cursor.fetchmany(COPY_BATCH_ROWS):
            for row in batch:
                copy.write_row(
                    tuple(
                        value if value is None else fn(value)
                        for value, fn in zip(row, convert, strict=True)
                    )
                )
            count += len(batch)
    return TableCopy(schema, table, count)


def _duck_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _converter(duckdb_kind: str) -> Any:
    """What a DuckDB value of this column becomes for PostgreSQL, which refuses two things DuckDB
    holds: a NUL character in text, even escaped in JSON (it becomes U+FFFD, as landing does with
    lone surrogates), and NaN or Infinity in JSON (null: JSON has no such numbers)."""
    target = postgres_type(duckdb_kind)
    if target == "json":
        return _json_text if duckdb_kind.upper() == "JSON" else _to_json
    if target in ("text", "varchar"):
        return _no_nul
    return _same


def _same(value: Any) -> Any:
    return value


def _no_nul(value: Any) -> Any:
    return value.replace("\x00", "\ufffd") if isinstance(value, str) and "\x00" in value else value


def _json_text(value: str) -> str:
    """A DuckDB JSON value (text), re-serialized only when it holds what PostgreSQL refuses."""
    if "NaN" in value or "Infinity" in value or "\\u0000" in value:
        return _to_json(json.loads(value))
    return value


def _to_json(value: Any) -> str:
    return json.dumps(_pg_safe(value), default=_json_default, allow_nan=False)


def _pg_safe(value: Any) -> Any:
    if isinstance(value, str):
        return _no_nul(value)
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    if isinstance(value, dict):
        return {_no_nul(str(key)): _pg_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_pg_safe(item) for item in value]
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, timedelta):
        return value.total_seconds()
    return str(value)
