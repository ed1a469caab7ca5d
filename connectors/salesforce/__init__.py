"""Salesforce: pull Leads, Contacts, Opportunities, their stage history and Users incrementally
(deletes and merges included), and push scores and owners back (reverse ETL).

Public API: `STREAMS`, `open_client`, `partitions`, `pull`, `parse_lead`, `parse_contact`,
`is_deleted`, `merged_into`, `update_records`, `upsert_records`, `missing_custom_fields`,
`RequestLimitExceeded`, `WriteOutcome`.
"""

from __future__ import annotations

from collections.abc import Iterator

from connectors.http import ApiClient
from connectors.salesforce import client as salesforce_client
from connectors.salesforce import models, settings
from connectors.salesforce.client import (
    RequestLimitExceeded,
    missing_custom_fields,
    update_records,
    upsert_records,
)
from connectors.salesforce.models import (
    WriteOutcome,
    is_deleted,
    merged_into,
    parse_contact,
    parse_lead,
)
from connectors.streams import Page, PullWindow, Stream
from leadflow.config import SalesforceDestinationConfig, SalesforceSourceConfig

__all__ = [
    "STREAMS",
    "RequestLimitExceeded",
    "WriteOutcome",
    "is_deleted",
    "merged_into",
    "missing_custom_fields",
    "open_client",
    "parse_contact",
    "parse_lead",
    "partitions",
    "pull",
    "update_records",
    "upsert_records",
]


def _stream(name: str) -> Stream:
    return Stream(
        source="salesforce",
        name=name,
        primary_key="Id",
        cursor_field=settings.CURSOR_FIELD,
        sorted_by_cursor=True,  # ORDER BY SystemModstamp, Id
        record_id=models.record_id,
        record_cursor=models.record_cursor,
    )


STREAMS: dict[str, Stream] = {name: _stream(name) for name in settings.STREAM_OBJECTS}


def open_client(config: SalesforceSourceConfig | SalesforceDestinationConfig) -> ApiClient:
    """A session on the org's instance URL with the access token, query batches of the configured
    size, and a stop (RequestLimitExceeded) before the org's daily API allowance, or the
    configured share of it, runs out."""
    return salesforce_client.make_client(
        config.base_url,
        config.access_token(),
        config.http,
        batch_size=getattr(config, "page_size", settings.BATCH_SIZE_MAX),
        daily_request_budget=config.daily_request_budget,
    )


def partitions(config: SalesforceSourceConfig, stream: str) -> list[str | None]:
    """Each stream is one query over the whole org, with one cursor."""
    return [None]


def pull(
    client: ApiClient,
    config: SalesforceSourceConfig,
    stream: str,
    window: PullWindow,
    partition: str | None = None,
) -> Iterator[Page]:
    """Pages of raw records modified at or after `window.since`, oldest change first, deleted
    and merged records included (`IsDeleted`, `MasterRecordId`).

    Raises RequestLimitExceeded when the org's daily API allowance runs out mid-pull; the pages
    yielded before it stand (their cursor is saved), and the next run resumes from there.
    """
    if stream not in settings.STREAM_OBJECTS:
        raise ValueError(f"salesforce has no stream {stream!r}")
    sobject, fields = settings.STREAM_OBJECTS[stream]
    return salesforce_client.query_all(client, sobject, fields, window.since, config.api_version)
