"""HubSpot contacts: merges read from hs_merged_object_ids, and the recycle bin read as the contacts
stream's `archived` partition (every page of GET ?archived=true, yielded by archivedAt)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import SecretStr

from connectors import hubspot
from connectors.hubspot import client as hubspot_client
from connectors.hubspot import models, settings
from connectors.streams import Page, PullWindow, parse_timestamp
from leadflow.config import HttpSettings, HubSpotSourceConfig
from sandbox import Sandbox
from tests.connectors.conftest import Canned, ScriptedServer
from tests.sandbox.sandbox_helpers import NOW

TOKEN = "contacts-hubspot-token"
FAST = HttpSettings(timeout_s=5, max_attempts=3, backoff_base_s=0.01, backoff_max_s=0.05)
ARCHIVED = settings.ARCHIVED_PARTITION


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(seed=5, leads=120, tokens={"hubspot": TOKEN}, now=NOW) as sandbox:
        sandbox.set_rate_limit("hubspot", 0, 1)
        sandbox.set_rate_limit("hubspot_search", 0, 1)
        yield sandbox


def pull(
    base_url: str, partition: str | None, since: datetime | None, page_size: int = 200
) -> list[Page]:
    cfg = HubSpotSourceConfig(base_url=base_url, page_size=page_size, http=FAST)
    client = hubspot_client.make_client(base_url, SecretStr(TOKEN), FAST)
    client.limiters = {}
    window = PullWindow(since or datetime(2000, 1, 1), timedelta(0))
    return list(hubspot.pull(client, cfg, "contacts", window, partition))


def archived_at(record: dict[str, Any]) -> datetime:
    stamp = parse_timestamp(record["archivedAt"])
    assert stamp is not None
    return stamp


# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("11;22", ("11", "22"), id="two-ids"),
        pytest.param(" 11 ;;22;11", ("11", "22"), id="blanks-and-repeats"),
        pytest.param("11;99", ("11",), id="never-its-own-id"),
        pytest.param("", (), id="empty"),
        pytest.param(None, (), id="null"),
    ],
)
def test_merged_ids_are_read_from_hs_merged_object_ids(
    value: str | None, expected: tuple[str, ...]
) -> None:
    payload = {"id": "99", "properties": {"hs_merged_object_ids": value}, "archived": False}
    assert models.merged_ids(payload) == expected
    assert hubspot.parse_contact(payload).crm_merged_ids == expected


@pytest.mark.parametrize(
    ("payload", "deleted", "cursor"),
    [
        pytest.param(
            {"archived": False, "properties": {"lastmodifieddate": "2026-05-01T10:00:00.000Z"}},
            False,
            "2026-05-01T10:00:00",
            id="live",
        ),
        pytest.param(
            {
                "archived": True,
                "archivedAt": "2026-05-02T08:00:00.000Z",
                "properties": {"lastmodifieddate": "2026-05-01T10:00:00.000Z"},
            },
            True,
            "2026-05-02T08:00:00",
            id="archived-later-than-modified",
        ),
        pytest.param(
            {"archived": True, "properties": {"lastmodifieddate": "2026-05-01T10:00:00.000Z"}},
            True,
            "2026-05-01T10:00:00",
            id="archived-without-a-time",
        ),
        pytest.param(
            {"archived": "garbage", "properties": {"lastmodifieddate": "2026-05-01T10:00:00Z"}},
            False,
            "2026-05-01T10:00:00",
            id="unreadable-flag-is-live",
        ),
    ],
)
def test_an_archived_contact_is_deleted_at_the_source_and_dated_by_its_archiving(
    payload: dict[str, Any], deleted: bool, cursor: str
) -> None:
    contact = {"id": "5", **payload}
    assert hubspot.parse_contact(contact).deleted_at_source is deleted
    assert models.contact_cursor(contact) == datetime.fromisoformat(cursor)


def test_the_contacts_stream_is_pulled_live_then_archived_under_two_cursors() -> None:
    cfg = HubSpotSourceConfig(base_url="http://unused")
    assert hubspot.partitions(cfg, "contacts") == [None, ARCHIVED]
    assert hubspot.partitions(cfg, "deals") == [None]
    assert "hs_merged_object_ids" in settings.CONTACT_PROPERTIES


# --------------------------------------------------------------------------- against the sandbox


def test_a_merged_contact_is_pulled_with_the_ids_it_was_made_of(sb: Sandbox) -> None:
    a, b = (c["id"] for c in sb.hubspot_contacts()[:2])
    since = datetime.fromtimestamp(sb.clock.now_ms() / 1000, UTC).replace(tzinfo=None)
    sb.advance_clock(timedelta(minutes=1))
    merged = sb.hubspot_merge(a, b)
    [page] = pull(sb.urls["hubspot"], None, since)
    [record] = [r for r in page.records if r["id"] == merged]
    assert hubspot.parse_contact(record).crm_merged_ids == tuple(sorted((a, b), key=int))
    assert {r["id"] for r in page.records} & {a, b} == set()


def test_the_archived_pass_reads_every_page_and_yields_by_archiving_time(sb: Sandbox) -> None:
    # GIVEN seven contacts archived a minute apart, in an order that is not their id order
    ids = [c["id"] for c in sb.hubspot_contacts()[:7]]
    order = [ids[i] for i in (3, 0, 6, 1, 5, 2, 4)]
    for contact_id in order:
        sb.advance_clock(timedelta(minutes=1))
        sb.hubspot_archive(contact_id)
    sb.clear_request_log()
    # WHEN the archived partition is pulled three at a time
    pages = pull(sb.urls["hubspot"], ARCHIVED, None, page_size=3)
    # THEN every archived contact came once, oldest archive first, in pages of at most three
    records = [r for p in pages for r in p.records]
    assert [r["id"] for r in records] == order
    assert [len(p.records) for p in pages] == [3, 3, 1]
    assert [p.last for p in pages] == [False, False, True]
    # AND each carries the properties a live contact does, archived and since when
    assert all(r["archived"] is True and r["archivedAt"] for r in records)
    assert set(settings.CONTACT_PROPERTIES) <= set(records[0]["properties"])
    # AND the bin was paged with HubSpot's `after` (three list requests, no search)
    assert [(m, p) for _, m, p, _ in sb.request_log] == [("GET", settings.CONTACTS)] * 3


def test_the_archived_pass_from_a_cursor_reads_only_what_was_archived_since(
    sb: Sandbox,
) -> None:
    ids = [c["id"] for c in sb.hubspot_contacts()[:4]]
    for contact_id in ids:
        sb.advance_clock(timedelta(minutes=10))
        sb.hubspot_archive(contact_id)
    records = [r for p in pull(sb.urls["hubspot"], ARCHIVED, None) for r in p.records]
    third = archived_at(records[2])
    # WHEN pulled from the third archiving, and from 15 minutes before it (a lookback)
    later = [r["id"] for p in pull(sb.urls["hubspot"], ARCHIVED, third) for r in p.records]
    window = PullWindow(third, timedelta(minutes=15)).since
    looked_back = [r["id"] for p in pull(sb.urls["hubspot"], ARCHIVED, window) for r in p.records]
    # THEN the first holds the contacts archived at or after it, the second one more
    assert later == ids[2:]
    assert looked_back == ids[1:]


def test_an_empty_recycle_bin_is_one_empty_last_page(sb: Sandbox) -> None:
    assert [(p.records, p.last) for p in pull(sb.urls["hubspot"], ARCHIVED, None)] == [([], True)]


def test_the_archived_list_is_asked_for_as_hubspot_documents_it(scripted: ScriptedServer) -> None:
    # GIVEN a bin of two pages, the second contact archived before the first
    first = {"id": "7", "archived": True, "archivedAt": "2026-05-01T10:00:00.000Z"}
    second = {"id": "9", "archived": True, "archivedAt": "2026-05-01T09:00:00.000Z"}
    scripted.script = [
        Canned(200, {"results": [first], "paging": {"next": {"after": "7"}}}),
        Canned(200, {"results": [second]}),
    ]
    # WHEN the archived partition is pulled with the largest page size the config allows
    pages = pull(scripted.url, ARCHIVED, None, page_size=200)
    # THEN both pages were asked for: archived, at most 100 a page, the properties named once,
    # the second page `after` the first's cursor; and the contacts come by archiving time
    queries = [parse_qs(urlsplit(seen.path).query) for seen in scripted.seen]
    assert [urlsplit(seen.path).path for seen in scripted.seen] == [settings.CONTACTS] * 2
    assert all(q["archived"] == ["true"] and q["limit"] == ["100"] for q in queries)
    assert queries[0]["properties"] == [",".join(settings.CONTACT_PROPERTIES)]
    assert "after" not in queries[0] and queries[1]["after"] == ["7"]
    assert [r["id"] for p in pages for r in p.records] == ["9", "7"]
