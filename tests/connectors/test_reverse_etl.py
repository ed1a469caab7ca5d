"""The push reads, from the sync model, only the rows that may have changed since acknowledged."""

from __future__ import annotations

import duckdb

from connectors.reverse_etl import PushResult, push_changed, read_changed_sync_rows
from connectors.sync import PushOutcome, SyncRow
from leadflow.warehouse import utcnow

MODEL = "marts.sync_test__contacts"
IDENTITY = ("lead_id", "operation", "object_id", "id_property", "id_value", "object_type")
OWNED = ("leadflow_lead_id", "leadflow_score", "hubspot_owner_id")


def _model(con: duckdb.DuckDBPyConnection, rows: int) -> None:
    con.execute("create schema if not exists marts")
    con.execute(
        f"""
        create or replace table {MODEL} as
        select 'lead-' || i as lead_id, 'upsert' as operation, null::varchar as object_id,
            'leadflow_lead_id' as id_property, 'lead-' || i as id_value,
            null::varchar as object_type, 'lead-' || i as leadflow_lead_id,
            (i * 10)::integer as leadflow_score,
            case when i = 3 then '99999999' else '51000001' end as hubspot_owner_id,
            'p' || i || '@example.com' as email
        from range(?) as t(i)
        """,
        [rows],
    )


def _push(con: duckdb.DuckDBPyConnection, run_id: str, sent: list[str]) -> tuple[PushResult, int]:
    """One push as the pipeline makes it: (its result, how many rows were left unread)."""
    read = read_changed_sync_rows(con, MODEL, IDENTITY, "hubspot", OWNED)

    def send(batch: list[SyncRow]) -> list[PushOutcome]:
        sent.extend(row.lead_id for row in batch)
        return [
            PushOutcome(row.lead_id, row.operation, ok=True, object_id=row.lead_id)
            if row.properties.get("hubspot_owner_id") != "99999999"
            else PushOutcome(
                row.lead_id, row.operation, ok=False, category="INVALID_OWNER_ID", message="no"
            )
            for row in batch
        ]

    result = push_changed(
        con,
        "hubspot",
        read.rows,
        send,
        owned_properties=OWNED,
        batch_size=100,
        run_id=run_id,
        as_of=utcnow(),
        row_hashes=read.row_hashes,
        unchanged_unread=read.unchanged_unread,
    )
    return result, read.unchanged_unread


def test_only_rows_that_may_have_changed_are_read_and_the_diff_is_unchanged(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # GIVEN five leads, one of which the CRM rejects for good (an owner it does not know)
    _model(con, 5)
    sent: list[str] = []
    first, _ = _push(con, "r1", sent)
    assert (first.candidates, first.pushed, first.failed) == (5, 4, 1)
    # WHEN nothing changed: only the rejected row (never acknowledged) is read, and not sent
    sent.clear()
    again, unread = _push(con, "r2", sent)
    assert (again.candidates, again.changed, again.skipped_rejected, again.pushed) == (5, 1, 1, 0)
    assert unread == 4 and sent == []
    # WHEN one owned column and one column LeadFlow does not own change
    con.execute(f"update {MODEL} set leadflow_score = 77 where lead_id = 'lead-1'")
    con.execute(f"update {MODEL} set email = 'new@example.com' where lead_id = 'lead-2'")
    third, unread = _push(con, "r3", sent)
    # THEN only the owned change is read and sent
    assert sent == ["lead-1"] and (third.pushed, third.candidates, unread) == (1, 5, 3)
    # WHEN a value goes back to what was acknowledged before, it is a change again
    con.execute(f"update {MODEL} set leadflow_score = 10 where lead_id = 'lead-1'")
    sent.clear()
    assert _push(con, "r4", sent)[0].pushed == 1 and sent == ["lead-1"]


def test_an_acknowledgement_without_a_row_hash_is_read_once_then_left_unread(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # GIVEN a warehouse whose acknowledgements predate row hashes
    _model(con, 3)
    sent: list[str] = []
    _push(con, "r1", sent)
    con.execute("update ops.push_state set row_hash = null")
    # WHEN the push runs: every row is read, none is sent (the payload hashes match)
    sent.clear()
    first, unread = _push(con, "r2", sent)
    assert (unread, first.pushed, sent) == (0, 0, [])
    # THEN the next run leaves them unread
    assert _push(con, "r3", sent)[1] == 3
    assert con.execute(
        "select count(*) from ops.push_state where row_hash is not null"
    ).fetchone() == (3,)
