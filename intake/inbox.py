"""The durable inbox: every accepted webhook, stored before the sender gets its 2xx.

A SQLite file beside the warehouse, not the warehouse itself: DuckDB lets one process write its file
and the hourly run holds it for minutes, while a webhook must be stored in milliseconds. SQLite in
WAL mode with `synchronous=FULL` makes each accepted request durable at its commit (a crash or power
loss after the answer cannot lose it), and lets the lander read while the service writes.

One row per lead a source told us about, keyed by (source, the source's id for it): a webhook sent
twice (vendors retry on any doubt) is stored once. A row is `pending` until the lander has put it in
raw (`landed`; a stored payload is then cleared, raw holds it) or the vendor says the record does
not exist (`gone`, with the reason). Nothing is deleted, so every accepted request is accounted for.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SCHEMA = """
create table if not exists inbox (
    entry_id integer primary key autoincrement,
    source text not null,             -- meta, typeform, hubspot, google_ads, webform
    source_key text not null,         -- the source's id for the lead or event (dedupe key)
    stream text not null,             -- the raw stream it lands in
    partition_key text,               -- the form it belongs to, where the stream is per form
    record_ref text,                  -- the record to fetch (leadgen id, response token, contact id)
    payload text,                     -- the record itself, for sources that send it (else null)
    received_at text not null,        -- ISO 8601 UTC
    state text not null default 'pending',   -- pending | landed | gone
    attempts integer not null default 0,
    last_error text,                  -- why the last landing attempt failed (no personal data)
    landed_at text,
    unique (source, source_key)
);
create index if not exists inbox_pending on inbox (state, entry_id);
"""


def utc_iso(moment: datetime | None = None) -> str:
    moment = moment or datetime.now(UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Arrival:
    """One lead in one accepted request, as the inbox stores it."""

    source: str
    source_key: str
    stream: str
    partition: str | None = None
    record_ref: str | None = None
    payload: dict[str, Any] | None = None


@dataclass(frozen=True)
class Entry:
    entry_id: int
    source: str
    source_key: str
    stream: str
    partition: str | None
    record_ref: str | None
    payload: dict[str, Any] | None
    received_at: str
    attempts: int


class Inbox:
    """The inbox file; safe to share between the service's threads (one connection, one lock)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._con = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._con.execute("pragma journal_mode=wal")
        self._con.execute("pragma synchronous=full")
        self._con.execute("pragma busy_timeout=10000")
        # Erased or landed payloads are overwritten on disk, not left in free pages.
        self._con.execute("pragma secure_delete=on")
        self._con.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._con.close()

    def __enter__(self) -> Inbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._con.execute("begin immediate")
            try:
                yield self._con
            except BaseException:
                self._con.execute("rollback")
                raise
            self._con.execute("commit")

    def store(self, arrivals: list[Arrival], received_at: str | None = None) -> int:
        """Store a request's arrivals in one commit; how many were new (the rest were repeats)."""
        received_at = received_at or utc_iso()
        new = 0
        with self._transaction() as con:
            for item in arrivals:
                cursor = con.execute(
                    "insert or ignore into inbox (source, source_key, stream, partition_key,"
                    " record_ref, payload, received_at) values (?, ?, ?, ?, ?, ?, ?)",
                    [
                        item.source,
                        item.source_key,
                        item.stream,
                        item.partition,
                        item.record_ref,
                        # ASCII: a lone surrogate stays an escape SQLite can store; landing
                        # turns it into U+FFFD as it does for a pulled payload.
                        json.dumps(item.payload) if item.payload is not None else None,
                        received_at,
                    ],
                )
                new += cursor.rowcount
        return new

    def pending(self, limit: int = 10_000, after: int = 0) -> list[Entry]:
        """The oldest `limit` pending entries with an id above `after` (to page through them)."""
        with self._lock:
            rows = self._con.execute(
                "select entry_id, source, source_key, stream, partition_key, record_ref, payload,"
                " received_at, attempts from inbox where state = 'pending' and entry_id > ?"
                " order by entry_id limit ?",
                [after, limit],
            ).fetchall()
        return [
            Entry(
                entry_id=row[0],
                source=row[1],
                source_key=row[2],
                stream=row[3],
                partition=row[4],
                record_ref=row[5],
                payload=json.loads(row[6]) if row[6] is not None else None,
                received_at=row[7],
                attempts=row[8],
            )
            for row in rows
        ]

    def mark_landed(self, entry_ids: list[int]) -> None:
        """Landed in raw: the stored payload is cleared (raw keeps it, and `leadflow forget` erases
        it there); the row stays, so the request remains accounted for."""
        now = utc_iso()
        with self._transaction() as con:
            con.executemany(
                "update inbox set state = 'landed', landed_at = ?, payload = null, last_error = null"
                " where entry_id = ?",
                [(now, entry_id) for entry_id in entry_ids],
            )

    def mark_gone(self, entry_ids: list[int], reason: str) -> None:
        """The source says the record does not exist (deleted, or never visible to our token)."""
        now = utc_iso()
        with self._transaction() as con:
            con.executemany(
                "update inbox set state = 'gone', landed_at = ?, payload = null, last_error = ?"
                " where entry_id = ?",
                [(now, reason, entry_id) for entry_id in entry_ids],
            )

    def mark_failed(self, entry_ids: list[int], error: str) -> None:
        """A landing attempt failed (the source unreachable): still pending, retried next time."""
        with self._transaction() as con:
            con.executemany(
                "update inbox set attempts = attempts + 1, last_error = ? where entry_id = ?",
                [(error, entry_id) for entry_id in entry_ids],
            )

    def pending_payloads(self) -> list[tuple[int, str]]:
        """(entry id, payload JSON) of every pending entry that holds a record (`leadflow forget`
        looks in them for the person it erases)."""
        with self._lock:
            rows = self._con.execute(
                "select entry_id, payload from inbox where state = 'pending' and payload is not null"
            ).fetchall()
        return [(int(entry_id), str(payload)) for entry_id, payload in rows]

    def pending_count(self) -> int:
        with self._lock:
            row = self._con.execute("select count(*) from inbox where state = 'pending'").fetchone()
        return int(row[0]) if row else 0

    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._con.execute("select state, count(*) from inbox group by state").fetchall()
        return {str(state): int(count) for state, count in rows}
