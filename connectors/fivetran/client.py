"""The read side: one DuckDB connection to where Fivetran writes a connector's tables, the checks
that they are there, and the keyset paginator that reads a table in cursor order.

Where the tables live (`sources.<source>.fivetran.database`): unset, the LeadFlow warehouse itself
(a second connection to the same DuckDB database, which reads while landing writes); a DuckDB file,
attached read-only; or a `postgresql://` URL, attached read-only through DuckDB's postgres
extension, which must already be installed (nothing is downloaded during a run).

Pagination is a keyset on (cursor, id), `LIMIT` a page, the way the vendor paginators read their
APIs: each page asks again for the rows after the last one it saw, so memory holds one page,
never the table, and a row that changes during the pull is seen at its new place or its old one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from connectors.fivetran import models, settings
from connectors.fivetran.settings import Table
from leadflow.config import ConfigError, FivetranTablesConfig
from leadflow.redact import redact
from leadflow.warehouse import Warehouse

ATTACHED = "fivetran_source"


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class Column:
    name: str  # as the database spells it
    type: str  # DuckDB's type name, upper case: VARCHAR, TIMESTAMP, TIMESTAMP WITH TIME ZONE, ...


@dataclass
class TablesClient:
    """An open connection, the catalog and schema of one connector's tables, and their columns."""

    con: duckdb.DuckDBPyConnection
    source: str
    catalog: str
    schema: str
    where: str  # for messages: "the LeadFlow warehouse (…/warehouse.duckdb)"
    config_key: str  # sources.<source>.fivetran
    tables: dict[str, dict[str, Column]] = field(default_factory=dict)  # table -> column -> Column
    tables_spelled: dict[str, str] = field(default_factory=dict)  # lower case -> as spelled
    closing: ExitStack = field(default_factory=ExitStack)  # closes the connection
    # Tables in another database (attached) are copied, the window a stream reads, into a
    # temporary table once per pull, and paged from there: PostgreSQL is not asked the whole
    # query once per page (DuckDB pushes no ORDER BY ... LIMIT down to it).
    snapshot: bool = False
    snapshot_taken: dict[str, bool] = field(default_factory=dict)

    def close(self) -> None:
        self.closing.close()

    def has(self, table: str) -> bool:
        return table in self.tables

    def columns(self, table: str) -> dict[str, Column]:
        return self.tables.get(table, {})

    def qualified(self, table: str) -> str:
        actual = self.tables_spelled.get(table, table)
        return f"{quote(self.catalog)}.{quote(self.schema)}.{quote(actual)}"


def connect(
    source: str, config: FivetranTablesConfig, *, warehouse: Path, root: Path
) -> TablesClient:
    """Open the connection and check the connector's tables; a ConfigError (one line naming the
    table and the config key) when the schema or a needed table is not there."""
    key = f"sources.{source}.fivetran"
    path: Path | None = None
    if config.database is not None and not config.is_postgres:
        path = Path(config.database).expanduser()
        path = path if path.is_absolute() else (root / path).resolve()
        if path == warehouse.resolve():
            path = None  # the warehouse itself, named by its path
    closing = ExitStack()
    if config.is_postgres and config.database is not None:
        con, where = _attach_postgres(key, config.database), "the PostgreSQL database"
        closing.callback(con.close)
        catalog = ATTACHED
    elif path is None:
        # Warehouse.connect waits a moment for a neighbour holding the file, as landing does.
        con = closing.enter_context(Warehouse(warehouse).connect())
        catalog = str(_scalar(con, "select current_database()"))
        where = f"the LeadFlow warehouse ({warehouse})"
    else:
        if not path.is_file():
            raise ConfigError(f"{key}.database: no DuckDB file at {path}")
        con = duckdb.connect(":memory:")
        closing.callback(con.close)
        try:
            con.execute(f"attach {_literal(str(path))} as {ATTACHED} (read_only)")
        except duckdb.Error as exc:
            closing.close()
            raise ConfigError(
                f"{key}.database: {path} could not be opened read-only ({_first_line(exc)})"
            ) from None
        catalog, where = ATTACHED, f"the DuckDB file {path}"
    client = TablesClient(
        con,
        source,
        catalog,
        config.schema_for(source),
        where,
        key,
        closing=closing,
        snapshot=catalog == ATTACHED,
    )
    if client.snapshot:
        # A snapshot bigger than memory spills beside the warehouse, not in the working folder.
        spill = warehouse.parent / "fivetran.tmp"
        con.execute(f"set temp_directory = {_literal(str(spill))}")
    try:
        _load_columns(client)
    except BaseException:
        client.close()
        raise
    return client


