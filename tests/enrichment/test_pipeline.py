"""The enrichment stage's upkeep of ops.lead_records (most of the staging runs in the flow tests)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from connectors import hubspot
from connectors.streams import Page, PullWindow
from enrichment.pipeline import backfill_title_attributes, stage_new_versions
from expectations.gate import Gate
from leadflow.landing import land
from leadflow.warehouse import Warehouse


def test_records_stored_before_seniority_existed_get_it_in_place(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # GIVEN records stored without seniority/department (as an older warehouse holds them)
    for key, title in (("a", "VP Sales"), ("b", "!!!"), ("c", None)):
        con.execute(
            "insert into ops.lead_records (record_key, source, stream, record_id, _raw_id,"
            " job_title, first_seen_at, run_id) values (?, 'meta', 'leads', ?, 'r', ?, ?, 'r1')",
            [key, key, title, datetime(2026, 6, 1)],
        )
    # WHEN the backfill runs twice
    first = backfill_title_attributes(con)
    second = backfill_title_attributes(con)
    # THEN the readable title is filled once; the others stay null
    assert (first, second) == (1, 0)
    rows = con.execute(
        "select record_key, seniority, department from ops.lead_records order by record_key"
    ).fetchall()
    assert rows == [("a", "vp", "sales"), ("b", None, None), ("c", None, None)]


def test_a_warehouse_from_before_phone_zones_gains_them_in_place(tmp_path: Path) -> None:
    # GIVEN a warehouse whose ops.lead_records has no phone_timezone column yet
    warehouse = Warehouse(tmp_path / "w.duckdb")
    warehouse.ensure_schema()
    with warehouse.connect() as con:
        con.execute("alter table ops.lead_records drop column phone_timezone")
        for key, phone, country in (
            ("a", "+14155550134", "US"),
            ("b", "+14155550134", "CA"),  # a US number on a Canadian record: no zone
            ("c", "+61412345678", "AU"),  # a mobile: anywhere in Australia
            ("d", None, "US"),
        ):
            con.execute(
                "insert into ops.lead_records (record_key, source, stream, record_id, _raw_id,"
                " phone_e164, country_code, first_seen_at, run_id)"
                " values (?, 'meta', 'leads', ?, 'r', ?, ?, ?, 'r1')",
                [key, key, phone, country, datetime(2026, 6, 1)],
            )
    # WHEN the schema is ensured (each run does it first), twice
    warehouse.ensure_schema()
    warehouse.ensure_schema()
    # THEN the column exists and the stored records carry their phone's zone
    with warehouse.connect() as con:
        rows = con.execute(
            "select record_key, phone_timezone from ops.lead_records order by record_key"
        ).fetchall()
    assert rows == [("a", "America/Los_Angeles"), ("b", None), ("c", None), ("d", None)]


def _hubspot_version(modified: str, **properties: str) -> dict[str, Any]:
    return {
        "id": "501",
        "createdAt": "2026-06-01T00:00:00Z",
        "updatedAt": modified,
        "properties": {
            "email": "ana@acme.com",
            "firstname": "Ana",
            "company": "Acme",
            "createdate": "2026-06-01T00:00:00Z",
            "lastmodifieddate": modified,
            **properties,
        },
    }


def _stage_version(con: duckdb.DuckDBPyConnection, payload: dict[str, Any], run: str) -> None:
    def pages(_window: PullWindow, _partition: str | None) -> Iterator[Page]:
        yield Page([payload], last=True)

    as_of = datetime(2026, 12, 1, 12, int(run[1:]))
    stream = hubspot.STREAMS["contacts"]
    land(con, stream, pages, [None], lookback=timedelta(0), run_id=run, as_of=as_of)
    stage_new_versions(con, Gate(), intent_events={}, default_region=None, run_id=run, as_of=as_of)


def test_a_version_that_changes_no_golden_record_value_keeps_when_the_values_changed(
    con: duckdb.DuckDBPyConnection,
) -> None:
    def times() -> tuple[datetime, datetime]:
        row = con.execute(
            "select record_updated_at, values_changed_at from ops.lead_records"
        ).fetchone()
        assert row is not None
        return row[0], row[1]

    # GIVEN a HubSpot contact staged once
    _stage_version(con, _hubspot_version("2026-06-02T00:00:00Z"), "r1")
    assert times() == (datetime(2026, 6, 2), datetime(2026, 6, 2))
    # WHEN LeadFlow's own push sets its score and owner (HubSpot moves lastmodifieddate)
    pushed = _hubspot_version(
        "2026-06-05T00:00:00Z", leadflow_score="80", hubspot_owner_id="7", hs_lead_status="OPEN"
    )
    _stage_version(con, pushed, "r2")
    # THEN the record is updated, but its values changed when they did before: a push does not
    # make it the newest record for survivorship
    assert times() == (datetime(2026, 6, 5), datetime(2026, 6, 2))
    # WHEN a rep edits the company
    edited = _hubspot_version("2026-06-09T00:00:00Z", company="Acme Inc", hubspot_owner_id="7")
    _stage_version(con, edited, "r3")
    # THEN the values changed then
    assert times() == (datetime(2026, 6, 9), datetime(2026, 6, 9))


def test_a_warehouse_from_before_values_changed_at_gains_it_from_the_update_time(
    tmp_path: Path,
) -> None:
    # GIVEN a warehouse whose ops.lead_records has no values_changed_at column yet
    warehouse = Warehouse(tmp_path / "w.duckdb")
    warehouse.ensure_schema()
    with warehouse.connect() as con:
        con.execute("alter table ops.lead_records drop column values_changed_at")
        con.execute(
            "insert into ops.lead_records (record_key, source, stream, record_id, _raw_id,"
            " record_updated_at, first_seen_at, run_id)"
            " values ('a', 'meta', 'leads', 'a', 'r', ?, ?, 'r1')",
            [datetime(2026, 6, 3), datetime(2026, 6, 4)],
        )
    # WHEN the schema is ensured (each run does it first), twice
    warehouse.ensure_schema()
    warehouse.ensure_schema()
    # THEN survivorship's recency starts from the record's update time
    with warehouse.connect() as con:
        assert con.execute("select values_changed_at from ops.lead_records").fetchall() == [
            (datetime(2026, 6, 3),)
        ]


def test_a_stream_is_staged_in_chunks_and_every_version_is_accounted_for(
    con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    from enrichment import pipeline

    # GIVEN seven HubSpot contacts, one without an email, and chunks of two
    monkeypatch.setattr(pipeline, "CHUNK_ROWS", 2)
    contacts = [{**_hubspot_version("2026-06-02T00:00:00Z"), "id": str(600 + i)} for i in range(6)]
    for i, contact in enumerate(contacts):
        contact["properties"] = {**contact["properties"], "email": f"p{i}@acme.com"}
    contacts.append({**_hubspot_version("2026-06-02T00:00:00Z", email=""), "id": "699"})

    def pages(_window: PullWindow, _partition: str | None) -> Iterator[Page]:
        yield Page(contacts, last=True)

    as_of = datetime(2026, 12, 1, 12)
    land(
        con,
        hubspot.STREAMS["contacts"],
        pages,
        [None],
        lookback=timedelta(0),
        run_id="r1",
        as_of=as_of,
    )
    # WHEN they are staged
    result = stage_new_versions(
        con, Gate(), intent_events={}, default_region=None, run_id="r1", as_of=as_of
    )
    # THEN all seven went through, in four chunks, each record once: stored or quarantined
    assert (result.processed, result.accepted, result.quarantined) == (7, 6, 1)
    assert con.execute("select count(*) from ops.lead_records").fetchone() == (6,)
    assert con.execute("select record_id from ops.quarantine").fetchall() == [("699",)]
    # AND a second staging finds nothing new
    again = stage_new_versions(
        con, Gate(), intent_events={}, default_region=None, run_id="r2", as_of=as_of
    )
    assert again.processed == 0
