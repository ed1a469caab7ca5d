"""Salesforce, Pipedrive, LinkedIn and Google Ads keep their state in the sandbox's state file: a
restart over the same file, seed and size serves what the last run left (LeadFlow's writes, merges,
deletes, leads that arrived, the day's API usage); another seed, size or schema regenerates."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sandbox import Sandbox
from sandbox.google_ads import CUSTOMER_ID, DEMO, GoogleAdsApp
from sandbox.linkedin import SPONSORED_ACCOUNT_ID, LinkedInApp, quote_urn
from sandbox.pipedrive import PipedriveApp, field_key
from sandbox.salesforce import INTEGRATION_USER_ID, SalesforceApp
from tests.sandbox.sandbox_helpers import Client

NOW = datetime(2026, 11, 2, 12, 0, 0, tzinfo=UTC)
SEED, LEADS = 5, 120

SF = "/services/data/v62.0"
SF_HEADERS = {"Authorization": "Bearer sandbox-salesforce-token", "Sforce-Auto-Assign": "FALSE"}
PERSON_FIELDS = (
    "Id, OwnerId, LastName, Email, LeadFlow_Score__c, LeadFlow_Grade__c, LeadFlow_Lead_Id__c, "
    "IsDeleted, MasterRecordId, LastModifiedDate, SystemModstamp"
)
SF_FIELDS = {
    "Lead": PERSON_FIELDS,
    "Contact": PERSON_FIELDS + ", Account.Name",
    "Opportunity": "Id, Name, StageName, Amount, OwnerId, ContactId, IsDeleted, SystemModstamp",
}
PD_HEADERS = {"x-api-token": "sandbox-pipedrive-token"}
PD_SCORE = field_key("LeadFlow Score")
LI_HEADERS = {
    "Authorization": "Bearer sandbox-linkedin-token",
    "LinkedIn-Version": "202607",
    "X-Restli-Protocol-Version": "2.0.0",
}
LI_OWNER = f"(sponsoredAccount:{quote_urn(f'urn:li:sponsoredAccount:{SPONSORED_ACCOUNT_ID}')})"
LI_FORM = 7_234_246
ADS_HEADERS = {"Authorization": "Bearer sandbox-google_ads-token"}
ADS_SEARCH = f"/v26/customers/{CUSTOMER_ID}/googleAds:search"
LFSD = "lead_form_submission_data"
ADS_QUERY = (
    f"SELECT {LFSD}.id, {LFSD}.submission_date_time, {LFSD}.lead_form_submission_fields, "
    f"{LFSD}.gclid FROM {LFSD} ORDER BY {LFSD}.id ASC"
)


@contextmanager
def running(state: Path | None, seed: int = SEED, leads: int = LEADS) -> Iterator[Sandbox]:
    with Sandbox(seed=seed, leads=leads, state_path=state, now=NOW) as sb:
        yield sb


@contextmanager
def client(sb: Sandbox, vendor: str, headers: dict[str, str]) -> Iterator[Client]:
    with Client(sb.urls[vendor], headers) as c:
        yield c


# --------------------------------------------------------------------------- Salesforce


def sf_patch(sf: Client, path: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    resp = sf.session.patch(
        sf.base + SF + path, json={"allOrNone": False, "records": records}, timeout=10
    )
    assert resp.status_code == 200, resp.text
    result: list[dict[str, Any]] = resp.json()
    return result


def sf_all(sf: Client, sobject: str) -> list[dict[str, Any]]:
    """Every record of `sobject`, deleted ones too, as queryAll answers them."""
    resp = sf.get(
        f"{SF}/queryAll", params={"q": f"SELECT {SF_FIELDS[sobject]} FROM {sobject} ORDER BY Id"}
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["done"], "the test world fits in one batch"
    records: list[dict[str, Any]] = body["records"]
    return records


def sf_org(sf: Client) -> dict[str, list[dict[str, Any]]]:
    return {sobject: sf_all(sf, sobject) for sobject in ("Lead", "Contact", "Opportunity")}


def sf_remaining(sf: Client) -> int:
    return int(sf.get(f"{SF}/limits").json()["DailyApiRequests"]["Remaining"])


def test_salesforce_keeps_leadflows_writes_merges_and_deletes_across_a_restart(
    tmp_path: Path,
) -> None:
    state = tmp_path / "world.sqlite"
    # GIVEN a sandbox over a state file whose Salesforce org LeadFlow wrote to, an hour in
    with running(state) as sb, client(sb, "salesforce", SF_HEADERS) as sf:
        sb.advance_clock(timedelta(hours=1))
        leads = [r for r in sf_all(sf, "Lead") if not r["IsDeleted"]]
        contacts = [r for r in sf_all(sf, "Contact") if not r["IsDeleted"]]
        users = sf.get(f"{SF}/query", params={"q": "SELECT Id FROM User WHERE IsActive = true"})
        rep = next(u["Id"] for u in users.json()["records"] if u["Id"] != INTEGRATION_USER_ID)
        scored, deleted = leads[0]["Id"], leads[1]["Id"]
        winner, loser = contacts[0]["Id"], contacts[1]["Id"]
        updated = sf_patch(
            sf,
            "/composite/sobjects",
            [
                {
                    "attributes": {"type": "Lead"},
                    "id": scored,
                    "OwnerId": rep,
                    "LeadFlow_Score__c": 87.5,
                    "LeadFlow_Grade__c": "A",
                }
            ],
        )
        assert updated[0]["success"], updated
        upsert = [
            {
                "attributes": {"type": "Lead"},
                "LeadFlow_Lead_Id__c": "lf-persist-1",
                "LastName": "Newcomer",
                "Company": "Persisted Ltd",
                "LeadFlow_Score__c": 12,
            }
        ]
        [created] = sf_patch(sf, "/composite/sobjects/Lead/LeadFlow_Lead_Id__c", upsert)
        assert created["created"] is True
        app = sb._apps["salesforce"]
        assert isinstance(app, SalesforceApp)
        app.org.delete(deleted)  # as a user in Salesforce's UI
        app.org.merge(winner, loser)
        before = sf_org(sf)
        remaining = sf_remaining(sf)

    # WHEN the sandbox restarts over the same file, seed and size
    with running(state) as sb, client(sb, "salesforce", SF_HEADERS) as sf:
        # THEN the day's API usage is the org's still (this call is one more)
        assert sf_remaining(sf) == remaining - 1
        # AND every Lead, Contact and Opportunity is as the last run left it, nothing else changed
        after = sf_org(sf)
        assert after == before
        by_id = {r["Id"]: r for r in after["Lead"] + after["Contact"]}
        assert by_id[scored]["OwnerId"] == rep
        assert (by_id[scored]["LeadFlow_Score__c"], by_id[scored]["LeadFlow_Grade__c"]) == (
            87.5,
            "A",
        )
        assert by_id[created["id"]]["LeadFlow_Lead_Id__c"] == "lf-persist-1"
        assert by_id[deleted]["IsDeleted"] is True
        assert (by_id[loser]["IsDeleted"], by_id[loser]["MasterRecordId"]) == (True, winner)
        # AND a second push finds LeadFlow's Lead instead of creating it again
        [again] = sf_patch(sf, "/composite/sobjects/Lead/LeadFlow_Lead_Id__c", upsert)
        assert (again["id"], again["created"]) == (created["id"], False)
        # AND a write after the restart is stamped after the last run's writes, so an
        # incremental pull from the last run's cursor sees it
        sf_patch(
            sf,
            "/composite/sobjects",
            [{"attributes": {"type": "Lead"}, "id": leads[2]["Id"], "LeadFlow_Grade__c": "B"}],
        )
        stamps = {r["Id"]: r["SystemModstamp"] for r in sf_all(sf, "Lead")}
        assert stamps[leads[2]["Id"]] > stamps[scored]


# --------------------------------------------------------------------------- Pipedrive


def pd_every(pd: Client, path: str) -> list[dict[str, Any]]:
    """Every row of a v2 list, following next_cursor."""
    rows: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 500}
    while True:
        resp = pd.get(path, params=params)
        assert resp.status_code == 200, resp.text
        rows.extend(resp.json()["data"])
        cursor = resp.json()["additional_data"]["next_cursor"]
        if cursor is None:
            return rows
        params = {"limit": 500, "cursor": cursor}


def pd_company(pd: Client) -> dict[str, Any]:
    leads = pd.get("/api/v1/leads", params={"limit": 500})
    assert (
        leads.status_code == 200
        and not leads.json()["additional_data"]["pagination"]["more_items_in_collection"]
    )
    return {
        "persons": pd_every(pd, "/api/v2/persons"),
        "deals": pd_every(pd, "/api/v2/deals"),
        "leads": leads.json()["data"],
        "users": pd.get("/api/v1/users").json()["data"],
    }


def test_pipedrive_keeps_owner_and_custom_field_writes_across_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "world.sqlite"
    # GIVEN LeadFlow's push to a person (owner and a custom field), an archived lead, a merge
    with running(state) as sb, client(sb, "pipedrive", PD_HEADERS) as pd:
        persons = pd_every(pd, "/api/v2/persons")
        users = [u for u in pd.get("/api/v1/users").json()["data"] if u["active_flag"]]
        person = persons[0]
        owner = next(u["id"] for u in users if u["id"] != person["owner_id"])
        pushed = pd.session.patch(
            f"{pd.base}/api/v2/persons/{person['id']}",
            json={"owner_id": owner, "custom_fields": {PD_SCORE: 91.5}},
            timeout=10,
        )
        assert pushed.status_code == 200, pushed.text
        assert pushed.headers["x-daily-requests-left"] == "9999"
        lead = pd.get("/api/v1/leads", params={"limit": 1}).json()["data"][0]
        archived = pd.session.patch(
            f"{pd.base}/api/v1/leads/{lead['id']}", json={"is_archived": True}, timeout=10
        )
        assert archived.status_code == 200, archived.text
        app = sb._apps["pipedrive"]
        assert isinstance(app, PipedriveApp)
        keep, gone = persons[1]["id"], persons[2]["id"]
        app.company.merge_persons(keep, gone)
        before = pd_company(pd)

    # WHEN the sandbox restarts over the same file
    with running(state) as sb, client(sb, "pipedrive", PD_HEADERS) as pd:
        # THEN persons, deals, leads and users read back as the last run left them
        after = pd_company(pd)
        assert after == before
        found = pd.get(f"/api/v2/persons/{person['id']}").json()["data"]
        assert (found["owner_id"], found["custom_fields"][PD_SCORE]) == (owner, 91.5)
        assert pd.get(f"/api/v2/persons/{gone}").status_code == 404
        assert pd.get(f"/api/v1/leads/{lead['id']}").json()["data"]["is_archived"] is True
        # AND the day's writes are still counted against the daily budget
        again = pd.session.patch(
            f"{pd.base}/api/v2/persons/{person['id']}",
            json={"custom_fields": {PD_SCORE: 40}},
            timeout=10,
        )
        assert again.headers["x-daily-requests-left"] == "9997"


# --------------------------------------------------------------------------- LinkedIn


def li_responses(li: Client) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    start = 0
    while True:
        path = (
            f"/rest/leadFormResponses?q=owner&owner={LI_OWNER}&leadType=(leadType:SPONSORED)"
            f"&start={start}&count=100"
        )
        resp = li.get(path)
        assert resp.status_code == 200, resp.text
        page = resp.json()
        out.extend(page["elements"])
        start += 100
        if start >= page["paging"]["total"]:
            return out


def test_linkedin_serves_the_same_leads_after_a_restart_and_arrivals(tmp_path: Path) -> None:
    state = tmp_path / "world.sqlite"
    # GIVEN the LinkedIn leads served, then a lead submitted later and new people in the world
    with running(state) as sb, client(sb, "linkedin", LI_HEADERS) as li:
        served = li_responses(li)
        app = sb._apps["linkedin"]
        assert isinstance(app, LinkedInApp)
        late = app.account.add_response(
            LI_FORM, {"EMAIL": "late.lead@example.com"}, NOW + timedelta(minutes=5)
        )
        edited = app.account.edit_form(
            LI_FORM, int((NOW + timedelta(minutes=6)).timestamp() * 1000)
        )
        sb.add_arrivals(40)
        before = li_responses(li)
        form_before = li.get(f"/rest/leadForms/{LI_FORM}").json()
        calls = app.limits.usage()["app"]

    # WHEN the sandbox restarts over the same file
    with running(state) as sb, client(sb, "linkedin", LI_HEADERS) as li:
        app = sb._apps["linkedin"]
        assert isinstance(app, LinkedInApp)
        # THEN today's calls of the last run still count: a daily limit of that many is reached
        app.set_daily_limit(app=calls)
        assert li.get(f"/rest/leadForms/{LI_FORM}").status_code == 429
        app.set_daily_limit(app=0)
        # AND it serves the very leads and form it served, the late one included; the people who
        # arrived since the leads were drawn bring none, and none is lost
        after = li_responses(li)
        assert after == before and len(after) == len(served) + 1
        assert late in {r["id"] for r in after}
        assert li.get(f"/rest/leadForms/{LI_FORM}").json() == form_before
        assert form_before["versionId"] == edited
        # AND a lead submitted now gets an id of its own
        newer = app.account.add_response(LI_FORM, {"EMAIL": "newer@example.com"}, NOW)
        assert newer not in {r["id"] for r in after}


# --------------------------------------------------------------------------- Google Ads


def ads_rows(ads: Client) -> list[dict[str, Any]]:
    resp = ads.post(ADS_SEARCH, json={"query": ADS_QUERY})
    assert resp.status_code == 200, resp.text
    assert "nextPageToken" not in resp.json()
    rows: list[dict[str, Any]] = resp.json()["results"]
    return rows


def test_google_ads_serves_the_same_submissions_after_a_restart_and_arrivals(
    tmp_path: Path,
) -> None:
    state = tmp_path / "world.sqlite"
    # GIVEN the account's submissions read, one more submitted, new people in the world
    with running(state) as sb, client(sb, "google_ads", ADS_HEADERS) as ads:
        served = ads_rows(ads)
        app = sb._apps["google_ads"]
        assert isinstance(app, GoogleAdsApp)
        late = app.account.add_submission(
            DEMO, {"EMAIL": "late.lead@example.com"}, NOW + timedelta(minutes=5)
        )
        sb.add_arrivals(40)
        before = ads_rows(ads)

    # WHEN the sandbox restarts over the same file
    with running(state) as sb, client(sb, "google_ads", ADS_HEADERS) as ads:
        app = sb._apps["google_ads"]
        assert isinstance(app, GoogleAdsApp)
        app.daily_operations = 3  # the last run spent two of them
        # THEN the same submissions come back, the late one too, none from the arrivals
        after = ads_rows(ads)
        assert after == before and len(after) == len(served) + 1
        assert late in {r["leadFormSubmissionData"]["id"] for r in after}
        # AND a new submission's id is new
        newer = app.account.add_submission(DEMO, {"EMAIL": "newer@example.com"}, NOW)
        assert newer not in {r["leadFormSubmissionData"]["id"] for r in after}
        # AND the operations of the last 24 hours still count against the quota
        resp = ads.post(ADS_SEARCH, json={"query": ADS_QUERY})
        assert resp.status_code == 429, resp.text
        assert resp.json()["error"]["status"] == "RESOURCE_EXHAUSTED"


# --------------------------------------------------------------------------- regeneration


def snapshot(sb: Sandbox) -> dict[str, Any]:
    """What the four vendors serve, read over HTTP."""
    with (
        client(sb, "salesforce", SF_HEADERS) as sf,
        client(sb, "pipedrive", PD_HEADERS) as pd,
        client(sb, "linkedin", LI_HEADERS) as li,
        client(sb, "google_ads", ADS_HEADERS) as ads,
    ):
        return {
            "salesforce": sf_org(sf),
            "pipedrive": pd_company(pd),
            "linkedin": li_responses(li),
            "google_ads": ads_rows(ads),
        }


def push_everywhere(sb: Sandbox) -> None:
    """A LeadFlow write to Salesforce and Pipedrive, and a lead on LinkedIn and Google Ads."""
    with client(sb, "salesforce", SF_HEADERS) as sf, client(sb, "pipedrive", PD_HEADERS) as pd:
        sf_patch(
            sf,
            "/composite/sobjects/Lead/LeadFlow_Lead_Id__c",
            [
                {
                    "attributes": {"type": "Lead"},
                    "LeadFlow_Lead_Id__c": "lf-regen",
                    "LastName": "Stale",
                    "Company": "Old World",
                }
            ],
        )
        person = pd_every(pd, "/api/v2/persons")[0]["id"]
        resp = pd.session.patch(
            f"{pd.base}/api/v2/persons/{person}",
            json={"custom_fields": {PD_SCORE: 5}},
            timeout=10,
        )
        assert resp.status_code == 200
    linkedin, ads = sb._apps["linkedin"], sb._apps["google_ads"]
    assert isinstance(linkedin, LinkedInApp) and isinstance(ads, GoogleAdsApp)
    linkedin.account.add_response(LI_FORM, {"EMAIL": "stale@example.com"}, NOW)
    ads.account.add_submission(DEMO, {"EMAIL": "stale@example.com"}, NOW)


@pytest.mark.parametrize(
    ("seed", "leads"),
    [pytest.param(6, LEADS, id="another-seed"), pytest.param(SEED, 100, id="another-size")],
)
def test_another_seed_or_size_regenerates_the_vendors(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, seed: int, leads: int
) -> None:
    state = tmp_path / "world.sqlite"
    # GIVEN a state file the four vendors were written to
    with running(state) as sb:
        push_everywhere(sb)
    # WHEN the sandbox starts over it with another seed or size
    with caplog.at_level(logging.INFO, logger="sandbox"), running(state, seed, leads) as sb:
        kept = snapshot(sb)
    # THEN a log line says the state is regenerated, and each vendor serves what a new sandbox
    # with that seed and size serves: none of the last world's writes
    assert any("regenerating" in r.getMessage() for r in caplog.records)
    with running(None, seed, leads) as sb:
        fresh = snapshot(sb)
    assert kept == fresh


def test_an_older_schema_regenerates_the_vendors(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = tmp_path / "world.sqlite"
    with running(state) as sb:
        fresh = snapshot(sb)
        push_everywhere(sb)
    # GIVEN the state file marked as made by an older schema
    with sqlite3.connect(state) as conn:
        conn.execute("UPDATE meta SET value = '8' WHERE key = 'schema'")
    conn.close()
    # WHEN the sandbox starts over it
    with caplog.at_level(logging.INFO, logger="sandbox"), running(state) as sb:
        again = snapshot(sb)
    # THEN it is regenerated with a log line, and the writes made under the old schema are gone
    assert any("schema=8" in r.getMessage() for r in caplog.records)
    assert again == fresh


def test_without_a_state_file_nothing_is_written_per_request(tmp_path: Path) -> None:
    # GIVEN an in-memory sandbox the four vendors were written to
    with running(None) as sb:
        push_everywhere(sb)
        store = sb._store
        assert store is not None
        # THEN no vendor row was written: memory alone holds their state, as before
        with store.read() as conn:
            rows = conn.execute("SELECT COUNT(*) FROM vendor_records").fetchone()[0]
        assert rows == 0
        # AND the writes are served
        with client(sb, "salesforce", SF_HEADERS) as sf:
            ids = [r["LeadFlow_Lead_Id__c"] for r in sf_all(sf, "Lead")]
        assert "lf-regen" in ids
