"""HubSpot's propertiesWithHistory in the sandbox: lifecyclestage and dealstage versions, newest
first, on the list, the single read and the batch read, with HubSpot's limit of 50 objects a
request when history is asked for; every stage change made through the API is a new version."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox import Sandbox
from sandbox.hubspot_history import BATCH_LIMIT_MESSAGE
from tests.sandbox.sandbox_helpers import SEARCH, UPDATE, Client

CONTACTS = "/crm/v3/objects/contacts"
DEALS = "/crm/v3/objects/deals"
VERSION_KEYS = {"value", "timestamp", "sourceType", "sourceId", "sourceLabel", "updatedByUserId"}


def ids(hubspot: Client, path: str, count: int) -> list[str]:
    found: list[str] = []
    after = None
    while len(found) < count:
        params: dict[str, Any] = {"limit": 100, **({"after": after} if after else {})}
        body = hubspot.get(path, params=params).json()
        found += [r["id"] for r in body["results"]]
        after = body.get("paging", {}).get("next", {}).get("after")
        if after is None:
            break
    return found[:count]


@pytest.mark.parametrize(
    ("path", "prop"),
    [(CONTACTS, "lifecyclestage"), (DEALS, "dealstage")],
    ids=["contacts", "deals"],
)
def test_batch_read_serves_history_for_at_most_50_inputs(
    hubspot: Client, path: str, prop: str
) -> None:
    real = ids(hubspot, path, 51)
    # a small world has fewer deals: ids it does not hold fill the batch (errors of a 207)
    some = real + [str(90_000_000_000 + n) for n in range(51 - len(real))]
    body = {"properties": [prop], "propertiesWithHistory": [prop]}
    # WHEN 50 objects are read with history
    ok = hubspot.post(f"{path}/batch/read", json={**body, "inputs": [{"id": i} for i in some[:50]]})
    # THEN each carries its versions, newest first, in HubSpot's shape, the newest its current value
    assert ok.status_code in (200, 207), ok.text
    results = ok.json()["results"]
    assert len(results) == len(real[:50]) > 10
    for obj in results:
        versions = obj["propertiesWithHistory"][prop]
        assert versions and all(set(v) <= VERSION_KEYS and "sourceType" in v for v in versions)
        stamps = [v["timestamp"] for v in versions]
        assert stamps == sorted(stamps, reverse=True)
        assert versions[0]["value"] == obj["properties"][prop]
    # WHEN 51 are: HubSpot's 400 and its message; without history 51 are fine
    over = hubspot.post(f"{path}/batch/read", json={**body, "inputs": [{"id": i} for i in some]})
    assert over.status_code == 400
    assert over.json()["category"] == "VALIDATION_ERROR"
    assert over.json()["message"] == BATCH_LIMIT_MESSAGE
    plain = hubspot.post(
        f"{path}/batch/read", json={"properties": [prop], "inputs": [{"id": i} for i in some]}
    )
    assert plain.status_code in (200, 207)
    assert "propertiesWithHistory" not in plain.json()["results"][0]


@pytest.mark.parametrize(
    ("path", "prop"),
    [(CONTACTS, "lifecyclestage"), (DEALS, "dealstage")],
    ids=["contacts", "deals"],
)
def test_the_list_pages_50_with_history_and_the_single_read_agrees(
    hubspot: Client, path: str, prop: str
) -> None:
    page = hubspot.get(path, params={"limit": 50, "propertiesWithHistory": prop})
    assert page.status_code == 200, page.text
    first = page.json()["results"][0]
    assert prop in first["propertiesWithHistory"]
    one = hubspot.get(f"{path}/{first['id']}", params={"propertiesWithHistory": prop})
    assert one.status_code == 200
    assert one.json()["propertiesWithHistory"] == first["propertiesWithHistory"]
    # THEN a page over 50 with history is refused, and the same page without history is not
    over = hubspot.get(path, params={"limit": 51, "propertiesWithHistory": prop})
    assert over.status_code == 400 and over.json()["category"] == "VALIDATION_ERROR"
    assert hubspot.get(path, params={"limit": 51}).status_code == 200


def test_search_has_no_history(hubspot: Client) -> None:
    body = {
        "limit": 5,
        "properties": ["lifecyclestage"],
        "propertiesWithHistory": ["lifecyclestage"],
    }
    results = hubspot.post(SEARCH, json=body).json()["results"]
    assert results and all("propertiesWithHistory" not in r for r in results)


def test_the_generated_history_matches_the_stage_dates_and_has_regressions(sb: Sandbox) -> None:
    regressions = 0
    with Client(sb.urls["hubspot"], {"Authorization": "Bearer tok-h"}) as hubspot:
        for contact in sb.hubspot_contacts():
            props = contact["properties"]
            body = hubspot.get(
                f"{CONTACTS}/{contact['id']}", params={"propertiesWithHistory": "lifecyclestage"}
            ).json()
            versions = body["propertiesWithHistory"]["lifecyclestage"][::-1]  # oldest first
            for stage in ("lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity"):
                first = next((v["timestamp"] for v in versions if v["value"] == stage), None)
                assert first == props[f"hs_lifecyclestage_{stage}_date"], (contact["id"], stage)
            assert versions[-1]["value"] == props["lifecyclestage"]
            assert all(v["timestamp"] <= props["lastmodifieddate"] for v in versions)
            values = [v["value"] for v in versions]
            regressions += len(values) != len(set(values))
    assert regressions >= 2


def test_a_stage_changed_through_the_api_is_a_new_version(sb: Sandbox, hubspot: Client) -> None:
    contact = next(
        c for c in sb.hubspot_contacts() if c["properties"]["lifecyclestage"] == "opportunity"
    )
    path = f"{CONTACTS}/{contact['id']}"
    params = {"propertiesWithHistory": "lifecyclestage"}
    before = hubspot.get(path, params=params).json()["propertiesWithHistory"]["lifecyclestage"]
    # WHEN the contact goes back to lead, then an unrelated property changes
    moved = hubspot.post(
        UPDATE, json={"inputs": [{"id": contact["id"], "properties": {"lifecyclestage": "lead"}}]}
    )
    assert moved.status_code == 200
    hubspot.post(
        UPDATE, json={"inputs": [{"id": contact["id"], "properties": {"jobtitle": "CTO"}}]}
    )
    after = hubspot.get(path, params=params).json()["propertiesWithHistory"]["lifecyclestage"]
    # THEN one version more, the API's, on top of the history as it was
    assert after[1:] == before
    assert after[0]["value"] == "lead" and after[0]["sourceType"] == "INTEGRATION"
    assert after[0]["timestamp"] == moved.json()["results"][0]["properties"]["lastmodifieddate"]
