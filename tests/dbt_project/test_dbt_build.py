"""The dbt project end to end on a hand-made warehouse: prepare, then publish, then the rows.

The fixture (five leads, all three sources):
- lead-ann: a HubSpot contact (two raw versions) merged with a Typeform demo request; an opportunity
  in the CRM, an MQL raised by LeadFlow before the CRM's; scored A, owned by the contact's owner.
- lead-bob: a Meta lead with a gmail address, scored D, routed to a territory pool.
- lead-cy: a Typeform response with a phone only; LeadFlow MQL; pushed before (push_state id 555).
- lead-dee: a Meta lead without email; LeadFlow MQL; scored B.
- lead-eve: a HubSpot-only customer that skipped mql and opportunity; not scored.

Accounts: HubSpot company 9001 (acme.com, two raw versions, owned by Rita) is lead-ann's account by
domain and name; 9002 is lead-eve's by name after a tie-break; 9003 is archived. Deals: ann's
contact 101 has two (one open in contractsent, one closed lost), eve's contact 102 one
closed won; a fourth deal's only contact (777) is not a known lead. Sales activity on both contacts
(touches, last contacted, last activity). Meta ad insights: campaign Spring (bob's and dee's) on
two days, one of them restated by a later load, and a campaign Summer that brought no lead.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from enrichment.normalize import phone_timezone
from leadflow.dbt import DbtError, DbtRunResult, build, run_dbt
from leadflow.warehouse import Warehouse
from tests.dbt_project.querying import rows

RUN = "run-1"
LOADED = datetime(2026, 5, 10, 12, 0)


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


def hubspot_contact(contact_id: str, updated: str, **properties: str | None) -> dict[str, Any]:
    base = {"hs_object_id": contact_id, "lastmodifieddate": updated}
    return {
        "id": contact_id,
        "properties": {**base, **properties},
        "createdAt": properties.get("createdate"),
        "updatedAt": updated,
        "archived": False,
    }


RAW_HUBSPOT_CONTACTS = [
    # an older version of contact 101: staging must keep only the newest
    (
        "101",
        "2026-04-28 09:00:00",
        hubspot_contact(
            "101",
            "2026-04-28T09:00:00.000Z",
            createdate="2026-04-28T09:00:00.000Z",
            email="ann@acme.com",
            lifecyclestage="lead",
            hubspot_owner_id="51000001",
        ),
    ),
    (
        "101",
        "2026-05-03 10:00:00",
        hubspot_contact(
            "101",
            "2026-05-03T10:00:00.000Z",
            createdate="2026-04-28T09:00:00.000Z",
            email="ann@acme.com",
            firstname="Ann",
            lifecyclestage="opportunity",
            hubspot_owner_id="51000001",
            hs_lifecyclestage_lead_date="2026-04-28T09:00:00.000Z",
            hs_lifecyclestage_marketingqualifiedlead_date="2026-04-30T10:00:00.000Z",
            hs_lifecyclestage_salesqualifiedlead_date="2026-05-01T09:30:00.000Z",
            hs_lifecyclestage_opportunity_date="2026-05-03T10:00:00.000Z",
            hs_lifecyclestage_customer_date=None,
            hs_analytics_source="ORGANIC_SEARCH",
            hs_analytics_num_page_views="12",
            hs_analytics_last_visit_timestamp="2026-05-02T08:00:00.000Z",
            hs_sa_first_engagement_date="2026-04-28T09:20:00.000Z",
            hs_sa_first_engagement_object_type="CALL",
            num_contacted_notes="3",
            notes_last_contacted="2026-05-04T10:00:00.000Z",
            notes_last_updated="2026-05-06T12:00:00.000Z",
        ),
    ),
    (
        "102",
        "2026-05-09 16:00:00",
        hubspot_contact(
            "102",
            "2026-05-09T16:00:00.000Z",
            createdate="2026-05-07T08:00:00.000Z",
            email="eve@bigco.com",
            lifecyclestage="customer",
            hubspot_owner_id="51000002",
            hs_lifecyclestage_lead_date="2026-05-07T08:00:00.000Z",
            hs_lifecyclestage_salesqualifiedlead_date="2026-05-08T08:00:00.000Z",
            hs_lifecyclestage_customer_date="2026-05-09T16:00:00.000Z",
            hs_analytics_num_page_views="0",
            num_contacted_notes="5",
            notes_last_contacted="2026-05-09T15:00:00.000Z",
            notes_last_updated="2026-05-09T15:30:00.000Z",
        ),
    ),
]

RAW_HUBSPOT_OWNERS = [
    (
        "51000001",
        {"id": "51000001", "email": "rita@ourco.com", "firstName": "Rita", "lastName": "Rep"},
    ),
    (
        "51000002",
        {"id": "51000002", "email": "sam@ourco.com", "firstName": "Sam", "lastName": "Seller"},
    ),
]


def hubspot_company(
    company_id: str, archived: bool = False, **properties: str | None
) -> dict[str, Any]:
    return {
        "id": company_id,
        "properties": {"hs_object_id": company_id, **properties},
        "createdAt": properties.get("createdate"),
        "updatedAt": properties.get("hs_lastmodifieddate"),
        "archived": archived,
    }


RAW_HUBSPOT_COMPANIES = [
    # an older version of company 9001: staging keeps the newest
    ("9001", "2026-04-01 00:00:00", hubspot_company("9001", name="Acme", domain="acme.com")),
    (
        "9001",
        "2026-05-01 00:00:00",
        hubspot_company(
            "9001",
            name="ACME GmbH",
            domain=" ACME.com ",
            website="https://www.acme.com",
            hubspot_owner_id="51000001",
            num_associated_contacts="2",
            numberofemployees="120",
            createdate="2025-01-01T00:00:00.000Z",
            hs_lastmodifieddate="2026-05-01T00:00:00.000Z",
        ),
    ),
    (
        "9002",
        "2026-05-01 00:00:00",
        hubspot_company(
            "9002",
            name="Evergreen Ltd",
            num_associated_contacts="x",
            createdate="2025-02-01T00:00:00.000Z",
            hs_lastmodifieddate="2026-05-01T00:00:00.000Z",
        ),
    ),
    ("9003", "2026-05-01 00:00:00", hubspot_company("9003", archived=True, name="Old Co")),
]
# ops.lead_accounts as dedupe/accounts.py writes it: (lead, account, owner, rule, candidates, tie-break)
LEAD_ACCOUNTS = [
    ("lead-ann", "9001", "51000001", "domain_and_name", 1, None),
    ("lead-bob", None, None, None, 0, None),
    ("lead-eve", "9002", None, "company_name", 2, "most_contacts"),
]


def hubspot_deal(
    deal_id: str, updated: str, contact_ids: list[int], **properties: str | None
) -> dict[str, Any]:
    """A deal as the search API returns it, with the v4 associations the connector adds."""
    base = {"hs_object_id": deal_id, "pipeline": "default", "hs_lastmodifieddate": updated}
    return {
        "id": deal_id,
        "properties": {**base, **properties},
        "createdAt": properties.get("createdate"),
        "updatedAt": updated,
        "archived": False,
        "associations": {
            "contacts": [
                {
                    "toObjectId": contact_id,
                    "associationTypes": [
                        {"category": "HUBSPOT_DEFINED", "typeId": 3, "label": None}
                    ],
                }
                for contact_id in contact_ids
            ]
        },
    }


RAW_HUBSPOT_DEALS = [
    (
        "9001",
        "2026-05-09 16:00:00",
        hubspot_deal(
            "9001",
            "2026-05-09T16:00:00.000Z",
            [102],
            dealname="BigCo platform",
            amount="12000",
            dealstage="closedwon",
            deal_currency_code="EUR",
            hubspot_owner_id="51000002",
            createdate="2026-05-08T09:00:00.000Z",
            closedate="2026-05-09T16:00:00.000Z",
            hs_is_closed="true",
            hs_is_closed_won="true",
        ),
    ),
    (
        "9002",
        "2026-05-06 10:00:00",
        hubspot_deal(
            "9002",
            "2026-05-06T10:00:00.000Z",
            [101],
            dealname="Acme expansion",
            amount="5000",
            dealstage="contractsent",
            deal_currency_code="EUR",
            hubspot_owner_id="51000001",
            createdate="2026-05-03T10:00:00.000Z",
            closedate="2026-06-30T00:00:00.000Z",
        ),
    ),
    (
        "9003",
        "2026-05-05 17:00:00",
        hubspot_deal(
            "9003",
            "2026-05-05T17:00:00.000Z",
            [101],
            dealname="Acme pilot",
            amount="2500.75",
            dealstage="closedlost",
            deal_currency_code="EUR",
            hubspot_owner_id="51000001",
            createdate="2026-05-03T11:00:00.000Z",
            closedate="2026-05-05T17:00:00.000Z",
        ),
    ),
    (
        "9004",
        "2026-05-08 08:00:00",
        hubspot_deal(
            "9004",
            "2026-05-08T08:00:00.000Z",
            [777],
            dealname="Unknown Ltd",
            amount="1000",
            dealstage="appointmentscheduled",
            deal_currency_code="EUR",
            hubspot_owner_id="51000002",
            createdate="2026-05-08T08:00:00.000Z",
        ),
    ),
]


def meta_insight(campaign_id: str, name: str, day: str, spend: str, clicks: str) -> dict[str, Any]:
    """A Marketing API insights row (level=campaign, time_increment=1): numbers are strings."""
    return {
        "account_id": "1234567890",
        "account_currency": "USD",
        "campaign_id": campaign_id,
        "campaign_name": name,
        "spend": spend,
        "impressions": str(int(clicks) * 40),
        "clicks": clicks,
        "date_start": day,
        "date_stop": day,
    }


# (record_id, day, payload, loaded_at): Meta restated Spring's 04-30 after the first load
RAW_META_AD_INSIGHTS = [
    ("c1:2026-04-29", "2026-04-29 00:00:00", meta_insight("c1", "Spring", "2026-04-29", "40.00", "31"), LOADED),
    ("c1:2026-04-30", "2026-04-30 00:00:00", meta_insight("c1", "Spring", "2026-04-30", "30.00", "20"), datetime(2026, 5, 1, 6, 0)),
    ("c1:2026-04-30", "2026-04-30 00:00:00", meta_insight("c1", "Spring", "2026-04-30", "35.50", "24"), LOADED),
    ("c2:2026-04-30", "2026-04-30 00:00:00", meta_insight("c2", "Summer", "2026-04-30", "20.00", "9"), LOADED),
]  # fmt: skip

RAW_META_LEADS = [
    (
        "m1",
        "2026-04-29 14:00:00",
        {
            "id": "m1",
            "created_time": "2026-04-29T16:00:00+0200",
            "field_data": [{"name": "email", "values": ["bob@gmail.com"]}],
            "ad_id": "ad1",
            "ad_name": "Spring promo",
            "adset_id": "as1",
            "adset_name": "US founders",
            "campaign_id": "c1",
            "campaign_name": "Spring",
            "form_id": "fbform1",
            "is_organic": False,
            "platform": "fb",
        },
    ),
    (
        "m2",
        "2026-04-30 11:00:00",
        {
            "id": "m2",
            "created_time": "2026-04-30T11:00:00+0000",
            "field_data": [{"name": "phone_number", "values": ["+33612345678"]}],
            "campaign_id": "c1",
            "campaign_name": "Spring",
            "form_id": "fbform1",
            "is_organic": True,
            "platform": "ig",
        },
    ),
]

RAW_TYPEFORM_RESPONSES = [
    (
        "tf_r1",
        "2026-04-27 10:00:00",
        {
            "response_id": "tf_r1",
            "token": "tf_r1",
            "landed_at": "2026-04-27T09:55:00Z",
            "submitted_at": "2026-04-27T10:00:00Z",
            "hidden": {"utm_source": "google", "utm_campaign": "brand"},
            "metadata": {"referer": "https://ourco.com/demo"},
            "answers": [],
        },
    ),
    (
        "tf_r2",
        "2026-05-05 09:00:00",
        {
            "response_id": "tf_r2",
            "token": "tf_r2",
            "landed_at": "2026-05-05T08:58:00Z",
            "submitted_at": "2026-05-05T09:00:00Z",
            "hidden": {"utm_source": "linkedin", "utm_campaign": None},
            "metadata": {},
            "answers": [],
        },
    ),
]


@dataclass(frozen=True)
class Record:
    key: str
    lead_id: str
    rule: str
    created: str
    updated: str
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    job_title: str | None = None
    country: str | None = None
    crm_owner_id: str | None = None
    form_id: str | None = None
    intent_event: str | None = None


LEAD_RECORDS = [
    Record(
        "hubspot:contacts:101",
        "lead-ann",
        "new_lead",
        "2026-04-28 09:00:00",
        "2026-05-03 10:00:00",
        email="ann@acme.com",
        first_name="Ann",
        last_name="Archer",
        company="Acme GmbH",
        country="DE",
        crm_owner_id="51000001",
    ),
    Record(
        "typeform:responses:tf_r1",
        "lead-ann",
        "email",
        "2026-04-27 10:00:00",
        "2026-04-27 10:00:00",
        email="ann@acme.com",
        phone="+4915112345678",
        first_name="Annie",
        last_name="Archer",
        company="ACME",
        job_title="CTO",
        country="DE",
        form_id="tfform1",
        intent_event="demo_request",
    ),
    Record(
        "meta:leads:m1",
        "lead-bob",
        "new_lead",
        "2026-04-29 14:00:00",
        "2026-04-29 14:00:00",
        email="bob@gmail.com",
        first_name="Bob",
        last_name="Baker",
        country="US",
        form_id="fbform1",
        intent_event="form_submission",
    ),
    Record(
        "typeform:responses:tf_r2",
        "lead-cy",
        "new_lead",
        "2026-05-05 09:00:00",
        "2026-05-05 09:00:00",
        phone="+447700900123",
        first_name="Cy",
        country="GB",
        form_id="tfform2",
        intent_event="form_submission",
    ),
    Record(
        "meta:leads:m2",
        "lead-dee",
        "new_lead",
        "2026-04-30 11:00:00",
        "2026-04-30 11:00:00",
        phone="+33612345678",
        first_name="Dee",
        country="FR",
        form_id="fbform1",
        intent_event="form_submission",
    ),
    Record(
        "hubspot:contacts:102",
        "lead-eve",
        "new_lead",
        "2026-05-07 08:00:00",
        "2026-05-09 16:00:00",
        email="eve@bigco.com",
        first_name="Eve",
        company="BigCo",
        country="US",
        crm_owner_id="51000002",
    ),
]

# lead_id, score, grade, temperature, is_mql, reasons
LEAD_SCORES = [
    ("lead-ann", 87, "A", "hot", True, "Demo request (+30); Title CTO (+20)"),
    ("lead-bob", 35, "D", "cold", False, "Free email (-10)"),
    ("lead-cy", 62, "B", "warm", True, "Form submission (+10)"),
    ("lead-dee", 65, "B", "warm", True, "Form submission (+10)"),
]

LIFECYCLE_MQLS = [
    ("lead-ann", "2026-04-29 12:00:00"),  # before the CRM's 2026-04-30 10:00
    ("lead-cy", "2026-05-06 09:00:00"),
    ("lead-dee", "2026-04-30 15:00:00"),
]

# lead_id, owner_id, owner_email, rule
ASSIGNMENTS = [
    ("lead-ann", "51000001", "rita@ourco.com", "existing_owner"),
    ("lead-bob", "51000002", "sam@ourco.com", "territory:na"),
]


def load_fixture(con: duckdb.DuckDBPyConnection) -> None:
    """Write the fixture the way the Python stages would: raw payloads, then ops rows."""

    def raw(
        table: str, rows: list[tuple[str, str, dict[str, Any]]], partition: str | None = None
    ) -> None:
        for n, (record_id, updated, payload) in enumerate(rows):
            con.execute(
                f"""
                insert into raw.{table}
                    (_raw_id, record_id, _partition, record_updated_at, payload, payload_hash,
                     _run_id, _loaded_at)
                values (?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [f"{table}-{n}", record_id, partition, ts(updated), json.dumps(payload), f"h{n}",
                 RUN, LOADED],
            )  # fmt: skip

    raw("hubspot__contacts", RAW_HUBSPOT_CONTACTS)
    raw("hubspot__owners", [(i, "2026-04-01 00:00:00", p) for i, p in RAW_HUBSPOT_OWNERS])
    raw("meta__leads", RAW_META_LEADS, partition="fbform1")
    raw("typeform__responses", RAW_TYPEFORM_RESPONSES, partition="tfform1")
    raw("hubspot__deals", RAW_HUBSPOT_DEALS)
    raw("hubspot__companies", RAW_HUBSPOT_COMPANIES)
    for lead_id, account_id, owner_id, rule, candidates, tie_break in LEAD_ACCOUNTS:
        con.execute(
            """
            insert into ops.lead_accounts (lead_id, account_id, account_owner_id, match_rule,
                count_candidates, tie_break, inputs_hash, matched_at, run_id)
            values (?, ?, ?, ?, ?, ?, 'h', ?, ?)
            """,
            [lead_id, account_id, owner_id, rule, candidates, tie_break, LOADED, RUN],
        )
    for n, (record_id, day, payload, loaded) in enumerate(RAW_META_AD_INSIGHTS):
        con.execute(
            """
            insert into raw.meta__ad_insights
                (_raw_id, record_id, _partition, record_updated_at, payload, payload_hash,
                 _run_id, _loaded_at)
            values (?, ?, 'act_1234567890', ?, ?, ?, ?, ?)
            """,
            [f"meta__ad_insights-{n}", record_id, ts(day), json.dumps(payload), f"h{n}", RUN,
             loaded],
        )  # fmt: skip

    for r in LEAD_RECORDS:
        source, stream, record_id = r.key.split(":")
        domain = r.email.split("@")[1] if r.email else None
        con.execute(
            """
            insert into ops.lead_records (
                record_key, source, stream, record_id, _raw_id, email, email_domain, is_free_email,
                phone_e164, phone_timezone, first_name, last_name, company, job_title, country_code,
                crm_contact_id, crm_owner_id, leadflow_lead_id, form_id, intent_event,
                record_created_at, record_updated_at, first_seen_at, run_id
            )
            values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                r.key, source, stream, record_id, f"raw-{record_id}", r.email, domain,
                domain == "gmail.com" if domain else None, r.phone,
                phone_timezone(r.phone, r.country), r.first_name, r.last_name,
                r.company, r.job_title, r.country, record_id if source == "hubspot" else None,
                r.crm_owner_id, None, r.form_id, r.intent_event, ts(r.created), ts(r.updated),
                LOADED, RUN,
            ],
        )  # fmt: skip
        con.execute(
            """
            insert into ops.lead_identity
                (record_key, lead_id, rule, matched_record_key, resolved_at, run_id)
            values (?, ?, ?, ?, ?, ?)
            """,
            [r.key, r.lead_id, r.rule, None, LOADED, RUN],
        )
    for lead_id, score, grade, temperature, is_mql, reasons in LEAD_SCORES:
        con.execute(
            """
            insert into ops.lead_scores (
                lead_id, score, fit_score, intent_score, negative_score, grade, temperature, is_mql,
                factors, reasons, model_version, scored_as_of, scored_at, run_id
            )
            values (?, ?, 0, 0, 0, ?, ?, ?, '[]', ?, 'rules-v1', ?, ?, ?)
            """,
            [lead_id, score, grade, temperature, is_mql, reasons, LOADED, LOADED, RUN],
        )
    for lead_id, occurred in LIFECYCLE_MQLS:
        con.execute(
            "insert into ops.lead_lifecycle_events (lead_id, event, occurred_at, score, run_id)"
            " values (?, 'mql', ?, 60, ?)",
            [lead_id, ts(occurred), RUN],
        )
    for lead_id, owner_id, owner_email, rule in ASSIGNMENTS:
        con.execute(
            """
            insert into ops.lead_assignments
                (lead_id, owner_id, owner_email, pool, rule, reason, assigned_at, run_id)
            values (?, ?, ?, null, ?, 'test', ?, ?)
            """,
            [lead_id, owner_id, owner_email, rule, LOADED, RUN],
        )
    con.execute(
        """
        insert into ops.push_state
            (destination, lead_id, payload_hash, destination_record_id, acknowledged_at, run_id)
        values ('hubspot', 'lead-cy', 'hash-1', '555', ?, ?)
        """,
        [LOADED, RUN],
    )
    con.execute(
        """
        insert into ops.quarantine
            (_raw_id, source, stream, record_id, run_id, failed_expectations, reasons, payload,
             quarantined_at)
        values
            ('q1', 'meta', 'leads', 'm9', ?, '["expect_column_values_to_not_be_null"]',
             '["email and phone are both missing"]', '{}', ?),
            ('q2', 'meta', 'leads', 'm8', ?,
             '["expect_column_values_to_not_be_null", "expect_column_values_to_match_regex"]',
             '["email and phone are both missing", "created_time is not a timestamp"]', '{}', ?)
        """,
        [RUN, LOADED, RUN, LOADED],
    )


@dataclass(frozen=True)
class Built:
    path: Path
    target_path: Path
    prepare: DbtRunResult
    publish: DbtRunResult


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = tmp_path_factory.mktemp("dbt_build")
    path = root / "w.duckdb"
    warehouse = Warehouse(path)
    warehouse.ensure_schema()
    with warehouse.connect() as con:
        load_fixture(con)
    target_path = root / "target"
    prepare = build("prepare", path, target_path=target_path)
    publish = build("publish", path, target_path=target_path)
    return Built(path, target_path, prepare, publish)


@pytest.fixture
def query(built: Built) -> Any:
    def run(sql: str) -> list[dict[str, Any]]:
        return rows(built.path, sql)

    return run


def test_prepare_and_publish_succeed_and_release_the_file(built: Built) -> None:
    # GIVEN the fixture WHEN both selectors ran (in the fixture) THEN nothing failed
    assert built.prepare.success and built.publish.success
    assert built.prepare.failed == () and built.publish.failed == ()
    assert built.prepare.status_counts["pass"] > 50  # data tests and unit tests ran
    # AND the DuckDB file is not locked: a read-write connection opens right away
    duckdb.connect(str(built.path)).close()


def test_a_successful_run_prints_nothing(built: Built, capfd: pytest.CaptureFixture[str]) -> None:
    # WHEN a dbt command succeeds THEN stdout stays clean (the CLI prints its own summary)
    result = run_dbt(
        ["test", "--select", "stg_hubspot__owners"],
        warehouse_path=built.path,
        target_path=built.target_path,
    )
    assert result.success and set(result.status_counts) == {"pass"}
    assert capfd.readouterr().out == ""


def test_staging_keeps_the_newest_raw_version(query: Any) -> None:
    rows = query("select * from staging.stg_hubspot__contacts order by contact_id")
    assert [r["contact_id"] for r in rows] == ["101", "102"]
    ann = rows[0]
    assert ann["lifecycle_stage"] == "opportunity"
    assert ann["page_views"] == 12
    assert ann["last_visit_at"] == ts("2026-05-02 08:00:00")
    assert ann["became_mql_at"] == ts("2026-04-30 10:00:00")
    meta = query("select * from staging.stg_meta__leads where meta_lead_id = 'm1'")[0]
    assert meta["created_at"] == ts("2026-04-29 14:00:00")  # +0200 converted to UTC
    assert (meta["campaign_name"], meta["ad_id"], meta["is_organic"]) == ("Spring", "ad1", False)
    typeform = query("select * from staging.stg_typeform__responses where response_id = 'tf_r2'")[0]
    assert (typeform["utm_source"], typeform["utm_campaign"]) == ("linkedin", None)


def test_golden_record_survivorship(query: Any) -> None:
    # GIVEN lead-ann's HubSpot contact and Typeform response disagree
    ann = query("select * from intermediate.int_leads_unified where lead_id = 'lead-ann'")[0]
    # THEN HubSpot wins where it has a value, Typeform fills what HubSpot lacks
    assert ann["first_name"] == "Ann"
    assert ann["company"] == "Acme GmbH"
    assert ann["phone_e164"] == "+4915112345678"
    assert ann["job_title"] == "CTO"
    assert (ann["email"], ann["email_domain"], ann["is_free_email"]) == (
        "ann@acme.com",
        "acme.com",
        False,
    )
    assert (ann["country_code"], ann["region"]) == ("DE", "EMEA")
    assert (ann["timezone"], ann["timezone_source"]) == ("Europe/Berlin", "phone")
    assert (ann["count_records"], ann["count_sources"]) == (2, 2)
    # AND the Typeform response came first
    assert ann["first_touch_source"] == "typeform"
    assert ann["first_form_id"] == "tfform1"
    assert ann["created_at"] == ts("2026-04-27 10:00:00")
    # AND the CRM fields come from the HubSpot contact
    assert (ann["hubspot_contact_id"], ann["crm_owner_id"]) == ("101", "51000001")
    assert ann["lifecycle_stage"] == "opportunity"
    bob = query("select * from intermediate.int_leads_unified where lead_id = 'lead-bob'")[0]
    assert (bob["is_free_email"], bob["region"], bob["hubspot_contact_id"]) == (True, "NA", None)
    # Bob gave no phone: his country's main zone
    assert (bob["timezone"], bob["timezone_source"]) == ("America/New_York", "country")
    assert query("select count(*) as n from intermediate.int_leads_unified")[0]["n"] == 5


def test_intent_events(query: Any) -> None:
    rows = query(
        """
        select lead_id, event, occurred_at, quantity, source
        from intermediate.int_lead_events_unioned
        where lead_id = 'lead-ann' order by occurred_at
        """
    )
    assert rows == [
        {"lead_id": "lead-ann", "event": "demo_request", "occurred_at": ts("2026-04-27 10:00:00"),
         "quantity": 1, "source": "typeform"},
        {"lead_id": "lead-ann", "event": "page_view", "occurred_at": ts("2026-05-02 08:00:00"),
         "quantity": 12, "source": "hubspot"},
    ]  # fmt: skip
    # a contact with zero page views has no page_view event
    eve = query("select * from intermediate.int_lead_events_unioned where lead_id = 'lead-eve'")
    assert eve == []


def test_dim_leads(query: Any) -> None:
    rows = {r["lead_id"]: r for r in query("select * from marts.dim_leads")}
    assert set(rows) == {"lead-ann", "lead-bob", "lead-cy", "lead-dee", "lead-eve"}
    ann = rows["lead-ann"]
    assert (ann["score"], ann["grade"], ann["temperature"], ann["is_mql"]) == (87, "A", "hot", True)
    assert (ann["owner_id"], ann["routing_rule"]) == ("51000001", "existing_owner")
    assert ann["current_stage"] == "opportunity"
    assert (rows["lead-eve"]["score"], rows["lead-eve"]["current_stage"]) == (None, "won")
    assert (rows["lead-bob"]["owner_id"], rows["lead-bob"]["current_stage"]) == ("51000002", "lead")


def test_stage_history(query: Any) -> None:
    rows = query(
        """
        select lead_id, stage, stage_order, entered_at, exited_at, next_stage, is_current
        from marts.fct_lead_stage_history
        where lead_id in ('lead-ann', 'lead-eve')
        order by lead_id, stage_order
        """
    )
    assert [tuple(r.values()) for r in rows] == [
        # LeadFlow's MQL (04-29 12:00) is earlier than the CRM's (04-30 10:00)
        ("lead-ann", "lead", 1, ts("2026-04-27 10:00:00"), ts("2026-04-29 12:00:00"), "mql", False),
        ("lead-ann", "mql", 2, ts("2026-04-29 12:00:00"), ts("2026-05-01 09:30:00"), "sql", False),
        ("lead-ann", "sql", 3, ts("2026-05-01 09:30:00"), ts("2026-05-03 10:00:00"), "opportunity",
         False),
        ("lead-ann", "opportunity", 4, ts("2026-05-03 10:00:00"), None, None, True),
        # skipped stages have no row: lead -> sql -> won
        ("lead-eve", "lead", 1, ts("2026-05-07 08:00:00"), ts("2026-05-08 08:00:00"), "sql", False),
        ("lead-eve", "sql", 3, ts("2026-05-08 08:00:00"), ts("2026-05-09 16:00:00"), "won", False),
        ("lead-eve", "won", 5, ts("2026-05-09 16:00:00"), None, None, True),
    ]  # fmt: skip
    # bob: lead; cy and dee: lead, mql
    assert (
        query("select count(*) as n from marts.fct_lead_stage_history")[0]["n"] == 4 + 3 + 1 + 2 + 2
    )


def test_cohort_conversion(query: Any) -> None:
    rows = query("select * from marts.rpt_cohort_conversion order by created_week, source")
    got = {(str(r["created_week"]), r["source"]): r for r in rows}
    assert set(got) == {
        ("2026-04-27", "meta"),
        ("2026-04-27", "typeform"),
        ("2026-05-04", "hubspot"),
        ("2026-05-04", "typeform"),
    }
    meta = got[("2026-04-27", "meta")]  # bob (lead) and dee (mql)
    assert [meta[c] for c in ("leads", "mqls", "sqls", "opportunities", "won")] == [2, 1, 0, 0, 0]
    assert meta["lead_to_mql"] == Decimal("0.5")
    assert meta["mql_to_sql"] == Decimal("0")
    assert meta["sql_to_opportunity"] is None  # no SQLs: no rate
    ann = got[("2026-04-27", "typeform")]
    assert [ann[c] for c in ("leads", "mqls", "sqls", "opportunities", "won")] == [1, 1, 1, 1, 0]
    assert (ann["sql_to_opportunity"], ann["opportunity_to_won"]) == (Decimal("1"), Decimal("0"))
    eve = got[("2026-05-04", "hubspot")]  # a customer counts at every stage it passed
    assert [eve[c] for c in ("leads", "mqls", "sqls", "opportunities", "won")] == [1, 1, 1, 1, 1]


def test_sync_payload(query: Any) -> None:
    rows = {r["lead_id"]: r for r in query("select * from marts.sync_hubspot__contacts")}
    # only scored leads are pushed
    assert set(rows) == {"lead-ann", "lead-bob", "lead-cy", "lead-dee"}
    ann = rows["lead-ann"]
    assert (ann["operation"], ann["object_id"], ann["id_property"], ann["id_value"]) == (
        "update", "101", None, None,
    )  # fmt: skip
    # an existing contact's identity properties are never sent
    for prop in ("email", "firstname", "lastname", "phone", "company", "jobtitle", "country"):
        assert ann[prop] is None, prop
    assert (ann["hubspot_owner_id"], ann["leadflow_score"], ann["leadflow_grade"]) == (
        "51000001",
        "87",
        "A",
    )
    assert ann["leadflow_reasons"] == "Demo request (+30); Title CTO (+20)"
    bob = rows["lead-bob"]
    assert (bob["operation"], bob["object_id"], bob["id_property"], bob["id_value"]) == (
        "upsert", None, "email", "bob@gmail.com",
    )  # fmt: skip
    assert (bob["email"], bob["firstname"], bob["lastname"], bob["country"]) == (
        "bob@gmail.com", "Bob", "Baker", "US",
    )  # fmt: skip
    assert (bob["hubspot_owner_id"], bob["leadflow_score"], bob["leadflow_lead_id"]) == (
        "51000002",
        "35",
        "lead-bob",
    )
    # a contact a previous push created is updated by the id push_state recorded
    cy = rows["lead-cy"]
    assert (cy["operation"], cy["object_id"], cy["firstname"], cy["hubspot_owner_id"]) == (
        "update",
        "555",
        None,
        None,
    )
    # no email: upsert on our own lead id
    dee = rows["lead-dee"]
    assert (dee["operation"], dee["id_property"], dee["id_value"]) == (
        "upsert",
        "leadflow_lead_id",
        "lead-dee",
    )
    assert (dee["phone"], dee["email"]) == ("+33612345678", None)


def test_quarantine_reasons(query: Any) -> None:
    rows = query(
        "select source, reason, count_records from marts.rpt_quarantine_reasons order by reason"
    )
    assert rows == [
        {"source": "meta", "reason": "created_time is not a timestamp", "count_records": 1},
        {"source": "meta", "reason": "email and phone are both missing", "count_records": 2},
    ]


def test_accounts_and_the_leads_matched_to_them(query: Any) -> None:
    # GIVEN the CRM's companies and dedupe/accounts.py's matches
    companies = query("select * from staging.stg_hubspot__companies order by company_id")
    # THEN staging keeps each company's newest version, the domain trimmed and lower-cased
    assert [(c["company_id"], c["company_name"], c["domain"]) for c in companies] == [
        ("9001", "ACME GmbH", "acme.com"),
        ("9002", "Evergreen Ltd", None),
        ("9003", "Old Co", None),
    ]
    assert (companies[0]["count_employees"], companies[1]["count_contacts"]) == (120, None)
    # AND dim_accounts has the live accounts, their owners and the leads matched to them
    accounts = query("select * from marts.dim_accounts order by account_id")
    assert [
        (a["account_id"], a["owner_email"], a["has_active_owner"], a["count_leads"])
        for a in accounts
    ] == [("9001", "rita@ourco.com", True, 1), ("9002", None, False, 1)]
    assert (accounts[0]["count_leads_by_domain"], accounts[1]["count_leads_by_name"]) == (1, 1)
    assert (accounts[0]["count_crm_contacts"], accounts[1]["count_leads_tie_broken"]) == (2, 1)
    # AND each lead carries its account and the rule that matched it
    leads = query("select lead_id, account_id, account_match_rule from marts.dim_leads")
    assert {r["lead_id"]: (r["account_id"], r["account_match_rule"]) for r in leads} == {
        "lead-ann": ("9001", "domain_and_name"),
        "lead-bob": (None, None),
        "lead-cy": (None, None),
        "lead-dee": (None, None),
        "lead-eve": ("9002", "company_name"),
    }


def test_deals_staging_and_attribution(query: Any) -> None:
    # GIVEN four deals: eve's won, ann's open and lost, one whose contact 777 is no lead
    rows = query(
        """
        select deal_id, lead_id, deal_stage, is_closed, is_won, amount, currency_code, owner_id,
            created_at, closed_at
        from intermediate.int_deals_attributed order by deal_id
        """
    )
    # THEN each deal is credited to its contact's lead, closed dates only on closed deals
    assert [tuple(r.values()) for r in rows] == [
        ("9001", "lead-eve", "closedwon", True, True, Decimal("12000.00"), "EUR", "51000002",
         ts("2026-05-08 09:00:00"), ts("2026-05-09 16:00:00")),
        ("9002", "lead-ann", "contractsent", False, False, Decimal("5000.00"), "EUR", "51000001",
         ts("2026-05-03 10:00:00"), None),
        ("9003", "lead-ann", "closedlost", True, False, Decimal("2500.75"), "EUR", "51000001",
         ts("2026-05-03 11:00:00"), ts("2026-05-05 17:00:00")),
        ("9004", None, "appointmentscheduled", False, False, Decimal("1000.00"), "EUR", "51000002",
         ts("2026-05-08 08:00:00"), None),
    ]  # fmt: skip
    # AND the association to the unknown contact is kept in staging
    pairs = query("select deal_id, hubspot_contact_id from staging.stg_hubspot__deal_contacts")
    assert sorted((r["deal_id"], r["hubspot_contact_id"]) for r in pairs) == [
        ("9001", "102"), ("9002", "101"), ("9003", "101"), ("9004", "777"),
    ]  # fmt: skip
    # AND the open deal's closedate is its expected close date
    open_deal = query("select * from staging.stg_hubspot__deals where deal_id = '9002'")[0]
    assert open_deal["expected_close_at"] == ts("2026-06-30 00:00:00")


def test_ad_insights_keep_the_restated_day(query: Any) -> None:
    rows = query(
        """
        select campaign_id, campaign_name, spend_date, spend, currency_code, impressions, clicks,
            ad_account_id
        from staging.stg_meta__ad_insights order by campaign_id, spend_date
        """
    )
    # THEN one row per campaign per day; Meta's restated 04-30 (35.50) replaces the first (30.00)
    assert [(r["campaign_id"], str(r["spend_date"]), r["spend"], r["clicks"]) for r in rows] == [
        ("c1", "2026-04-29", Decimal("40.00"), 31),
        ("c1", "2026-04-30", Decimal("35.50"), 24),
        ("c2", "2026-04-30", Decimal("20.00"), 9),
    ]
    assert {(r["ad_account_id"], r["currency_code"]) for r in rows} == {("1234567890", "USD")}
    assert rows[1]["impressions"] == 960


def test_sales_activity_and_touches_on_leads(query: Any) -> None:
    rows = {r["lead_id"]: r for r in query("select * from intermediate.int_leads_unified")}
    ann, eve, bob = rows["lead-ann"], rows["lead-eve"], rows["lead-bob"]
    # THEN the contact's sales activity reaches the lead
    assert (ann["count_sales_touches"], ann["first_engagement_at"]) == (
        3,
        ts("2026-04-28 09:20:00"),
    )
    assert (ann["last_contacted_at"], ann["last_activity_at"]) == (
        ts("2026-05-04 10:00:00"),
        ts("2026-05-06 12:00:00"),
    )
    assert (eve["count_sales_touches"], eve["first_engagement_at"]) == (5, None)
    assert bob["count_sales_touches"] is None  # no HubSpot contact: no activity known
    # AND first- and last-touch: ann came through Typeform's brand campaign, then HubSpot
    assert (ann["first_touch_source"], ann["campaign"]) == ("typeform", "brand")
    assert (ann["last_touch_source"], ann["last_touch_campaign"]) == ("hubspot", None)
    # AND a Meta lead's campaign is its ad campaign
    assert (bob["campaign"], bob["last_touch_source"], bob["last_touch_campaign"]) == (
        "Spring",
        "meta",
        "Spring",
    )
    assert rows["lead-cy"]["campaign"] is None  # its response had no utm_campaign


def test_a_failing_dbt_test_raises_naming_it(built: Built, tmp_path: Path) -> None:
    # GIVEN a warehouse where scoring wrote a grade the project does not know
    path = tmp_path / "bad.duckdb"
    shutil.copy(built.path, path)
    with duckdb.connect(str(path)) as con:
        con.execute("update ops.lead_scores set grade = 'Z' where lead_id = 'lead-bob'")
    # WHEN publish runs THEN it raises, naming the failed test
    with pytest.raises(DbtError) as raised:
        build("publish", path, target_path=built.target_path)
    message = str(raised.value)
    assert "accepted_values_dim_leads_grade" in message
    assert "dbt build --selector publish failed" in message
    failed = {node.name for node in raised.value.result.failed} if raised.value.result else set()
    assert any(name.startswith("accepted_values_dim_leads_grade") for name in failed)
    # AND the file is released even after a failure
    duckdb.connect(str(path)).close()


def test_build_rejects_an_unknown_selector(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="prepare, publish"):
        build("everything", tmp_path / "w.duckdb")
