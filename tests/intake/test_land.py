"""Inbox -> raw against the sandbox: fetched like the pull, landed once, nothing lost."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from connectors import source_module
from connectors.streams import PullWindow
from intake.inbox import Arrival, Inbox
from intake.land import fetchers, land_inbox
from leadflow.config import Settings, parse_settings
from leadflow.landing import land
from leadflow.warehouse import utcnow
from sandbox import Sandbox
from sandbox.world import META_FORMS, TYPEFORM_FORMS

TOKENS = {"hubspot": "land-hubspot-token", "meta": "land-meta-token", "typeform": "land-tf-token"}
FAST = {"timeout_s": 5, "max_attempts": 2, "backoff_base_s": 0.01, "backoff_max_s": 0.02}


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(seed=5, leads=60, tokens=TOKENS) as sandbox:
        for bucket in ("hubspot", "hubspot_search", "meta", "typeform"):
            sandbox.set_rate_limit(bucket, 0, 1)
        yield sandbox


@pytest.fixture
def settings(sb: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for vendor, token in TOKENS.items():
        monkeypatch.setenv(f"LAND_{vendor.upper()}_TOKEN", token)

    def source(vendor: str, **extra: Any) -> dict[str, Any]:
        url = sb.urls[vendor]
        return {"base_url": url, "access_token_env": f"LAND_{vendor.upper()}_TOKEN", "http": FAST}

    return parse_settings(
        {
            "sources": {
                "hubspot": source("hubspot"),
                "meta": {**source("meta"), "forms": [{"id": f.id} for f in META_FORMS]},
                "typeform": {**source("typeform"), "forms": [{"id": f.id} for f in TYPEFORM_FORMS]},
            }
        }
    )


def pull_all(settings: Settings, con: duckdb.DuckDBPyConnection, source: str, stream: str) -> int:
    """The hourly pull of one stream, from scratch; the raw versions it added."""
    module = source_module(source)
    config = settings.sources.enabled()[source]
    client = module.open_client(config)
    try:
        result = land(
            con,
            module.STREAMS[stream],
            lambda w, p: module.pull(client, config, stream, w, p),
            module.partitions(config, stream),
            lookback=timedelta(0),
            run_id="pull",
            as_of=utcnow() + timedelta(days=400),
        )
    finally:
        client.close()
    return result.new_versions


def first_records(settings: Settings, source: str, stream: str, n: int) -> list[tuple[str, str]]:
    """(partition, record id) of n records the source has, read through its API."""
    module = source_module(source)
    config = settings.sources.enabled()[source]
    client = module.open_client(config)
    found: list[tuple[str, str]] = []
    try:
        for partition in module.partitions(config, stream):
            for page in module.pull(
                client, config, stream, PullWindow(None, timedelta(0)), partition
            ):
                found += [(partition, module.STREAMS[stream].record_id(r)) for r in page.records]
                if len(found) >= n:
                    return found[:n]
    finally:
        client.close()
    return found


def raw_ids(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [r[0] for r in con.execute(f"select record_id from raw.{table} order by 1").fetchall()]


def test_announced_records_are_fetched_and_landed_as_the_pull_would_land_them(
    settings: Settings, con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    # GIVEN the inbox holds webhooks for 2 Meta leads, 2 Typeform responses and 1 HubSpot contact
    meta_leads = first_records(settings, "meta", "leads", 2)
    responses = first_records(settings, "typeform", "responses", 2)
    contact = first_records(settings, "hubspot", "contacts", 1)[0][1]
    arrivals = [Arrival("meta", i, "leads", partition=f, record_ref=i) for f, i in meta_leads]
    arrivals += [
        Arrival("typeform", t, "responses", partition=f, record_ref=t) for f, t in responses
    ]
    arrivals += [Arrival("hubspot", "ev-1", "contacts", record_ref=contact)]
    arrivals += [Arrival("hubspot", "ev-2", "contacts", record_ref=contact)]  # a second event
    with Inbox(tmp_path / "inbox.sqlite") as inbox:
        inbox.store(arrivals)
        # WHEN the inbox is landed
        result = land_inbox(inbox, con, fetchers(settings), run_id="intake")
        # THEN every entry is in raw, once per record, and the inbox says so
        assert (result.landed, result.new_versions, result.failed) == (6, 5, 0)
        assert inbox.counts() == {"landed": 6}
        assert inbox.pending() == []
    assert raw_ids(con, "meta__leads") == sorted(i for _, i in meta_leads)
    assert raw_ids(con, "typeform__responses") == sorted(t for _, t in responses)
    assert raw_ids(con, "hubspot__contacts") == [contact]
    # AND the hourly pull of the same streams adds no second version of any of them
    for source, stream, table in (
        ("meta", "leads", "meta__leads"),
        ("typeform", "responses", "typeform__responses"),
        ("hubspot", "contacts", "hubspot__contacts"),
    ):
        pull_all(settings, con, source, stream)
        versions = con.execute(
            f"select record_id, count(*) from raw.{table} group by 1 having count(*) > 1"
        ).fetchall()
        assert versions == [], f"{table}: a webhook's record landed twice"


def test_a_record_the_source_does_not_have_is_marked_gone_with_the_reason(
    settings: Settings, con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    with Inbox(tmp_path / "inbox.sqlite") as inbox:
        inbox.store(
            [
                Arrival("meta", "9999999999", "leads", partition="1", record_ref="9999999999"),
                Arrival("hubspot", "ev-9", "contacts", record_ref="987654321"),
                Arrival(
                    "typeform",
                    "nope",
                    "responses",
                    partition=TYPEFORM_FORMS[0].id,
                    record_ref="nope",
                ),
            ]
        )
        result = land_inbox(inbox, con, fetchers(settings), run_id="intake")
        assert (result.landed, result.gone) == (0, 3)
        assert inbox.counts() == {"gone": 3}


def test_a_contact_merged_away_after_its_event_lands_as_the_contact_it_became(
    sb: Sandbox, settings: Settings, con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    # GIVEN an event for a contact, which a rep then merges with another before the inbox lands
    # (HubSpot makes a new contact; the batch read no longer knows the old id)
    (_, first), (_, second) = first_records(settings, "hubspot", "contacts", 2)
    became = sb.hubspot_merge(first, second)
    with Inbox(tmp_path / "inbox.sqlite") as inbox:
        inbox.store([Arrival("hubspot", "ev-m", "contacts", record_ref=first)])
        # WHEN the inbox is landed
        result = land_inbox(inbox, con, fetchers(settings), run_id="intake")
        # THEN the merged contact is landed, not marked gone
        assert (result.landed, result.gone) == (1, 0)
    assert raw_ids(con, "hubspot__contacts") == [became]


def test_a_source_that_cannot_be_reached_keeps_its_entries_pending_for_the_next_run(
    sb: Sandbox, settings: Settings, con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    meta_lead = first_records(settings, "meta", "leads", 1)[0]
    form = {
        "form_id": "contact-us",
        "submission_id": "s-77",
        "fields": {"email": "x@y.example"},
        "_received_at": "2026-05-04T09:30:00Z",
    }
    with Inbox(tmp_path / "inbox.sqlite") as inbox:
        inbox.store(
            [
                Arrival(
                    "meta", meta_lead[1], "leads", partition=meta_lead[0], record_ref=meta_lead[1]
                ),
                Arrival("webform", "s-77", "submissions", partition="contact-us", payload=form),
            ]
        )
        # WHEN Meta answers 503 to every try of this run (the client tries twice)
        sb.inject_faults("meta", 503, FAST["max_attempts"])
        first = land_inbox(inbox, con, fetchers(settings), run_id="intake-1")
        # THEN the form (sent whole) landed, the Meta lead waits with the error
        assert (first.landed, first.failed) == (1, 1)
        (waiting,) = inbox.pending()
        assert waiting.source == "meta" and waiting.attempts == 1
        # AND the next run lands it
        second = land_inbox(inbox, con, fetchers(settings), run_id="intake-2")
        assert (second.landed, second.failed) == (1, 0)
        assert inbox.counts() == {"landed": 2}
    assert raw_ids(con, "meta__leads") == [meta_lead[1]]
    assert raw_ids(con, "webform__submissions") == ["s-77"]


def test_webhooks_for_a_source_without_a_pull_config_wait_with_a_clear_error(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    with Inbox(tmp_path / "inbox.sqlite") as inbox:
        inbox.store([Arrival("hubspot", "ev-1", "contacts", record_ref="123")])
        result = land_inbox(inbox, con, fetchers(parse_settings({})), run_id="intake")
        assert result.failed == 1
        assert result.errors == [
            "sources.hubspot is not configured: its webhooks' records cannot be fetched"
        ]
        assert inbox.counts() == {"pending": 1}


def test_every_pending_entry_is_landed_page_by_page_past_the_ones_that_wait(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    # GIVEN a HubSpot event that cannot be fetched (no pull config) stored first, then 7 forms
    def form(i: int) -> Arrival:
        body = {"form_id": "f", "submission_id": f"s-{i}", "fields": {"email": f"p{i}@x.example"}}
        return Arrival("webform", f"s-{i}", "submissions", "f", payload=body)

    with Inbox(tmp_path / "inbox.sqlite") as inbox:
        inbox.store([Arrival("hubspot", "ev-1", "contacts", record_ref="123")])
        inbox.store([form(i) for i in range(7)])
        # WHEN landed 3 entries a page
        result = land_inbox(inbox, con, fetchers(parse_settings({})), run_id="r", page_size=3)
        # THEN all 7 forms landed, the event still waits (tried once)
        assert (result.landed, result.failed) == (7, 1)
        (waiting,) = inbox.pending()
        assert (waiting.source, waiting.attempts) == ("hubspot", 1)
    assert len(raw_ids(con, "webform__submissions")) == 7