def _attach_postgres(key: str, url: str) -> duckdb.DuckDBPyConnection:
    # Never download: a run must not depend on the network to read its own data.
    con = duckdb.connect(
        ":memory:",
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False},
    )
    try:
        con.execute("load postgres")
    except duckdb.Error:
        con.close()
        raise ConfigError(
            f"{key}.database: reading PostgreSQL needs DuckDB's postgres extension, which is not "
            'installed here; install it once with network access (python -c "import duckdb; '
            "duckdb.execute('INSTALL postgres')\"), or point database at a DuckDB file"
        ) from None
    try:
        con.execute(f"attach {_literal(url)} as {ATTACHED} (type postgres, read_only)")
    except duckdb.Error as exc:
        con.close()
        raise ConfigError(
            f"{key}.database: the PostgreSQL database could not be attached ({_first_line(exc)})"
        ) from None
    return con


def _first_line(exc: BaseException) -> str:
    text = redact(str(exc)).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def _scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> Any:
    row = con.execute(sql, params or []).fetchone()
    return row[0] if row else None


def _load_columns(client: TablesClient) -> None:
    """Every table of the schema with its columns; the declared tables checked."""
    rows = client.con.execute(
        """
        select table_schema, table_name, column_name, upper(data_type)
        from information_schema.columns
        where table_catalog = ? and lower(table_schema) = lower(?)
        order by table_name, ordinal_position
        """,
        [client.catalog, client.schema],
    ).fetchall()
    if not rows:
        found = _scalar(
            client.con,
            "select count(*) from information_schema.schemata "
            "where catalog_name = ? and lower(schema_name) = lower(?)",
            [client.catalog, client.schema],
        )
        problem = "no tables in schema" if found else "no schema"
        raise ConfigError(
            f"{client.config_key}.schema: {problem} {client.schema!r} in {client.where}; set it "
            f"to the schema Fivetran writes the {settings.VENDOR_NAMES[client.source]} "
            "connector's tables to (the connection's destination schema)"
        )
    client.schema = rows[0][0]  # as the database spells it (PostgreSQL's quoted names are exact)
    for _schema, table, column, data_type in rows:
        client.tables_spelled.setdefault(table.lower(), table)
        client.tables.setdefault(table.lower(), {})[column.lower()] = Column(column, data_type)
    missing = [
        f"{client.schema}.{t.table}"
        for t in settings.TABLES[client.source].values()
        if t.required and not client.has(t.table)
    ]
    if missing:
        raise ConfigError(
            f"{client.config_key}: no table {', '.join(missing)} in {client.where}; check "
            f"{client.config_key}.schema and .database, and that the Fivetran connection syncs "
            "these objects"
        )
    for declared in settings.TABLES[client.source].values():
        columns = client.columns(declared.table)
        if columns and not any(c in columns for c in declared.id_columns):
            raise ConfigError(
                f"{client.config_key}: table {client.schema}.{declared.table} has no "
                f"{' or '.join(declared.id_columns)} column; it is not the table Fivetran's "
                f"{settings.VENDOR_NAMES[client.source]} connector writes"
            )


# --------------------------------------------------------------------------- SQL pieces


_TIME_TYPES = ("TIMESTAMP", "DATETIME")
_NUMBER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "DOUBLE", "FLOAT", "REAL")


