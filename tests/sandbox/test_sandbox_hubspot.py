"""The HubSpot stand-in over real HTTP: auth, search, paging, batch writes, owners, limits."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from sandbox import Sandbox
from sandbox.clock import parse_iso_ms, to_ms
from tests.sandbox.sandbox_helpers import (
    NOW,
    SEARCH,
    TOKENS,
    UPDATE,
    UPSERT,
    Client,
    no_limits,
    search_all,
)


def _unowned_contact(sb: Sandbox) -> dict[str, Any]:
    return next(
        c
        for c in sb.hubspot_contacts()
        if c["properties"]["email"] and not c["properties"]["hubspot_owner_id"]
    )


# --------------------------------------------------------------------------- auth


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "tok-h"}],
    ids=["no-header", "wrong-token", "no-bearer-scheme"],
)
def test_requests_without_the_right_bearer_token_get_hubspots_401(
    sb: Sandbox, headers: dict[str, str]
) -> None:
    # GIVEN a running sandbox WHEN a search is sent without the right bearer token
    resp = requests.post(sb.urls["hubspot"] + SEARCH, json={}, headers=headers, timeout=10)
    # THEN HubSpot's authentication error comes back
    assert resp.status_code == 401
    body = resp.json()
    assert body["status"] == "error"
    assert body["category"] == "INVALID_AUTHENTICATION"
    assert body["message"].startswith("Authentication credentials not found.")
    assert body["correlationId"]


# --------------------------------------------------------------------------- search


def test_paging_a_search_to_the_end_returns_every_contact_once(
    sb: Sandbox, hubspot: Client
) -> None:
    # GIVEN every contact in the world
    expected = {c["id"] for c in sb.hubspot_contacts()}
    # WHEN a search sorted by lastmodifieddate is paged to the end, 7 at a time
    body = {"limit": 7, "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}]}
    results = search_all(hubspot, body)
    # THEN each contact came exactly once, in cursor order, and the count matched `total`
    ids = [r["id"] for r in results]
    assert len(ids) == len(set(ids)) == len(expected)
    assert set(ids) == expected
    stamps = [r["properties"]["lastmodifieddate"] for r in results]
    assert stamps == sorted(stamps)
    first = hubspot.post(SEARCH, json=body).json()
    assert first["total"] == len(expected)


def test_search_returns_the_requested_properties_plus_the_three_hubspot_always_adds(
    hubspot: Client,
) -> None:
    resp = hubspot.post(SEARCH, json={"limit": 3, "properties": ["email", "hubspot_owner_id"]})
    assert resp.status_code == 200
    for result in resp.json()["results"]:
        assert set(result["properties"]) == {
            "email",
            "hubspot_owner_id",
            "createdate",
            "hs_object_id",
            "lastmodifieddate",
        }
        assert result["properties"]["hs_object_id"] == result["id"]
        assert result["createdAt"] == result["properties"]["createdate"]
        assert result["updatedAt"] == result["properties"]["lastmodifieddate"]
        assert result["archived"] is False
        assert result["updatedAt"].endswith("Z") and len(result["updatedAt"]) == 24


def test_search_defaults_to_ten_results_and_the_default_properties(hubspot: Client) -> None:
    data = hubspot.post(SEARCH, json={}).json()
    assert len(data["results"]) == 10
    assert data["paging"]["next"]["after"] == "10"
    assert set(data["results"][0]["properties"]) == {
        "createdate",
        "email",
        "firstname",
        "hs_object_id",
        "lastmodifieddate",
        "lastname",
    }


def test_every_property_value_is_a_string_or_null(sb: Sandbox) -> None:
    for contact in sb.hubspot_contacts():
        for value in contact["properties"].values():
            assert value is None or isinstance(value, str)


@pytest.mark.parametrize(
    "value",
    ["epoch-ms", "iso"],
)
def test_a_gte_filter_on_lastmodifieddate_takes_epoch_ms_or_iso(
    sb: Sandbox, hubspot: Client, value: str
) -> None:
    # GIVEN a cutoff 30 days before now
    cutoff = NOW - timedelta(days=30)
    given = str(to_ms(cutoff)) if value == "epoch-ms" else cutoff.isoformat()
    flt = {"propertyName": "lastmodifieddate", "operator": "GTE", "value": given}
    # WHEN searching with it
    results = search_all(hubspot, {"limit": 100, "filterGroups": [{"filters": [flt]}]})
    # THEN exactly the contacts modified since the cutoff come back
    expected = {
        c["id"]
        for c in sb.hubspot_contacts()
        if parse_iso_ms(c["properties"]["lastmodifieddate"]) >= to_ms(cutoff)
    }
    assert expected
    assert {r["id"] for r in results} == expected


def test_filter_operators_select_what_they_say(sb: Sandbox, hubspot: Client) -> None:
    contacts = sb.hubspot_contacts()

    def ids(*filters: dict[str, Any]) -> set[str]:
        body = {"limit": 200, "filterGroups": [{"filters": list(filters)}]}
        return {r["id"] for r in search_all(hubspot, body)}

    def where(pred: Any) -> set[str]:
        return {c["id"] for c in contacts if pred(c["properties"])}

    owned = where(lambda p: p["hubspot_owner_id"])
    assert ids({"propertyName": "hubspot_owner_id", "operator": "HAS_PROPERTY"}) == owned
    assert ids({"propertyName": "hubspot_owner_id", "operator": "NOT_HAS_PROPERTY"}) == where(
        lambda p: not p["hubspot_owner_id"]
    )
    stages = ["opportunity", "customer"]
    assert ids({"propertyName": "lifecyclestage", "operator": "IN", "values": stages}) == where(
        lambda p: p["lifecyclestage"] in stages
    )
    assert ids({"propertyName": "hs_analytics_num_page_views", "operator": "LT", "value": "3"}) == (
        where(lambda p: int(p["hs_analytics_num_page_views"]) < 3)
    )
    lo, hi = str(to_ms(NOW - timedelta(days=60))), str(to_ms(NOW - timedelta(days=30)))
    between = {"propertyName": "createdate", "operator": "BETWEEN", "value": lo, "highValue": hi}
    assert ids(between) == where(lambda p: int(lo) <= parse_iso_ms(p["createdate"]) <= int(hi))
    assert ids({"propertyName": "lifecyclestage", "operator": "NEQ", "value": "lead"}) == where(
        lambda p: p["lifecyclestage"] != "lead"
    )
    # EQ on a string ignores case, as HubSpot's does
    email = next(c["properties"]["email"] for c in contacts if c["properties"]["email"])
    assert ids({"propertyName": "email", "operator": "EQ", "value": email.upper()}) == where(
        lambda p: p["email"] == email
    )


def test_filter_groups_are_ored_and_filters_in_a_group_anded(sb: Sandbox, hubspot: Client) -> None:
    contacts = sb.hubspot_contacts()
    body = {
        "limit": 200,
        "filterGroups": [
            {
                "filters": [
                    {"propertyName": "lifecyclestage", "operator": "EQ", "value": "customer"}
                ]
            },
            {
                "filters": [
                    {"propertyName": "lifecyclestage", "operator": "EQ", "value": "lead"},
                    {"propertyName": "hubspot_owner_id", "operator": "HAS_PROPERTY"},
                ]
            },
        ],
    }
    got = {r["id"] for r in search_all(hubspot, body)}
    expected = {
        c["id"]
        for c in contacts
        if c["properties"]["lifecyclestage"] == "customer"
        or (c["properties"]["lifecyclestage"] == "lead" and c["properties"]["hubspot_owner_id"])
    }
    assert got == expected


@pytest.mark.parametrize(
    "sorts",
    [
        [{"propertyName": "createdate", "direction": "DESCENDING"}],
        ["-createdate"],
    ],
    ids=["object-form", "string-form"],
)
def test_a_descending_sort_orders_results_newest_first(hubspot: Client, sorts: list[Any]) -> None:
    results = search_all(hubspot, {"limit": 50, "sorts": sorts, "properties": ["createdate"]})
    stamps = [r["properties"]["createdate"] for r in results]
    assert stamps == sorted(stamps, reverse=True)


def test_the_string_sort_form_sorts_ascending(hubspot: Client) -> None:
    results = hubspot.post(SEARCH, json={"limit": 50, "sorts": ["lastmodifieddate"]}).json()
    stamps = [r["properties"]["lastmodifieddate"] for r in results["results"]]
    assert stamps == sorted(stamps)


@pytest.mark.parametrize(
    "body",
    [
        {"limit": 201},
        {
            "filterGroups": [
                {"filters": [{"propertyName": "email", "operator": "LIKE", "value": "x"}]}
            ]
        },
        {"filterGroups": [{"filters": [{"propertyName": "nope", "operator": "EQ", "value": "x"}]}]},
        {"sorts": ["createdate", "email"]},
        {"after": "not-a-number"},
    ],
    ids=["limit-over-200", "unknown-operator", "unknown-property", "two-sorts", "bad-after"],
)
def test_invalid_searches_get_a_400_validation_error(hubspot: Client, body: dict[str, Any]) -> None:
    resp = hubspot.post(SEARCH, json=body)
    assert resp.status_code == 400
    assert resp.json()["category"] == "VALIDATION_ERROR"


def test_a_search_cannot_page_past_the_result_cap(sb: Sandbox, hubspot: Client) -> None:
    # GIVEN the 10,000-result cap lowered to 50 so a small world reaches it
    sb.knobs.hubspot_search_cap = 50
    body: dict[str, Any] = {"limit": 20}
    # WHEN a client pages while HubSpot keeps offering a next page
    statuses, afters = [], []
    for _ in range(5):
        resp = hubspot.post(SEARCH, json=body)
        statuses.append(resp.status_code)
        if resp.status_code != 200:
            break
        afters.append(resp.json()["paging"]["next"]["after"])
        body["after"] = afters[-1]
    # THEN the page that would reach past the cap is refused, though more results exist
    assert statuses == [200, 200, 400]
    assert afters == ["20", "40"]
    assert resp.json()["category"] == "VALIDATION_ERROR"
    total = hubspot.post(SEARCH, json={"limit": 1}).json()["total"]
    assert total > 50


def test_malformed_json_gets_hubspots_invalid_input_error(sb: Sandbox, hubspot: Client) -> None:
    resp = hubspot.session.post(
        sb.urls["hubspot"] + SEARCH,
        data=b'{"limit": 10,',
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert resp.status_code == 400
    body = resp.json()
    assert body["category"] == "VALIDATION_ERROR"
    assert body["message"].startswith("Invalid input JSON on line 1")


def test_an_unknown_path_is_404(hubspot: Client) -> None:
    assert hubspot.get("/crm/v3/objects/widgets").status_code == 404


# --------------------------------------------------------------------------- batch writes


def test_a_push_then_an_incremental_pull_sees_the_new_owner_and_score(
    sb: Sandbox, hubspot: Client
) -> None:
    # GIVEN a pull that read everything up to the newest lastmodifieddate
    newest = hubspot.post(SEARCH, json={"limit": 1, "sorts": ["-lastmodifieddate"]}).json()
    cursor = newest["results"][0]["properties"]["lastmodifieddate"]
    target = _unowned_contact(sb)
    # WHEN LeadFlow pushes an owner and a score by email (in another case)
    email = target["properties"]["email"]
    push = hubspot.post(
        UPSERT,
        json={
            "inputs": [
                {
                    "idProperty": "email",
                    "id": email.upper(),
                    "properties": {"hubspot_owner_id": "51000003", "leadflow_score": "87"},
                }
            ]
        },
    )
    assert push.status_code == 200, push.text
    result = push.json()["results"][0]
    assert result["id"] == target["id"] and result["new"] is False
    # THEN an incremental search past the cursor returns that contact with the pushed values
    flt = {"propertyName": "lastmodifieddate", "operator": "GT", "value": cursor}
    body = {
        "filterGroups": [{"filters": [flt]}],
        "properties": ["hubspot_owner_id", "leadflow_score"],
    }
    pulled = hubspot.post(SEARCH, json=body).json()
    assert [r["id"] for r in pulled["results"]] == [target["id"]]
    assert pulled["results"][0]["properties"]["hubspot_owner_id"] == "51000003"
    assert pulled["results"][0]["properties"]["leadflow_score"] == "87"
    assert len(sb.hubspot_contacts()) == len({c["id"] for c in sb.hubspot_contacts()})


def test_a_batch_with_some_bad_inputs_answers_207_and_applies_the_good_ones(
    sb: Sandbox, hubspot: Client
) -> None:
    # GIVEN one good input and three HubSpot rejects
    before = len(sb.hubspot_contacts())
    inputs = [
        {"idProperty": "leadflow_lead_id", "id": "L-1", "properties": {"leadflow_score": "55"}},
        {"idProperty": "email", "id": "ana silva@acme.io", "properties": {}},
        {"idProperty": "leadflow_lead_id", "id": "L-2", "properties": {"hubspot_owner_id": "999"}},
        {"idProperty": "leadflow_lead_id", "id": "L-3", "properties": {"leadflow_score": 87}},
    ]
    # WHEN they are upserted together
    resp = hubspot.post(UPSERT, json={"inputs": inputs})
    # THEN HubSpot's multi-status answer lists one result and three errors
    assert resp.status_code == 207
    body = resp.json()
    assert body["status"] == "COMPLETE"
    assert body["numErrors"] == 3
    assert [r["properties"]["leadflow_lead_id"] for r in body["results"]] == ["L-1"]
    assert body["results"][0]["new"] is True
    codes = sorted(e["errors"][0]["code"] for e in body["errors"])
    assert codes == ["INVALID_EMAIL", "INVALID_OWNER_ID", "INVALID_PROPERTY_VALUE"]
    assert all(
        e["status"] == "error" and e["category"] == "VALIDATION_ERROR" for e in body["errors"]
    )
    # AND only the good input was written
    after = sb.hubspot_contacts()
    assert len(after) == before + 1
    assert {c["properties"]["leadflow_lead_id"] for c in after} >= {"L-1"}
    assert "L-2" not in {c["properties"]["leadflow_lead_id"] for c in after}


def test_an_unknown_property_fails_the_whole_batch_with_property_doesnt_exist(
    sb: Sandbox, hubspot: Client
) -> None:
    before = sb.hubspot_contacts()
    inputs = [
        {"idProperty": "leadflow_lead_id", "id": "L-9", "properties": {"leadflow_score": "1"}},
        {"idProperty": "leadflow_lead_id", "id": "L-8", "properties": {"favourite_color": "red"}},
    ]
    resp = hubspot.post(UPSERT, json={"inputs": inputs})
    assert resp.status_code == 400
    body = resp.json()
    assert body["category"] == "VALIDATION_ERROR"
    assert "PROPERTY_DOESNT_EXIST" in body["message"]
    assert body["errors"][0]["context"]["propertyName"] == ["favourite_color"]
    assert sb.hubspot_contacts() == before


def test_more_than_100_inputs_is_refused(hubspot: Client) -> None:
    inputs = [
        {"idProperty": "leadflow_lead_id", "id": f"L-{i}", "properties": {}} for i in range(101)
    ]
    resp = hubspot.post(UPSERT, json={"inputs": inputs})
    assert resp.status_code == 400
    assert resp.json()["category"] == "VALIDATION_ERROR"


def test_creating_a_contact_with_an_email_another_has_does_not_duplicate_it(
    sb: Sandbox, hubspot: Client
) -> None:
    # GIVEN an existing contact's email
    existing = _unowned_contact(sb)
    before = len(sb.hubspot_contacts())
    # WHEN a new contact keyed by leadflow_lead_id is created with that email
    inputs = [
        {
            "idProperty": "leadflow_lead_id",
            "id": "L-dup",
            "properties": {"email": existing["properties"]["email"]},
        }
    ]
    resp = hubspot.post(UPSERT, json={"inputs": inputs})
    # THEN HubSpot refuses it as a conflict naming the existing contact, and creates nothing
    assert resp.status_code == 207
    error = resp.json()["errors"][0]
    assert error["category"] == "CONFLICT"
    assert error["message"] == f"Contact already exists. Existing ID: {existing['id']}"
    assert len(sb.hubspot_contacts()) == before


def test_batch_update_reports_unknown_ids_as_object_not_found(sb: Sandbox, hubspot: Client) -> None:
    target = _unowned_contact(sb)
    inputs = [
        {"id": target["id"], "properties": {"leadflow_grade": "A", "leadflow_temperature": "hot"}},
        {"id": "99999999", "properties": {"leadflow_grade": "B"}},
    ]
    resp = hubspot.post(UPDATE, json={"inputs": inputs})
    assert resp.status_code == 207
    body = resp.json()
    assert [r["id"] for r in body["results"]] == [target["id"]]
    assert body["errors"][0]["category"] == "OBJECT_NOT_FOUND"
    assert body["errors"][0]["context"]["ids"] == ["99999999"]
    updated = next(c for c in sb.hubspot_contacts() if c["id"] == target["id"])
    assert updated["properties"]["leadflow_grade"] == "A"
    assert updated["properties"]["lastmodifieddate"] > target["properties"]["lastmodifieddate"]


def test_a_write_to_a_read_only_property_fails_that_input(sb: Sandbox, hubspot: Client) -> None:
    target = _unowned_contact(sb)
    inputs = [{"id": target["id"], "properties": {"hs_analytics_source": "OFFLINE"}}]
    resp = hubspot.post(UPDATE, json={"inputs": inputs})
    assert resp.status_code == 207
    assert resp.json()["errors"][0]["errors"][0]["code"] == "READ_ONLY_VALUE"


# --------------------------------------------------------------------------- owners


def test_owners_page_with_after_and_carry_teams(hubspot: Client) -> None:
    owners, after = [], None
    while True:
        params: dict[str, Any] = {"limit": 3, **({"after": after} if after else {})}
        data = hubspot.get("/crm/v3/owners", params=params).json()
        owners.extend(data["results"])
        nxt = data.get("paging", {}).get("next")
        if nxt is None:
            break
        assert nxt["link"].startswith(hubspot.base)
        after = nxt["after"]
    assert [o["id"] for o in owners] == [str(51_000_001 + i) for i in range(8)]
    assert {o["teams"][0]["name"] for o in owners} == {"NA", "EMEA", "APAC"}
    first = owners[0]
    assert first["email"].endswith("@quillstone.example")
    assert first["type"] == "PERSON" and first["archived"] is False
    assert {"firstName", "lastName", "userId", "userIdIncludingInactive", "createdAt"} <= set(first)


def test_owners_limit_above_500_is_refused(hubspot: Client) -> None:
    assert hubspot.get("/crm/v3/owners", params={"limit": 501}).status_code == 400


# --------------------------------------------------------------------------- limits and faults


def test_the_rolling_limit_answers_429_with_hubspots_body_and_headers(
    sb: Sandbox, hubspot: Client
) -> None:
    # GIVEN a limit of 3 requests per 10 seconds
    sb.set_rate_limit("hubspot", 3, 10)
    # WHEN a fourth request comes inside the window
    statuses = [hubspot.get("/crm/v3/owners").status_code for _ in range(3)]
    resp = hubspot.get("/crm/v3/owners")
    # THEN it is refused the way HubSpot refuses it
    assert statuses == [200, 200, 200]
    assert resp.status_code == 429
    body = resp.json()
    assert body["errorType"] == "RATE_LIMIT"
    assert body["policyName"] == "TEN_SECONDLY_ROLLING"
    assert body["message"] == "You have reached your ten_secondly_rolling limit."
    assert body["correlationId"] and body["groupName"]
    assert resp.headers["X-HubSpot-RateLimit-Max"] == "3"
    assert resp.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    assert resp.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
    assert 1 <= int(resp.headers["Retry-After"]) <= 10


def test_a_fresh_sandbox_applies_hubspots_documented_limit() -> None:
    with Sandbox(leads=20, tokens=TOKENS, now=NOW) as fresh:
        resp = requests.get(
            fresh.urls["hubspot"] + "/crm/v3/owners",
            headers={"Authorization": "Bearer tok-h"},
            timeout=10,
        )
    assert resp.headers["X-HubSpot-RateLimit-Max"] == "100"
    assert resp.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"


def test_accepted_requests_report_what_is_left_of_the_window(sb: Sandbox, hubspot: Client) -> None:
    sb.set_rate_limit("hubspot", 100, 10)
    remaining = [
        int(hubspot.get("/crm/v3/owners").headers["X-HubSpot-RateLimit-Remaining"])
        for _ in range(3)
    ]
    assert remaining == [99, 98, 97]


def test_search_has_its_own_limit_besides_the_general_one(sb: Sandbox, hubspot: Client) -> None:
    sb.set_rate_limit("hubspot_search", 2, 30)
    responses = [hubspot.post(SEARCH, json={}) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert "X-HubSpot-RateLimit-Max" not in responses[0].headers
    # other endpoints are not affected by the search limit
    assert hubspot.get("/crm/v3/owners").status_code == 200
    body = hubspot.post(SEARCH, json={}).json()
    assert body["policyName"] == "SECONDLY"


def test_injected_faults_hit_the_next_requests_then_stop(sb: Sandbox, hubspot: Client) -> None:
    # GIVEN two 503s and then a 429 queued for search
    sb.inject_faults("hubspot", 503, 2, path_prefix=SEARCH)
    sb.inject_faults("hubspot", 429, 1, path_prefix=SEARCH)
    # WHEN four searches and an owners call are made
    owners = hubspot.get("/crm/v3/owners")
    responses = [hubspot.post(SEARCH, json={}) for _ in range(4)]
    # THEN the prefix was respected and the faults came in order, once each
    assert owners.status_code == 200
    assert [r.status_code for r in responses] == [503, 503, 429, 200]
    assert responses[0].json()["status"] == "error"
    assert responses[2].headers["Retry-After"] == "1"
    assert responses[2].json()["errorType"] == "RATE_LIMIT"


def test_the_request_log_counts_what_was_served(sb: Sandbox, hubspot: Client) -> None:
    hubspot.post(SEARCH, json={})
    hubspot.get("/crm/v3/owners", params={"limit": 2})
    requests.get(sb.urls["hubspot"] + "/crm/v3/owners", timeout=10)
    assert sb.request_log == [
        ("hubspot", "POST", SEARCH, 200),
        ("hubspot", "GET", "/crm/v3/owners", 200),
        ("hubspot", "GET", "/crm/v3/owners", 401),
    ]


# --------------------------------------------------------------------------- persistence


def test_pushed_values_survive_a_restart_with_a_state_file(tmp_path: Path) -> None:
    state = tmp_path / "sandbox.sqlite"
    # GIVEN a sandbox with a state file, and a push to one contact
    with no_limits(Sandbox(seed=3, leads=200, state_path=state, tokens=TOKENS, now=NOW)) as first:
        target = _unowned_contact(first)
        with Client(first.urls["hubspot"], {"Authorization": "Bearer tok-h"}) as hs:
            inputs = [
                {
                    "id": target["id"],
                    "properties": {"hubspot_owner_id": "51000005", "leadflow_score": "91"},
                }
            ]
            assert hs.post(UPDATE, json={"inputs": inputs}).status_code == 200
        world_before = [p.email for p in first.world.people]
    # WHEN the sandbox is started again on the same file
    with no_limits(Sandbox(seed=3, leads=200, state_path=state, tokens=TOKENS, now=NOW)) as second:
        with Client(second.urls["hubspot"], {"Authorization": "Bearer tok-h"}) as hs:
            flt = {"propertyName": "hs_object_id", "operator": "EQ", "value": target["id"]}
            body = {
                "filterGroups": [{"filters": [flt]}],
                "properties": ["hubspot_owner_id", "leadflow_score"],
            }
            pulled = hs.post(SEARCH, json=body).json()["results"][0]["properties"]
        # THEN a pull sees the owner and the score the push wrote, in the same world
        assert pulled["hubspot_owner_id"] == "51000005"
        assert pulled["leadflow_score"] == "91"
        assert [p.email for p in second.world.people] == world_before


def test_a_state_file_made_from_another_seed_is_regenerated_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = tmp_path / "sandbox.sqlite"
    with Sandbox(seed=1, leads=50, state_path=state, now=NOW) as first:
        emails_seed1 = [p.email for p in first.world.people]
    with (
        caplog.at_level(logging.INFO, logger="sandbox"),
        Sandbox(seed=2, leads=60, state_path=state, now=NOW) as second,
    ):
        people = list(second.world.people)
    assert len(people) == 60
    assert [p.email for p in people][:50] != emails_seed1
    assert any("regenerating" in r.getMessage() for r in caplog.records)


def test_concurrent_batches_create_each_contact_exactly_once(sb: Sandbox, hubspot: Client) -> None:
    # GIVEN eight clients pushing at once, each with its own leads and one lead they all share
    before = len(sb.hubspot_contacts())

    def push(worker: int) -> int:
        inputs = [
            {"idProperty": "leadflow_lead_id", "id": f"L-{worker}-{i}", "properties": {}}
            for i in range(10)
        ]
        inputs.append({"idProperty": "leadflow_lead_id", "id": "L-shared", "properties": {}})
        with Client(hubspot.base, {"Authorization": "Bearer tok-h"}) as client:
            return client.post(UPSERT, json={"inputs": inputs}).status_code

    # WHEN they all upsert concurrently
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(push, range(8)))
    # THEN every batch succeeded and no contact was created twice
    assert statuses == [200] * 8
    contacts = sb.hubspot_contacts()
    lead_ids = [c["properties"]["leadflow_lead_id"] for c in contacts]
    assert len(contacts) == before + 81
    assert lead_ids.count("L-shared") == 1
    assert len({c["id"] for c in contacts}) == len(contacts)
