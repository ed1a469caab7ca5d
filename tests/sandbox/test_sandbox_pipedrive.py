"""The Pipedrive REST stand-in over real HTTP: auth, v2 cursor paging and filters, v1 leads
offset paging and archived status, users and person fields, the burst limit, PATCH writes and
their validation, deletes, merges and injected faults."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sandbox.pipedrive import (
    LEADFLOW_FIELDS,
    PipedriveApp,
    PipedriveCompany,
    serving,
    standalone_context,
)
from tests.sandbox.sandbox_helpers import Client, StepClock

NOW = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
TOKEN = "tok-pd"


@pytest.fixture
def company() -> PipedriveCompany:
    return PipedriveCompany.generate(7, 300, NOW, clock=StepClock(NOW))


@pytest.fixture
def app(company: PipedriveCompany) -> PipedriveApp:
    return PipedriveApp(standalone_context(TOKEN, NOW), company, burst_limit=0)


@pytest.fixture
def url(app: PipedriveApp) -> Iterator[str]:
    with serving(app) as base:
        yield base


@pytest.fixture
def pd(url: str) -> Iterator[Client]:
    with Client(url, {"x-api-token": TOKEN}) as client:
        yield client


def _all_v2(pd: Client, path: str, **params: Any) -> tuple[list[dict[str, Any]], int]:
    rows: list[dict[str, Any]] = []
    pages = 0
    while True:
        resp = pd.get(path, params=params)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["success"] is True
        rows += body["data"]
        pages += 1
        cursor = body["additional_data"]["next_cursor"]
        if cursor is None:
            return rows, pages
        params = {**params, "cursor": cursor}


def test_generation_is_deterministic_and_varied() -> None:
    a = PipedriveCompany.generate(3, 120, NOW)
    b = PipedriveCompany.generate(3, 120, NOW)
    c = PipedriveCompany.generate(4, 120, NOW)
    assert a.records("person", include_deleted=True) == b.records("person", include_deleted=True)
    assert a.records("lead") == b.records("lead")
    assert a.records("lead") != c.records("lead")
    assert a.merged and any(p["is_deleted"] for p in a.records("person", include_deleted=True))
    assert any(lead["is_archived"] for lead in a.records("lead"))
    assert {d["status"] for d in a.records("deal")} == {"open", "won", "lost"}


@pytest.mark.parametrize(
    ("headers", "params"),
    [({}, {}), ({"x-api-token": "nope"}, {}), ({}, {"api_token": "nope"})],
    ids=["missing", "wrong-header", "wrong-query-param"],
)
def test_a_missing_or_wrong_token_is_401(
    url: str, headers: dict[str, str], params: dict[str, str]
) -> None:
    with Client(url, headers) as client:
        resp = client.get("/api/v2/persons", params=params)
    assert resp.status_code == 401
    body = resp.json()
    assert body["success"] is False and body["error"] == "unauthorized access"
    assert body["errorCode"] == 401 and "developers.pipedrive.com" in body["error_info"]


def test_the_api_token_query_parameter_works_too(url: str) -> None:
    with Client(url, {}) as client:
        resp = client.get("/v1/users", params={"api_token": TOKEN})
    assert resp.status_code == 200 and resp.json()["data"]


def test_v2_persons_page_with_a_cursor_sorted_by_update_time(
    pd: Client, company: PipedriveCompany
) -> None:
    rows, pages = _all_v2(pd, "/api/v2/persons", limit=100, sort_by="update_time")
    live = company.records("person")
    assert pages == -(-len(live) // 100)
    assert sorted(r["id"] for r in rows) == [p["id"] for p in live]
    assert [(r["update_time"], r["id"]) for r in rows] == sorted(
        (r["update_time"], r["id"]) for r in rows
    )
    first = rows[0]
    assert isinstance(first["emails"], list) and isinstance(first["phones"], list)
    assert first["update_time"].endswith("Z") and "T" in first["update_time"]
    assert set(first["custom_fields"]) == {company.field_key(n) for n, _ in LEADFLOW_FIELDS}


def test_a_cursor_is_stable_when_a_row_changes_between_pages(
    pd: Client, company: PipedriveCompany
) -> None:
    first = pd.get("/api/v2/persons", params={"limit": 50, "sort_by": "update_time"}).json()
    unread = first["data"][-1]["id"]
    later = pd.get(
        "/api/v2/persons", params={"limit": 500, "sort_by": "update_time", "cursor": "x"}
    )
    assert later.status_code == 400
    # a row already read moves to the end: nothing unread is skipped
    company.clock.now = NOW + timedelta(minutes=1)  # type: ignore[attr-defined]
    company.update("person", first["data"][0]["id"], name="Moved")
    rest, _ = _all_v2(
        pd,
        "/api/v2/persons",
        limit=100,
        sort_by="update_time",
        cursor=first["additional_data"]["next_cursor"],
    )
    ids = {r["id"] for r in first["data"]} | {r["id"] for r in rest}
    assert ids == {p["id"] for p in company.records("person")}
    assert unread not in {r["id"] for r in rest}


def test_updated_since_is_inclusive_and_validated(pd: Client, company: PipedriveCompany) -> None:
    person = company.records("person")[0]
    stamp = person["update_time"]
    since = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    rows, _ = _all_v2(pd, "/api/v2/persons", updated_since=since, limit=500)
    assert person["id"] in {r["id"] for r in rows}
    assert all(r["update_time"] >= since for r in rows)
    assert len(rows) < len(company.records("person"))
    bad = pd.get("/api/v2/persons", params={"updated_since": "yesterday"})
    assert bad.status_code == 400 and bad.json()["success"] is False
    assert pd.get("/api/v2/persons", params={"limit": 501}).status_code == 400


def test_deleted_deals_are_only_listed_by_status_deleted(
    pd: Client, company: PipedriveCompany
) -> None:
    deal = company.records("deal")[0]["id"]
    company.delete("deal", deal)
    live, _ = _all_v2(pd, "/api/v2/deals")
    gone, _ = _all_v2(pd, "/api/v2/deals", status="deleted")
    assert deal not in {d["id"] for d in live}
    assert [d["id"] for d in gone] == [deal] and gone[0]["is_deleted"] is True
    won, _ = _all_v2(pd, "/api/v2/deals", status="won")
    assert won and all(d["status"] == "won" and d["won_time"] for d in won)


def test_leads_page_by_offset_and_filter_by_archived_status(
    pd: Client, company: PipedriveCompany
) -> None:
    leads = company.records("lead")
    seen: list[dict[str, Any]] = []
    start = 0
    while True:
        body = pd.get("/v1/leads", params={"start": start, "limit": 40}).json()
        pagination = body["additional_data"]["pagination"]
        assert (pagination["start"], pagination["limit"]) == (start, 40)
        seen += body["data"]
        if not pagination["more_items_in_collection"]:
            assert "next_start" not in pagination
            break
        start = pagination["next_start"]
    assert sorted(r["id"] for r in seen) == sorted(lead["id"] for lead in leads)
    archived = pd.get("/api/v1/leads", params={"archived_status": "archived", "limit": 500})
    not_archived = pd.get("/v1/leads", params={"archived_status": "not_archived", "limit": 500})
    assert {r["is_archived"] for r in archived.json()["data"]} == {True}
    assert {r["is_archived"] for r in not_archived.json()["data"]} == {False}
    assert len(archived.json()["data"]) + len(not_archived.json()["data"]) == len(leads)
    newest = pd.get("/v1/leads", params={"sort": "update_time DESC", "limit": 500}).json()
    stamps = [r["update_time"] for r in newest["data"]]
    assert stamps == sorted(stamps, reverse=True)
    assert pd.get("/v1/leads", params={"sort": "email ASC"}).status_code == 400


def test_person_fields_describe_leadflows_custom_fields(pd: Client) -> None:
    body = pd.get("/v1/personFields", params={"limit": 500}).json()
    custom = {f["name"]: f for f in body["data"] if f["edit_flag"]}
    assert {n: f["field_type"] for n, f in custom.items()} == dict(LEADFLOW_FIELDS)
    assert all(len(f["key"]) == 40 for f in custom.values())
    assert {f["key"] for f in body["data"] if not f["edit_flag"]} >= {"name", "owner_id"}


def test_rate_limit_headers_and_429_past_the_burst_limit(pd: Client, app: PipedriveApp) -> None:
    app.burst_limit = 3
    answers = [pd.get("/v1/users") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["x-ratelimit-remaining"] for a in answers] == ["2", "1", "0", "0"]
    assert {a.headers["x-ratelimit-limit"] for a in answers} == {"3"}
    assert 1 <= int(answers[3].headers["x-ratelimit-reset"]) <= 2
    assert answers[0].headers["x-daily-requests-left"] == "10000"
    body = answers[3].json()
    assert body["success"] is False and body["errorCode"] == 429
    time.sleep(int(answers[3].headers["x-ratelimit-reset"]))
    assert pd.get("/v1/users").status_code == 200


def test_patch_person_writes_owner_and_custom_fields(
    pd: Client, app: PipedriveApp, company: PipedriveCompany
) -> None:
    person = company.records("person")[0]["id"]
    owner = company.records("user")[-2]["id"]
    key = company.field_key("LeadFlow Score")
    body = {"owner_id": owner, "custom_fields": {key: 91}}
    resp = pd.session.patch(f"{pd.base}/api/v2/persons/{person}", json=body, timeout=10)
    assert resp.status_code == 200, resp.text
    data = resp.json()["data"]
    assert data["owner_id"] == owner and data["custom_fields"][key] == 91.0
    assert company.custom_value(person, "LeadFlow Score") == 91.0
    write = app.write_log()[0]
    assert write.body == body and "x-api-token" not in {k.lower() for k in write.headers}
    assert pd.get(f"/api/v2/persons/{person}").json()["data"]["owner_id"] == owner


@pytest.mark.parametrize(
    ("target", "body", "status", "error"),
    [
        ("person", {"owner_id": 1}, 400, "Owner not found"),
        ("person", {"custom_fields": {"f" * 40: 1}}, 400, "does not exist"),
        ("person", {"custom_fields": {"SCORE": "high"}}, 400, "expects a number"),
        ("missing", {"owner_id": 1}, 404, "Person not found"),
        ("lead", {"owner_id": "x"}, 400, "owner_id"),
        ("missing-lead", {"owner_id": 1}, 404, "Lead not found"),
    ],
    ids=["unknown-owner", "unknown-key", "wrong-type", "unknown-person", "bad-owner", "no-lead"],
)
def test_patch_validation_errors(
    pd: Client,
    company: PipedriveCompany,
    target: str,
    body: dict[str, Any],
    status: int,
    error: str,
) -> None:
    if "SCORE" in str(body):
        body = {"custom_fields": {company.field_key("LeadFlow Score"): "high"}}
    path = {
        "person": f"/api/v2/persons/{company.records('person')[0]['id']}",
        "missing": "/api/v2/persons/999999",
        "lead": f"/api/v1/leads/{company.records('lead')[0]['id']}",
        "missing-lead": "/api/v1/leads/00000000-0000-4000-8000-000000000000",
    }[target]
    resp = pd.session.patch(pd.base + path, json=body, timeout=10)
    assert resp.status_code == status
    assert resp.json()["success"] is False and error in resp.json()["error"]


def test_patch_lead_sets_the_owner_and_archives(pd: Client, company: PipedriveCompany) -> None:
    lead = company.records("lead")[0]["id"]
    owner = company.records("user")[1]["id"]
    resp = pd.session.patch(
        f"{pd.base}/v1/leads/{lead}", json={"owner_id": owner, "is_archived": True}, timeout=10
    )
    assert resp.status_code == 200
    assert resp.json()["data"]["owner_id"] == owner and resp.json()["data"]["is_archived"]
    assert company.get("lead", lead)["is_archived"] is True


def test_merge_removes_one_person_and_moves_its_leads(
    pd: Client, company: PipedriveCompany
) -> None:
    lead = company.records("lead")[0]
    gone = lead["person_id"]
    keep = next(p["id"] for p in company.records("person") if p["id"] != gone)
    company.merge_persons(keep, gone)
    assert pd.get(f"/api/v2/persons/{gone}").status_code == 404
    assert pd.get(f"/api/v2/persons/{keep}").status_code == 200
    assert pd.get(f"/v1/leads/{lead['id']}").json()["data"]["person_id"] == keep
    assert company.merged[gone] == keep


@pytest.mark.parametrize("status", [429, 500, 503])
def test_injected_faults_answer_in_pipedrives_shape(
    pd: Client, app: PipedriveApp, status: int
) -> None:
    app.faults = [status]
    resp = pd.get("/api/v2/persons")
    assert resp.status_code == status
    assert resp.json()["success"] is False and resp.json()["errorCode"] == status
    if status == 429:
        assert resp.headers["x-ratelimit-remaining"] == "0"
    assert pd.get("/api/v2/persons").status_code == 200