def timestamp_sql(column: Column) -> str:
    """The column as a naive UTC timestamp (microseconds), null when it reads as no time: the
    form the cursor is compared and ordered in, whatever type the table gives it."""
    c = quote(column.name)
    kind = column.type
    if "WITH TIME ZONE" in kind or kind == "TIMESTAMPTZ":
        return f"cast(timezone('UTC', {c}) as timestamp)"
    if kind.startswith(_TIME_TYPES) or kind == "DATE":
        return f"cast({c} as timestamp)"
    if kind.startswith(_NUMBER_TYPES) or kind.startswith(("DECIMAL", "NUMERIC")):
        return (
            f"case when {c} > 1e11 then epoch_ms(cast({c} as bigint)) "
            f"else cast(timezone('UTC', to_timestamp(cast({c} as double))) as timestamp) end"
        )
    if kind.startswith(("VARCHAR", "TEXT", "CHAR", "STRING")):
        t = f"trim({c})"
        return (
            "case"
            f" when regexp_full_match({t}, '\\d{{12,13}}') then epoch_ms(cast({t} as bigint))"
            f" when regexp_full_match({t}, '\\d{{9,10}}')"
            f" then cast(timezone('UTC', to_timestamp(cast({t} as bigint))) as timestamp)"
            # An explicit offset (Z, +0000, +02:00, +02) is honoured; without one, UTC.
            f" when regexp_matches({t}, '\\d:\\d\\d(:\\d\\d(\\.\\d+)?)?\\s*(Z|[+-]\\d\\d(:?\\d\\d)?)$')"
            f" then cast(timezone('UTC', try_cast({t} as timestamptz)) as timestamp)"
            f" else try_cast(regexp_replace({t}, '\\s*UTC$', '') as timestamp) end"
        )
    return "cast(null as timestamp)"  # a type no time is read from: the row has no cursor


def boolean_sql(column: Column) -> str:
    """The column as a nullable boolean: BOOLEAN as is, text TRUE/true/t/1/yes, numbers non-zero."""
    c = quote(column.name)
    kind = column.type
    if kind == "BOOLEAN":
        return c
    if kind.startswith(_NUMBER_TYPES) or kind.startswith(("DECIMAL", "NUMERIC")):
        return f"({c} <> 0)"
    if kind.startswith(("VARCHAR", "TEXT", "CHAR", "STRING")):
        return (
            f"case when lower(trim({c})) in ('true', 't', '1', 'yes', 'y') then true "
            f"when lower(trim({c})) in ('false', 'f', '0', 'no', 'n') then false end"
        )
    return "cast(null as boolean)"


@dataclass(frozen=True)
class Query:
    """How to read one stream's rows: the rows (`base`, a select), the id, the cursor key (None:
    read whole), the deletion, extra columns for the mapper, and the partition's filter."""

    base: str
    id_sql: str
    key_sql: str | None
    deleted_sql: str
    extra: tuple[tuple[str, str], ...]  # (alias, expression)
    where: str = "true"
    id_column: str = "id"
    cursor_column: str | None = None
    account_joined: bool = False
    table_label: str = ""


def _first(columns: dict[str, Column], names: tuple[str, ...]) -> Column | None:
    for name in names:
        if name in columns:
            return columns[name]
    return None


def query_for(client: TablesClient, table: Table, partition: str | None) -> Query:
    """The query of one stream (and partition): see the README for what each table gives."""
    columns = client.columns(table.table)
    relation = client.qualified(table.table)
    id_col = _first(columns, table.id_columns)
    assert id_col is not None  # checked when the client opened
    history = settings.START in columns
    if (
        client.source == "salesforce"
        and table.stream == "opportunity_history"
        and history
        and "opportunity_id" not in columns
    ):
        base, columns = _stage_changes(relation, columns)
        id_col = columns["id"]
    elif history:
        # History mode keeps every version: the newest one is the record as the API has it now.
        base = (
            f"select * from {relation} qualify row_number() over "
            f"(partition by {quote(id_col.name)} order by {quote(settings.START)} desc) = 1"
        )
    else:
        base = f"select * from {relation}"
    deleted = [
        f"coalesce({boolean_sql(columns[name])}, false)"
        for name in (settings.DELETED, *table.deleted_columns)
        if name in columns
    ]
    if history and settings.ACTIVE in columns:
        # The newest version closed (`_fivetran_active` false): the record was deleted.
        deleted.append(f"not coalesce({boolean_sql(columns[settings.ACTIVE])}, true)")
    deleted_sql = " or ".join(deleted) or "false"
    cursor = _first(columns, table.cursor_columns)
    synced = columns.get(settings.SYNCED)
    extra: list[tuple[str, str]] = []
    if cursor is not None:
        extra.append((models.MODIFIED, timestamp_sql(cursor)))
    if synced is not None:
        extra.append((models.SYNCED, timestamp_sql(synced)))
    key_sql = timestamp_sql(cursor) if cursor is not None else None
    where = "true"
    if client.source == "hubspot" and table.stream == "contacts":
        archived = partition is not None
        where = f"({deleted_sql})" if archived else f"not ({deleted_sql})"
        if archived:
            # The bin's own cursor, as archivedAt is the API's: a deletion moves
            # _fivetran_synced, never lastmodifieddate.
            parts = [timestamp_sql(c) for c in (cursor, synced) if c is not None]
            key_sql = f"greatest({', '.join(parts)})" if parts else None
    account_joined = False
    if client.source == "salesforce" and table.stream == "contacts" and "account_id" in columns:
        account = client.columns(settings.SALESFORCE_ACCOUNT)
        if "id" in account and "name" in account:
            order = _first(account, (settings.START, settings.SYNCED))
            # the newest version's name (history mode); a row without the time still names it
            name = (
                f"coalesce(arg_max(name, {quote(order.name)}), any_value(name))"
                if order is not None
                else "any_value(name)"
            )
            base = (
                f"select t.*, a.name as {quote(models.ACCOUNT_NAME)} from ({base}) t left join "
                f"(select id, {name} as name from "
                f"{client.qualified(settings.SALESFORCE_ACCOUNT)} group by id) a "
                "on a.id = t.account_id"
            )
            account_joined = True
    return Query(
        base=base,
        id_sql=quote(id_col.name),
        key_sql=key_sql,
        deleted_sql=deleted_sql,
        extra=tuple(extra),
        where=where,
        id_column=id_col.name,
        cursor_column=cursor.name if cursor is not None else None,
        account_joined=account_joined,
        table_label=f"{client.schema}.{table.table}",
    )


