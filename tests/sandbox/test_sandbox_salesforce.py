"""The Salesforce REST stand-in over real HTTP: auth, SOQL, query cursors, deletes and merges,
the daily request limit, sObject Collections writes, assignment rules, describe and faults."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from sandbox import Sandbox
from sandbox.salesforce import (
    KEY_PREFIXES,
    RULE_OWNER_ID,
    SalesforceApp,
    SalesforceOrg,
    _checksum,
    make_id,
    serving,
    sf_datetime,
    standalone_context,
)
from tests.sandbox.sandbox_helpers import Client, StepClock

NOW = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
TOKEN = "tok-sf"
V = "/services/data/v62.0"


@pytest.fixture
def clock() -> StepClock:
    return StepClock(NOW)


@pytest.fixture
def org(clock: StepClock) -> SalesforceOrg:
    return SalesforceOrg.generate(7, 300, NOW, clock=clock)


@pytest.fixture
def app(org: SalesforceOrg) -> SalesforceApp:
    return SalesforceApp(standalone_context(TOKEN, NOW), org)


@pytest.fixture
def sf(app: SalesforceApp) -> Iterator[Client]:
    with serving(app) as url, Client(url, {"Authorization": f"Bearer {TOKEN}"}) as client:
        yield client


def query(sf: Client, soql: str, *, all_rows: bool = False, **kw: Any) -> requests.Response:
    return sf.get(f"{V}/{'queryAll' if all_rows else 'query'}", params={"q": soql}, **kw)


def query_every(sf: Client, soql: str, *, batch: int | None = None) -> list[dict[str, Any]]:
    headers = {"Sforce-Query-Options": f"batchSize={batch}"} if batch else {}
    resp = query(sf, soql, headers=headers)
    records: list[dict[str, Any]] = []
    while True:
        assert resp.status_code == 200, resp.text
        body = resp.json()
        records.extend(body["records"])
        if body["done"]:
            return records
        resp = sf.get(body["nextRecordsUrl"])


def patch(sf: Client, path: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    return sf.session.patch(sf.base + V + path, json=body, headers=headers or {}, timeout=10)


# --------------------------------------------------------------------------- ids and auth


def test_ids_have_the_real_key_prefix_and_a_case_safe_suffix(org: SalesforceOrg) -> None:
    # GIVEN the generated org
    # WHEN its records are listed
    # THEN every id is 18 characters with its object's key prefix, and the suffix encodes the case
    for sobject in ("Lead", "Contact", "Opportunity", "OpportunityHistory", "User"):
        records = org.records(sobject, include_deleted=True)
        assert records, sobject
        assert all(len(r["Id"]) == 18 and r["Id"][:3] == KEY_PREFIXES[sobject] for r in records)
    # AND the suffix is Salesforce's: the documented 001A0000006Vm9r is 001A0000006Vm9rIAC
    assert _checksum("001A0000006Vm9r") == "IAC"


@pytest.mark.parametrize(
    "auth", [None, "Bearer nope", "Basic dG9rLXNm"], ids=["none", "wrong", "basic"]
)
def test_a_missing_or_wrong_token_is_invalid_session_id(
    app: SalesforceApp, auth: str | None
) -> None:
    # GIVEN a request without the org's session token
    with serving(app) as url:
        headers = {"Authorization": auth} if auth else {}
        # WHEN it queries
        resp = requests.get(
            f"{url}{V}/query", params={"q": "SELECT Id FROM Lead"}, headers=headers, timeout=10
        )
    # THEN 401 with Salesforce's error array
    assert resp.status_code == 401
    assert resp.json() == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]


@pytest.mark.parametrize("version", ["v49.0", "v62", "v62.00", "vX.0"])
def test_an_unsupported_api_version_is_not_found(sf: Client, version: str) -> None:
    resp = sf.get(f"/services/data/{version}/query", params={"q": "SELECT Id FROM Lead"})
    assert resp.status_code == 404
    assert resp.json()[0]["errorCode"] == "NOT_FOUND"


def test_any_version_from_50_is_served_and_unknown_paths_are_not_found(sf: Client) -> None:
    assert query(sf, "SELECT Id FROM User").status_code == 200
    ok = sf.get("/services/data/v50.0/query", params={"q": "SELECT Id FROM User"})
    assert ok.status_code == 200
    missing = sf.get(f"{V}/sobjects/Lead/nope")
    assert missing.status_code == 404
    assert missing.json() == [
        {"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}
    ]


# --------------------------------------------------------------------------- SOQL


@pytest.mark.parametrize(
    ("soql", "code", "says"),
    [
        ("SELECT Id FROM Widget", "INVALID_TYPE", "sObject type 'Widget' is not supported"),
        (
            "SELECT Id, Shoe_Size__c FROM Lead",
            "INVALID_FIELD",
            "No such column 'Shoe_Size__c' on entity 'Lead'",
        ),
        ("SELECT Id FROM Lead WHERE Nope = 1", "INVALID_FIELD", "No such column 'Nope'"),
        ("SELECT Id FROM Lead ORDER BY Nope", "INVALID_FIELD", "No such column 'Nope'"),
        (
            "SELECT IsDeleted FROM User",
            "INVALID_FIELD",
            "No such column 'IsDeleted' on entity 'User'",
        ),
        ("SELECT Account.Name FROM Lead", "INVALID_FIELD", "No such column 'Account.Name'"),
        ("SELECT Id FROM Lead WHERE", "MALFORMED_QUERY", "unexpected token: '<EOF>'"),
        ("SELECT FROM Lead", "MALFORMED_QUERY", "unexpected token: 'FROM'"),
        ("SELECT Id Lead", "MALFORMED_QUERY", "unexpected token: 'Lead'"),
        (
            "SELECT Id FROM Lead WHERE Email = 'a' OR Email = 'b'",
            "MALFORMED_QUERY",
            "unexpected token: 'OR'",
        ),
        ("SELECT Id FROM Lead LIMIT ten", "MALFORMED_QUERY", "unexpected token: 'ten'"),
        ("SELECT Id FROM Lead WHERE Email = 'unterminated", "MALFORMED_QUERY", "unexpected token"),
        ("SELECT COUNT() FROM Lead", "MALFORMED_QUERY", "COUNT"),
        ("SELECT Id, id FROM Lead", "MALFORMED_QUERY", "duplicate field selected: Id"),
        (
            "SELECT Id FROM Lead WHERE SystemModstamp >= '2026-05-01T00:00:00Z'",
            "INVALID_FIELD",
            "must be of type dateTime and should not be enclosed in quotes",
        ),
        (
            "SELECT Id FROM Lead WHERE Email = 2026-05-01T00:00:00Z",
            "INVALID_FIELD",
            "must be of type string and should be enclosed in quotes",
        ),
        ("SELECT Id FROM Lead WHERE IsDeleted = 'yes'", "INVALID_FIELD", "must be of type boolean"),
        ("SELECT Id FROM Lead WHERE Email > null", "MALFORMED_QUERY", "unexpected token: 'null'"),
    ],
    ids=lambda v: v if len(str(v)) < 40 else None,
)
def test_bad_soql_answers_400_with_salesforces_code_and_where(
    sf: Client, soql: str, code: str, says: str
) -> None:
    # WHEN a query Salesforce would refuse is sent
    resp = query(sf, soql)
    # THEN 400, one error in an array, with the code and a message that points at the place
    assert resp.status_code == 400
    [error] = resp.json()
    assert error["errorCode"] == code
    assert says in error["message"]
    assert "ERROR at Row:1:Column:" in error["message"]


def test_a_missing_q_is_malformed_query(sf: Client) -> None:
    resp = sf.get(f"{V}/query")
    assert resp.status_code == 400
    assert resp.json()[0]["errorCode"] == "MALFORMED_QUERY"


def test_keywords_and_names_are_case_insensitive_and_answers_use_api_names(sf: Client) -> None:
    # GIVEN a query written in lower case
    body = query(
        sf, "select id, email, systemmodstamp from lead order by systemmodstamp desc limit 3"
    ).json()
    # THEN fields come back under their API names, with attributes first
    assert body["totalSize"] == 3 and body["done"] is True
    first = body["records"][0]
    assert list(first) == ["attributes", "Id", "Email", "SystemModstamp"]
    assert first["attributes"] == {"type": "Lead", "url": f"{V}/sobjects/Lead/{first['Id']}"}
    stamps = [r["SystemModstamp"] for r in body["records"]]
    assert stamps == sorted(stamps, reverse=True)


def test_where_filters_by_datetime_boolean_string_and_null(sf: Client, org: SalesforceOrg) -> None:
    # GIVEN a lead with a known email and one without an email
    lead_id = org.add("Lead", LastName="Quinn", Company="Acme", Email="Q.Quinn@Example.com")
    org.add("Lead", LastName="Nomail", Company="Acme")
    # WHEN filtering on the email in another case
    hits = query_every(sf, "SELECT Id FROM Lead WHERE Email = 'q.quinn@example.com'")
    # THEN text equality is case-insensitive
    assert [r["Id"] for r in hits] == [lead_id]
    # AND != keeps records whose field is null (SOQL's rule), = null finds them
    nulls = query_every(sf, "SELECT Id, Email FROM Lead WHERE Email = null")
    assert nulls and all(r["Email"] is None for r in nulls)
    not_q = query_every(sf, "SELECT Id FROM Lead WHERE Email != 'q.quinn@example.com'")
    assert {r["Id"] for r in nulls} <= {r["Id"] for r in not_q}
    # AND datetime and boolean literals compare as values
    since = (NOW - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    recent = query_every(
        sf,
        f"SELECT Id, SystemModstamp FROM Lead WHERE SystemModstamp >= {since} AND HasOptedOutOfEmail = false",
    )
    assert recent
    assert all(r["SystemModstamp"] >= sf_datetime(NOW - timedelta(days=30)) for r in recent)
    offset = query_every(
        sf,
        f"SELECT Id FROM Lead WHERE SystemModstamp >= {since[:-1]}+00:00 AND HasOptedOutOfEmail = false",
    )
    assert [r["Id"] for r in offset] == [r["Id"] for r in recent]


def test_contacts_answer_their_account_name_as_a_nested_object(
    sf: Client, org: SalesforceOrg
) -> None:
    account = org.add("Account", Name="Quillstone Labs")
    with_account = org.add("Contact", LastName="Ames", AccountId=account)
    without = org.add("Contact", LastName="Solo")
    rows = {r["Id"]: r for r in query_every(sf, "SELECT Id, Account.Name FROM Contact")}
    assert rows[with_account]["Account"] == {
        "attributes": {"type": "Account", "url": f"{V}/sobjects/Account/{account}"},
        "Name": "Quillstone Labs",
    }
    assert rows[without]["Account"] is None


# --------------------------------------------------------------------------- cursors


def test_batch_size_pages_with_next_records_url_until_done(sf: Client, org: SalesforceOrg) -> None:
    # GIVEN more leads than one batch of 200
    total = len(org.records("Lead"))
    assert total > 200
    # WHEN querying with batchSize=200
    resp = query(
        sf, "SELECT Id FROM Lead ORDER BY Id", headers={"Sforce-Query-Options": "batchSize=200"}
    )
    first = resp.json()
    # THEN the first batch holds 200 with a nextRecordsUrl of the documented shape
    assert first["totalSize"] == total and first["done"] is False and len(first["records"]) == 200
    assert first["nextRecordsUrl"].startswith(f"{V}/query/01g")
    assert first["nextRecordsUrl"].endswith("-200")
    # AND following it yields every lead once, in order
    every = query_every(sf, "SELECT Id FROM Lead ORDER BY Id", batch=200)
    assert [r["Id"] for r in every] == sorted(r["Id"] for r in org.records("Lead"))


@pytest.mark.parametrize(("asked", "served"), [("50", 200), ("5000", 2000), ("junk", 2000)])
def test_batch_size_is_held_between_200_and_2000(
    sf: Client, org: SalesforceOrg, asked: str, served: int
) -> None:
    for i in range(2100 - len(org.records("Lead"))):
        org.add("Lead", LastName=f"Bulk{i}", Company="Bulk")
    body = query(
        sf, "SELECT Id FROM Lead", headers={"Sforce-Query-Options": f"batchSize={asked}"}
    ).json()
    assert len(body["records"]) == served


def test_a_cursor_is_a_snapshot_taken_at_query_time(
    sf: Client, org: SalesforceOrg, clock: StepClock
) -> None:
    # GIVEN a query whose first batch was read
    first = query(
        sf,
        "SELECT Id, Title FROM Lead ORDER BY Id",
        headers={"Sforce-Query-Options": "batchSize=200"},
    ).json()
    last_lead = org.records("Lead")[-1]["Id"]
    # WHEN a lead in the second batch changes and a new lead arrives
    clock.advance(seconds=5)
    org.update(last_lead, Title="Changed after the query")
    org.add("Lead", LastName="Late", Company="Late")
    # THEN the next batch still answers as of the query
    rest = sf.get(first["nextRecordsUrl"]).json()
    assert rest["totalSize"] == first["totalSize"]
    rows = {r["Id"]: r for r in rest["records"]}
    assert rows[last_lead]["Title"] != "Changed after the query"
    assert len(first["records"]) + len(rest["records"]) == first["totalSize"]


def test_an_unknown_or_idle_locator_is_invalid_query_locator(sf: Client, clock: StepClock) -> None:
    bogus = sf.get(f"{V}/query/01g5g0000000zzzAAA-200")
    assert bogus.status_code == 400
    assert bogus.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"
    # GIVEN a live cursor left unused for more than 15 minutes
    first = query(
        sf, "SELECT Id FROM Lead", headers={"Sforce-Query-Options": "batchSize=200"}
    ).json()
    clock.advance(minutes=16)
    # THEN it is gone
    expired = sf.get(first["nextRecordsUrl"])
    assert expired.status_code == 400
    assert expired.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_only_the_ten_newest_cursors_stay_open(sf: Client) -> None:
    urls = [
        query(sf, "SELECT Id FROM Lead", headers={"Sforce-Query-Options": "batchSize=200"}).json()[
            "nextRecordsUrl"
        ]
        for _ in range(11)
    ]
    assert sf.get(urls[0]).status_code == 400
    assert sf.get(urls[-1]).status_code == 200


# --------------------------------------------------------------------------- deletes and merges


def test_deleted_records_only_show_in_query_all(
    sf: Client, org: SalesforceOrg, clock: StepClock
) -> None:
    # GIVEN a lead moved to the recycle bin
    lead = org.add("Lead", LastName="Gone", Company="Acme")
    clock.advance(seconds=1)
    org.delete(lead)
    soql = f"SELECT Id, IsDeleted, SystemModstamp FROM Lead WHERE Id = '{lead}'"
    # THEN query does not see it, queryAll does, flagged and with a moved SystemModstamp
    assert query(sf, soql).json()["totalSize"] == 0
    [row] = query(sf, soql, all_rows=True).json()["records"]
    assert row["IsDeleted"] is True
    assert row["SystemModstamp"] == sf_datetime(NOW + timedelta(seconds=1))


def test_a_merge_deletes_the_loser_with_master_record_id(
    sf: Client, org: SalesforceOrg, clock: StepClock
) -> None:
    winner = org.add("Contact", LastName="Keep", Email="k@example.com")
    loser = org.add("Contact", LastName="Keep", Email="k@example.com")
    clock.advance(seconds=3)
    org.merge(winner, loser)
    rows = {
        r["Id"]: r
        for r in query(
            sf,
            f"SELECT Id, IsDeleted, MasterRecordId, SystemModstamp FROM Contact WHERE SystemModstamp >= {(NOW + timedelta(seconds=3)).strftime('%Y-%m-%dT%H:%M:%SZ')}",
            all_rows=True,
        ).json()["records"]
    }
    assert rows[loser]["IsDeleted"] is True and rows[loser]["MasterRecordId"] == winner
    assert rows[winner]["IsDeleted"] is False and rows[winner]["MasterRecordId"] is None
    assert loser not in {r["Id"] for r in query_every(sf, "SELECT Id FROM Contact")}


def test_the_generated_org_is_deterministic_and_has_deletes_merges_and_history() -> None:
    a = SalesforceOrg.generate(3, 300, NOW)
    b = SalesforceOrg.generate(3, 300, NOW)
    c = SalesforceOrg.generate(4, 300, NOW)
    leads = a.records("Lead", include_deleted=True)
    assert leads == b.records("Lead", include_deleted=True)
    assert leads != c.records("Lead", include_deleted=True)
    people = leads + a.records("Contact", include_deleted=True)
    assert any(r["IsDeleted"] and r["MasterRecordId"] for r in people)
    assert any(r["IsDeleted"] and not r["MasterRecordId"] for r in people)
    opportunities = a.records("Opportunity")
    history = a.records("OpportunityHistory")
    assert opportunities and {h["OpportunityId"] for h in history} == {
        o["Id"] for o in opportunities
    }
    assert all(r["OwnerId"] in a.owner_ids() for r in leads)


def test_from_people_makes_leads_and_contacts_of_those_people() -> None:
    from sandbox.world import Company, Person

    person = Person(
        "p1", "Ana", "Silva", "ana@acme.example", "+14155550100", 1, "CTO", "DE", "Berlin", NOW, ()
    )
    org = SalesforceOrg.from_people(
        [person],
        seed=1,
        now=NOW,
        companies={1: Company(1, "Acme", "acme.example", "DE", "Software", 50)},
    )
    [row] = org.records("Lead") + org.records("Contact")
    assert (row["FirstName"], row["LastName"], row["Email"], row["Title"]) == (
        "Ana",
        "Silva",
        "ana@acme.example",
        "CTO",
    )
    assert row.get("Company", "Acme") == "Acme"
    assert row.get("Country", row.get("MailingCountry")) == "Germany"


# --------------------------------------------------------------------------- limits


def test_every_answer_reports_api_usage_and_the_limit_refuses_with_403(
    sf: Client, org: SalesforceOrg
) -> None:
    # GIVEN an org with 5 requests left of 100
    org.set_api_limit(100)
    org.set_api_usage(95)
    # WHEN 5 requests are made
    seen = [query(sf, "SELECT Id FROM User").headers["Sforce-Limit-Info"] for _ in range(5)]
    # THEN each reports the usage so far
    assert seen == [f"api-usage={n}/100" for n in range(96, 101)]
    # AND the next one is refused with Salesforce's body, and not counted
    refused = query(sf, "SELECT Id FROM User")
    assert refused.status_code == 403
    assert refused.json() == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    assert refused.headers["Sforce-Limit-Info"] == "api-usage=100/100"
    assert org.api_usage() == (100, 100)


def test_usage_rolls_off_after_24_hours_and_limits_reports_it(
    sf: Client, org: SalesforceOrg, clock: StepClock
) -> None:
    org.set_api_limit(10)
    org.set_api_usage(10)
    assert sf.get(f"{V}/limits").status_code == 403
    clock.advance(hours=24, seconds=1)
    body = sf.get(f"{V}/limits").json()
    assert body["DailyApiRequests"] == {"Max": 10, "Remaining": 9}


# --------------------------------------------------------------------------- writes


def _lead_ids(org: SalesforceOrg, n: int) -> list[str]:
    return [r["Id"] for r in org.records("Lead")[:n]]


def test_collections_take_at_most_200_records(sf: Client, org: SalesforceOrg) -> None:
    records = [
        {"attributes": {"type": "Lead"}, "id": i, "LeadFlow_Grade__c": "A"}
        for i in _lead_ids(org, 201)
    ]
    resp = patch(sf, "/composite/sobjects", {"allOrNone": False, "records": records})
    assert resp.status_code == 400
    assert resp.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    assert all(r["LeadFlow_Grade__c"] is None for r in org.records("Lead")[:201])


def test_all_or_none_false_applies_the_good_records_and_reports_the_rest(
    sf: Client, org: SalesforceOrg, clock: StepClock
) -> None:
    # GIVEN good updates mixed with every per-record failure the sandbox knows
    good, deleted, dup_holder, dup_taker = _lead_ids(org, 4)
    org.update(dup_holder, LeadFlow_Lead_Id__c="lf-taken")
    org.delete(deleted)
    clock.advance(seconds=10)
    records = [
        {
            "attributes": {"type": "Lead"},
            "id": good,
            "LeadFlow_Score__c": 91,
            "LeadFlow_Grade__c": "A",
        },
        {"attributes": {"type": "Lead"}, "id": deleted, "LeadFlow_Grade__c": "B"},
        {"attributes": {"type": "Lead"}, "id": make_id("00Q", 999_999), "LeadFlow_Grade__c": "B"},
        {"attributes": {"type": "Lead"}, "id": "00Qnope", "LeadFlow_Grade__c": "B"},
        {"attributes": {"type": "Lead"}, "LeadFlow_Grade__c": "B"},
        {"attributes": {"type": "Lead"}, "id": good, "LeadFlow_Grade__c": "TOO LONG"},
        {"attributes": {"type": "Lead"}, "id": dup_taker, "LeadFlow_Lead_Id__c": "lf-taken"},
        {"attributes": {"type": "Lead"}, "id": good, "CreatedDate": "2020-01-01T00:00:00Z"},
        {"attributes": {"type": "Lead"}, "id": good, "OwnerId": make_id("005", 424_242)},
        {"attributes": {"type": "Lead"}, "id": good, "Email": "not-an-email"},
        {"attributes": {"type": "Lead"}, "id": good, "LeadFlow_Score__c": 1e20},
        {"attributes": {"type": "OpportunityHistory"}, "id": make_id("008", 101), "StageName": "X"},
    ]
    # WHEN they are sent with allOrNone false
    resp = patch(
        sf,
        "/composite/sobjects",
        {"allOrNone": False, "records": records},
        {"Sforce-Auto-Assign": "FALSE"},
    )
    # THEN 200 with one result per record, in order
    assert resp.status_code == 200
    results = resp.json()
    assert len(results) == len(records)
    assert results[0] == {"id": good, "success": True, "errors": []}
    codes = [r["errors"][0]["statusCode"] for r in results[1:]]
    assert codes == [
        "ENTITY_IS_DELETED",
        "INVALID_CROSS_REFERENCE_KEY",
        "MALFORMED_ID",
        "MISSING_ARGUMENT",
        "STRING_TOO_LONG",
        "DUPLICATE_VALUE",
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        "INVALID_CROSS_REFERENCE_KEY",
        "INVALID_EMAIL_ADDRESS",
        "NUMBER_OUTSIDE_VALID_RANGE",
        "INVALID_TYPE_FOR_OPERATION",
    ]
    assert all(r["success"] is False and "id" not in r for r in results[1:])
    assert results[5]["errors"][0]["fields"] == ["LeadFlow_Grade__c"]
    # AND only the good record changed, with its modstamps moved to now
    written = org.get(good)
    assert (written["LeadFlow_Score__c"], written["LeadFlow_Grade__c"]) == (91.0, "A")
    assert written["SystemModstamp"] == written["LastModifiedDate"] == clock.now
    assert org.get(dup_taker)["LeadFlow_Lead_Id__c"] is None


def test_all_or_none_true_rolls_everything_back_when_one_fails(
    sf: Client, org: SalesforceOrg
) -> None:
    good, other = _lead_ids(org, 2)
    records = [
        {"attributes": {"type": "Lead"}, "id": good, "LeadFlow_Grade__c": "A"},
        {"attributes": {"type": "Lead"}, "id": other, "LeadFlow_Grade__c": "WAY TOO LONG"},
    ]
    results = patch(sf, "/composite/sobjects", {"allOrNone": True, "records": records}).json()
    assert results[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert results[1]["errors"][0]["statusCode"] == "STRING_TOO_LONG"
    assert org.get(good)["LeadFlow_Grade__c"] is None


@pytest.mark.parametrize(
    ("record", "code"),
    [
        ({"Shoe_Size__c": 9}, "INVALID_FIELD"),
        ({"LeadFlow_Score__c": "high"}, "JSON_PARSER_ERROR"),
        ({"HasOptedOutOfEmail": "yes"}, "JSON_PARSER_ERROR"),
        ({"LeadFlow_Grade__c": {"nested": 1}}, "JSON_PARSER_ERROR"),
    ],
    ids=["unknown-field", "text-in-number", "text-in-boolean", "object-in-text"],
)
def test_what_cannot_deserialize_fails_the_whole_request(
    sf: Client, org: SalesforceOrg, record: dict[str, Any], code: str
) -> None:
    good, bad = _lead_ids(org, 2)
    body = {
        "allOrNone": False,
        "records": [
            {"attributes": {"type": "Lead"}, "id": good, "LeadFlow_Grade__c": "A"},
            {"attributes": {"type": "Lead"}, "id": bad, **record},
        ],
    }
    resp = patch(sf, "/composite/sobjects", body)
    assert resp.status_code == 400
    assert resp.json()[0]["errorCode"] == code
    assert org.get(good)["LeadFlow_Grade__c"] is None


def test_a_lead_update_without_auto_assign_false_is_reassigned_by_the_rule(
    sf: Client, org: SalesforceOrg, app: SalesforceApp
) -> None:
    # GIVEN two leads and a rep to own them
    first, second = _lead_ids(org, 2)
    rep = org.owner_ids()[0]
    record = {"attributes": {"type": "Lead"}, "OwnerId": rep}
    # WHEN one update says Sforce-Auto-Assign: FALSE and the other says nothing
    patch(
        sf,
        "/composite/sobjects",
        {"records": [{**record, "id": first}]},
        {"Sforce-Auto-Assign": "FALSE"},
    )
    patch(sf, "/composite/sobjects", {"records": [{**record, "id": second}]})
    # THEN the first keeps the rep, the second went to the assignment rule's queue
    assert org.get(first)["OwnerId"] == rep
    assert org.get(second)["OwnerId"] == RULE_OWNER_ID
    # AND the app kept the headers of each write, without the token
    writes = app.write_log()
    assert [w.headers.get("Sforce-Auto-Assign") for w in writes] == ["FALSE", None]
    assert all("Authorization" not in w.headers for w in writes)


def test_upsert_by_external_id_creates_then_updates(sf: Client, org: SalesforceOrg) -> None:
    path = "/composite/sobjects/Lead/LeadFlow_Lead_Id__c"
    record = {
        "attributes": {"type": "Lead"},
        "LeadFlow_Lead_Id__c": "lf-42",
        "LastName": "New",
        "Company": "Acme",
        "LeadFlow_Score__c": 10,
    }
    created = patch(
        sf, path, {"allOrNone": False, "records": [record]}, {"Sforce-Auto-Assign": "FALSE"}
    ).json()
    assert created[0]["success"] is True and created[0]["created"] is True
    new_id = created[0]["id"]
    assert new_id.startswith("00Q")
    updated = patch(
        sf,
        path,
        {"records": [{**record, "LeadFlow_Score__c": 80}]},
        {"Sforce-Auto-Assign": "FALSE"},
    ).json()
    assert updated == [{"id": new_id, "success": True, "errors": [], "created": False}]
    assert org.get(new_id)["LeadFlow_Score__c"] == 80.0
    # a duplicate key within one request, a missing key, and a new lead without Company
    results = patch(
        sf,
        path,
        {
            "records": [
                {**record, "LeadFlow_Lead_Id__c": "lf-7"},
                {**record, "LeadFlow_Lead_Id__c": "lf-7"},
                {"attributes": {"type": "Lead"}, "LastName": "NoKey", "Company": "Acme"},
                {
                    "attributes": {"type": "Lead"},
                    "LeadFlow_Lead_Id__c": "lf-8",
                    "LastName": "NoCompany",
                },
            ]
        },
    ).json()
    assert [r["success"] for r in results] == [True, False, False, False]
    assert [r["errors"][0]["statusCode"] for r in results[1:]] == [
        "DUPLICATE_VALUE",
        "MISSING_ARGUMENT",
        "REQUIRED_FIELD_MISSING",
    ]


def test_upsert_on_a_field_that_is_not_an_external_id_is_not_found(sf: Client) -> None:
    resp = patch(sf, "/composite/sobjects/Lead/Email", {"records": []})
    assert resp.status_code == 404
    assert resp.json()[0]["errorCode"] == "NOT_FOUND"


def test_describe_lists_the_custom_fields_with_their_shape(sf: Client) -> None:
    body = sf.get(f"{V}/sobjects/Lead/describe").json()
    fields = {f["name"]: f for f in body["fields"]}
    assert body["keyPrefix"] == "00Q"
    assert (
        fields["LeadFlow_Grade__c"]["length"] == 2
        and fields["LeadFlow_Grade__c"]["type"] == "string"
    )
    assert (
        fields["LeadFlow_Lead_Id__c"]["externalId"] is True
        and fields["LeadFlow_Lead_Id__c"]["unique"] is True
    )
    assert fields["LeadFlow_Score__c"]["type"] == "double"
    assert fields["SystemModstamp"]["updateable"] is False
    assert sf.get(f"{V}/sobjects/Widget/describe").status_code == 404


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (500, "UNKNOWN_EXCEPTION"),
        (503, "SERVER_UNAVAILABLE"),
        (429, "REQUEST_LIMIT_EXCEEDED"),
        (401, "INVALID_SESSION_ID"),
    ],
)
def test_injected_faults_use_salesforce_error_bodies(
    sf: Client, app: SalesforceApp, status: int, code: str
) -> None:
    app.faults.append(status)
    resp = query(sf, "SELECT Id FROM User")
    assert resp.json()[0]["errorCode"] == code
    assert resp.status_code == (403 if status == 429 else status)
    assert query(sf, "SELECT Id FROM User").status_code == 200


def test_the_sandbox_org_is_some_of_the_worlds_people_and_the_same_after_a_restart(
    tmp_path: Path,
) -> None:
    # GIVEN a sandbox keeping its world in a file, started twice with the real clock
    state = tmp_path / "world.sqlite"
    orgs = []
    for _ in range(2):
        with Sandbox(seed=5, leads=60, state_path=state) as sb:
            org = sb._apps["salesforce"].org  # type: ignore[attr-defined]
            people = {p.email for p in sb.world.people}
            orgs.append(
                sorted(
                    (r["Id"], r["Email"], r["SystemModstamp"])
                    for sobject in ("Lead", "Contact")
                    for r in org.records(sobject, include_deleted=True)
                )
            )
    # THEN its Leads and Contacts are world people, and the restart made the very same org
    assert orgs[0] and {email for _, email, _ in orgs[0]} <= people
    assert orgs[0] == orgs[1]
