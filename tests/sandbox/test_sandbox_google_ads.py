"""The Google Ads API stand-in over real HTTP: googleAds:search and searchStream in proto3 JSON,
paging by nextPageToken over a snapshot, the GAQL subset and Google's errors for what it refuses,
auth and manager accounts, versions, daily operations, faults and the generated account."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from sandbox import Sandbox
from sandbox.google_ads import (
    CUSTOMER_ID,
    DEMO,
    MANAGER_ID,
    PRICING,
    GoogleAdsAccount,
    GoogleAdsApp,
    serving,
    standalone_context,
)
from tests.sandbox.sandbox_helpers import Client

NOW = datetime(2026, 12, 1, 15, 0, 0, tzinfo=UTC)
TOKEN = "tok-gads"
SEARCH = f"/v26/customers/{CUSTOMER_ID}/googleAds:search"
STREAM = f"/v26/customers/{CUSTOMER_ID}/googleAds:searchStream"
LFSD = "lead_form_submission_data"
IDS = f"SELECT {LFSD}.id, {LFSD}.submission_date_time FROM {LFSD}"
SORTED = f"{IDS} ORDER BY {LFSD}.submission_date_time ASC, {LFSD}.id ASC"


@pytest.fixture
def app() -> GoogleAdsApp:
    app = GoogleAdsApp(standalone_context(TOKEN, NOW), GoogleAdsAccount.generate(7, 80, NOW))
    app.ctx.knobs.google_ads_page_size = 25
    return app


@pytest.fixture
def ads(app: GoogleAdsApp) -> Iterator[Client]:
    with serving(app) as url, Client(url, {"Authorization": f"Bearer {TOKEN}"}) as client:
        yield client


def failure(resp: requests.Response) -> tuple[int, str, str, str]:
    """(HTTP status, google.rpc status, error kind, error code) of a GoogleAdsFailure answer."""
    error = resp.json()["error"]
    [detail] = error["details"]
    [(kind, code)] = detail["errors"][0]["errorCode"].items()
    return error["code"], error["status"], kind, code


def every(ads: Client, query: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    body: dict[str, Any] = {"query": query}
    while True:
        resp = ads.post(SEARCH, json=body)
        assert resp.status_code == 200, resp.text
        rows.extend(resp.json().get("results", []))
        token = resp.json().get("nextPageToken")
        if token is None:
            return rows
        body = {"query": query, "pageToken": token}


def ids(rows: list[dict[str, Any]]) -> list[str]:
    return [r["leadFormSubmissionData"]["id"] for r in rows]


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


# --------------------------------------------------------------------------- the wire format


def test_a_search_answers_proto3_json_rows_with_their_resource_names(
    ads: Client, app: GoogleAdsApp
) -> None:
    query = (
        f"SELECT {LFSD}.id, {LFSD}.gclid, {LFSD}.submission_date_time, "
        f"{LFSD}.lead_form_submission_fields, customer.id, campaign.id FROM {LFSD}"
    )
    resp = ads.post(SEARCH, json={"query": query})
    assert resp.status_code == 200 and resp.headers["request-id"]
    body = resp.json()
    # the field mask names the selected fields in camelCase, in the order selected
    assert body["fieldMask"] == (
        "leadFormSubmissionData.id,leadFormSubmissionData.gclid,"
        "leadFormSubmissionData.submissionDateTime,leadFormSubmissionData.leadFormSubmissionFields,"
        "customer.id,campaign.id"
    )
    by_id = {s.id: s for s in app.account.submissions}
    for row in body["results"]:
        data = row["leadFormSubmissionData"]
        sub = by_id[data["id"]]
        assert data["resourceName"] == f"customers/{CUSTOMER_ID}/leadFormSubmissionData/{sub.id}"
        # the account's wall time with its offset (New York: -05:00 in December, -04:00 before)
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d-0[45]:00", data["submissionDateTime"])
        assert instant(data["submissionDateTime"]) == datetime.fromtimestamp(
            sub.submitted_ms // 1000, UTC
        )
        assert [
            (f["fieldType"], f["fieldValue"]) for f in data["leadFormSubmissionFields"]
        ] == list(sub.fields)
        # int64 values are strings; an empty value is left out, as proto3 JSON does
        assert row["customer"] == {"resourceName": f"customers/{CUSTOMER_ID}", "id": CUSTOMER_ID}
        assert row["campaign"]["id"] == str(sub.form.campaign_id)
        assert ("gclid" in data) == bool(sub.gclid)
    assert any(not s.gclid for s in by_id.values())  # the case above was met


def test_pages_follow_next_page_token_to_the_end_each_row_once(
    ads: Client, app: GoogleAdsApp
) -> None:
    # GIVEN 80 submissions and pages of 25
    body: dict[str, Any] = {"query": SORTED, "searchSettings": {"returnTotalResultsCount": True}}
    answers = []
    while True:
        answers.append(ads.post(SEARCH, json=body).json())
        if "nextPageToken" not in answers[-1]:
            break
        body = {"query": SORTED, "pageToken": answers[-1]["nextPageToken"]}
    # THEN three full pages and a short one, every submission once, oldest first
    assert [len(a["results"]) for a in answers] == [25, 25, 25, 5]
    assert answers[0]["totalResultsCount"] == "80"
    expected = sorted(app.account.submissions, key=lambda s: (s.submitted_ms, s.id))
    assert [i for a in answers for i in ids(a["results"])] == [s.id for s in expected]


def test_page_tokens_read_the_result_set_as_the_query_first_found_it(
    ads: Client, app: GoogleAdsApp
) -> None:
    first = ads.post(SEARCH, json={"query": SORTED}).json()
    # WHEN a submission arrives between two pages
    late = app.account.add_submission(DEMO, {"EMAIL": "late@example.com"}, NOW)
    rest = every_from(ads, SORTED, first["nextPageToken"])
    # THEN the pages already promised do not move, and the next query sees it
    assert late not in ids(first["results"]) + ids(rest)
    assert len(first["results"]) + len(rest) == 80
    assert late in ids(every(ads, SORTED))


def every_from(ads: Client, query: str, token: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    while token:
        answer = ads.post(SEARCH, json={"query": query, "pageToken": token}).json()
        rows.extend(answer.get("results", []))
        token = answer.get("nextPageToken", "")
    return rows


@pytest.mark.parametrize(
    ("change", "code"),
    [
        pytest.param(lambda q, t: {"query": q + " LIMIT 5", "pageToken": t}, "INVALID_PAGE_TOKEN", id="another-query"),
        pytest.param(lambda q, t: {"query": q, "pageToken": "not-a-token"}, "INVALID_PAGE_TOKEN", id="unknown-token"),
        pytest.param(lambda q, t: {"query": q, "pageToken": t, "pageSize": 10}, "PAGE_SIZE_NOT_SUPPORTED", id="page-size"),
    ],
)  # fmt: skip
def test_a_page_request_google_refuses(ads: Client, change: Any, code: str) -> None:
    token = ads.post(SEARCH, json={"query": SORTED}).json()["nextPageToken"]
    resp = ads.post(SEARCH, json=change(SORTED, token))
    assert failure(resp) == (400, "INVALID_ARGUMENT", "requestError", code)


def test_a_page_token_expires_after_two_hours_unused(ads: Client, app: GoogleAdsApp) -> None:
    token = ads.post(SEARCH, json={"query": SORTED}).json()["nextPageToken"]
    app.ctx.clock.advance(2 * 3600 + 1)
    resp = ads.post(SEARCH, json={"query": SORTED, "pageToken": token})
    assert failure(resp)[2:] == ("requestError", "EXPIRED_PAGE_TOKEN")


def test_search_stream_answers_every_row_in_batches(ads: Client, app: GoogleAdsApp) -> None:
    resp = ads.post(STREAM, json={"query": SORTED})
    assert resp.status_code == 200
    batches = resp.json()
    assert [len(b["results"]) for b in batches] == [25, 25, 25, 5]
    assert {b["requestId"] for b in batches} == {resp.headers["request-id"]}
    assert sorted(i for b in batches for i in ids(b["results"])) == sorted(
        s.id for s in app.account.submissions
    )
    empty = ads.post(STREAM, json={"query": f"{IDS} WHERE {LFSD}.id = 'none'"}).json()
    assert [set(b) for b in empty] == [{"fieldMask", "requestId"}]


# --------------------------------------------------------------------------- GAQL


def test_conditions_order_and_limit_select_the_rows_google_would(
    ads: Client, app: GoogleAdsApp
) -> None:
    subs = app.account.submissions
    cut = sorted(s.submitted_ms for s in subs)[40]
    local = datetime.fromtimestamp(cut / 1000, UTC).astimezone(app.account.zone)
    wall = local.strftime("%Y-%m-%d %H:%M:%S")
    # a wall time with no offset is the account's zone; >= keeps the submission at that second
    after = every(ads, f"{IDS} WHERE {LFSD}.submission_date_time >= '{wall}'")
    assert sorted(ids(after)) == sorted(s.id for s in subs if s.submitted_ms >= cut // 1000 * 1000)
    # the same instant written in UTC, with its offset, selects the same rows
    utc_text = datetime.fromtimestamp(cut // 1000, UTC).strftime("%Y-%m-%d %H:%M:%S+00:00")
    same = every(ads, f"{IDS} WHERE {LFSD}.submission_date_time >= '{utc_text}'")
    assert sorted(ids(same)) == sorted(ids(after))
    # BETWEEN, campaign filters, IN, ORDER BY DESC and LIMIT together
    demo_ids = [s.id for s in subs if s.form is DEMO][:3]
    query = (
        f"select {LFSD}.id, {LFSD}.submission_date_time from {LFSD} "
        f"where campaign.id = {DEMO.campaign_id} "
        f"and {LFSD}.id in ({', '.join(repr(i) for i in demo_ids)}) "
        f"and {LFSD}.submission_date_time between '2026-01-01' and '2027-01-01' "
        f"order by {LFSD}.submission_date_time desc limit 2"
    )
    rows = every(ads, query)
    chosen = sorted((s for s in subs if s.id in demo_ids), key=lambda s: -s.submitted_ms)[:2]
    assert ids(rows) == [s.id for s in chosen]
    pricing = every(ads, f"{IDS} WHERE campaign.id != {DEMO.campaign_id}")
    assert sorted(ids(pricing)) == sorted(s.id for s in subs if s.form is PRICING)


@pytest.mark.parametrize(
    ("query", "code"),
    [
        pytest.param(f"SELECT {LFSD}.nope FROM {LFSD}", "UNRECOGNIZED_FIELD", id="unknown-field"),
        pytest.param(f"{LFSD}.id FROM {LFSD}", "EXPECTED_SELECT", id="no-select"),
        pytest.param(f"SELECT {LFSD}.id", "EXPECTED_FROM", id="no-from"),
        pytest.param(f"SELECT {LFSD}.id FROM lead_forms", "BAD_RESOURCE_TYPE_IN_FROM_CLAUSE", id="unknown-resource"),
        pytest.param("SELECT campaign.id FROM customer", "PROHIBITED_RESOURCE_TYPE_IN_SELECT_CLAUSE", id="field-of-another-resource"),
        pytest.param(f"SELECT {LFSD}.gclid FROM {LFSD} ORDER BY {LFSD}.gclid", "PROHIBITED_FIELD_IN_ORDER_BY_CLAUSE", id="unsortable"),
        pytest.param(f"{IDS} ORDER {LFSD}.id", "EXPECTED_BY", id="order-without-by"),
        pytest.param(f"SELECT {LFSD}.gclid FROM {LFSD} ORDER BY {LFSD}.id", "EXPECTED_REFERENCED_FIELD_IN_SELECT_CLAUSE", id="sorted-field-not-selected"),
        pytest.param(f"{IDS} WHERE {LFSD}.lead_form_submission_fields = 'x'", "PROHIBITED_FIELD_IN_WHERE_CLAUSE", id="repeated-field-filtered"),
        pytest.param(f"{IDS} WHERE {LFSD}.id = 'abc", "STRING_NOT_TERMINATED", id="unterminated-string"),
        pytest.param(f"{IDS} WHERE {LFSD}.submission_date_time BETWEEN '2026-01-01'", "EXPECTED_AND", id="between-without-and"),
        pytest.param(f"{IDS} WHERE {LFSD}.submission_date_time BETWEEN 'soon' AND 'later'", "INVALID_VALUE_WITH_BETWEEN_OPERATOR", id="between-not-dates"),
        pytest.param(f"{IDS} WHERE {LFSD}.submission_date_time >= '2026/01/01'", "BAD_VALUE", id="bad-date-time"),
        pytest.param(f"{IDS} WHERE {LFSD}.id = 42", "INVALID_STRING_VALUE", id="number-for-a-string"),
        pytest.param(f"{IDS} WHERE {LFSD}.gclid > 'a'", "OPERATOR_FIELD_MISMATCH", id="order-operator-on-text"),
        pytest.param(f"{IDS} WHERE {LFSD}.id IN ()", "PROHIBITED_EMPTY_LIST_IN_CONDITION", id="empty-list"),
        pytest.param(f"{IDS} WHERE {LFSD}.id IN 'a'", "EXPECTED_LIST", id="in-without-list"),
        pytest.param(f"{IDS} WHERE {LFSD}.id LIKE 'a%'", "QUERY_ERROR", id="operator-not-implemented"),
        pytest.param(f"{IDS} LIMIT 0", "LIMIT_VALUE_TOO_LOW", id="limit-zero"),
        pytest.param(f"{IDS} LIMIT many", "BAD_LIMIT_VALUE", id="limit-not-a-number"),
        pytest.param(f"{IDS} WHERE {LFSD}.id = 'a' OR {LFSD}.id = 'b'", "UNEXPECTED_INPUT", id="or"),
        pytest.param(f"{IDS} PARAMETERS include_drafts=true", "QUERY_ERROR", id="parameters"),
        pytest.param(f"SELECT {LFSD}.id FROM {LFSD} WHERE {LFSD}.id = \u2018a\u2019", "BAD_SYMBOL", id="curly-quotes"),
    ],
)  # fmt: skip
def test_a_query_google_would_refuse_is_a_400_naming_the_query_error(
    ads: Client, query: str, code: str
) -> None:
    resp = ads.post(SEARCH, json={"query": query})
    assert failure(resp) == (400, "INVALID_ARGUMENT", "queryError", code)


def test_the_error_body_is_googles_shape(ads: Client) -> None:
    resp = ads.post(SEARCH, json={"query": f"SELECT {LFSD}.nope FROM {LFSD}"})
    error = resp.json()["error"]
    assert error["message"] == "Request contains an invalid argument."
    [detail] = error["details"]
    assert detail["@type"] == (
        "type.googleapis.com/google.ads.googleads.v26.errors.GoogleAdsFailure"
    )
    assert detail["requestId"] == resp.headers["request-id"]
    assert detail["errors"] == [
        {
            "errorCode": {"queryError": "UNRECOGNIZED_FIELD"},
            "message": f"Unrecognized field in the query: '{LFSD}.nope'.",
        }
    ]


def test_the_customer_resource_tells_the_accounts_time_zone(ads: Client) -> None:
    rows = every(
        ads, "SELECT customer.id, customer.time_zone, customer.descriptive_name FROM customer"
    )
    assert rows == [
        {
            "customer": {
                "resourceName": f"customers/{CUSTOMER_ID}",
                "id": CUSTOMER_ID,
                "timeZone": "America/New_York",
                "descriptiveName": "Quillstone Ads",
            }
        }
    ]


# --------------------------------------------------------------------------- auth and versions


AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.mark.parametrize(
    ("path", "headers", "expected"),
    [
        pytest.param(SEARCH, {}, (401, "UNAUTHENTICATED", None), id="no-token"),
        pytest.param(SEARCH, {"Authorization": "Bearer wrong"}, (401, "UNAUTHENTICATED", "OAUTH_TOKEN_INVALID"), id="wrong-token"),
        pytest.param("/v26/customers/1234567890/googleAds:search", AUTH, (403, "PERMISSION_DENIED", "USER_PERMISSION_DENIED"), id="another-customer"),
        pytest.param("/v26/customers/407-553-2581/googleAds:search", AUTH, (400, "INVALID_ARGUMENT", "INVALID_CUSTOMER_ID"), id="customer-id-with-dashes"),
        pytest.param(SEARCH, {**AUTH, "login-customer-id": "1112223333"}, (403, "PERMISSION_DENIED", "USER_PERMISSION_DENIED"), id="not-its-manager"),
        pytest.param(SEARCH.replace("v26", "v21"), AUTH, (400, "INVALID_ARGUMENT", "UNSUPPORTED_VERSION"), id="sunset-version"),
        pytest.param(SEARCH.replace("v26", "v99"), AUTH, (404, "NOT_FOUND", None), id="unknown-version"),
        pytest.param(f"/v26/customers/{CUSTOMER_ID}/googleAds:mutate", AUTH, (404, "NOT_FOUND", None), id="unknown-method"),
    ],
)  # fmt: skip
def test_requests_google_refuses_before_reading_the_query(
    app: GoogleAdsApp, path: str, headers: dict[str, str], expected: tuple[int, str, str | None]
) -> None:
    with serving(app) as url:
        resp = requests.post(url + path, json={"query": IDS}, headers=headers, timeout=10)
    error = resp.json()["error"]
    assert (resp.status_code, error["code"], error["status"]) == (expected[0], *expected[:2])
    codes = [
        next(iter(e["errorCode"].values())) for d in error.get("details", []) for e in d["errors"]
    ]
    assert codes == ([expected[2]] if expected[2] else [])


def test_a_client_account_behind_a_manager_needs_login_customer_id(
    ads: Client, app: GoogleAdsApp
) -> None:
    app.account.direct_access = False
    assert failure(ads.post(SEARCH, json={"query": IDS}))[3] == "USER_PERMISSION_DENIED"
    with_manager = ads.post(SEARCH, json={"query": IDS}, headers={"login-customer-id": MANAGER_ID})
    assert with_manager.status_code == 200
    assert app.seen[-1].login_customer_id == MANAGER_ID


def test_a_developer_token_is_accepted_and_ignored_as_since_its_sunset(
    ads: Client, app: GoogleAdsApp
) -> None:
    for headers in ({}, {"developer-token": "any-old-token"}):
        assert ads.post(SEARCH, json={"query": IDS}, headers=headers).status_code == 200
    assert [s.developer_token_sent for s in app.seen] == [False, True]


# --------------------------------------------------------------------------- limits and faults


def test_daily_operations_count_queries_not_pages_and_say_when_to_retry(
    ads: Client, app: GoogleAdsApp
) -> None:
    # GIVEN an allowance of two operations a day
    app.set_daily_operations(2)
    first = ads.post(SEARCH, json={"query": SORTED}).json()
    # a page of the same query is free
    assert ads.post(SEARCH, json={"query": SORTED, "pageToken": first["nextPageToken"]}).ok
    assert ads.post(SEARCH, json={"query": IDS}).ok
    # WHEN a third query is sent
    app.ctx.clock.advance(3600)
    refused = ads.post(SEARCH, json={"query": IDS})
    # THEN it is 429 RESOURCE_EXHAUSTED with the wait in the body, no Retry-After header
    assert failure(refused) == (429, "RESOURCE_EXHAUSTED", "quotaError", "RESOURCE_EXHAUSTED")
    [error] = refused.json()["error"]["details"][0]["errors"]
    details = error["details"]["quotaErrorDetails"]
    assert details["rateScope"] == "DEVELOPER"
    wait = int(details["retryDelay"].removesuffix("s"))
    assert 23 * 3600 - 5 <= wait <= 23 * 3600 + 5  # the first query leaves the window in 23 h
    assert "Retry-After" not in refused.headers
    # AND refused queries are not counted: once the window moves past, queries pass again
    app.ctx.clock.advance(wait)
    assert ads.post(SEARCH, json={"query": IDS}).ok


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        pytest.param(429, (429, "RESOURCE_EXHAUSTED", "quotaError", "RESOURCE_TEMPORARILY_EXHAUSTED"), id="429"),
        pytest.param(500, (500, "INTERNAL", "internalError", "INTERNAL_ERROR"), id="500"),
        pytest.param(401, (401, "UNAUTHENTICATED", "authenticationError", "OAUTH_TOKEN_INVALID"), id="401"),
    ],
)  # fmt: skip
def test_injected_faults_answer_in_googles_shape(
    ads: Client, app: GoogleAdsApp, status: int, expected: tuple[int, str, str, str]
) -> None:
    app.faults.append(status)
    resp = ads.post(SEARCH, json={"query": IDS})
    assert failure(resp) == expected
    if status == 429:
        [error] = resp.json()["error"]["details"][0]["errors"]
        assert error["details"]["quotaErrorDetails"]["retryDelay"] == "1s"
        assert resp.headers["Retry-After"] == "1"
    assert ads.post(SEARCH, json={"query": IDS}).ok  # one fault, then served


def test_chaos_reaches_google_ads_in_its_shape() -> None:
    with Sandbox(seed=3, leads=40, tokens={"google_ads": TOKEN}, now=NOW) as sb:
        sb.set_chaos(1.0, kinds=("rate_limited",), vendors=("google_ads",))
        resp = requests.post(
            sb.urls["google_ads"] + SEARCH,
            json={"query": IDS},
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=10,
        )
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "1"
    assert failure(resp)[3] == "RESOURCE_TEMPORARILY_EXHAUSTED"


# --------------------------------------------------------------------------- the accounts


def test_a_generated_account_is_the_same_for_the_same_seed_and_varies_like_people_do() -> None:
    one = GoogleAdsAccount.generate(5, 120, NOW)
    two = GoogleAdsAccount.generate(5, 120, NOW)
    assert [(s.id, s.submitted_ms, s.fields) for s in one.submissions] == [
        (s.id, s.submitted_ms, s.fields) for s in two.submissions
    ]
    kinds = {s.form.asset_id: {t for t, _ in s.fields} for s in one.submissions}
    assert {"FULL_NAME", "EMAIL"} <= kinds[DEMO.asset_id]
    assert {"FIRST_NAME", "LAST_NAME", "WORK_EMAIL"} <= kinds[PRICING.asset_id]
    assert 0 < sum(1 for s in one.submissions if s.gclid is None) < 40
    phones = sum(
        1 for s in one.submissions if {t for t, _ in s.fields} & {"PHONE_NUMBER", "WORK_PHONE"}
    )
    assert 40 < phones < 110
    window = (NOW - timedelta(days=30)).timestamp() * 1000
    assert all(window <= s.submitted_ms <= NOW.timestamp() * 1000 for s in one.submissions)


def test_the_sandbox_account_is_an_eighth_of_the_worlds_people() -> None:
    with Sandbox(seed=9, leads=400, now=NOW) as sb:
        app = sb._apps["google_ads"]
        assert isinstance(app, GoogleAdsApp)
        subs = app.account.submissions
        people = {p.email.lower() for p in sb.world.people}
    emails = {v.strip().lower() for s in subs for t, v in s.fields if t in ("EMAIL", "WORK_EMAIL")}
    assert emails <= people
    assert 400 // 16 < len(subs) < 400 // 4
    assert len(emails) == len(subs)  # one submission per chosen person


def test_the_sandbox_account_is_the_same_after_a_restart(tmp_path: Path) -> None:
    seen = []
    for _ in range(2):
        with Sandbox(seed=5, leads=120, state_path=tmp_path / "world.sqlite") as sb:
            app = sb._apps["google_ads"]
            assert isinstance(app, GoogleAdsApp)
            seen.append(sorted((s.id, s.submitted_ms, s.fields) for s in app.account.submissions))
    assert seen[0] and seen[0] == seen[1]