def _stage_changes(relation: str, columns: dict[str, Column]) -> tuple[str, dict[str, Column]]:
    """A history-mode `opportunity_history` (Fivetran's versions of Opportunity, with
    `_fivetran_start`, as dbt_salesforce reads it) as OpportunityHistory rows: one per version
    whose stage differs from the version before, made when that version started. Its id is the
    opportunity's and the start (`006...@2019-04-04T18:36:08.000000`): no OpportunityHistory Id
    exists for it."""
    start = quote(settings.START)
    picked = {
        "opportunity_id": "id",
        "stage_name": "stage_name",
        "amount": "amount",
        "probability": "probability",
        "close_date": "close_date",
        "expected_revenue": "expected_revenue",
        "forecast_category": "forecast_category",
        "is_deleted": "is_deleted",
        settings.SYNCED: settings.SYNCED,
    }
    select = [
        f"{quote('id')} || '@' || strftime({start}, '%Y-%m-%dT%H:%M:%S.%f') as id",
        f"cast({start} as timestamp) as created_date",
        f"cast({start} as timestamp) as system_modstamp",
    ]
    derived = {
        "id": Column("id", "VARCHAR"),
        "created_date": Column("created_date", "TIMESTAMP"),
        "system_modstamp": Column("system_modstamp", "TIMESTAMP"),
    }
    for alias, source in picked.items():
        if source in columns:
            select.append(f"{quote(columns[source].name)} as {quote(alias)}")
            derived[alias] = Column(alias, columns[source].type)
    stage = quote(columns["stage_name"].name) if "stage_name" in columns else "null"
    base = (
        f"select {', '.join(select)} from {relation} qualify {stage} is distinct from "
        f"lag({stage}) over (partition by {quote('id')} order by {start})"
    )
    return base, derived


# --------------------------------------------------------------------------- paging


