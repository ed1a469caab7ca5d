"""The enrichment stage's upkeep of ops.lead_records (the staging itself runs in the flow tests)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb

from enrichment.pipeline import backfill_title_attributes
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
