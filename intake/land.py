"""Inbox -> raw: what `leadflow serve` accepted, landed in the raw tables a pull would fill.

Sources that announce a record by id (Meta's leadgen_id, Typeform's response token, HubSpot's
contact id) are fetched from the source's API with the pull's own fields, so the landed payload is
the one the next pull reads (same hash: no second version). Sources that send the lead itself
(Google Ads lead forms, the signed form POST) land the stored payload.

Raw and the inbox are two files, so landing is at-least-once and idempotent: rows commit to raw
first, then the inbox marks them landed; a crash between lands nothing new the next time (raw is
keyed by record and payload hash). A source that cannot be reached leaves its entries pending, with
the error, for the next run; a record the source says does not exist is marked `gone` with why.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import duckdb

from connectors import stream_of
from connectors.http import ApiClient, ConnectorError
from intake.inbox import Entry, Inbox
from leadflow.config import Settings
from leadflow.landing import land_records

log = logging.getLogger("leadflow.intake")

Payloads = dict[int, dict[str, Any]]  # entry id -> the record to land
# (entries, open client) -> (records fetched, entries the source says are gone)
Fetch = Callable[[list[Entry], ApiClient], tuple[Payloads, list[int]]]


@dataclass
class IntakeLandResult:
    landed: int = 0  # inbox entries now in raw
    new_versions: int = 0  # raw rows added (an entry the pull already landed adds none)
    gone: int = 0
    failed: int = 0  # still pending: the source could not be reached
    by_source: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    def as_summary(self) -> dict[str, Any]:
        return {
            "intake_landed": self.landed,
            "intake_landed_by_source": dict(self.by_source),
            "intake_gone": self.gone,
            "intake_pending_failed": self.failed,
        }


def _fetch_meta(api_version: str) -> Fetch:
    def fetch(entries: list[Entry], client: ApiClient) -> tuple[Payloads, list[int]]:
        from connectors.meta.client import get_lead

        found: Payloads = {}
        gone: list[int] = []
        for entry in entries:
            lead = get_lead(client, api_version, str(entry.record_ref))
            if lead is None:
                gone.append(entry.entry_id)
            else:
                found[entry.entry_id] = lead
        return found, gone

    return fetch


def _fetch_typeform(entries: list[Entry], client: ApiClient) -> tuple[Payloads, list[int]]:
    from connectors.typeform.client import get_response

    found: Payloads = {}
    gone: list[int] = []
    for entry in entries:
        item = (
            get_response(client, entry.partition, str(entry.record_ref))
            if entry.partition
            else None
        )
        if item is None:
            gone.append(entry.entry_id)
        else:
            found[entry.entry_id] = item
    return found, gone


def _fetch_hubspot(entries: list[Entry], client: ApiClient) -> tuple[Payloads, list[int]]:
    from connectors.hubspot import settings as hubspot_settings
    from connectors.hubspot.client import read_contact, read_contacts

    ids = sorted({str(entry.record_ref) for entry in entries})
    contacts, missing = read_contacts(client, ids, hubspot_settings.CONTACT_PROPERTIES)
    by_id = {str(contact.get("id")): contact for contact in contacts}
    # A batch read does not follow merges: an id merged away since its event was sent is asked
    # for alone, and HubSpot answers with the contact it was merged into (a new id)
    really_gone = set()
    for old_id in missing:
        became = read_contact(client, old_id, hubspot_settings.CONTACT_PROPERTIES)
        if became is None:
            really_gone.add(old_id)
        else:
            by_id[old_id] = became
    found = {e.entry_id: by_id[str(e.record_ref)] for e in entries if str(e.record_ref) in by_id}
    gone = [e.entry_id for e in entries if str(e.record_ref) in really_gone]
    return found, gone


def fetchers(settings: Settings) -> dict[str, tuple[Fetch, Callable[[], ApiClient]]]:
    """For each source announced by id: how to fetch its records, and how to open its client
    (the pull's connector config: its base URL and token)."""
    from connectors import source_module

    by_source: dict[str, Fetch] = {"typeform": _fetch_typeform, "hubspot": _fetch_hubspot}
    if settings.sources.meta is not None:
        by_source["meta"] = _fetch_meta(settings.sources.meta.api_version)
    found: dict[str, tuple[Fetch, Callable[[], ApiClient]]] = {}
    for source, config in settings.sources.enabled().items():
        if source in by_source:

            def opener(source: str = source, config: Any = config) -> ApiClient:
                client: ApiClient = source_module(source).open_client(config)
                return client

            found[source] = (by_source[source], opener)
    return found


def land_inbox(
    inbox: Inbox,
    con: duckdb.DuckDBPyConnection,
    fetch_by_source: dict[str, tuple[Fetch, Callable[[], ApiClient]]],
    *,
    run_id: str,
    page_size: int = 5_000,
) -> IntakeLandResult:
    """Land every pending entry, oldest first, `page_size` at a time (memory stays bounded)."""
    result = IntakeLandResult()
    after = 0
    while page := inbox.pending(page_size, after=after):
        after = page[-1].entry_id
        _land_page(page, inbox, con, fetch_by_source, run_id, result)
    if result.landed or result.gone or result.failed:
        log.info(
            "intake: %d landed (%d new raw versions), %d gone, %d still pending",
            result.landed,
            result.new_versions,
            result.gone,
            result.failed,
        )
    return result


def _land_page(
    page: list[Entry],
    inbox: Inbox,
    con: duckdb.DuckDBPyConnection,
    fetch_by_source: dict[str, tuple[Fetch, Callable[[], ApiClient]]],
    run_id: str,
    result: IntakeLandResult,
) -> None:
    by_source: dict[str, list[Entry]] = defaultdict(list)
    for entry in page:
        by_source[entry.source].append(entry)
    for source, entries in by_source.items():
        if entries[0].record_ref is not None and entries[0].payload is None:
            fetched = _fetched(source, entries, fetch_by_source, inbox, result)
            if fetched is None:
                continue
            payloads, gone = fetched
            unanswered = [
                e.entry_id for e in entries if e.entry_id not in payloads and e.entry_id not in gone
            ]
            if unanswered:
                inbox.mark_failed(unanswered, f"{source} did not answer for these records")
                result.failed += len(unanswered)
        else:
            payloads = {e.entry_id: e.payload for e in entries if e.payload is not None}
            gone = []
        if gone:
            inbox.mark_gone(gone, f"{source} has no such record (deleted, or not visible)")
            result.gone += len(gone)
        groups: dict[tuple[str, str | None], list[Entry]] = defaultdict(list)
        for entry in entries:
            if entry.entry_id in payloads:
                groups[(entry.stream, entry.partition)].append(entry)
        for (stream, partition), group in groups.items():
            result.new_versions += land_records(
                con,
                stream_of(source, stream),
                [payloads[e.entry_id] for e in group],
                partition,
                run_id=run_id,
            )
            inbox.mark_landed([e.entry_id for e in group])
            result.landed += len(group)
            result.by_source[source] += len(group)


def _fetched(
    source: str,
    entries: list[Entry],
    fetch_by_source: dict[str, tuple[Fetch, Callable[[], ApiClient]]],
    inbox: Inbox,
    result: IntakeLandResult,
) -> tuple[Payloads, list[int]] | None:
    """The source's answer for these entries, or None when it could not be asked (recorded)."""
    ids = [entry.entry_id for entry in entries]
    if source not in fetch_by_source:
        error = f"sources.{source} is not configured: its webhooks' records cannot be fetched"
        inbox.mark_failed(ids, error)
        result.failed += len(ids)
        result.errors.append(error)
        return None
    fetch, open_client = fetch_by_source[source]
    client = open_client()
    try:
        return fetch(entries, client)
    except ConnectorError as exc:  # the message is safe to log (connectors/http.py)
        inbox.mark_failed(ids, str(exc)[:500])
        result.failed += len(ids)
        result.errors.append(str(exc)[:500])
        return None
    finally:
        client.close()
