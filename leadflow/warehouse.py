"""Access to the warehouse file and the tables Python owns (schemas `raw` and `ops`).

DuckDB allows one writer per file and never waits for a lock, so every caller opens a connection for
the shortest useful time with `connect()` and closes it before anything else (dbt, another task)
needs the file. Timestamps are stored as naive UTC `timestamp` values throughout.

The table definitions below are the contract with dbt, which reads them as sources
(dbt_project/models/staging/leadflow/_leadflow__sources.yml).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

SCHEMAS = ("raw", "ops")

# Raw landing tables: one per source stream, append-only, the original payload kept verbatim.
# A re-read of an unchanged record produces the same _raw_id and is not stored twice.
RAW_STREAMS: tuple[tuple[str, str], ...] = (
    ("hubspot", "contacts"),
    ("hubspot", "owners"),
    ("meta", "leads"),
    ("typeform", "responses"),
)

RAW_TABLE_DDL = """
create table if not exists raw.{name} (
    _raw_id           varchar primary key,   -- md5(record_id, payload_hash): one row per version
    record_id         varchar not null,      -- the source's own id for the record
    _partition        varchar,               -- what it was pulled under (a form id), if anything
    record_updated_at timestamp,             -- the stream's cursor field, as UTC
    payload           json not null,         -- the record exactly as the API returned it
    payload_hash      varchar not null,
    _run_id           varchar not null,
    _loaded_at        timestamp not null
)
"""

OPS_DDL = """
create table if not exists ops.sync_state (
    source       varchar not null,
    stream       varchar not null,
    cursor_value varchar,                  -- the newest cursor value covered by committed raw rows
    updated_at   timestamp not null,
    run_id       varchar not null,
    primary key (source, stream)
);

create table if not exists ops.sync_runs (
    run_id      varchar primary key,
    started_at  timestamp not null,
    finished_at timestamp,
    as_of       timestamp not null,
    status      varchar not null,          -- running | completed | failed
    summary     json
);

create table if not exists ops.quarantine (
    _raw_id             varchar primary key,  -- the raw version that failed
    source              varchar not null,
    stream              varchar not null,
    record_id           varchar,
    run_id              varchar not null,
    failed_expectations json not null,        -- GX expectation types that failed
    reasons             json not null,        -- one readable reason per failure
    payload             json not null,
    quarantined_at      timestamp not null
);

create table if not exists ops.lead_records (
    record_key        varchar primary key,    -- '<source>:<stream>:<record_id>'
    source            varchar not null,
    stream            varchar not null,
    record_id         varchar not null,
    _raw_id           varchar not null,       -- the raw version these values come from
    email             varchar,                -- trimmed, lower-cased
    email_domain      varchar,
    is_free_email     boolean,
    phone_e164        varchar,
    first_name        varchar,
    last_name         varchar,
    company           varchar,
    job_title         varchar,
    country_code      varchar,                -- ISO 3166-1 alpha-2
    crm_contact_id    varchar,                -- the CRM's own id, when the record comes from the CRM
    crm_owner_id      varchar,                -- the owner the CRM holds for the record
    leadflow_lead_id  varchar,                -- our lead id, when the CRM echoes it back
    form_id           varchar,
    intent_event      varchar,                -- what a submission of this record's form counts as
    record_created_at timestamp,
    record_updated_at timestamp,
    first_seen_at     timestamp not null,
    run_id            varchar not null
);

create table if not exists ops.lead_identity (
    record_key         varchar primary key,
    lead_id            varchar not null,
    rule               varchar not null,      -- new_lead | email | phone | crm_lead_id
    matched_record_key varchar,               -- the record it was linked to (null for new_lead)
    resolved_at        timestamp not null,
    run_id             varchar not null
);

create table if not exists ops.lead_merges (
    from_lead_id varchar not null,
    into_lead_id varchar not null,
    rule         varchar not null,
    merged_at    timestamp not null,
    run_id       varchar not null,
    primary key (from_lead_id)
);

create table if not exists ops.lead_scores (
    lead_id        varchar primary key,
    score          integer not null,
    fit_score      integer not null,
    intent_score   integer not null,
    negative_score integer not null,
    grade          varchar not null,
    temperature    varchar not null,
    is_mql         boolean not null,
    factors        json not null,            -- [{factor, group, points}], strongest first
    reasons        varchar not null,         -- the same, readable, as pushed to the CRM
    model_version  varchar not null,
    scored_as_of   timestamp not null,
    scored_at      timestamp not null,
    run_id         varchar not null
);

