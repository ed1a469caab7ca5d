"""The enrichment stage's upkeep of ops.lead_records (the staging itself runs in the flow tests)."""

from __future__ import annotations

from datetime import datetime

import duckdb

from enrichment.pipeline import backfill_title_attributes


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
