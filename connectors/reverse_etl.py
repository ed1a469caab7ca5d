"""Reverse ETL: send only what changed since the destination last acknowledged it.

The payload of each lead comes from its dbt sync_ model (the exact write). A lead is sent when the
hash of the properties LeadFlow owns differs from the hash in ops.push_state, the hash of the last
payload the destination acknowledged. Before a batch is sent, one `sent` row per lead goes to
ops.push_log (committed); its acknowledgements, push_state rows, log rows and dead letters commit
together, right after the batch is answered. A crash loses at most the answer to one in-flight
batch, whose writes are idempotent (update by id, upsert by a unique property) and are simply sent
again; the `sent` rows left without an answer tell identity resolution that a contact created by
that batch is LeadFlow's own copy (dedupe/deterministic.py), not a duplicate person.

A rejected lead goes to ops.dead_letter with the reason. It is sent again on every later run while
the failure was retriable (rate limit, server fault, no answer), until it succeeds or has failed
`max_attempts` times; then, like a payload the destination rejected as invalid (it would fail the
same way again), it is permanent: not resent until its payload changes or someone requeues it
(`leadflow dead-letters --requeue`).

Modes: `upsert` writes every row (creating records the destination lacks); `update` writes only rows
that name an existing record and counts the others as not in the destination. A dry run computes
the same plan (creates, updates, unchanged, invalid) and sends and writes nothing. Each real push
leaves one ops.push_runs row per destination: processed, changed, succeeded, rejected.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import pandas as pd

from connectors.sync import PushOutcome, SyncRow
from leadflow.faults import crash_point
from leadflow.warehouse import (
    nulls_to_none,
    registered,
    stable_hash,
    table_columns,
    transaction,
    utcnow,
)

log = logging.getLogger("leadflow.reverse_etl")

Sender = Callable[[Sequence[SyncRow]], list[PushOutcome]]


@dataclass
class PushResult:
    candidates: int = 0  # rows in the sync model
    changed: int = 0  # rows whose payload differs from the last acknowledged one
    pushed: int = 0  # acknowledged by the destination in this run
    failed: int = 0  # dead-lettered in this run
    skipped_rejected: int = 0  # changed rows not sent: a permanent dead letter with this payload
    not_in_destination: int = 0  # update mode: changed rows with no record to update
    creates: int = 0  # changed rows sent (or, in a dry run, to send) as upserts
    updates: int = 0  # changed rows sent (or to send) as updates by record id
    errors: dict[str, int] = field(default_factory=dict)
    destinations: dict[str, PushResult] = field(default_factory=dict)  # a run's: each CRM's own

    @property
    def unchanged(self) -> int:
        return self.candidates - self.changed

    def add(self, other: PushResult) -> None:
        """Fold another destination's result into this one (the run's totals)."""
        for name in (
            "candidates", "changed", "pushed", "failed", "skipped_rejected",
            "not_in_destination", "creates", "updates",
        ):  # fmt: skip
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for category, count in other.errors.items():
            self.errors[category] = self.errors.get(category, 0) + count

    def as_plan(self) -> dict[str, int]:
        """What a dry run reports."""
        return {
            "candidates": self.candidates,
            "creates": self.creates,
            "updates": self.updates,
            "unchanged": self.unchanged,
            "invalid": self.skipped_rejected,
            "not_in_destination": self.not_in_destination,
        }


@dataclass
class ChangedRows:
    """What read_changed_sync_rows read: the rows that may have changed, the SQL row hash of each
    (kept in ops.push_state.row_hash once acknowledged) and how many rows it left unread."""

    rows: list[SyncRow]
    row_hashes: dict[str, str]
    unchanged_unread: int


def read_changed_sync_rows(
    con: duckdb.DuckDBPyConnection,
    model: str,
    identity_columns: Sequence[str],
    destination: str,
    owned: Sequence[str],
) -> ChangedRows:
    """The sync_ model's rows whose owned columns may differ from what `destination` last
    acknowledged, found in the warehouse: a row whose md5 over its owned columns equals the one
    stored with its acknowledgement is left unread (so an hour with a handful of changes reads a
    handful of rows, not the whole model). Every row read is still diffed by push_changed on
    payload_hash, which decides; this only spares reading rows that cannot have changed."""
    present = set(table_columns(con, *model.split(".")))
    columns = [name for name in owned if name in present]
    values = ", ".join(f'm."{name}"::varchar' for name in columns)
    con.execute(
        f"""
        create or replace temp table push_read as
        select q.lead_id, q.row_hash, coalesce(p.row_hash = q.row_hash, false) as unchanged
        from (select m.lead_id, md5(to_json([{values}])) as row_hash from {model} as m) as q
        left join ops.push_state as p on p.destination = ? and p.lead_id = q.lead_id
        """,
        [destination],
    )
    unread = con.execute("select count(*) from push_read where unchanged").fetchone()
    frame = con.execute(
        f"""
        select m.*, r.row_hash as _row_hash
        from {model} as m
        inner join push_read as r on r.lead_id = m.lead_id and not r.unchanged
        order by m.lead_id
        """
    ).df()
    hashes = dict(zip(frame["lead_id"], frame.pop("_row_hash"), strict=True))
    return ChangedRows(_sync_rows(frame, identity_columns), hashes, int(unread[0]) if unread else 0)


def _sync_rows(frame: pd.DataFrame, identity_columns: Sequence[str]) -> list[SyncRow]:
    frame = nulls_to_none(frame)
    rows = []
    for record in frame.to_dict("records"):
        properties = {
            k: str(v) for k, v in record.items() if k not in identity_columns and v is not None
        }
        rows.append(
            SyncRow(
                lead_id=record["lead_id"],
                operation=record["operation"],
                object_id=record.get("object_id"),
                id_property=record.get("id_property"),
                id_value=record.get("id_value"),
                properties=properties,
                object_type=record.get("object_type"),
            )
        )
    return rows


def payload_hash(row: SyncRow, owned: Sequence[str]) -> str:
    return stable_hash({name: row.properties.get(name) for name in owned})


def push_changed(
    con: duckdb.DuckDBPyConnection,
    destination: str,
    rows: Sequence[SyncRow],
    send: Sender,
    *,
    owned_properties: Sequence[str],
    batch_size: int,
    run_id: str,
    as_of: datetime,
    mode: str = "upsert",
    max_attempts: int | None = None,
    dry_run: bool = False,
    row_hashes: Mapping[str, str] | None = None,
    unchanged_unread: int = 0,
) -> PushResult:
    """Send the rows whose owned properties changed since the destination acknowledged them, in
    batches of `batch_size`; with `dry_run`, only count what would be sent.

    `rows` may be all of the sync model's or those read_changed_sync_rows read: then `row_hashes`
    are stored with the acknowledgements and `unchanged_unread` counts as candidates unchanged."""
    started = utcnow()
    result = PushResult(candidates=len(rows) + unchanged_unread)
    acknowledged = dict(
        con.execute(
            "select lead_id, payload_hash from ops.push_state where destination = ?", [destination]
        ).fetchall()
    )
    permanent = dict(
        con.execute(
            "select lead_id, payload_hash from ops.dead_letter where destination = ? and permanent",
            [destination],
        ).fetchall()
    )
    pending: list[tuple[SyncRow, str]] = []
    confirmed: list[tuple[str, str]] = []  # unchanged, read only for want of a row hash
    for row in rows:
        digest = payload_hash(row, owned_properties)
        if acknowledged.get(row.lead_id) == digest:
            if row_hashes and row.lead_id in row_hashes:
                confirmed.append((row.lead_id, row_hashes[row.lead_id]))
            continue
        result.changed += 1
        if permanent.get(row.lead_id) == digest:
            result.skipped_rejected += 1
            continue
        if mode == "update" and row.operation != "update":
            result.not_in_destination += 1
            continue
        if row.operation == "update":
            result.updates += 1
        else:
            result.creates += 1
        pending.append((row, digest))
    if dry_run:
        return result
    if confirmed:
        # An acknowledgement from before row hashes (or of another form of the row): from now on
        # the row is left unread while it stays as it is.
        frame = pd.DataFrame(confirmed, columns=["lead_id", "row_hash"])
        with transaction(con), registered(con, "confirmed_rows", frame):
            con.execute(
                """
                update ops.push_state set row_hash = c.row_hash
                from confirmed_rows c
                where ops.push_state.destination = ? and ops.push_state.lead_id = c.lead_id
                """,
                [destination],
            )

    for chunk in _batches(pending, batch_size):
        _log_sent(con, destination, chunk, run_id, as_of)
        outcomes = send([row for row, _ in chunk])
        crash_point("push:answered")
        _record(
            con, destination, chunk, outcomes, run_id, as_of, result, max_attempts, row_hashes or {}
        )
        crash_point("push:recorded")
    _log_run(con, destination, mode, run_id, started, result)
    if result.failed:
        log.warning(
            "%s: %d of %d changed leads were rejected and dead-lettered",
            destination,
            result.failed,
            result.changed,
        )
    return result


def _batches(
    pending: Sequence[tuple[SyncRow, str]], batch_size: int
) -> Iterator[list[tuple[SyncRow, str]]]:
    """Batches of `batch_size` rows that share one operation and object type: a destination
    writes each kind with its own request (HubSpot batch/update vs batch/upsert, a Salesforce
    collection per sObject), so a mixed batch would leave as two half-full requests and halve
    what the API's rate limit carries."""
    kinds: dict[tuple[str, str], list[tuple[SyncRow, str]]] = {}
    for item in pending:
        kinds.setdefault((item[0].operation, item[0].object_type or ""), []).append(item)
    for group in kinds.values():
        for start in range(0, len(group), batch_size):
            yield group[start : start + batch_size]