create table if not exists ops.lead_score_history (
    lead_id       varchar not null,
    score         integer not null,
    grade         varchar not null,
    temperature   varchar not null,
    is_mql        boolean not null,
    model_version varchar not null,
    scored_as_of  timestamp not null,
    scored_at     timestamp not null,
    run_id        varchar not null
);

create table if not exists ops.lead_lifecycle_events (
    lead_id     varchar not null,
    event       varchar not null,            -- mql
    occurred_at timestamp not null,
    score       integer,
    run_id      varchar not null,
    primary key (lead_id, event)
);

create table if not exists ops.lead_assignments (
    lead_id     varchar primary key,
    owner_id    varchar not null,
    owner_email varchar,
    pool        varchar,
    rule        varchar not null,            -- existing_owner | territory:<name> | fallback
    reason      varchar not null,
    assigned_at timestamp not null,
    run_id      varchar not null
);

create table if not exists ops.routing_audit (
    lead_id    varchar not null,
    run_id     varchar not null,
    decided_at timestamp not null,
    rule       varchar not null,
    owner_id   varchar,
    reason     varchar not null,
    evaluated  json not null,               -- every rule tried, in order, and its outcome
    primary key (lead_id, run_id)
);

create table if not exists ops.routing_pools (
    pool       varchar primary key,
    next_index integer not null,            -- the round-robin pointer
    updated_at timestamp not null
);

create table if not exists ops.push_state (
    destination           varchar not null,
    lead_id               varchar not null,
    payload_hash          varchar not null, -- hash of the last payload the destination acknowledged
    destination_record_id varchar,
    acknowledged_at       timestamp not null,
    run_id                varchar not null,
    primary key (destination, lead_id)
);

create table if not exists ops.push_log (
    run_id                varchar not null,
    destination           varchar not null,
    lead_id               varchar not null,
    operation             varchar not null, -- update | upsert
    status                varchar not null, -- ok | error
    destination_record_id varchar,
    payload_hash          varchar not null,
    http_status           integer,
    error                 varchar,
    logged_at             timestamp not null
);

create table if not exists ops.dead_letter (
    destination     varchar not null,
    lead_id         varchar not null,
    payload         json not null,
    payload_hash    varchar not null,
    error_category  varchar not null,
    error_message   varchar not null,
    retriable       boolean not null,        -- false: the same payload would fail the same way
    attempts        integer not null,
    first_failed_at timestamp not null,
    last_failed_at  timestamp not null,
    primary key (destination, lead_id)
);
"""


def utcnow() -> datetime:
    """Now as a naive UTC datetime, the form every warehouse timestamp takes."""
    return datetime.now(UTC).replace(tzinfo=None)


def to_utc_naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def stable_hash(value: Any) -> str:
    """A hash of a JSON-able value that does not depend on key order."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def nulls_to_none(frame: pd.DataFrame) -> pd.DataFrame:
    """NaN/NaT/NA -> None, so rows read into Python compare and test as plain values."""
    return frame.astype(object).where(frame.notna(), None)


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame) -> Iterator[str]:
    """Expose a DataFrame to SQL as `name` for the length of a block (unregistered even on error)."""
    con.register(name, frame)
    try:
        yield name
    finally:
        con.unregister(name)


def raw_table(source: str, stream: str) -> str:
    if (source, stream) not in RAW_STREAMS:
        raise ValueError(f"no raw table for {source}.{stream}")
    return f"raw.{source}__{stream}"


class Warehouse:
    """The warehouse file. Open connections briefly; DuckDB has one writer and does not wait."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @contextmanager
    def connect(
        self, *, retries: int = 20, retry_wait_s: float = 0.25
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection, closed on exit.

        Another process holding the file makes DuckDB fail at once; a short bounded wait covers a
        neighbour that is about to close (a dbt subprocess, a CLI query) without hiding a real clash.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for attempt in range(retries):
            try:
                con = duckdb.connect(str(self.path))
                break
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower() or attempt == retries - 1:
                    raise
                time.sleep(retry_wait_s)
        try:
            yield con
        finally:
            con.close()

    def ensure_schema(self) -> None:
        """Create the raw and ops tables if they are missing (idempotent)."""
        with self.connect() as con:
            for schema in SCHEMAS:
                con.execute(f"create schema if not exists {schema}")
            for source, stream in RAW_STREAMS:
                con.execute(RAW_TABLE_DDL.format(name=f"{source}__{stream}"))
            con.execute(OPS_DDL)


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """Run a block in one transaction: everything in it commits together or not at all."""
    con.execute("begin transaction")
    try:
        yield con
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")
