"""Raw versions -> parsed, normalized, validated -> ops.lead_records or ops.quarantine.

Which raw rows to process is derived, not remembered: for each lead stream, the newest version of
each record that is neither the version in ops.lead_records nor already in ops.quarantine. A crash
between landing and here leaves those rows unprocessed, and the next run picks them up.

A record whose newest version fails validation keeps its last good version in ops.lead_records
(the lead goes on working on the data that was valid) while the failing version is quarantined with
its reasons. Every raw version therefore ends up current in ops.lead_records, quarantined, or
superseded by a newer version of the same record; or, for a person erased by `leadflow forget`,
deleted here and counted in ops.erasure_log (leadflow/forget.py).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb
import pandas as pd

from connectors import LEAD_STREAMS, Parser
from enrichment import enrich
from enrichment.normalize import department, seniority
from expectations.gate import Gate
from leadflow.config import SURVIVOR_FIELDS
from leadflow.faults import crash_point
from leadflow.forget import Suppressions, drop_arrivals
from leadflow.warehouse import raw_table, registered, transaction

log = logging.getLogger("leadflow.enrichment")

RECORD_COLUMNS = [
    "record_key",
    "source",
    "stream",
    "record_id",
    "_raw_id",
    "email",
    "email_domain",
    "is_free_email",
    "phone_e164",
    "phone_timezone",
    "first_name",
    "last_name",
    "company",
    "job_title",
    "seniority",
    "department",
    "industry",
    "employee_band",
    "is_unsubscribed",
    "is_bounced",
    "country_code",
    "crm_contact_id",
    "crm_owner_id",
    "leadflow_lead_id",
    "crm_merged_ids",
    "crm_merged_into",
    "form_id",
    "intent_event",
    "record_created_at",
    "record_updated_at",
    "values_changed_at",
    "first_seen_at",
    "run_id",
]


@dataclass
class StageResult:
    processed: int = 0
    accepted: int = 0
    quarantined: int = 0
    erased: int = 0  # arriving records of erased people, dropped (leadflow/forget.py)
    reasons: Counter[str] = field(default_factory=Counter)


# Raw versions parsed, validated and written per transaction: memory holds one chunk's payloads and
# frames, not a stream's (a first run of a million leads would otherwise hold them all at once).
CHUNK_ROWS = 50_000


def _unprocessed(
    con: duckdb.DuckDBPyConnection, source: str, stream: str
) -> Iterator[pd.DataFrame]:
    """The stream's unprocessed raw versions, oldest first, in frames of at most CHUNK_ROWS.
    Which ones is decided once, in the warehouse (ids only); each chunk's payloads are read when
    it is due."""
    table = raw_table(source, stream)
    con.execute(
        f"""
        create or replace temp table unprocessed_raw as
        with ranked as (
            select _raw_id, _loaded_at, row_number() over (
                partition by record_id order by record_updated_at desc nulls last, _loaded_at desc, _raw_id
            ) as version_rank
            from {table}
        )
        select r._raw_id, row_number() over (order by r._loaded_at, r._raw_id) as seq
        from ranked r
        where r.version_rank = 1
          and not exists (select 1 from ops.lead_records l where l._raw_id = r._raw_id)
          and not exists (select 1 from ops.quarantine q where q._raw_id = r._raw_id)
        """
    )
    try:
        row = con.execute("select count(*) from unprocessed_raw").fetchone()
        total = int(row[0]) if row else 0
        for start in range(0, total, CHUNK_ROWS):
            yield con.execute(
                f"""
                select r._raw_id as raw_id, r.record_id, r._partition as partition_key, r.payload,
                       r._loaded_at
                from unprocessed_raw u
                inner join {table} r on r._raw_id = u._raw_id
                where u.seq > ? and u.seq <= ?
                order by u.seq
                """,
                [start, start + CHUNK_ROWS],
            ).df()
    finally:
        con.execute("drop table if exists unprocessed_raw")


def stage_new_versions(
    con: duckdb.DuckDBPyConnection,
    gate: Gate,
    *,
    intent_events: dict[tuple[str, str], str],
    default_region: str | None,
    run_id: str,
    as_of: datetime,
) -> StageResult:
    """Process every unprocessed raw version of every lead stream; one transaction per chunk of
    at most CHUNK_ROWS versions of one stream."""
    total = StageResult()
    suppressions = Suppressions.load(con)
    for (source, stream), parse in LEAD_STREAMS.items():
        for raw in _unprocessed(con, source, stream):
            _stage_chunk(
                con,
                gate,
                source,
                stream,
                parse,
                raw,
                suppressions,
                total,
                intent_events=intent_events,
                default_region=default_region,
                run_id=run_id,
                as_of=as_of,
            )
    backfill_title_attributes(con)
    return total


def _stage_chunk(
    con: duckdb.DuckDBPyConnection,
    gate: Gate,
    source: str,
    stream: str,
    parse: Parser,
    raw: pd.DataFrame,
    suppressions: Suppressions,
    total: StageResult,
    *,
    intent_events: dict[tuple[str, str], str],
    default_region: str | None,
    run_id: str,
    as_of: datetime,
) -> None:
    """Parse, enrich, validate and write one chunk of a stream's raw versions, in one transaction;
    add what happened to `total`."""
    rows: list[dict[str, Any]] = []
    erased: list[str] = []
    for item in raw.itertuples(index=False):
        payload = json.loads(item.payload)
        record = parse(payload, item.partition_key)
        event = intent_events.get(
            (source, record.form_id or ""), "form_submission" if record.form_id else None
        )
        enriched = enrich(record, default_region=default_region, intent_event=event)
        if suppressions.covers(source, stream, item.record_id, enriched["email"]):
            erased.append(item.record_id)
            continue
        rows.append(
            {
                **enriched,
                "_raw_id": item.raw_id,
                "payload": item.payload,
                "raw_record_id": item.record_id,
            }
        )
    if erased:
        total.erased += drop_arrivals(con, source, stream, erased, run_id=run_id, as_of=as_of)
    if not rows:
        return
    frame = pd.DataFrame(rows)
    # pandas holds 1677..2262 only: a time outside (year 0001, 9999) is unreadable, so NaT, and
    # a record without a readable creation time is quarantined with that reason.
    for column in ("record_created_at", "record_updated_at"):
        frame[column] = pd.to_datetime(frame[column], errors="coerce")
    result = gate.check(f"{source}__{stream}", frame, as_of)
    with transaction(con):
        _write_quarantine(con, result.failed, result.failures, run_id, as_of)
        _note_merges(con, result.failed)
        _upsert_records(con, result.passed, run_id, as_of)
        crash_point("stage:stream-written")
    total.processed += len(frame)
    total.accepted += len(result.passed)
    total.quarantined += len(result.failed)
    for failure in result.failures.values():
        total.reasons.update(failure.reasons)
    log.info(
        "%s.%s: %d new versions, %d accepted, %d quarantined",
        source,
        stream,
        len(frame),
        len(result.passed),
        len(result.failed),
    )


def backfill_title_attributes(con: duckdb.DuckDBPyConnection) -> int:
    """Derive seniority and department for records stored before enrichment read them.

    A warehouse from before those columns existed holds titles without them, and a record is only
    re-enriched when its source changes; this fills them in place (idempotent: a title that names no
    level stays null and is looked at again, which costs a scan of a few rows).
    """
    rows = con.execute(
        "select record_key, job_title from ops.lead_records"
        " where job_title is not null and seniority is null"
    ).fetchall()
    updates = [
        (key, seniority(title), department(title))
        for key, title in rows
        if seniority(title) is not None
    ]
    if updates:
        frame = pd.DataFrame(updates, columns=["record_key", "seniority", "department"])
        with transaction(con), registered(con, "title_rows", frame):
            con.execute(
                """
                update ops.lead_records r
                set seniority = t.seniority, department = t.department
                from title_rows t
                where r.record_key = t.record_key
                """
            )
    return len(updates)


def _write_quarantine(
    con: duckdb.DuckDBPyConnection,
    failed: pd.DataFrame,
    failures: dict,
    run_id: str,
    as_of: datetime,
) -> None:
    if failed.empty:
        return
    rows = []
    for index, row in failed.iterrows():
        failure = failures[index]
        # A record that says where it sits in its source (a file drop's "events/x.csv row 7")
        # is quarantined with reasons that say it too; the run's reason counts stay general.
        location = row.get("location")
        reasons = (
            [f"{location}: {reason}" for reason in failure.reasons]
            if isinstance(location, str) and location
            else failure.reasons
        )
        rows.append(
            {
                "_raw_id": row["_raw_id"],
                "source": row["source"],
                "stream": row["stream"],
                "record_id": row["record_id"] or row["raw_record_id"],
                "run_id": run_id,
                "failed_expectations": json.dumps(failure.expectations),
                "reasons": json.dumps(reasons),
                "payload": row["payload"],
                "quarantined_at": as_of,
            }
        )
    with registered(con, "quarantine_rows", pd.DataFrame(rows)):
        con.execute("insert or ignore into ops.quarantine by name select * from quarantine_rows")


def _note_merges(con: duckdb.DuckDBPyConnection, failed: pd.DataFrame) -> None:
    """A merge's losing record arrives deleted (quarantined) and naming its survivor (Salesforce's
    MasterRecordId): its stored record, the version before the merge, remembers the survivor, so
    identity puts both in one lead. A record first seen after its merge was never stored: there is
    nothing to join, as with a HubSpot contact merged away before any pull."""
    if failed.empty or "crm_merged_into" not in failed:
        return
    merged = failed[failed["crm_merged_into"].notna() & failed["record_id"].notna()]
    if merged.empty:
        return
    frame = pd.DataFrame(
        {
            "record_key": merged["source"] + ":" + merged["stream"] + ":" + merged["record_id"],
            "merged_into": merged["crm_merged_into"],
        }
    )
    with registered(con, "merged_rows", frame):
        con.execute(
            """
            update ops.lead_records r set crm_merged_into = m.merged_into
            from merged_rows m where r.record_key = m.record_key
            """
        )


def _upsert_records(
    con: duckdb.DuckDBPyConnection, passed: pd.DataFrame, run_id: str, as_of: datetime
) -> None:
    if passed.empty:
        return
    frame = passed.copy()
    frame["record_key"] = frame["source"] + ":" + frame["stream"] + ":" + frame["record_id"]
    frame["first_seen_at"] = as_of
    frame["values_changed_at"] = frame["record_updated_at"]
    frame["run_id"] = run_id
    frame = frame[RECORD_COLUMNS]
    # a new version that changes none of the golden record's fields keeps values_changed_at
    unchanged = " and ".join(f"n.{c} is not distinct from o.{c}" for c in SURVIVOR_FIELDS)
    with registered(con, "record_rows", frame):
        # A record seen before keeps the time LeadFlow first saw it: lead ids and merges depend on
        # it. A version whose golden-record values are the stored ones keeps when they last changed.
        con.execute(
            f"""
            insert into ops.lead_records by name
            select n.* replace (
                coalesce(o.first_seen_at, n.first_seen_at) as first_seen_at,
                case when o.record_key is not null and {unchanged}
                     then coalesce(o.values_changed_at, o.record_updated_at)
                     else n.values_changed_at end as values_changed_at
            )
            from record_rows n left join ops.lead_records o using (record_key)
            on conflict (record_key) do update set
            """
            + ", ".join(f"{c} = excluded.{c}" for c in RECORD_COLUMNS if c != "record_key")
        )