def read_pages(
    client: TablesClient, query: Query, since: datetime | None, page_rows: int
) -> Iterator[list[dict[str, Any]]]:
    """The stream's rows at or after `since` in pages of at most `page_rows`, oldest cursor
    first (ties by id): first the rows whose cursor reads as no time (read on every run: they
    cannot be placed), then the others in order. Without a cursor column, every row, by id."""
    select = ", ".join(
        [
            f"{query.key_sql or 'cast(null as timestamp)'} as {quote(models.KEY)}",
            f"{query.id_sql} as {quote(models.ID)}",
            f"({query.deleted_sql}) as {quote(models.DELETED)}",
            *(f"{sql} as {quote(alias)}" for alias, sql in query.extra),
            "src.*",
        ]
    )
    rows_sql = f"select * from (select {select} from ({query.base}) src where {query.where}) q"
    k, i = quote(models.KEY), quote(models.ID)
    in_window = "true" if since is None else f"({k} is null or {k} >= ?)"
    window: list[Any] = [] if since is None else [since]
    if client.snapshot:
        snapshot = quote("__leadflow_window")
        client.con.execute(
            f"create or replace temp table {snapshot} as {rows_sql} where {in_window}", window
        )
        rows_sql = f"select * from {snapshot} q"
    # Rows without an id: none in a table Fivetran keys on its id; read in one query if any, to
    # land (and be quarantined as records without an id) rather than be skipped.
    cursor = client.con.execute(f"{rows_sql} where {i} is null and {in_window}", window)
    yield from _chunks(_dicts(cursor, cursor.fetchall()), page_rows)
    # Then by id, the rows with no cursor (or every row, when there is no cursor column).
    no_key = f"{k} is null" if query.key_sql is not None else "true"
    last_id: Any = None
    while True:
        after = "" if last_id is None else f" and {i} > ?"
        cursor = client.con.execute(
            f"{rows_sql} where {i} is not null and {no_key}{after} order by {i} limit {page_rows}",
            [] if last_id is None else [last_id],
        )
        page = _dicts(cursor, cursor.fetchall())
        if page:
            yield page
        if len(page) < page_rows:
            break
        last_id = page[-1][models.ID]
    if query.key_sql is None:
        return
    # Then the rows with a cursor, in cursor order: (key, id) after the last one seen.
    last: tuple[Any, Any] | None = None
    while True:
        floor = "" if since is None else f" and {k} >= ?"
        params: list[Any] = [] if since is None else [since]
        after = ""
        if last is not None:
            after = f" and ({k} > ? or ({k} = ? and {i} > ?))"
            params += [last[0], last[0], last[1]]
        cursor = client.con.execute(
            f"{rows_sql} where {i} is not null and {k} is not null{floor}{after} "
            f"order by {k}, {i} limit {page_rows}",
            params,
        )
        page = _dicts(cursor, cursor.fetchall())
        if page:
            yield page
        if len(page) < page_rows:
            return
        last = (page[-1][models.KEY], page[-1][models.ID])


def _dicts(cursor: duckdb.DuckDBPyConnection, rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description or []]
    return [dict(zip(names, row, strict=True)) for row in rows]


def _chunks(rows: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def deal_contacts(client: TablesClient, deal_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """deal id -> its contacts as the v4 associations batch read lists them (`toObjectId` and
    `associationTypes`), from the `deal_contact` table; rows Fivetran marks deleted left out."""
    columns = client.columns(settings.HUBSPOT_DEAL_CONTACT)
    if not deal_ids or "deal_id" not in columns or "contact_id" not in columns:
        return {}
    category = quote(columns["category"].name) if "category" in columns else "null"
    type_id = quote(columns["type_id"].name) if "type_id" in columns else "null"
    live = (
        f"not coalesce({boolean_sql(columns[settings.DELETED])}, false)"
        if settings.DELETED in columns
        else "true"
    )
    associations = (
        f"select cast(deal_id as varchar) as deal_id, contact_id, {category} as category, "
        f"{type_id} as type_id from {client.qualified(settings.HUBSPOT_DEAL_CONTACT)} "
        f"where {live}"
    )
    if client.snapshot:  # read once per pull, not once per page of deals
        table = quote("__leadflow_deal_contact")
        if not client.snapshot_taken.get(table):
            client.con.execute(f"create or replace temp table {table} as {associations}")
            client.snapshot_taken[table] = True
        associations = f"select * from {table}"
    rows = client.con.execute(
        f"""
        select deal_id, contact_id, category, type_id from ({associations})
        where list_contains(?, deal_id)
        order by deal_id, contact_id, type_id, category
        """,
        [deal_ids],
    ).fetchall()
    found: dict[str, list[dict[str, Any]]] = {}
    by_pair: dict[tuple[str, Any], dict[str, Any]] = {}
    for deal_id, contact_id, kind, type_number in rows:
        pair = (deal_id, contact_id)
        if pair not in by_pair:
            by_pair[pair] = {"toObjectId": contact_id, "associationTypes": []}
            found.setdefault(deal_id, []).append(by_pair[pair])
        by_pair[pair]["associationTypes"].append(
            {"category": kind, "typeId": type_number, "label": None}
        )
    return found
