"""HubSpot stage histories: for the contacts (deals) a pull finds by lastmodifieddate, their
lifecyclestage (dealstage) versions from batch read with propertiesWithHistory, 50 ids a request,
against the sandbox portal."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests
from pydantic import SecretStr

from connectors import hubspot
from connectors.hubspot import client as hubspot_client
from connectors.hubspot import settings
from connectors.streams import PullWindow, parse_timestamp
from leadflow.config import HttpSettings, HubSpotSourceConfig
from sandbox import Sandbox
from tests.sandbox.sandbox_helpers import NOW

TOKEN = "history-hubspot-token"
FAST = HttpSettings(timeout_s=5, max_attempts=3, backoff_base_s=0.01, backoff_max_s=0.05)
START = datetime(2000, 1, 1)


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(seed=9, leads=400, tokens={"hubspot": TOKEN}, now=NOW) as sandbox:
        sandbox.set_rate_limit("hubspot", 0, 1)
        sandbox.set_rate_limit("hubspot_search", 0, 1)
        yield sandbox


def pull(sb: Sandbox, stream: str, since: datetime, page_size: int = 200) -> list[dict[str, Any]]:
    cfg = HubSpotSourceConfig(base_url=sb.urls["hubspot"], page_size=page_size, http=FAST)
    client = hubspot_client.make_client(sb.urls["hubspot"], SecretStr(TOKEN), FAST)
    window = PullWindow(since, timedelta(0))
    try:
        return [r for page in hubspot.pull(client, cfg, stream, window) for r in page.records]
    finally:
        client.close()


def batch_reads(sb: Sandbox, path: str) -> int:
    return sum(1 for _, method, p, _ in sb.request_log if method == "POST" and p == path)


def test_history_of_exactly_the_contacts_pulled_50_a_request(sb: Sandbox) -> None:
    contacts = pull(sb, "contacts", START)
    before = batch_reads(sb, settings.BATCH_READ_CONTACTS)
    # WHEN the history stream pulls from the same cursor, in pages of 120 contacts
    history = pull(sb, settings.CONTACT_LIFECYCLE_HISTORY, START, page_size=120)
    # THEN it holds one record per contact pulled, no other, each with its versions
    assert sorted(r["id"] for r in history) == sorted(str(c["id"]) for c in contacts)
    by_id = {str(c["id"]): c for c in contacts}
    for record in history:
        versions = record["propertiesWithHistory"]["lifecyclestage"]
        assert versions[0]["value"] == by_id[record["id"]]["properties"]["lifecyclestage"]
        # the cursor kept is the search's
        assert (
            record["properties"]["lastmodifieddate"]
            == (by_id[record["id"]]["properties"]["lastmodifieddate"])
        )
    # AND the batch reads never exceeded HubSpot's 50 (the sandbox answers 400 past it): two per
    # page of 120 would be too few, three per page is the floor
    pages = math.ceil(len(contacts) / 120)
    full, rest = divmod(len(contacts), 120)
    expected = full * 3 + math.ceil(rest / 50)
    assert batch_reads(sb, settings.BATCH_READ_CONTACTS) - before == expected
    assert pages > 1


def test_a_second_pull_reads_only_the_contacts_changed_since(sb: Sandbox) -> None:
    first = pull(sb, settings.CONTACT_LIFECYCLE_HISTORY, START)
    stamps = [parse_timestamp(r["properties"]["lastmodifieddate"]) for r in first]
    cursor = max(s for s in stamps if s is not None)
    # WHEN one contact moves from opportunity back to lead through the API
    opportunity = next(
        c for c in sb.hubspot_contacts() if c["properties"]["lifecyclestage"] == "opportunity"
    )
    sb.advance_clock(timedelta(minutes=5))
    moved = requests.post(
        f"{sb.urls['hubspot']}{settings.BATCH_UPDATE_CONTACTS}",
        json={"inputs": [{"id": opportunity["id"], "properties": {"lifecyclestage": "lead"}}]},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=10,
    )
    assert moved.status_code == 200
    before = batch_reads(sb, settings.BATCH_READ_CONTACTS)
    second = pull(sb, settings.CONTACT_LIFECYCLE_HISTORY, cursor + timedelta(milliseconds=1))
    # THEN only that contact is read again, with the move back as its newest version
    assert [r["id"] for r in second] == [opportunity["id"]]
    versions = second[0]["propertiesWithHistory"]["lifecyclestage"]
    assert [v["value"] for v in versions[:2]] == ["lead", "opportunity"]
    assert batch_reads(sb, settings.BATCH_READ_CONTACTS) - before == 1


def test_deal_stage_history_of_exactly_the_deals_pulled(sb: Sandbox) -> None:
    deals = pull(sb, "deals", START)
    history = pull(sb, settings.DEAL_STAGE_HISTORY, START)
    assert sorted(r["id"] for r in history) == sorted(str(d["id"]) for d in deals)
    stages = {str(d["id"]): d["properties"]["dealstage"] for d in deals}
    assert all(
        r["propertiesWithHistory"]["dealstage"][0]["value"] == stages[r["id"]] for r in history
    )


def test_switched_off_the_histories_are_not_pulled() -> None:
    on = HubSpotSourceConfig()
    off = HubSpotSourceConfig(stage_history=False)
    for stream in (settings.CONTACT_LIFECYCLE_HISTORY, settings.DEAL_STAGE_HISTORY):
        assert hubspot.partitions(on, stream) == [None]
        assert hubspot.partitions(off, stream) == []
    assert hubspot.partitions(off, "contacts") == [None, settings.ARCHIVED_PARTITION]
