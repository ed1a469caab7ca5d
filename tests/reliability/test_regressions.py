"""One test per crash or silent drop the hostile-input tests found, with the payload that caused it.

The dbt failures they found (plain casts of vendor text, not_null tests over quarantined raw rows)
are guarded by tests/reliability/test_hostile_end_to_end.py, which builds the project on such data;
the webhook streams' (a boolean cast reading 't' and 'on' as true, staging showing another version
of a record than validation read) also by the dbt unit tests in dbt_project/models/staging/webform/
and dbt_project/models/staging/google_ads/.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import duckdb
import pytest

from connectors import hubspot, meta, typeform
from connectors.hubspot.client import _modified
from connectors.streams import Page, PullWindow, parse_timestamp
from enrichment.normalize import employee_band
from leadflow.landing import land
from leadflow.warehouse import stable_hash

AS_OF = datetime(2026, 12, 1, 12, 0)


@pytest.mark.parametrize(
    "value",
    [
        "\u00b2",  # str.isdigit() is true, float() fails
        "99999999999999999999",  # epoch beyond year 9999
        10**400,  # JSON integers have no size limit; float() overflows
        float("nan"),
        float("inf"),
        253402300800000.0,  # epoch ms of year 10000
        "0001-01-01T00:00:00+01:00",  # before year 1 once in UTC
        "9999-12-31T23:59:59-05:00",  # after year 9999 once in UTC
    ],
    ids=[
        "superscript-two",
        "epoch-20-digits",
        "int-400-digits",
        "nan",
        "inf",
        "year-10000-ms",
        "year-0-in-utc",
        "year-10000-in-utc",
    ],
)
def test_an_unreadable_timestamp_is_none_not_an_exception(value: Any) -> None:
    assert parse_timestamp(value) is None


def test_readable_timestamps_still_parse() -> None:
    assert parse_timestamp("2026-04-10T08:30:00+0000") == datetime(2026, 4, 10, 8, 30)
    assert parse_timestamp("1712737800000") == datetime(2024, 4, 10, 8, 30)
    assert parse_timestamp("0001-01-01T00:00:00Z") == datetime(1, 1, 1)


@pytest.mark.parametrize(
    "properties", [True, ["email"], "x", 7], ids=["bool", "list", "str", "int"]
)
def test_a_hubspot_contact_whose_properties_is_not_an_object_parses(properties: Any) -> None:
    payload = {"id": "1", "properties": properties, "createdAt": "2026-04-10T08:30:00Z"}
    record = hubspot.parse_contact(payload)
    assert (record.record_id, record.email, record.created_at) == (
        "1",
        None,
        datetime(2026, 4, 10, 8, 30),
    )
    assert hubspot.STREAMS["contacts"].record_cursor(payload) is None
    assert _modified(payload) is None  # the search paginator reads the same field


@pytest.mark.parametrize("field_data", [7, True, 1.5], ids=["int", "bool", "float"])
def test_a_meta_lead_whose_field_data_is_not_a_list_parses(field_data: Any) -> None:
    record = meta.parse_lead({"id": "1", "field_data": field_data}, "form")
    assert (record.record_id, record.email, record.form_id) == ("1", None, "form")


@pytest.mark.parametrize("answers", [7, True, 1.5], ids=["int", "bool", "float"])
def test_a_typeform_response_whose_answers_is_not_a_list_parses(answers: Any) -> None:
    record = typeform.parse_response({"token": "t", "answers": answers}, "form")
    assert (record.record_id, record.email) == ("t", None)


@pytest.mark.parametrize(
    "value",
    ["9" * 5000, "9" * 400, "9" * 400 + "-" + "9" * 401, "1" * 20 + "+", 10**400],
    ids=["5000-digits", "400-digits", "range-of-400-digits", "20-digits-plus", "int-400-digits"],
)
def test_an_absurd_employee_count_is_no_band_not_an_exception(value: Any) -> None:
    assert employee_band(value) is None


def test_employee_bands_still_read_real_counts() -> None:
    assert [employee_band(v) for v in ("25-50", "1,000-5,000", "10", "1000+", 100_000_000)] == [
        "25-50",
        "1000+",
        "5-25",
        "1000+",
        "1000+",
    ]


def test_a_lone_surrogate_hashes() -> None:
    # json.loads('"\\ud800"') gives a str UTF-8 cannot encode; the hash must not raise
    assert stable_hash({"a": "\ud800"}) != stable_hash({"a": "\udfff"})


# --------------------------------------------------------------------------- landing


def _land(
    con: duckdb.DuckDBPyConnection, key: tuple[str, str], records: list[dict[str, Any]]
) -> None:
    source, name = key
    module = {"hubspot": hubspot, "meta": meta, "typeform": typeform}[source]

    def pages(_window: PullWindow, _partition: str | None) -> Iterator[Page]:
        yield Page(records, last=True)

    partition = None if source == "hubspot" else "form_1"
    land(
        con,
        module.STREAMS[name],
        pages,
        [partition],
        lookback=timedelta(0),
        run_id="r1",
        as_of=AS_OF,
    )


def test_a_payload_with_a_lone_surrogate_is_landed_with_it_replaced(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # GIVEN a contact whose name arrived as the JSON escape "\ud800" (half a surrogate pair)
    payload = json.loads(
        '{"id": "7", "properties": {"firstname": "A\\ud800na", "email": "a@b.co"}}'
    )
    # WHEN it is landed
    _land(con, ("hubspot", "contacts"), [payload])
    # THEN it is stored, with only the unstorable half replaced
    stored = con.execute(
        "select json_extract_string(payload, '$.properties.firstname') from raw.hubspot__contacts"
    ).fetchall()
    assert stored == [("A\ufffdna",)]


def test_a_cursor_outside_pandas_range_is_landed(con: duckdb.DuckDBPyConnection) -> None:
    # GIVEN leads created in year 1 and year 9999 (pandas holds 1677..2262 only)
    records = [
        {"id": "1", "created_time": "0001-01-01T00:00:00"},
        {"id": "2", "created_time": "9999-12-31T00:00:00"},
    ]
    # WHEN they are landed
    _land(con, ("meta", "leads"), records)
    # THEN both are stored, with their times, and the cursor stays at the run's time
    rows = con.execute(
        "select record_id, record_updated_at from raw.meta__leads order by 1"
    ).fetchall()
    assert rows == [("1", datetime(1, 1, 1)), ("2", datetime(9999, 12, 31))]
    cursor = con.execute("select cursor_value from ops.sync_state").fetchone()
    assert cursor == (AS_OF.isoformat(),)


def test_the_same_id_less_payload_from_two_sources_is_quarantined_in_both(
    con: duckdb.DuckDBPyConnection,
) -> None:
    from enrichment.pipeline import stage_new_versions
    from expectations.gate import Gate
    from leadflow.accounting import record_accounting

    # GIVEN `{}` (no id) from Meta and from Typeform: once, both got the same _raw_id, and the
    # second was never quarantined (ops.quarantine is keyed by _raw_id) yet counted as processed
    _land(con, ("meta", "leads"), [{}])
    _land(con, ("typeform", "responses"), [{}])
    # WHEN the records are staged
    stage_new_versions(con, Gate(), intent_events={}, default_region=None, run_id="r1", as_of=AS_OF)
    # THEN each is quarantined, with its reason
    rows = con.execute("select source, reasons from ops.quarantine order by source").fetchall()
    assert [source for source, _ in rows] == ["meta", "typeform"]
    assert all("the record has no id" in json.loads(reasons) for _, reasons in rows)
    assert record_accounting(con)["unprocessed"] == 0


def test_a_creation_time_outside_pandas_range_is_quarantined_with_a_reason(
    con: duckdb.DuckDBPyConnection,
) -> None:
    from enrichment.pipeline import stage_new_versions
    from expectations.gate import Gate

    # GIVEN a Meta lead created in year 9999 (pandas' to_datetime raised on it)
    lead = {
        "id": "1",
        "created_time": "9999-12-31T00:00:00+0000",
        "form_id": "form_1",
        "field_data": [{"name": "email", "values": ["ana@example.com"]}],
    }
    _land(con, ("meta", "leads"), [lead])
    # WHEN it is staged
    result = stage_new_versions(
        con, Gate(), intent_events={}, default_region=None, run_id="r1", as_of=AS_OF
    )
    # THEN it is quarantined as having no readable creation time
    assert (result.accepted, result.quarantined) == (0, 1)
    reasons = con.execute("select reasons from ops.quarantine").fetchone()
    assert reasons is not None
    assert "the record has no readable creation time" in json.loads(reasons[0])


def test_a_cursor_of_year_one_starts_the_next_pull_at_the_beginning() -> None:
    # a stream whose first pull held only year-0001 records saved that as its cursor
    window = PullWindow(datetime(1, 1, 1, 0, 5), timedelta(minutes=10))
    assert window.since == datetime.min
    assert PullWindow(AS_OF, timedelta(minutes=10)).since == AS_OF - timedelta(minutes=10)


def test_a_relation_name_with_a_quote_is_quoted_safely() -> None:
    from leadflow.forget import _quoted

    assert _quoted('marts.odd"name') == '"marts"."odd""name"'
