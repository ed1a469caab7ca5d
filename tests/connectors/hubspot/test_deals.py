"""HubSpot deals: the keyset search on hs_lastmodifieddate and each deal's contacts (v4 batch read)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr

from connectors import hubspot
from connectors.hubspot import client as hubspot_client
from connectors.hubspot import settings
from connectors.streams import PullWindow, parse_timestamp
from leadflow.config import HttpSettings, HubSpotSourceConfig
from sandbox import Sandbox
from tests.connectors.conftest import Canned, ScriptedServer

TOKEN = "deals-hubspot-token"
FAST = HttpSettings(timeout_s=5, max_attempts=3, backoff_base_s=0.01, backoff_max_s=0.05)


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(seed=5, leads=300, tokens={"hubspot": TOKEN}) as sandbox:
        sandbox.set_rate_limit("hubspot", 0, 1)
        sandbox.set_rate_limit("hubspot_search", 0, 1)
        yield sandbox


def config(base_url: str, page_size: int = 200) -> HubSpotSourceConfig:
    return HubSpotSourceConfig(base_url=base_url, page_size=page_size, http=FAST)


def pull_deals(base_url: str, since: datetime | None, page_size: int = 200) -> list[dict[str, Any]]:
    cfg = config(base_url, page_size)
    client = hubspot_client.make_client(base_url, SecretStr(TOKEN), FAST)
    client.limiters = {}
    window = PullWindow(since or datetime(2000, 1, 1), timedelta(0))
    return [r for page in hubspot.pull(client, cfg, "deals", window) for r in page.records]


def modified(deal: dict[str, Any]) -> datetime:
    stamp = parse_timestamp(deal["properties"]["hs_lastmodifieddate"])
    assert stamp is not None
    return stamp


def test_every_deal_once_with_its_contact_across_small_pages(sb: Sandbox) -> None:
    # GIVEN pages of 4 deals and a search cap of 10, below the number of deals
    sb.knobs.hubspot_search_cap = 10
    try:
        deals = pull_deals(sb.urls["hubspot"], None, page_size=4)
    finally:
        sb.knobs.hubspot_search_cap = 10_000
    # THEN each deal came once (the keyset never pages into the cap), with the properties asked for
    ids = [str(d["id"]) for d in deals]
    assert len(ids) == len(set(ids)) > 10
    props = deals[0]["properties"]
    assert set(settings.DEAL_PROPERTIES) <= set(props)
    # AND each carries its contact, a contact the CRM holds
    contacts = {c["id"] for c in sb.hubspot_contacts()}
    for deal in deals:
        links = deal["associations"]["contacts"]
        assert len(links) == 1 and str(links[0]["toObjectId"]) in contacts


def test_a_pull_from_a_cursor_reads_only_later_changes(sb: Sandbox) -> None:
    everything = pull_deals(sb.urls["hubspot"], None)
    middle = sorted(modified(d) for d in everything)[len(everything) // 2]
    later = pull_deals(sb.urls["hubspot"], middle)
    assert sorted(str(d["id"]) for d in later) == sorted(
        str(d["id"]) for d in everything if modified(d) >= middle
    )
    assert 0 < len(later) < len(everything)


def test_searches_ask_for_the_deal_cursor_ascending(scripted: ScriptedServer) -> None:
    # GIVEN one page of two deals; the first has two contacts, the second none (207)
    deal = {"id": "7", "properties": {"hs_lastmodifieddate": "2026-05-02T10:00:00.000Z"}}
    other = {"id": "8", "properties": {"hs_lastmodifieddate": "2026-05-02T11:00:00.000Z"}}
    to = [
        {"toObjectId": 11, "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": 3}]},
        {"toObjectId": 12, "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": 3}]},
    ]
    scripted.script = [
        Canned(200, {"total": 2, "results": [deal, other]}),
        Canned(
            207,
            {
                "status": "COMPLETE",
                "results": [{"from": {"id": "7"}, "to": to}],
                "numErrors": 1,
                "errors": [{"category": "OBJECT_NOT_FOUND", "context": {"fromObjectId": ["8"]}}],
            },
        ),
    ]
    deals = pull_deals(scripted.url, datetime(2026, 5, 1))
    # THEN the search filtered and sorted on hs_lastmodifieddate, then asked for both deals' contacts
    search, links = scripted.seen
    assert search.path == settings.SEARCH_DEALS
    assert search.body["sorts"] == [
        {"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}
    ]
    (flt,) = search.body["filterGroups"][0]["filters"]
    assert (flt["propertyName"], flt["operator"]) == ("hs_lastmodifieddate", "GTE")
    assert links.path == settings.DEAL_CONTACTS_BATCH_READ
    assert links.body == {"inputs": [{"id": "7"}, {"id": "8"}]}
    # AND the raw payloads keep the `to` lists: two contacts, and none
    assert [d["associations"] for d in deals] == [{"contacts": to}, {"contacts": []}]


def test_association_pages_and_the_1000_input_limit_are_followed(
    scripted: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a batch limit of 2 and a deal whose contacts come in two pages
    monkeypatch.setattr(settings, "ASSOCIATIONS_MAX_INPUTS", 2)
    first = {"toObjectId": 1, "associationTypes": []}
    second = {"toObjectId": 2, "associationTypes": []}
    scripted.script = [
        Canned(
            200,
            {
                "results": [
                    {"from": {"id": "a"}, "to": [first], "paging": {"next": {"after": "p2"}}},
                    {"from": {"id": "b"}, "to": []},
                ]
            },
        ),
        Canned(
            200,
            {
                "results": [
                    {"from": {"id": "c"}, "to": [first]},
                    {"from": {"id": "a"}, "to": [second]},
                ]
            },
        ),
    ]
    client = hubspot_client.make_client(scripted.url, SecretStr(TOKEN), FAST)
    found = hubspot_client.deal_contacts(client, ["a", "b", "c"])
    # THEN batches of at most 2; deal a's next page is asked for by its token in the next one
    assert [s.body["inputs"] for s in scripted.seen] == [
        [{"id": "a"}, {"id": "b"}],
        [{"id": "c"}, {"id": "a", "after": "p2"}],
    ]
    assert found == {"a": [first, second], "b": [], "c": [first]}
