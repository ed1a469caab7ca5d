"""Web form and Google Ads lead form submissions, end to end: raw -> validation and enrichment ->
identity resolution -> dbt -> marts.dim_leads.

The payloads are landed the way `leadflow serve` hands them over: the body as received (Google's
without `google_key`) plus `_received_at`, through leadflow.landing with each stream's declaration
(connectors/webform, connectors/google_ads). One build of `prepare` + `publish` on DuckDB serves
every test here; the last one mirrors the same warehouse into PostgreSQL and builds it there.

The fixture:
- ws-ana: a web form submission (declined marketing), and gl-ana, a Google Ads lead with her
  address as WORK_EMAIL, submitted a day earlier: one lead, first touch Google Ads.
- gl-bo: a Google Ads lead from a delivery without lead_submit_time (dated by _received_at),
  FULL_NAME split into first and last name.
- ws-cy: a web form submission without submitted_at (dated by _received_at), phone only.
- ws-nobody: a web form submission with a name and no way to reach the person: quarantined.
- gl-test: Google's "Send test data" lead (is_test): quarantined, never a lead.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from connectors import WEBHOOK_SOURCES
from dedupe.deterministic import resolve
from enrichment.pipeline import stage_new_versions
from expectations.gate import Gate
from leadflow.accounting import record_accounting
from leadflow.dbt import build
from leadflow.landing import land_records
from leadflow.pg_mirror import PgSettings, build_on_postgres, mirror_warehouse
from leadflow.warehouse import Warehouse
from tests.dbt_project.postgres_compare import compare_models, throwaway_database
from tests.dbt_project.querying import rows

RUN = "run-webhooks"
AS_OF = datetime(2026, 5, 10, 12, 0)
DBT_VARS = {"as_of": "2026-05-10 12:00:00"}


def webform(submission_id: str, received: str, **body: Any) -> dict[str, Any]:
    return {"submission_id": submission_id, **body, "_received_at": received}


def google_lead(
    lead_id: str, received: str, answers: list[tuple[str, str]], **body: Any
) -> dict[str, Any]:
    columns = [{"column_id": c, "column_name": c.title(), "string_value": v} for c, v in answers]
    return {
        "lead_id": lead_id,
        "api_version": "1.0",
        "form_id": 40001234567,
        "campaign_id": 21456789012,
        "adgroup_id": 158765432109,
        "creative_id": 701234567890,
        "gcl_id": f"gclid-{lead_id}",
        "is_test": False,
        "user_column_data": columns,
        **body,
        "_received_at": received,
    }


WEBFORM_SUBMISSIONS = [
    webform(
        "ws-ana",
        "2026-05-05T10:00:02Z",
        form_id="contact-us",
        submitted_at="2026-05-05T10:00:00Z",
        fields={
            "email": " Ana.Souza@Acme-Robotics.io",
            "phone": "030 901820",
            "first_name": "Ana",
            "last_name": "Souza",
            "company": "Acme Robotics",
            "job_title": "VP Sales",
            "country": "DE",
            "favourite_colour": "teal",
        },
        consent={"marketing": False},
        page_url="https://www.ourco.example/contact",
        utm={"source": "newsletter", "medium": "email", "campaign": "may-launch"},
    ),
    webform(
        "ws-cy",
        "2026-05-06T08:15:00Z",
        form_id="pricing",
        fields={"phone": "+44 7911 123456", "first_name": "Cy", "country": "GB"},
        consent={"marketing": True},
    ),
    webform("ws-nobody", "2026-05-06T09:00:00Z", form_id="contact-us", fields={"first_name": "Nobody"}),
]  # fmt: skip

GOOGLE_ADS_LEADS = [
    google_lead(
        "gl-ana",
        "2026-05-04T09:00:03Z",
        [("FULL_NAME", "Ana Souza"), ("WORK_EMAIL", "ana.souza@acme-robotics.io"), ("COMPANY_NAME", "Acme")],
        lead_submit_time="2026-05-04T09:00:00Z",
    ),
    google_lead(
        "gl-bo",
        "2026-05-07T16:45:10Z",
        [("FULL_NAME", "Bo Ming Chen"), ("EMAIL", "bo.chen@globex.example"), ("PHONE_NUMBER", "+1 415 555 0134"), ("COUNTRY", "US")],
    ),
    google_lead(
        "gl-test",
        "2026-05-03T12:00:00Z",
        [("FULL_NAME", "FirstName LastName"), ("EMAIL", "test@ourco.example")],
        is_test=True,
        lead_submit_time="2026-05-03T12:00:00Z",
    ),
]  # fmt: skip


@dataclass(frozen=True)
class Built:
    warehouse: Path
    tmp: Path


def _land(con: Any, source: str, stream: str, payloads: list[dict[str, Any]]) -> None:
    """As intake/land.py lands them: per form (the raw row's partition), no cursor."""
    for payload in payloads:
        form = payload.get("form_id")
        partition = str(form) if form is not None else None
        land_records(con, WEBHOOK_SOURCES[source].STREAMS[stream], [payload], partition, run_id=RUN)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    # GIVEN a fresh warehouse (ensure_schema creates the webhook streams' raw tables) with the
    # submissions landed, validated, enriched and resolved
    tmp = tmp_path_factory.mktemp("webhook_streams")
    warehouse = Warehouse(tmp / "warehouse.duckdb")
    warehouse.ensure_schema()
    with warehouse.connect() as con:
        _land(con, "webform", "submissions", WEBFORM_SUBMISSIONS)
        _land(con, "google_ads", "lead_form_submissions", GOOGLE_ADS_LEADS)
        stage_new_versions(
            con, Gate(), intent_events={}, default_region="US", run_id=RUN, as_of=AS_OF
        )
        resolve(con, run_id=RUN, as_of=AS_OF)
    # WHEN dbt builds (data tests included; unit tests run in test_dbt_build)
    for selector in ("prepare", "publish"):
        build(
            selector,
            warehouse.path,
            dbt_vars=DBT_VARS,
            unit_tests=False,
            target_path=tmp / "duckdb_target",
        )
    return Built(warehouse.path, tmp)


def test_accepted_submissions_are_lead_records(built: Built) -> None:
    records = {
        r["record_key"]: r
        for r in rows(
            built.warehouse,
            "select * from ops.lead_records where source in ('webform', 'google_ads')",
        )
    }
    assert set(records) == {
        "webform:submissions:ws-ana",
        "webform:submissions:ws-cy",
        "google_ads:lead_form_submissions:gl-ana",
        "google_ads:lead_form_submissions:gl-bo",
    }
    ana = records["webform:submissions:ws-ana"]
    assert (ana["email"], ana["phone_e164"], ana["country_code"]) == (
        "ana.souza@acme-robotics.io",
        "+4930901820",
        "DE",
    )
    assert (ana["form_id"], ana["intent_event"], ana["is_unsubscribed"]) == (
        "contact-us",
        "form_submission",
        True,
    )
    assert ana["record_created_at"] == datetime(2026, 5, 5, 10, 0)
    cy = records["webform:submissions:ws-cy"]
    assert (cy["phone_e164"], cy["is_unsubscribed"]) == ("+447911123456", False)
    assert cy["record_created_at"] == datetime(2026, 5, 6, 8, 15)  # _received_at
    bo = records["google_ads:lead_form_submissions:gl-bo"]
    assert (bo["first_name"], bo["last_name"], bo["email"]) == (
        "Bo Ming",
        "Chen",
        "bo.chen@globex.example",
    )
    assert (bo["form_id"], bo["phone_e164"], bo["country_code"]) == (
        "40001234567",
        "+14155550134",
        "US",
    )
    assert bo["record_created_at"] == datetime(2026, 5, 7, 16, 45, 10)  # _received_at
    gl_ana = records["google_ads:lead_form_submissions:gl-ana"]
    assert gl_ana["email"] == "ana.souza@acme-robotics.io"  # WORK_EMAIL, without EMAIL
    assert gl_ana["record_created_at"] == datetime(2026, 5, 4, 9, 0)  # lead_submit_time


def test_unusable_submissions_are_quarantined_with_a_reason(built: Built) -> None:
    quarantined = {
        (r["source"], r["record_id"]): json.loads(r["reasons"])
        for r in rows(built.warehouse, "select source, record_id, reasons from ops.quarantine")
    }
    assert quarantined == {
        ("webform", "ws-nobody"): ["no valid email or phone number to reach the lead"],
        ("google_ads", "gl-test"): ["a test submission sent by the vendor, not a person"],
    }


def test_every_landed_record_is_accounted_for(built: Built) -> None:
    with duckdb.connect(str(built.warehouse), read_only=True) as con:
        accounting = record_accounting(con)
    assert accounting == {
        "lead": 3,  # ws-ana (gl-ana merged into her lead), gl-bo, ws-cy
        "merged": 1,
        "crm_copy": 0,
        "quarantined": 2,
        "unprocessed": 0,
        "erased": 0,
        "total": 6,
    }


def test_the_leads_reach_dim_leads_with_their_source_and_campaign(built: Built) -> None:
    leads = rows(
        built.warehouse,
        """
        select first_name, last_name, email, phone_e164, company, first_touch_source,
            last_touch_source, campaign, last_touch_campaign, first_form_id, count_sources,
            is_unsubscribed, created_at, current_stage
        from marts.dim_leads order by created_at
        """,
    )
    assert leads == [
        {
            "first_name": "Ana",
            "last_name": "Souza",
            "email": "ana.souza@acme-robotics.io",
            "phone_e164": "+4930901820",
            "company": "Acme Robotics",  # the web form beats the Google Ads answer
            "first_touch_source": "google_ads",
            "last_touch_source": "webform",
            "campaign": "21456789012",
            "last_touch_campaign": "may-launch",
            "first_form_id": "40001234567",
            "count_sources": 2,
            "is_unsubscribed": True,
            "created_at": datetime(2026, 5, 4, 9, 0),
            "current_stage": "lead",
        },
        {
            "first_name": "Cy",
            "last_name": None,
            "email": None,
            "phone_e164": "+447911123456",
            "company": None,
            "first_touch_source": "webform",
            "last_touch_source": "webform",
            "campaign": None,
            "last_touch_campaign": None,
            "first_form_id": "pricing",
            "count_sources": 1,
            "is_unsubscribed": False,
            "created_at": datetime(2026, 5, 6, 8, 15),
            "current_stage": "lead",
        },
        {
            "first_name": "Bo Ming",
            "last_name": "Chen",
            "email": "bo.chen@globex.example",
            "phone_e164": "+14155550134",
            "company": None,
            "first_touch_source": "google_ads",
            "last_touch_source": "google_ads",
            "campaign": "21456789012",
            "last_touch_campaign": "21456789012",
            "first_form_id": "40001234567",
            "count_sources": 1,
            "is_unsubscribed": None,
            "created_at": datetime(2026, 5, 7, 16, 45, 10),
            "current_stage": "lead",
        },
    ]


def test_staging_reads_what_python_does_not(built: Built) -> None:
    webforms = {
        r["submission_id"]: r
        for r in rows(built.warehouse, "select * from staging.stg_webform__submissions")
    }
    ana = webforms["ws-ana"]
    assert (ana["record_key"], ana["form_id"], ana["page_url"]) == (
        "webform:submissions:ws-ana",
        "contact-us",
        "https://www.ourco.example/contact",
    )
    assert (ana["utm_source"], ana["utm_medium"], ana["utm_campaign"]) == (
        "newsletter",
        "email",
        "may-launch",
    )
    assert ana["has_marketing_consent"] is False
    assert ana["submitted_at"] == datetime(2026, 5, 5, 10, 0)
    assert ana["received_at"] == datetime(2026, 5, 5, 10, 0, 2)
    assert webforms["ws-cy"]["submitted_at"] is None
    assert webforms["ws-nobody"]["has_marketing_consent"] is None  # quarantined, still staged

    google = {
        r["google_ads_lead_id"]: r
        for r in rows(
            built.warehouse, "select * from staging.stg_google_ads__lead_form_submissions"
        )
    }
    assert set(google) == {"gl-ana", "gl-bo", "gl-test"}
    bo = google["gl-bo"]
    assert (bo["form_id"], bo["campaign_id"], bo["ad_group_id"], bo["creative_id"]) == (
        "40001234567",
        "21456789012",
        "158765432109",
        "701234567890",
    )
    assert (bo["gclid"], bo["api_version"], bo["is_test"]) == ("gclid-gl-bo", "1.0", False)
    assert (bo["submitted_at"], bo["received_at"]) == (None, datetime(2026, 5, 7, 16, 45, 10))
    assert google["gl-test"]["is_test"] is True
    assert google["gl-ana"]["submitted_at"] == datetime(2026, 5, 4, 9, 0)


@pytest.fixture(scope="module")
def pg_database() -> Iterator[PgSettings]:
    yield from throwaway_database("leadflow_webhooks_test")


@pytest.mark.postgres
def test_postgres_builds_the_same_rows(built: Built, pg_database: PgSettings) -> None:
    # GIVEN the same warehouse mirrored into a fresh PostgreSQL database
    mirror_warehouse(built.warehouse, pg_database)
    # WHEN both selectors build there
    prepare, publish = build_on_postgres(
        built.warehouse, pg_database, target_path=built.tmp / "pg_target", dbt_vars=DBT_VARS
    )
    assert prepare.success and publish.success
    # THEN every relation holds the same rows on both engines, the webhook streams' among them
    compared = compare_models(built.warehouse, pg_database)
    assert compared["staging.stg_webform__submissions"] == 3
    assert compared["staging.stg_google_ads__lead_form_submissions"] == 3
    assert compared["marts.dim_leads"] == 3