def _log_run(
    con: duckdb.DuckDBPyConnection,
    destination: str,
    mode: str,
    run_id: str,
    started: datetime,
    result: PushResult,
) -> None:
    con.execute(
        """
        insert or replace into ops.push_runs by name select
            ? as run_id, ? as destination, ? as mode, ? as started_at, ? as finished_at,
            ? as candidates, ? as unchanged, ? as changed, ? as processed, ? as creates,
            ? as updates, ? as succeeded, ? as rejected, ? as skipped_permanent,
            ? as skipped_not_in_destination
        """,
        [
            run_id, destination, mode, started, utcnow(),
            result.candidates, result.unchanged, result.changed, result.creates + result.updates,
            result.creates, result.updates, result.pushed, result.failed,
            result.skipped_rejected, result.not_in_destination,
        ],
    )  # fmt: skip


def _log_sent(
    con: duckdb.DuckDBPyConnection,
    destination: str,
    chunk: list[tuple[SyncRow, str]],
    run_id: str,
    as_of: datetime,
) -> None:
    """The write-ahead half of the push log: this batch is about to leave."""
    sent = pd.DataFrame(
        [
            {
                "run_id": run_id,
                "destination": destination,
                "lead_id": row.lead_id,
                "operation": row.operation,
                "status": "sent",
                "payload_hash": digest,
                "logged_at": as_of,
            }
            for row, digest in chunk
        ]
    )
    with registered(con, "sent_rows", sent):
        con.execute("insert into ops.push_log by name select * from sent_rows")


