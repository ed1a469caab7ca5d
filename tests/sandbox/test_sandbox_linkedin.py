"""The LinkedIn lead sync stand-in over real HTTP: versions, auth, Rest.li 2.0 queries, the
owner finders with start/count paging and filters, projection, daily limits, faults and the
generated account."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from sandbox.linkedin import (
    SPONSORED_ACCOUNT_ID,
    LeadSyncAccount,
    LinkedInApp,
    parse_restli,
    quote_urn,
    serving,
    standalone_context,
    version_active,
)
from tests.sandbox.sandbox_helpers import Client

NOW = datetime(2026, 11, 2, 12, 0, 0, tzinfo=UTC)
TOKEN = "tok-li"
VERSION = "202607"
FORM = 7_234_246
OWNER = f"(sponsoredAccount:{quote_urn(f'urn:li:sponsoredAccount:{SPONSORED_ACCOUNT_ID}')})"
HEADERS = {
    "Authorization": f"Bearer {TOKEN}",
    "LinkedIn-Version": VERSION,
    "X-Restli-Protocol-Version": "2.0.0",
}


def form_urn(form_id: int = FORM, version: int = 1) -> str:
    urn = f"urn:li:versionedLeadGenForm:(urn:li:leadGenForm:{form_id},{version})"
    return quote_urn(urn)


def finder(**more: Any) -> str:
    params = {"q": "owner", "owner": OWNER, "leadType": "(leadType:SPONSORED)", **more}
    return "/rest/leadFormResponses?" + "&".join(f"{k}={v}" for k, v in params.items())


@pytest.fixture
def app() -> LinkedInApp:
    return LinkedInApp(standalone_context(TOKEN, NOW), LeadSyncAccount.generate(7, 120, NOW))


@pytest.fixture
def li(app: LinkedInApp) -> Iterator[Client]:
    with serving(app) as url, Client(url, HEADERS) as client:
        yield client


def every(li: Client, path: str, count: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    start = 0
    while True:
        body = li.get(f"{path}&start={start}&count={count}").json()
        out.extend(body["elements"])
        start += len(body["elements"])
        if not body["elements"] or start >= body["paging"]["total"]:
            return out


# --------------------------------------------------------------------------- headers and auth


def test_a_request_without_linkedin_version_is_refused_as_linkedin_does(li: Client) -> None:
    resp = li.session.get(li.base + finder(), headers={"LinkedIn-Version": ""}, timeout=10)
    assert resp.status_code == 400
    assert resp.json() == {
        "status": 400,
        "code": "VERSION_MISSING",
        "message": "A version must be present. Please specify a version by adding the "
        "LinkedIn-Version header.",
    }
    assert resp.headers["X-Restli-Gateway-Error"] == "true"


@pytest.mark.parametrize(
    ("version", "label"),
    [
        pytest.param("202510", "20251001", id="sunset-october-15-2026"),
        pytest.param("202411", "20241101", id="long-sunset"),
        pytest.param("202512", "20251201", id="no-december-release"),
        pytest.param("202801", "20280101", id="not-released"),
        pytest.param("2026-07", "2026-07", id="malformed"),
    ],
)
def test_an_inactive_version_is_426_nonexistent_version(
    li: Client, version: str, label: str
) -> None:
    resp = li.get(finder(), headers={"LinkedIn-Version": version})
    assert resp.status_code == 426
    assert resp.json() == {
        "status": 426,
        "code": "NONEXISTENT_VERSION",
        "message": f"Requested version {label} is not active",
    }


def test_version_activity_follows_the_one_year_window() -> None:
    assert version_active("202511", datetime(2026, 11, 14, tzinfo=UTC))
    assert not version_active("202511", datetime(2026, 11, 16, tzinfo=UTC))
    assert version_active("202607", datetime(2026, 5, 1, tzinfo=UTC))  # a clock set in the past
    assert version_active("202608.01", NOW)
    assert not version_active("202609", datetime(2026, 5, 1, tzinfo=UTC))


def test_missing_and_wrong_tokens_are_401_with_linkedins_bodies(li: Client) -> None:
    missing = li.session.get(li.base + finder(), headers={"Authorization": ""}, timeout=10)
    assert missing.status_code == 401
    assert missing.json() == {
        "status": 401,
        "serviceErrorCode": 401,
        "message": "Empty oauth2_access_token",
    }
    wrong = li.get(finder(), headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert wrong.json() == {
        "status": 401,
        "serviceErrorCode": 65600,
        "code": "INVALID_ACCESS_TOKEN",
        "message": "Invalid access token",
    }


def test_rest_li_2_syntax_is_required(li: Client) -> None:
    # the protocol header
    resp = li.get(finder(), headers={"X-Restli-Protocol-Version": ""})
    assert resp.status_code == 400 and resp.json()["code"] == "ILLEGAL_ARGUMENT"
    # parentheses percent-encoded (what a generic HTTP client's params= does)
    encoded = li.get(
        "/rest/leadFormResponses",
        params={
            "q": "owner",
            "owner": f"(sponsoredAccount:urn:li:sponsoredAccount:{SPONSORED_ACCOUNT_ID})",
            "leadType": "(leadType:SPONSORED)",
        },
    )
    assert encoded.status_code == 400
    # a URN left raw inside a record
    raw = li.get(finder(owner=f"(sponsoredAccount:urn:li:sponsoredAccount:{SPONSORED_ACCOUNT_ID})"))
    assert raw.status_code == 400 and "owner" in raw.json()["message"]


def test_another_accounts_forms_are_403(li: Client) -> None:
    other = f"(sponsoredAccount:{quote_urn('urn:li:sponsoredAccount:1')})"
    resp = li.get(finder(owner=other))
    assert resp.status_code == 403
    assert resp.json()["code"] == "ACCESS_DENIED" and resp.json()["status"] == 403


# --------------------------------------------------------------------------- finders


def test_responses_page_by_start_and_count_newest_first(li: Client, app: LinkedInApp) -> None:
    first = li.get(finder(count="25")).json()
    assert first["paging"]["start"] == 0 and first["paging"]["count"] == 25
    assert first["paging"]["total"] == len(app.account.responses) == 120
    assert [link["rel"] for link in first["paging"]["links"]] == ["next"]
    assert "start=25" in first["paging"]["links"][0]["href"]
    everything = every(li, finder(), 25)
    assert len({r["id"] for r in everything}) == 120
    keys = [(r["submittedAt"], r["id"]) for r in everything]
    assert keys == sorted(keys, reverse=True)
    # count defaults to 10 and is held to 100
    assert len(li.get(finder()).json()["elements"]) == 10
    assert li.get(finder(count="500")).json()["paging"]["count"] == 100


def test_filters_by_form_version_time_range_and_test_leads(li: Client, app: LinkedInApp) -> None:
    lo, hi = 1_793_000_000_000, 1_793_500_000_000
    app.account.add_response(FORM, {"EMAIL": "lo@example.com"}, lo)
    app.account.add_response(FORM, {"EMAIL": "hi@example.com"}, hi)
    app.account.add_response(FORM, {"EMAIL": "t@example.com"}, hi - 1, test_lead=True)
    ranged = every(
        li, finder(versionedLeadGenFormUrn=form_urn(), submittedAtTimeRange=f"(start:{lo},end:{hi})"), 50
    )  # fmt: skip
    assert ranged and all(lo <= r["submittedAt"] <= hi for r in ranged)
    assert {lo, hi} <= {r["submittedAt"] for r in ranged}  # both ends included
    assert all(r["versionedLeadGenFormUrn"].endswith(f"{FORM},1)") for r in ranged)
    expected = [
        r for r in app.account.responses
        if lo <= r["submittedAt"] <= hi and f"{FORM},1)" in r["versionedLeadGenFormUrn"]
    ]  # fmt: skip
    assert len(ranged) == len(expected)
    tests = every(li, finder(limitedToTestLeads="true"), 50)
    assert tests and all(r["testLead"] for r in tests)
    assert len(tests) == sum(r["testLead"] for r in app.account.responses)
    assert li.get(finder(versionedLeadGenFormUrn=form_urn(version=2))).json()["elements"] == []


def test_a_projection_returns_only_the_fields_asked_and_the_form_decoration(li: Client) -> None:
    plain = li.get(finder(count="1")).json()["elements"][0]
    assert "form" not in plain
    assert plain["formResponse"]["answers"][0]["answerDetails"]["textQuestionAnswer"]["answer"]
    projected = li.get(finder(count="1", fields="id,submittedAt,form:(id,content)")).json()
    element = projected["elements"][0]
    assert set(element) == {"id", "submittedAt", "form"}
    questions = element["form"]["content"]["questions"]
    assert [q.get("predefinedField") for q in questions] == [
        "FIRST_NAME", "LAST_NAME", "EMAIL", "PHONE_NUMBER", "COMPANY_NAME", "JOB_TITLE", "COUNTRY", None,
    ]  # fmt: skip


def test_a_response_by_id_and_the_forms_of_the_account(li: Client, app: LinkedInApp) -> None:
    rid = app.account.responses[3]["id"]
    one = li.get(f"/rest/leadFormResponses/{rid}")
    assert one.status_code == 200 and one.json()["id"] == rid
    assert li.get("/rest/leadFormResponses/nope-1").status_code == 404
    forms = li.get(f"/rest/leadForms?q=owner&owner={OWNER}").json()
    assert [f["id"] for f in forms["elements"]] == [7_234_246, 7_234_311]
    form = li.get(f"/rest/leadForms/{FORM}").json()
    assert form["versionId"] == 1 and form["owner"]["sponsoredAccount"].endswith(
        SPONSORED_ACCOUNT_ID
    )
    app.account.edit_form(FORM)
    assert li.get(f"/rest/leadForms/{FORM}").json()["versionId"] == 2


def test_response_shape_matches_the_documented_fields(app: LinkedInApp) -> None:
    row = app.account.responses[0]
    assert set(row) == {
        "id", "owner", "leadType", "submitter", "submittedAt", "testLead",
        "versionedLeadGenFormUrn", "leadMetadata", "associatedEntity", "formResponse",
    }  # fmt: skip
    assert row["owner"] == {"sponsoredAccount": f"urn:li:sponsoredAccount:{SPONSORED_ACCOUNT_ID}"}
    assert row["submitter"].startswith("urn:li:person:")
    assert row["leadMetadata"]["sponsoredLeadMetadata"]["campaign"].startswith(
        "urn:li:sponsoredCampaign:"
    )
    assert row["associatedEntity"]["associatedCreative"].startswith("urn:li:sponsoredCreative:")
    assert isinstance(row["submittedAt"], int) and row["submittedAt"] <= int(NOW.timestamp() * 1000)


# --------------------------------------------------------------------------- limits and faults


def test_a_daily_member_limit_is_429_until_midnight_utc(li: Client, app: LinkedInApp) -> None:
    # GIVEN the token may make 2 calls a day
    app.set_daily_limit(member=2, token=TOKEN)
    assert [li.get(finder()).status_code for _ in range(2)] == [200, 200]
    # WHEN it makes a third (and fourth)
    refused = li.get(finder())
    # THEN LinkedIn's throttle body, no Retry-After, and refused calls are not counted
    assert refused.status_code == 429
    assert refused.json() == {
        "status": 429,
        "serviceErrorCode": 101,
        "message": "Resource level throttle MEMBER DAY limit for calls to this resource is reached.",
    }
    assert "Retry-After" not in refused.headers
    assert li.get(finder()).status_code == 429
    # AND after midnight UTC the day starts afresh
    app.ctx.clock.advance(timedelta(hours=13).total_seconds())
    assert li.get(finder()).status_code == 200


def test_the_application_limit_counts_every_token(li: Client, app: LinkedInApp) -> None:
    app.set_daily_limit(app=1)
    assert li.get(finder()).status_code == 200
    resp = li.get(finder())
    assert resp.status_code == 429 and "APPLICATION DAY" in resp.json()["message"]


@pytest.mark.parametrize(
    ("status", "code"),
    [(500, "INTERNAL_SERVER_ERROR"), (503, "SERVICE_UNAVAILABLE"), (504, "GATEWAY_TIMEOUT")],
)
def test_injected_faults_use_linkedins_shapes(
    li: Client, app: LinkedInApp, status: int, code: str
) -> None:
    app.faults.extend([429, status])
    throttled = li.get(finder())
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "1"
    assert throttled.json()["serviceErrorCode"] == 101
    failed = li.get(finder())
    assert failed.status_code == status and failed.json()["code"] == code
    assert li.get(finder()).status_code == 200


# --------------------------------------------------------------------------- the account


def test_generate_is_reproducible_from_its_seed() -> None:
    one, two = LeadSyncAccount.generate(3, 40, NOW), LeadSyncAccount.generate(3, 40, NOW)
    other = LeadSyncAccount.generate(4, 40, NOW)
    assert one.responses == two.responses
    assert [r["id"] for r in one.responses] != [r["id"] for r in other.responses]
    assert len(one.responses) == 40 and any(
        r["testLead"] for r in LeadSyncAccount.generate(3, 200, NOW).responses
    )


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        ("(start:1,end:2)", {"start": "1", "end": "2"}),
        ("(owner:(sponsoredAccount:urn%3Ali%3AsponsoredAccount%3A5))", {"owner": {"sponsoredAccount": "urn:li:sponsoredAccount:5"}}),
        ("List(a,b%2Cc)", ["a", "b,c"]),
        ("urn%3Ali%3AversionedLeadGenForm%3A%28urn%3Ali%3AleadGenForm%3A1%2C2%29", "urn:li:versionedLeadGenForm:(urn:li:leadGenForm:1,2)"),
    ],
)  # fmt: skip
def test_parse_restli(raw: str, parsed: Any) -> None:
    assert parse_restli(raw) == parsed


@pytest.mark.parametrize("raw", ["(a:1", "(a:urn:li:x)", "(a:1)b", "(:1)"])
def test_parse_restli_refuses_malformed_values(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_restli(raw)


def test_serving_stops_listening_when_its_block_ends() -> None:
    app = LinkedInApp(standalone_context(TOKEN, NOW), LeadSyncAccount.generate(1, 1, NOW))
    with serving(app) as url:
        assert requests.get(url + finder(), headers=HEADERS, timeout=5).status_code == 200
    with pytest.raises(requests.ConnectionError):
        requests.get(url + finder(), headers=HEADERS, timeout=2)
