"""End to end: 1,000 hostile payloads per source through landing, validation, enrichment, dedupe
and dbt, in a real DuckDB warehouse, once.

GIVEN 1,000 generated payloads per lead stream (tests/reliability/payloads.py) plus a few clean
"canary" records whose names and companies are SQL and HTML injection strings; WHEN they are landed
by leadflow.landing (as a pull lands a page, or, for the webhook streams, as the intake lands what
it stored: `land_records`, no cursor), staged by enrichment.pipeline (GX gate included), resolved by
dedupe.deterministic and built by dbt (prepare, then publish); THEN nothing raises, every raw record
is a lead, a merged duplicate or quarantined (none unprocessed), every quarantine row says why, and
the injection strings sit in the tables as data, verbatim, with every ops table still there.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from connectors import WEBHOOK_SOURCES
from connectors.streams import Page, PullWindow
from dedupe.deterministic import resolve
from enrichment.pipeline import stage_new_versions
from leadflow.accounting import record_accounting
from leadflow.landing import land, land_records
from leadflow.pg_mirror import PgSettings, connect, mirror_and_build
from leadflow.warehouse import Warehouse
from tests.dbt_project.postgres_compare import throwaway_database
from tests.reliability.payloads import (
    HTML_INJECTION,
    LINKEDIN_FORM_ID,
    META_FORM_ID,
    PARTITIONS,
    SQL_INJECTION,
    draw_payloads,
    stream_of,
)
from tests.reliability.payloads import SOURCES as PAYLOADS

AS_OF = datetime(2026, 12, 1, 12, 0)
PER_SOURCE = 1000
PAGE_SIZE = 100
RUN_ID = "hostile-run"
INJECTIONS = SQL_INJECTION + HTML_INJECTION
# Where each stream's payload holds its id -> the separators a plain id of that key may contain.
ID_KEYS = {
    "id": "",
    "Id": "",  # Salesforce
    "token": "",
    "response_id": "",
    "submission_id": "-",
    "lead_id": "-_",
}


def canaries(key: tuple[str, str]) -> list[dict[str, Any]]:
    """Clean records of one lead stream whose company and last name are injection strings.

    Canary n of every stream shares its email, so dedupe merges them across sources too.
    """
    source, stream = key
    stamp = "2026-11-20T10:00:00.000Z"
    records = []
    for n, injection in enumerate(INJECTIONS):
        email = f"canary{n}@example.com"
        if source == "salesforce":
            records.append(_salesforce_canary(stream, f"canary-{n}", email, injection))
        elif source == "linkedin":
            records.append(_linkedin_canary(f"canary-{n}", email, injection))
        elif source == "pipedrive":
            records.append(
                {
                    "id": f"canary-{n}",
                    "name": f"Canary {injection}",
                    "first_name": "Canary",
                    "last_name": injection,
                    "owner_id": 12000001,
                    # v2 gives the organization's id only; v1's {value, name} carries its name
                    "org_id": {"value": 300 + n, "name": injection},
                    "add_time": "2026-11-20T10:00:00Z",
                    "update_time": "2026-11-20T10:00:00Z",
                    "emails": [{"label": "work", "value": email, "primary": True}],
                    "phones": [],
                    "is_deleted": False,
                    "custom_fields": {},
                }
            )
        elif source == "hubspot":
            records.append(
                {
                    "id": f"canary-{n}",
                    "properties": {
                        "email": email,
                        "firstname": "Canary",
                        "lastname": injection,
                        "company": injection,
                        "createdate": stamp,
                        "lastmodifieddate": stamp,
                    },
                    "createdAt": stamp,
                    "updatedAt": stamp,
                    "archived": False,
                }
            )
        elif source == "meta":
            records.append(
                {
                    "id": f"canary-{n}",
                    "created_time": "2026-11-20T10:00:00+0000",
                    "form_id": META_FORM_ID,
                    "campaign_name": injection,
                    "field_data": [
                        {"name": "email", "values": [email]},
                        {"name": "last_name", "values": [injection]},
                        {"name": "company_name", "values": [injection]},
                    ],
                }
            )
        elif source == "webform":
            records.append(
                {
                    "form_id": "contact-us",
                    "submission_id": f"canary-{n}",
                    "submitted_at": "2026-11-20T10:00:00Z",
                    "fields": {"email": email, "last_name": injection, "company": injection},
                    "utm": {"campaign": injection},
                    "_received_at": "2026-11-20T10:00:01.000000Z",
                }
            )
        elif source == "google_ads":
            answers = {"EMAIL": email, "LAST_NAME": injection, "COMPANY_NAME": injection}
            records.append(
                {
                    "lead_id": f"canary-{n}",
                    "form_id": 40001234567,
                    "campaign_id": 21456789012,
                    "is_test": False,
                    "lead_submit_time": "2026-11-20T10:00:00Z",
                    "user_column_data": [
                        {"column_id": column, "column_name": column.title(), "string_value": value}
                        for column, value in answers.items()
                    ],
                    "_received_at": "2026-11-20T10:00:01.000000Z",
                }
            )
        else:
            records.append(
                {
                    "token": f"canary-{n}",
                    "response_id": f"canary-{n}",
                    "submitted_at": "2026-11-20T10:00:00Z",
                    "hidden": {"utm_campaign": injection},
                    "answers": [
                        {
                            "field": {"id": "a1", "type": "email", "ref": "email"},
                            "type": "email",
                            "email": email,
                        },
                        {
                            "field": {"id": "a2", "type": "short_text", "ref": "company"},
                            "type": "text",
                            "text": injection,
                        },
                        {
                            "field": {"id": "a3", "type": "short_text", "ref": "last_name"},
                            "type": "text",
                            "text": injection,
                        },
                    ],
                }
            )
    return records


def _salesforce_canary(stream: str, record_id: str, email: str, injection: str) -> dict[str, Any]:
    """A live Lead (the company on the record) or Contact (the company its Account's name)."""
    stamp = "2026-11-20T10:00:00.000+0000"
    sobject = "Lead" if stream == "leads" else "Contact"
    record: dict[str, Any] = {
        "attributes": {
            "type": sobject,
            "url": f"/services/data/v62.0/sobjects/{sobject}/{record_id}",
        },
        "Id": record_id,
        "IsDeleted": False,
        "MasterRecordId": None,
        "FirstName": "Canary",
        "LastName": injection,
        "Email": email,
        "OwnerId": "0055g000000001eAAA",
        "CreatedDate": stamp,
        "LastModifiedDate": stamp,
        "SystemModstamp": stamp,
    }
    if sobject == "Lead":
        record["Company"] = injection
    else:
        record["AccountId"] = "0015g000000001hAAA"
        record["Account"] = {"attributes": {"type": "Account"}, "Name": injection}
    return record


def _linkedin_canary(record_id: str, email: str, injection: str) -> dict[str, Any]:
    """A response whose form decoration maps its answers to EMAIL, LAST_NAME and COMPANY_NAME."""
    answers = {"EMAIL": email, "LAST_NAME": injection, "COMPANY_NAME": injection}
    question_ids = {name: 10 + n for n, name in enumerate(answers)}
    return {
        "id": record_id,
        "submittedAt": 1795168800000,  # 2026-11-20T10:00:00Z
        "testLead": False,
        "versionedLeadGenFormUrn": (
            f"urn:li:versionedLeadGenForm:(urn:li:leadGenForm:{LINKEDIN_FORM_ID},1)"
        ),
        "leadMetadata": {
            "sponsoredLeadMetadata": {"campaign": f"urn:li:sponsoredCampaign:{injection}"}
        },
        "formResponse": {
            "answers": [
                {
                    "questionId": question_ids[name],
                    "answerDetails": {"textQuestionAnswer": {"answer": value}},
                }
                for name, value in answers.items()
            ]
        },
        "form": {
            "id": LINKEDIN_FORM_ID,
            "content": {
                "questions": [
                    {"questionId": qid, "predefinedField": name}
                    for name, qid in question_ids.items()
                ]
            },
        },
    }


def serialized(payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The payloads with each plain id made unique by a serial suffix.

    Hypothesis draws the same simple ids ("1", the zero uuid) again and again: realistic re-sends
    (versions of one record), but too few distinct records for dedupe and dbt to work on. Hostile
    ids (strings that are not alphanumeric, anything neither a string nor a small positive
    integer) are left exactly as drawn; a numeric id (Pipedrive's) stays a number; the webhook
    streams' ids may also hold the separators of their real spelling (a uuid's "-", Google's
    base64url "-" and "_").
    """
    for n, payload in enumerate(payloads):
        for key, separators in ID_KEYS.items():
            value = payload.get(key)
            if not n % 4:  # every 4th keeps its id
                continue
            if type(value) is int and 0 < value < 10**9:
                payload[key] = value * 10_000 + n
            elif (
                isinstance(value, str)
                and value.translate({ord(c): None for c in separators}).isalnum()
            ):
                payload[key] = f"{value}x{n:04d}"
    return payloads


def _pages(records: list[dict[str, Any]]) -> Iterator[Page]:
    for start in range(0, len(records), PAGE_SIZE):
        chunk = records[start : start + PAGE_SIZE]
        yield Page(chunk, last=start + PAGE_SIZE >= len(records))


@dataclass(frozen=True)
class HostileRun:
    warehouse: Path
    landed: dict[tuple[str, str], int]  # (source, stream) -> payloads handed to landing
    ops_tables_before: set[str]


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory: pytest.TempPathFactory) -> HostileRun:
    from expectations.gate import Gate
    from leadflow.dbt import build

    tmp = tmp_path_factory.mktemp("hostile")
    wh = Warehouse(tmp / "warehouse.duckdb")
    wh.ensure_schema()
    landed: dict[tuple[str, str], int] = {}
    with wh.connect() as con:
        ops_before = _ops_tables(con)
        for key, strategy in PAYLOADS.items():
            source = key[0]
            records = serialized(
                draw_payloads(strategy, PER_SOURCE, check=f"land-gate-dedupe-dbt:{source}")
            ) + canaries(key)
            assert len(records) >= PER_SOURCE

            if source in WEBHOOK_SOURCES:
                for page in _pages(records):
                    land_records(con, stream_of(key), page.records, PARTITIONS[key], run_id=RUN_ID)
            else:

                def pages(
                    _window: PullWindow, _partition: str | None, records: list[Any] = records
                ) -> Iterator[Page]:
                    return _pages(records)

                land(
                    con,
                    stream_of(key),
                    pages,
                    [PARTITIONS[key]],
                    lookback=timedelta(0),
                    run_id=RUN_ID,
                    as_of=AS_OF,
                )
            landed[key] = len(records)
        stage_new_versions(
            con, Gate(), intent_events={}, default_region="US", run_id=RUN_ID, as_of=AS_OF
        )
        resolve(con, run_id=RUN_ID, as_of=AS_OF)
    # dbt needs the file to itself; its artifacts go to tmp, not the shared dbt_project/target.
    for selector in ("prepare", "publish"):
        build(selector, wh.path, unit_tests=False, target_path=tmp / "dbt_target")
    return HostileRun(wh.path, landed, ops_before)


def _ops_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "select table_name from information_schema.tables where table_schema = 'ops'"
    ).fetchall()
    return {row[0] for row in rows}


@pytest.fixture
def con(hostile_run: HostileRun) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(str(hostile_run.warehouse), read_only=True)
    try:
        yield connection
    finally:
        connection.close()


def test_every_landed_record_is_accounted_for(
    hostile_run: HostileRun, con: duckdb.DuckDBPyConnection
) -> None:
    # THEN every payload was landed as a raw version (none dropped at landing)
    for source, stream in PAYLOADS:
        landed = con.execute(f"select count(*) from raw.{source}__{stream}").fetchone()
        assert landed is not None and 0 < landed[0] <= hostile_run.landed[(source, stream)]
    # AND every raw record is a lead, a merged duplicate or quarantined: none is unprocessed
    accounting = record_accounting(con)
    assert accounting["unprocessed"] == 0, accounting
    assert accounting["lead"] >= 50 and accounting["merged"] > 0, accounting
    assert accounting["quarantined"] >= 500, accounting
    # AND the newest version of every record was either accepted or quarantined
    for source, stream in PAYLOADS:
        left = con.execute(
            f"""
            with newest as (
                select _raw_id, row_number() over (
                    partition by record_id
                    order by record_updated_at desc nulls last, _loaded_at desc, _raw_id
                ) as n
                from raw.{source}__{stream}
            )
            select count(*) from newest
            where n = 1
              and _raw_id not in (select _raw_id from ops.lead_records)
              and _raw_id not in (select _raw_id from ops.quarantine)
            """
        ).fetchone()
        assert left == (0,), f"{source}.{stream}: {left} newest versions in neither place"


def test_every_quarantine_row_says_why(con: duckdb.DuckDBPyConnection) -> None:
    rows = con.execute("select reasons, failed_expectations from ops.quarantine").fetchall()
    assert rows
    for reasons, expectations in rows:
        assert json.loads(reasons) and all(reason.strip() for reason in json.loads(reasons))
        assert json.loads(expectations)


def test_injection_strings_are_stored_verbatim_as_data(
    hostile_run: HostileRun, con: duckdb.DuckDBPyConnection
) -> None:
    # THEN no ops table was dropped and the tables the strings target still hold their rows
    assert hostile_run.ops_tables_before <= _ops_tables(con)
    count = con.execute("select count(*) from ops.lead_records").fetchone()
    assert count is not None and count[0] > 0
    # AND each canary's company and last name are the injection string, character for character
    for source, stream in PAYLOADS:
        stored = dict(
            con.execute(
                "select record_id, company from ops.lead_records"
                " where source = ? and stream = ? and record_id like 'canary-%'",
                [source, stream],
            ).fetchall()
        )
        expected = {f"canary-{n}": " ".join(text.split()) for n, text in enumerate(INJECTIONS)}
        assert stored == expected, source
    # AND the golden record dbt builds carries them too
    companies = {row[0] for row in con.execute("select company from marts.dim_leads").fetchall()}
    assert {" ".join(text.split()) for text in INJECTIONS} <= companies
    # AND raw keeps the original payload
    raw = {
        row[0]
        for row in con.execute(
            "select json_extract_string(payload, '$.properties.company')"
            " from raw.hubspot__contacts where record_id like 'canary-%'"
        ).fetchall()
    }
    assert raw == set(INJECTIONS)


def test_the_marts_hold_one_row_per_lead(con: duckdb.DuckDBPyConnection) -> None:
    leads = con.execute("select count(distinct lead_id) from ops.lead_identity").fetchone()
    dim = con.execute("select count(*), count(distinct lead_id) from marts.dim_leads").fetchone()
    assert leads is not None and dim is not None
    assert dim[0] == dim[1] == leads[0] > 0


def test_every_model_reads_whole(con: duckdb.DuckDBPyConnection) -> None:
    # A staging view is evaluated only for the columns a query reads: dbt's own build can pass while
    # `select *` (a BI tool, a notebook) still fails on a value no downstream model happened to read.
    relations = con.execute(
        "select table_schema, table_name from information_schema.tables"
        " where table_schema not in ('raw', 'ops', 'information_schema')"
    ).fetchall()
    assert relations
    failures = []
    for schema, name in relations:
        try:
            con.execute(f'select * from "{schema}"."{name}"').fetchall()
        except duckdb.Error as error:
            failures.append(f"{schema}.{name}: {str(error).splitlines()[0][:200]}")
    assert not failures, "\n".join(failures)


@pytest.fixture(scope="module")
def pg_database() -> Iterator[PgSettings]:
    yield from throwaway_database("leadflow_hostile_test")


@pytest.mark.postgres
def test_postgres_builds_and_reads_every_model_on_hostile_data(
    hostile_run: HostileRun, pg_database: PgSettings, tmp_path: Path
) -> None:
    # WHEN the hostile warehouse is mirrored into PostgreSQL and built there, tests included (what
    # `leadflow dbt-postgres` does; a failed model or test raises)
    run = mirror_and_build(hostile_run.warehouse, pg_database, target_path=tmp_path / "pg_target")
    assert all(build.success for build in run.builds)
    # THEN every relation dbt made there reads whole, views included (as text: a timestamp before
    # year 1, which PostgreSQL holds, is past what a Python client can load)
    failures = []
    with connect(pg_database, autocommit=True) as conn:
        relations = conn.execute(
            "select table_schema, table_name from information_schema.tables where table_schema"
            " not in ('raw', 'ops', 'information_schema', 'pg_catalog')"
        ).fetchall()
        assert len(relations) > 20
        for schema, name in relations:
            try:
                conn.execute(f'select r::text from "{schema}"."{name}" r').fetchall()
            except Exception as error:  # psycopg's errors: report every relation, not the first
                failures.append(f"{schema}.{name}: {str(error).splitlines()[0][:200]}")
    assert not failures, "\n".join(failures)
