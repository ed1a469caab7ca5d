"""Pulling Salesforce over real HTTP from the sandbox: paging, incremental windows with lookback,
deletes and merges, the daily request limit, expired cursors, and the Lead/Contact parsers."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from connectors import salesforce
from connectors.http import AuthError
from connectors.salesforce import settings
from connectors.streams import Page, PullWindow
from sandbox.salesforce import SalesforceOrg
from tests.connectors.salesforce.conftest import NOW, Org


def _naive(value: datetime) -> datetime:
    return value.replace(tzinfo=None)


def _pull(sfo: Org, stream: str, since: datetime | None = None, **config: Any) -> list[Page]:
    cfg = sfo.source(**config)
    with salesforce.open_client(cfg) as client:
        window = PullWindow(since, timedelta(minutes=cfg.lookback_minutes))
        return list(salesforce.pull(client, cfg, stream, window))


def _ids(pages: list[Page]) -> list[str]:
    return [r["Id"] for p in pages for r in p.records]


def _queries(sfo: Org) -> int:
    return sfo.org.api_usage()[0]


def test_streams_declare_systemmodstamp_cursors_sorted_by_id(sfo: Org) -> None:
    assert set(salesforce.STREAMS) == {
        "leads",
        "contacts",
        "opportunities",
        "opportunity_history",
        "users",
    }
    stream = salesforce.STREAMS["leads"]
    assert (stream.cursor_field, stream.primary_key, stream.sorted_by_cursor) == (
        "SystemModstamp",
        "Id",
        True,
    )
    payload = {"Id": "00Q5g0000000001AAA", "SystemModstamp": "2026-05-01T09:30:00.000+0000"}
    assert stream.record_id(payload) == "00Q5g0000000001AAA"
    assert stream.record_cursor(payload) == datetime(2026, 5, 1, 9, 30)
    assert salesforce.partitions(sfo.source(), "leads") == [None]


def test_a_first_pull_pages_through_every_record_deleted_ones_included(sfo: Org) -> None:
    # GIVEN an org with more than 200 leads, some deleted or merged
    every = sfo.org.records("Lead", include_deleted=True)
    assert len(every) > 200 and any(r["IsDeleted"] for r in every)
    # WHEN the leads stream is pulled from scratch with batches of 200
    pages = _pull(sfo, "leads")
    # THEN pages of at most 200 hold every lead once, the deleted ones too, oldest change first
    assert [len(p.records) for p in pages][:-1] == [200] * (len(pages) - 1)
    assert [p.last for p in pages] == [False] * (len(pages) - 1) + [True]
    assert sorted(_ids(pages)) == sorted(r["Id"] for r in every)
    stamps = [(r["SystemModstamp"], r["Id"]) for p in pages for r in p.records]
    assert stamps == sorted(stamps)
    # AND one request per batch, nothing more
    assert _queries(sfo) == len(pages)


@pytest.mark.parametrize("stream", ["contacts", "opportunities", "opportunity_history", "users"])
def test_every_stream_pulls_its_object(sfo: Org, stream: str) -> None:
    sobject, fields = settings.STREAM_OBJECTS[stream]
    pages = _pull(sfo, stream)
    assert sorted(_ids(pages)) == sorted(
        r["Id"] for r in sfo.org.records(sobject, include_deleted=True)
    )
    first = pages[0].records[0]
    assert first["attributes"]["type"] == sobject
    assert [k for k in first if k != "attributes"] == [f.split(".")[0] for f in fields]


def test_an_incremental_pull_rereads_the_boundary_within_the_lookback(sfo: Org) -> None:
    # GIVEN a first pull that ended at the newest SystemModstamp
    first = _pull(sfo, "leads")
    cursor = max(salesforce.STREAMS["leads"].record_cursor(r) for p in first for r in p.records)
    # AND afterwards: one lead stamped exactly at the cursor and one 5 minutes before it (both
    # committed late, after that pull read), one a minute after it, one 20 minutes before it
    leads = [r["Id"] for r in sfo.org.records("Lead")]
    at_boundary, late, after, too_old = leads[:4]
    for record_id, when in (
        (at_boundary, cursor),
        (late, cursor - timedelta(minutes=5)),
        (after, cursor + timedelta(minutes=1)),
        (too_old, cursor - timedelta(minutes=20)),
    ):
        sfo.clock.now = when.replace(tzinfo=NOW.tzinfo)
        sfo.org.update(record_id, Title="Changed")
    # WHEN the next pull starts from the cursor with the lookback
    pages = _pull(sfo, "leads", since=cursor)
    seen = _ids(pages)
    # THEN the boundary, late and later leads are read; one older than the lookback is not
    assert at_boundary in seen and late in seen and after in seen
    assert too_old not in seen
    since = cursor - timedelta(minutes=10)
    assert all(
        salesforce.STREAMS["leads"].record_cursor(r) >= since.replace(microsecond=0)
        for p in pages
        for r in p.records
    )


def test_deletes_and_merges_arrive_and_are_recognisable(sfo: Org) -> None:
    # GIVEN a lead deleted and two contacts merged after the last pull
    lead = sfo.org.records("Lead")[5]["Id"]
    winner, loser = (r["Id"] for r in sfo.org.records("Contact")[:2])
    sfo.clock.advance(minutes=1)
    sfo.org.delete(lead)
    sfo.org.merge(winner, loser)
    since = _naive(NOW)
    # WHEN leads and contacts are pulled from before the changes
    leads = {r["Id"]: r for p in _pull(sfo, "leads", since) for r in p.records}
    contacts = {r["Id"]: r for p in _pull(sfo, "contacts", since) for r in p.records}
    # THEN the deleted lead is there and says so; the merged contact points at its winner
    assert salesforce.is_deleted(leads[lead]) is True
    assert salesforce.merged_into(leads[lead]) is None
    assert salesforce.is_deleted(contacts[loser]) is True
    assert salesforce.merged_into(contacts[loser]) == winner
    assert salesforce.is_deleted(contacts[winner]) is False
    assert salesforce.merged_into(contacts[winner]) is None


def test_the_daily_limit_mid_pull_raises_a_clear_error_after_the_pages_before_it(
    sfo: Org,
) -> None:
    # GIVEN an org with more than two batches of leads and two API requests left today
    for i in range(300):
        sfo.org.add("Lead", LastName=f"Bulk{i}", Company="Bulk")
    sfo.org.set_api_limit(1_000)
    sfo.org.set_api_usage(998)
    cfg = sfo.source()
    got: list[Page] = []
    # WHEN a pull needing more than two batches runs
    with salesforce.open_client(cfg) as client:
        pages = salesforce.pull(client, cfg, "leads", PullWindow(None))
        with pytest.raises(salesforce.RequestLimitExceeded) as raised:
            for page in pages:
                got.append(page)
    # THEN the two batches it could read were yielded before the error
    assert [len(p.records) for p in got] == [200, 200]
    # AND the error says what happened and what happens next, without secrets
    message = str(raised.value)
    assert "daily API request limit is used up" in message
    assert "resumes from the saved cursor on the next run" in message
    assert "sandbox-sf-test-token" not in message
    # AND the client stopped by itself: it did not send a request it knew would be refused
    assert sfo.org.api_usage() == (1_000, 1_000)


def test_salesforces_403_is_turned_into_the_same_error(sfo: Org) -> None:
    # GIVEN the org's allowance already spent before the first request
    sfo.org.set_api_limit(10)
    sfo.org.set_api_usage(10)
    with pytest.raises(salesforce.RequestLimitExceeded, match="daily API request limit"):
        _pull(sfo, "users")


def test_a_budget_stops_the_pull_before_the_orgs_limit(sfo: Org) -> None:
    sfo.org.set_api_usage(100)
    with pytest.raises(salesforce.RequestLimitExceeded, match="budget 101"):
        _pull(sfo, "leads", daily_request_budget=101)
    assert sfo.org.api_usage()[0] == 101  # one batch, then the budget was reached


def test_an_expired_cursor_is_resumed_from_the_last_modstamp_without_gaps(sfo: Org) -> None:
    # GIVEN a consumer that takes 20 minutes over each page (the locator dies after 15)
    cfg = sfo.source()
    seen: list[str] = []
    with salesforce.open_client(cfg) as client:
        for page in salesforce.pull(client, cfg, "leads", PullWindow(None)):
            seen.extend(r["Id"] for r in page.records)
            sfo.clock.advance(minutes=20)
    # THEN every lead was read exactly once all the same
    every = [r["Id"] for r in sfo.org.records("Lead", include_deleted=True)]
    assert sorted(seen) == sorted(every)


def test_server_errors_are_retried_and_a_bad_token_is_an_auth_error(sfo: Org) -> None:
    sfo.app.faults.extend([503, 500])
    assert len(_ids(_pull(sfo, "users"))) == len(sfo.org.records("User"))
    sfo.app.faults.append(401)
    with pytest.raises(AuthError, match="INVALID_SESSION_ID"):
        _pull(sfo, "users")


def test_a_missing_custom_field_in_the_org_fails_with_salesforces_message(sfo: Org) -> None:
    from sandbox import salesforce as sandbox_sf

    lead_fields = dict(sandbox_sf.SCHEMA["Lead"])
    del sandbox_sf.SCHEMA["Lead"]["LeadFlow_Score__c"]
    try:
        with pytest.raises(Exception, match="No such column 'LeadFlow_Score__c'"):
            _pull(sfo, "leads")
    finally:
        sandbox_sf.SCHEMA["Lead"].clear()
        sandbox_sf.SCHEMA["Lead"].update(lead_fields)


def test_the_org_is_reproducible_for_the_pull() -> None:
    a = SalesforceOrg.generate(11, 50, NOW)
    b = SalesforceOrg.generate(11, 50, NOW)
    assert a.records("Lead", include_deleted=True) == b.records("Lead", include_deleted=True)


# --------------------------------------------------------------------------- parsers

LEAD = {
    "attributes": {"type": "Lead", "url": "/services/data/v62.0/sobjects/Lead/00Q5g0000000001AAA"},
    "Id": "00Q5g0000000001AAA",
    "IsDeleted": False,
    "MasterRecordId": None,
    "FirstName": "Ana",
    "LastName": "Silva",
    "Email": "ana@acme.example",
    "Phone": None,
    "MobilePhone": "+1 415 555 0100",
    "Title": "CTO",
    "Company": "Acme",
    "Country": "Germany",
    "Industry": "Software",
    "NumberOfEmployees": 250,
    "OwnerId": "0055g0000000002AAA",
    "HasOptedOutOfEmail": True,
    "EmailBouncedReason": None,
    "LeadFlow_Lead_Id__c": "lf-1",
    "CreatedDate": "2026-04-01T08:00:00.000+0000",
    "SystemModstamp": "2026-04-02T09:30:00.500+0000",
}


def test_parse_lead_maps_every_field() -> None:
    record = salesforce.parse_lead(LEAD, None)
    assert record.as_dict() == {
        "source": "salesforce",
        "stream": "leads",
        "record_id": "00Q5g0000000001AAA",
        "created_at": datetime(2026, 4, 1, 8, 0),
        "updated_at": datetime(2026, 4, 2, 9, 30, 0, 500_000),
        "email": "ana@acme.example",
        "phone": "+1 415 555 0100",
        "first_name": "Ana",
        "last_name": "Silva",
        "company": "Acme",
        "job_title": "CTO",
        "country": "Germany",
        "crm_contact_id": "00Q5g0000000001AAA",
        "crm_owner_id": "0055g0000000002AAA",
        "leadflow_lead_id": "lf-1",
        "form_id": None,
        "industry": "Software",
        "employees": "250",
        "unsubscribed": True,
        "bounced": False,
        "is_test": None,
        "deleted_at_source": False,
        "crm_merged_ids": (),
        "crm_merged_into": None,
        "location": None,
        "unreadable": None,
    }


CONTACT = {
    "Id": "0035g0000000001AAA",
    "FirstName": "Ben",
    "LastName": "Okafor",
    "Email": "ben@globex.example",
    "Phone": "+44 20 7946 0000",
    "Title": "VP Sales",
    "AccountId": "0015g0000000001AAA",
    "Account": {"attributes": {"type": "Account"}, "Name": "Globex"},
    "MailingCountry": "United Kingdom",
    "OwnerId": "0055g0000000003AAA",
    "HasOptedOutOfEmail": False,
    "IsEmailBounced": True,
    "EmailBouncedReason": "550 mailbox unavailable",
    "CreatedDate": "2026-04-01T08:00:00.000+0000",
    "SystemModstamp": "2026-04-03T08:00:00.000+0000",
}


def test_parse_contact_reads_the_account_name_and_mailing_country() -> None:
    record = salesforce.parse_contact(CONTACT, None)
    assert (record.stream, record.company, record.country) == (
        "contacts",
        "Globex",
        "United Kingdom",
    )
    assert (record.crm_contact_id, record.crm_owner_id) == (
        "0035g0000000001AAA",
        "0055g0000000003AAA",
    )
    assert (record.unsubscribed, record.bounced) == (False, True)


@pytest.mark.parametrize(
    ("parser", "change", "attribute", "expected"),
    [
        ("lead", {"Email": ["a@b.c"]}, "email", None),
        ("lead", {"Email": "   "}, "email", None),
        ("lead", {"Email": 42}, "email", "42"),
        ("lead", {"FirstName": {"x": 1}}, "first_name", None),
        ("lead", {"NumberOfEmployees": float("nan")}, "employees", None),
        ("lead", {"NumberOfEmployees": True}, "employees", None),
        ("lead", {"SystemModstamp": "yesterday", "LastModifiedDate": None}, "updated_at", None),
        ("lead", {"CreatedDate": "0000-00-00T00:00:00.000+0000"}, "created_at", None),
        ("lead", {"HasOptedOutOfEmail": "maybe"}, "unsubscribed", None),
        ("lead", {"HasOptedOutOfEmail": "true"}, "unsubscribed", True),
        ("lead", {"EmailBouncedReason": "550 no such user"}, "bounced", True),
        ("lead", {"Phone": "+1 212 555 0100"}, "phone", "+1 212 555 0100"),
        ("lead", {"OwnerId": None}, "crm_owner_id", None),
        ("lead", {"Id": None}, "record_id", None),
        ("contact", {"Account": None}, "company", None),
        ("contact", {"Account": "Globex"}, "company", None),
        ("contact", {"Account": {"Name": None}}, "company", None),
        ("contact", {"IsEmailBounced": None}, "bounced", True),
        ("contact", {"IsEmailBounced": False, "EmailBouncedReason": None}, "bounced", False),
        ("contact", {"MailingCountry": ["DE"]}, "country", None),
    ],
    ids=lambda v: str(v)[:30],
)
def test_parsers_never_raise_on_malformed_values(
    parser: str, change: dict[str, Any], attribute: str, expected: Any
) -> None:
    base = LEAD if parser == "lead" else CONTACT
    parse = salesforce.parse_lead if parser == "lead" else salesforce.parse_contact
    record = parse({**base, **change}, None)
    assert getattr(record, attribute) == expected


@pytest.mark.parametrize(
    "payload",
    [{}, {"Id": 5}, {"attributes": None, "Account": []}],
    ids=["empty", "numeric-id", "garbled"],
)
def test_parsers_read_an_empty_or_garbled_payload_as_unknowns(payload: dict[str, Any]) -> None:
    for parse in (salesforce.parse_lead, salesforce.parse_contact):
        record = parse(payload, None)
        assert record.email is None and record.unsubscribed is None and record.bounced is None


@pytest.mark.parametrize(
    ("payload", "deleted", "master"),
    [
        ({"IsDeleted": True, "MasterRecordId": "00Q5g0000000009AAA"}, True, "00Q5g0000000009AAA"),
        ({"IsDeleted": False, "MasterRecordId": None}, False, None),
        ({"IsDeleted": "true"}, True, None),
        ({"IsDeleted": None, "MasterRecordId": ""}, False, None),
        ({}, False, None),
    ],
)
def test_is_deleted_and_merged_into(
    payload: dict[str, Any], deleted: bool, master: str | None
) -> None:
    assert salesforce.is_deleted(payload) is deleted
    assert salesforce.merged_into(payload) == master


def test_a_deleted_or_merged_record_says_so() -> None:
    # GIVEN a lead in the recycle bin, and a contact merged into another
    deleted = salesforce.parse_lead({**LEAD, "IsDeleted": True}, None)
    merged = salesforce.parse_contact(
        {**CONTACT, "IsDeleted": True, "MasterRecordId": "0035g0000000009AAA"}, None
    )
    # THEN both are flagged for validation to quarantine; a live one is not
    assert (deleted.deleted_at_source, merged.deleted_at_source) == (True, True)
    assert salesforce.parse_lead(LEAD, None).deleted_at_source is False


@pytest.mark.parametrize("placeholder", ["[not provided]", "[Not Provided] ", "[NOT PROVIDED]"])
def test_web_to_leads_placeholder_reads_as_no_value(placeholder: str) -> None:
    # Salesforce's Web-to-Lead (and LeadFlow's own upsert) fills required LastName and Company
    # with "[not provided]"; that is not a surname or a company the person gave.
    record = salesforce.parse_lead({**LEAD, "LastName": placeholder, "Company": placeholder}, None)
    assert (record.last_name, record.company) == (None, None)
    assert salesforce.parse_lead({**LEAD, "Company": "Not Provided Ltd"}, None).company == (
        "Not Provided Ltd"
    )
