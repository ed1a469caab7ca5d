"""HubSpot companies: the keyset search on hs_lastmodifieddate, landed into raw.hubspot__companies."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import duckdb
import pytest
from pydantic import SecretStr

from connectors import hubspot
from connectors.hubspot import client as hubspot_client
from connectors.hubspot import settings
from connectors.streams import PullWindow, parse_timestamp
from leadflow.config import HttpSettings, HubSpotSourceConfig
from leadflow.landing import land
from sandbox import Sandbox
from tests.connectors.conftest import Canned, ScriptedServer

TOKEN = "companies-hubspot-token"
FAST = HttpSettings(timeout_s=5, max_attempts=3, backoff_base_s=0.01, backoff_max_s=0.05)


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(seed=5, leads=300, tokens={"hubspot": TOKEN}) as sandbox:
        sandbox.set_rate_limit("hubspot", 0, 1)
        sandbox.set_rate_limit("hubspot_search", 0, 1)
        yield sandbox


def config(base_url: str, page_size: int = 200) -> HubSpotSourceConfig:
    return HubSpotSourceConfig(base_url=base_url, page_size=page_size, http=FAST)


def pages(base_url: str, window: PullWindow, page_size: int = 200) -> Iterator[Any]:
    client = hubspot_client.make_client(base_url, SecretStr(TOKEN), FAST)
    client.limiters = {}
    return hubspot.pull(client, config(base_url, page_size), "companies", window)


def pull_companies(
    base_url: str, since: datetime | None, page_size: int = 200
) -> list[dict[str, Any]]:
    window = PullWindow(since or datetime(2000, 1, 1), timedelta(0))
    return [r for page in pages(base_url, window, page_size) for r in page.records]


def modified(company: dict[str, Any]) -> datetime:
    stamp = parse_timestamp(company["properties"]["hs_lastmodifieddate"])
    assert stamp is not None
    return stamp


def test_every_company_once_across_small_pages_past_the_search_cap(sb: Sandbox) -> None:
    # GIVEN pages of 3 companies and a search cap of 10, below the number of companies
    truth = sb.company_truth()
    sb.knobs.hubspot_search_cap = 10
    try:
        companies = pull_companies(sb.urls["hubspot"], None, page_size=3)
    finally:
        sb.knobs.hubspot_search_cap = 10_000
    # THEN each company came once (the keyset never pages into the cap), all of them
    ids = [str(c["id"]) for c in companies]
    assert len(ids) == len(set(ids)) == len(truth) > 10
    # AND with every property the matcher reads, oldest change first
    assert set(settings.COMPANY_PROPERTIES) <= set(companies[0]["properties"])
    assert [modified(c) for c in companies] == sorted(modified(c) for c in companies)


def test_a_pull_from_a_cursor_reads_only_later_changes(sb: Sandbox) -> None:
    everything = pull_companies(sb.urls["hubspot"], None)
    middle = sorted(modified(c) for c in everything)[len(everything) // 2]
    later = pull_companies(sb.urls["hubspot"], middle)
    assert sorted(str(c["id"]) for c in later) == sorted(
        str(c["id"]) for c in everything if modified(c) >= middle
    )
    assert 0 < len(later) < len(everything)


def test_companies_land_in_raw_with_their_cursor(
    sb: Sandbox, con: duckdb.DuckDBPyConnection
) -> None:
    # GIVEN the companies stream landed twice, the second time from the cursor the first saved
    stream = hubspot.STREAMS["companies"]
    url = sb.urls["hubspot"]
    first = land(
        con,
        stream,
        lambda window, _partition: pages(url, window, 50),
        [None],
        lookback=timedelta(minutes=10),
        run_id="r1",
        as_of=datetime(2030, 1, 1),
    )
    second = land(
        con,
        stream,
        lambda window, _partition: pages(url, window, 50),
        [None],
        lookback=timedelta(minutes=10),
        run_id="r2",
        as_of=datetime(2030, 1, 1),
    )
    # THEN raw holds each company once, keyed by its id, and the cursor is the newest change
    rows = con.execute(
        "select record_id, record_updated_at from raw.hubspot__companies order by record_id"
    ).fetchall()
    assert len(rows) == len(sb.company_truth()) == first.new_versions
    assert second.new_versions == 0 and 0 < second.pulled < first.pulled  # the lookback re-read
    newest = max(updated for _, updated in rows)
    assert first.cursors == {"companies": newest.isoformat()}


def test_the_search_asks_for_the_company_cursor_ascending(scripted: ScriptedServer) -> None:
    # GIVEN one page of one company
    company = {"id": "7", "properties": {"hs_lastmodifieddate": "2026-05-02T10:00:00.000Z"}}
    scripted.script = [Canned(200, {"total": 1, "results": [company]})]
    companies = pull_companies(scripted.url, datetime(2026, 5, 1))
    # THEN the search filtered and sorted on hs_lastmodifieddate and named the properties
    (search,) = scripted.seen
    assert search.path == settings.SEARCH_COMPANIES
    assert search.body["sorts"] == [
        {"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}
    ]
    (flt,) = search.body["filterGroups"][0]["filters"]
    assert (flt["propertyName"], flt["operator"], flt["value"]) == (
        "hs_lastmodifieddate",
        "GTE",
        "1777593600000",
    )
    assert search.body["properties"] == list(settings.COMPANY_PROPERTIES)
    assert companies == [company]
    stream = hubspot.STREAMS["companies"]
    assert stream.record_id(company) == "7"
    assert stream.record_cursor(company) == datetime(2026, 5, 2, 10)
