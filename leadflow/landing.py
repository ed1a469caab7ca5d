"""Raw landing: pages from a connector into raw.<source>__<stream>, with the cursor that covers them.

Rows and the cursor commit in one transaction. A stream sorted by its cursor commits the cursor
with every page; an unsorted one (newest first) commits it with its last page only, so a crash
mid-stream never leaves the cursor past rows that were not saved. Raw tables are append-only and
keyed by (record id, payload hash): re-reading an unchanged record stores nothing new, a changed
record stores a new version beside the old one. A file drop's files land the same way, each file
with the ledger row that marks it loaded (`land_files`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import duckdb
import pandas as pd

from connectors.file_drop import DroppedFile
from connectors.http import QuotaExhausted
from connectors.streams import Page, PullWindow, Stream
from leadflow.faults import crash_point
from leadflow.warehouse import raw_table, registered, stable_hash, transaction, utcnow

log = logging.getLogger("leadflow.landing")


@dataclass
class LandResult:
    source: str
    stream: str
    pulled: int = 0  # records the API returned (re-reads included)
    new_versions: int = 0  # records stored as new raw rows
    cursors: dict[str, str | None] = field(
        default_factory=dict
    )  # state key -> cursor after the pull
    # Why the pull stopped before the end (the source's API allowance ran out): what was landed
    # stays, with its cursor, and the next run resumes from there. None: it read everything.
    stopped: str | None = None


def state_key(stream: Stream, partition: str | None) -> str:
    return stream.name if partition is None else f"{stream.name}:{partition}"


def read_cursor(con: duckdb.DuckDBPyConnection, source: str, key: str) -> datetime | None:
    row = con.execute(
        "select cursor_value from ops.sync_state where source = ? and stream = ?", [source, key]
    ).fetchone()
    return datetime.fromisoformat(row[0]) if row and row[0] else None


def _save_cursor(
    con: duckdb.DuckDBPyConnection, source: str, key: str, cursor: datetime, run_id: str
) -> None:
    con.execute(
        """
        insert into ops.sync_state (source, stream, cursor_value, updated_at, run_id)
        values (?, ?, ?, ?, ?)
        on conflict (source, stream) do update set
            cursor_value = excluded.cursor_value, updated_at = excluded.updated_at, run_id = excluded.run_id
        """,
        [source, key, cursor.isoformat(), utcnow(), run_id],
    )


def _storable_json(payload: Any) -> str:
    """The payload as JSON text, verbatim except for lone UTF-16 surrogates.

    A vendor's JSON may escape half a surrogate pair ("\\ud800"); Python decodes it to a string
    that UTF-8 (and so DuckDB) cannot hold. Only those become U+FFFD; everything else is kept.
    """
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _rows(
    stream: Stream, page: Page, partition: str | None, run_id: str, loaded_at: datetime
) -> pd.DataFrame:
    rows = []
    for payload in page.records:
        payload_hash = stable_hash(payload)
        text = _storable_json(payload)
        stored = json.loads(text)  # what raw holds, so the id is the one every later step reads
        # A record without an id is still landed (and then quarantined): nothing is dropped. The
        # stream is part of its id: `{}` from two sources must not share a _raw_id (the key of
        # ops.quarantine), or the second would never be quarantined.
        record_id = stream.record_id(stored) or (
            f"missing-id:{stream.source}.{stream.name}:{payload_hash}"
        )
        rows.append(
            {
                "_raw_id": stable_hash([record_id, payload_hash]),
                "record_id": record_id,
                "_partition": partition,
                "record_updated_at": stream.record_cursor(stored),
                "payload": text,
                "payload_hash": payload_hash,
                "_run_id": run_id,
                "_loaded_at": loaded_at,
            }
        )
    frame = pd.DataFrame(
        rows,
        columns=[
            "_raw_id",
            "record_id",
            "_partition",
            "record_updated_at",
            "payload",
            "payload_hash",
            "_run_id",
            "_loaded_at",
        ],
    )
    # One page may repeat a record (an API re-sending a tie); keep one row per version.
    return frame.drop_duplicates("_raw_id")


def land_records(
    con: duckdb.DuckDBPyConnection,
    stream: Stream,
    records: list[dict[str, Any]],
    partition: str | None,
    *,
    run_id: str,
) -> int:
    """Land records that arrived without a pull (webhooks, intake/land.py): the same rows a pull
    lands, in one commit, and no cursor moves (the pull's cursor covers only what it read).
    Returns how many were new versions."""
    frame = _rows(stream, Page(records, last=True), partition, run_id, utcnow())
    with transaction(con):
        return _insert_new(con, stream, frame)


def loaded_file_hashes(con: duckdb.DuckDBPyConnection, stream: Stream) -> set[str]:
    """The content hashes of the files a file drop's stream has loaded (ops.file_drop_files)."""
    rows = con.execute(
        "select content_sha256 from ops.file_drop_files where stream = ?", [stream.name]
    ).fetchall()
    return {row[0] for row in rows}


def land_files(
    con: duckdb.DuckDBPyConnection,
    stream: Stream,
    read_new: Callable[[set[str]], Iterator[DroppedFile]],
    *,
    run_id: str,
) -> LandResult:
    """Land every file of a file drop's stream that is not loaded yet (connectors/file_drop):
    `read_new(loaded hashes)` reads them. Each file's rows and its ops.file_drop_files row commit
    together, one file at a time: the ledger is the stream's cursor, so a crash never leaves a
    file marked loaded without its rows, and rows landed before a crash are the same ids and
    payloads when the file is read again (nothing new is stored). A file rejected whole lands the
    one record saying why, which staging quarantines."""
    result = LandResult(stream.source, stream.name)
    known = loaded_file_hashes(con, stream)
    for dropped in read_new(known):
        loaded_at = utcnow()
        frame = _rows(stream, Page(dropped.payloads, last=True), None, run_id, loaded_at)
        with transaction(con):
            added = _insert_new(con, stream, frame)
            con.execute(
                """
                insert into ops.file_drop_files (stream, content_sha256, file_name, byte_size,
                    status, reason, count_rows, count_blank_rows, loaded_at, run_id)
                values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    stream.name,
                    dropped.sha256,
                    dropped.name,
                    dropped.byte_size,
                    "rejected" if dropped.rejected else "loaded",
                    dropped.rejected,
                    dropped.rows,
                    dropped.blank_rows,
                    loaded_at,
                    run_id,
                ],
            )
        known.add(dropped.sha256)
        result.pulled += len(dropped.payloads)
        result.new_versions += added
        if dropped.rejected:
            log.warning(
                "%s.%s: %s not loaded: %s",
                stream.source,
                stream.name,
                dropped.name,
                dropped.rejected,
            )
        else:
            log.info(
                "%s.%s: %s loaded, %d rows (%d blank rows skipped)",
                stream.source,
                stream.name,
                dropped.name,
                dropped.rows,
                dropped.blank_rows,
            )
    return result


def _insert_new(con: duckdb.DuckDBPyConnection, stream: Stream, frame: pd.DataFrame) -> int:
    """Insert a page's rows into the stream's raw table; a version already stored is skipped, and
    for an immutable stream so is any record already stored. Returns the rows added."""
    table = raw_table(stream.source, stream.name)
    before = con.execute(f"select count(*) from {table}").fetchone()[0]  # type: ignore[index]
    new_records = ""
    if stream.immutable:
        frame = frame.drop_duplicates("record_id")
        new_records = f" where record_id not in (select record_id from {table})"
    with registered(con, "landing_page", frame):
        con.execute(
            f"insert or ignore into {table} by name select * from landing_page{new_records}"
        )
    after = con.execute(f"select count(*) from {table}").fetchone()[0]  # type: ignore[index]
    return int(after - before)


def land(
    con: duckdb.DuckDBPyConnection,
    stream: Stream,
    pages_for: Callable[[PullWindow, str | None], Iterator[Page]],
    partitions: list[str | None],
    *,
    lookback: timedelta,
    run_id: str,
    as_of: datetime,
) -> LandResult:
    """Pull every partition of one stream from its cursor and land the pages."""
    result = LandResult(stream.source, stream.name)
    for partition in partitions:
        key = state_key(stream, partition)
        cursor = read_cursor(con, stream.source, key)
        newest = cursor
        # The first pull starts at the stream's declared initial value, without a lookback.
        window = (
            PullWindow(cursor, lookback)
            if cursor
            else PullWindow(stream.initial_cursor, timedelta(0))
        )
        try:
            for page in pages_for(window, partition):
                loaded_at = utcnow()
                frame = _rows(stream, page, partition, run_id, loaded_at)
                for value in frame["record_updated_at"].dropna():
                    # A timestamp from the future (clock skew, bad data) must not push the cursor
                    # past records that have not arrived yet.
                    stamp = min(
                        value.to_pydatetime() if isinstance(value, pd.Timestamp) else value, as_of
                    )
                    newest = stamp if newest is None or stamp > newest else newest
                with transaction(con):
                    added = _insert_new(con, stream, frame)
                    if newest is not None and (stream.sorted_by_cursor or page.last):
                        _save_cursor(con, stream.source, key, newest, run_id)
                    crash_point("land:page-written")
                crash_point("land:page-committed")
                result.pulled += len(page.records)
                result.new_versions += added
        except QuotaExhausted as exc:
            # The source's allowance ran out: what landed stays, with its cursor (a stream
            # sorted by its cursor saved it with each page); the rest waits for the next run.
            result.stopped = str(exc)
            saved = read_cursor(con, stream.source, key)
            result.cursors[key] = saved.isoformat() if saved else None
            log.warning("%s.%s: %s", stream.source, stream.name, exc)
            return result
        result.cursors[key] = newest.isoformat() if newest else None
        log.info(
            "%s.%s%s: cursor %s",
            stream.source,
            stream.name,
            f" [{partition}]" if partition else "",
            result.cursors[key],
        )
    return result