def _record(
    con: duckdb.DuckDBPyConnection,
    destination: str,
    chunk: list[tuple[SyncRow, str]],
    outcomes: list[PushOutcome],
    run_id: str,
    as_of: datetime,
    result: PushResult,
    max_attempts: int | None,
    row_hashes: Mapping[str, str],
) -> None:
    by_lead = {o.lead_id: o for o in outcomes}
    state, logs, dead, cleared = [], [], [], []
    for row, digest in chunk:
        outcome = by_lead.get(row.lead_id) or PushOutcome(
            row.lead_id,
            row.operation,
            ok=False,
            category="NO_OUTCOME",
            message="no answer for this lead",
        )
        logs.append(
            {
                "run_id": run_id,
                "destination": destination,
                "lead_id": row.lead_id,
                "operation": row.operation,
                "status": "ok" if outcome.ok else "error",
                "destination_record_id": outcome.object_id,
                "payload_hash": digest,
                "http_status": outcome.http_status,
                "error": None if outcome.ok else outcome.message,
                "logged_at": as_of,
            }
        )
        if outcome.ok:
            result.pushed += 1
            cleared.append(row.lead_id)
            state.append(
                {
                    "destination": destination,
                    "lead_id": row.lead_id,
                    "payload_hash": digest,
                    "destination_record_id": outcome.object_id,
                    "acknowledged_at": as_of,
                    "run_id": run_id,
                    "row_hash": row_hashes.get(row.lead_id),
                }
            )
        else:
            result.failed += 1
            result.errors[outcome.category] = result.errors.get(outcome.category, 0) + 1
            dead.append(
                {
                    "destination": destination,
                    "lead_id": row.lead_id,
                    "payload": json.dumps(row.as_payload()),
                    "payload_hash": digest,
                    "error_category": outcome.category or "UNKNOWN",
                    "error_message": outcome.message,
                    "retriable": outcome.retriable,
                    "permanent": not outcome.retriable,
                    "attempts": 1,
                    "first_failed_at": as_of,
                    "last_failed_at": as_of,
                }
            )
    with transaction(con):
        if state:
            with registered(con, "ack_rows", pd.DataFrame(state)):
                con.execute("insert or replace into ops.push_state by name select * from ack_rows")
        if cleared:
            con.execute(
                f"delete from ops.dead_letter where destination = ? and lead_id in ({','.join('?' * len(cleared))})",
                [destination, *cleared],
            )
        if dead:
            with registered(con, "dead_rows", pd.DataFrame(dead)):
                con.execute(
                    """
                    insert into ops.dead_letter by name
                    select counted.* replace (
                        counted.permanent or counted.attempts >= ? as permanent
                    )
                    from (
                        -- a changed payload starts counting again
                        select d.* replace (
                            case when o.payload_hash = d.payload_hash
                                then o.attempts + 1 else 1 end as attempts
                        )
                        from dead_rows d
                        left join ops.dead_letter o
                            on o.destination = d.destination and o.lead_id = d.lead_id
                    ) as counted
                    on conflict (destination, lead_id) do update set
                        payload = excluded.payload, payload_hash = excluded.payload_hash,
                        error_category = excluded.error_category, error_message = excluded.error_message,
                        retriable = excluded.retriable, last_failed_at = excluded.last_failed_at,
                        attempts = excluded.attempts, permanent = excluded.permanent
                    """,
                    [max_attempts],
                )
        with registered(con, "log_rows", pd.DataFrame(logs)):
            con.execute("insert into ops.push_log by name select * from log_rows")


def dead_letter_summary(
    con: duckdb.DuckDBPyConnection, destination: str | None = None
) -> list[dict[str, object]]:
    """Dead letters grouped by destination, reason and whether they are permanent, with one
    (already redacted) message each."""
    rows = con.execute(
        """
        select destination, error_category, permanent, count(*) as leads,
               min(error_message) as example_message, max(attempts) as max_attempts
        from ops.dead_letter
        where ? is null or destination = ?
        group by all
        order by destination, leads desc, error_category
        """,
        [destination, destination],
    ).fetchall()
    names = (
        "destination",
        "error_category",
        "permanent",
        "leads",
        "example_message",
        "max_attempts",
    )
    return [dict(zip(names, row, strict=True)) for row in rows]


def requeue_dead_letters(con: duckdb.DuckDBPyConnection, destination: str | None = None) -> int:
    """Clear the permanent mark (and the attempt count), so the next push sends them again."""
    found = con.execute(
        "select count(*) from ops.dead_letter where permanent and (? is null or destination = ?)",
        [destination, destination],
    ).fetchone()
    con.execute(
        "update ops.dead_letter set permanent = false, attempts = 0 "
        "where permanent and (? is null or destination = ?)",
        [destination, destination],
    )
    return int(found[0]) if found else 0
