"""The sandbox's Lemlist over real HTTP: auth, the campaign-leads routes, activities paging, the
rate limit with its headers, the text error bodies and the reply control endpoint."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
import requests

from sandbox import Sandbox

KEY = "tok-l"


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f":{key}".encode()).decode()}


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    sandbox = Sandbox(seed=7, leads=5, tokens={"lemlist": KEY})
    sandbox.set_rate_limit("lemlist", 0, 1)
    with sandbox:
        yield sandbox


@pytest.fixture
def http(sb: Sandbox) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.headers.update(basic(KEY))
        yield session


def url(sb: Sandbox, path: str) -> str:
    return sb.urls["lemlist"] + path


LEAD = "/api/campaigns/cam_sbxNurtureGeneral/leads/ann@acme.example"


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no-auth"),
        pytest.param(basic("wrong"), id="wrong-key"),
        pytest.param({"Authorization": f"Bearer {KEY}"}, id="bearer-is-not-basic"),
    ],
)
def test_requests_without_the_api_key_get_a_401_text_body(
    sb: Sandbox, headers: dict[str, str]
) -> None:
    response = requests.get(url(sb, "/api/campaigns"), headers=headers, timeout=5)
    assert (response.status_code, response.text) == (401, "Unauthorized")


def test_the_key_as_access_token_parameter_is_accepted(sb: Sandbox) -> None:
    response = requests.get(url(sb, "/api/campaigns"), params={"access_token": KEY}, timeout=5)
    assert response.status_code == 200
    assert "cam_sbxNurtureGeneral" in {c["_id"] for c in response.json()}


def test_add_then_add_again_then_remove(sb: Sandbox, http: requests.Session) -> None:
    # WHEN a lead is added twice and removed twice
    added = http.post(url(sb, LEAD), json={"firstName": "Ann"}, timeout=5)
    again = http.post(url(sb, LEAD), json={}, timeout=5)
    state = sb.lemlist_leads()
    removed = http.delete(url(sb, LEAD), params={"action": "remove"}, timeout=5)
    gone = http.delete(url(sb, LEAD), params={"action": "remove"}, timeout=5)
    # THEN Lemlist's answers, in its shapes
    assert added.status_code == 200
    assert added.json()["email"] == "ann@acme.example" and added.json()["firstName"] == "Ann"
    assert added.json()["_id"].startswith("lea_")
    assert (again.status_code, again.text) == (400, "Lead already in the campaign")
    assert [(lead["campaign_id"], lead["email"]) for lead in state] == [
        ("cam_sbxNurtureGeneral", "ann@acme.example")
    ]
    assert removed.status_code == 200
    assert (gone.status_code, gone.text) == (404, "Lead not found")
    assert sb.lemlist_leads() == []


def test_delete_without_action_only_unsubscribes(sb: Sandbox, http: requests.Session) -> None:
    http.post(url(sb, LEAD), json={}, timeout=5)
    response = http.delete(url(sb, LEAD), timeout=5)
    assert response.status_code == 200 and response.json()["isUnsubscribed"] is True
    assert [lead["unsubscribed"] for lead in sb.lemlist_leads()] == [True]


@pytest.mark.parametrize(
    ("path", "status", "text"),
    [
        pytest.param(
            "/api/campaigns/cam_nope/leads/a@b.example",
            404,
            "Campaign not found",
            id="unknown-campaign",
        ),
        pytest.param(
            "/api/campaigns/cam_sbxNurtureGeneral/leads/not-an-email",
            400,
            "Bad params",
            id="bad-email",
        ),
    ],
)
def test_errors_are_short_text_bodies(
    sb: Sandbox, http: requests.Session, path: str, status: int, text: str
) -> None:
    response = http.post(url(sb, path), json={}, timeout=5)
    assert (response.status_code, response.text) == (status, text)
    assert response.headers["Content-Type"].startswith("text/plain")


def test_replies_are_paged_by_offset_newest_first(sb: Sandbox, http: requests.Session) -> None:
    # GIVEN five leads of a campaign that each replied, and one lead of another campaign
    emails = [f"p{n}@acme.example" for n in range(5)]
    for email in emails:
        http.post(
            url(sb, f"/api/campaigns/cam_sbxNurtureGeneral/leads/{email}"), json={}, timeout=5
        )
        sb.lemlist_reply("cam_sbxNurtureGeneral", email)
    http.post(
        url(sb, "/api/campaigns/cam_sbxNurtureSmallBiz/leads/x@acme.example"), json={}, timeout=5
    )
    sb.lemlist_reply("cam_sbxNurtureSmallBiz", "x@acme.example")
    # WHEN they are read two at a time
    pages = [
        http.get(
            url(sb, "/api/activities"),
            params={
                "type": "emailsReplied",
                "campaignId": "cam_sbxNurtureGeneral",
                "offset": offset,
                "limit": 2,
            },
            timeout=5,
        ).json()
        for offset in (0, 2, 4)
    ]
    # THEN three pages hold the five replies once each, newest first
    assert [len(page) for page in pages] == [2, 2, 1]
    seen = [a["leadEmail"] for page in pages for a in page]
    assert seen == list(reversed(emails))
    assert {a["type"] for page in pages for a in page} == {"emailsReplied"}
    too_many = http.get(url(sb, "/api/activities"), params={"limit": 101}, timeout=5)
    assert (too_many.status_code, too_many.text) == (400, "Bad params")


def test_the_reply_control_endpoint(sb: Sandbox, http: requests.Session) -> None:
    http.post(url(sb, LEAD), json={}, timeout=5)
    made = requests.post(
        url(sb, "/_sandbox/lemlist/replies"),
        json={"campaign_id": "cam_sbxNurtureGeneral", "email": "ann@acme.example"},
        timeout=5,
    )
    unknown = requests.post(
        url(sb, "/_sandbox/lemlist/replies"),
        json={"campaign_id": "cam_sbxNurtureGeneral", "email": "nobody@acme.example"},
        timeout=5,
    )
    assert made.status_code == 201 and made.json()["activity_id"].startswith("act_")
    assert unknown.status_code == 400
    replies = http.get(url(sb, "/api/activities"), params={"type": "emailReplied"}, timeout=5)
    assert [a["_id"] for a in replies.json()] == [made.json()["activity_id"]]


def test_the_rate_limit_is_20_per_2_seconds_with_headers(
    sb: Sandbox, http: requests.Session
) -> None:
    # GIVEN Lemlist's documented limit switched on
    sb.set_rate_limit("lemlist", 20, 2)
    answers = [http.get(url(sb, "/api/campaigns"), timeout=5) for _ in range(21)]
    # THEN the 21st request within the window is refused with Retry-After
    assert [a.status_code for a in answers[:20]] == [200] * 20
    assert answers[0].headers["X-RateLimit-Limit"] == "20"
    assert answers[19].headers["X-RateLimit-Remaining"] == "0"
    assert answers[20].status_code == 429 and answers[20].text == "Too many requests"
    assert int(answers[20].headers["Retry-After"]) >= 1
    assert "GMT" in answers[20].headers["X-RateLimit-Reset"]
