"""Salesforce: pull Leads, Contacts, Opportunities, their stage history and Users incrementally
(deletes and merges included), and push scores and owners back (reverse ETL).

Public API: `STREAMS`, `open_client`, `partitions`, `pull`, `parse_lead`, `parse_contact`,
`is_deleted`, `merged_into`, `update_records`, `upsert_records`, `missing_custom_fields`,
`RequestLimitExceeded`, `WriteOutcome`, `push_records`, `check_custom_fields`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from connectors.http import ApiClient, FatalError
from connectors.oauth import RefreshTokenGrant
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
from connectors.sync import PushOutcome, SyncRow
from leadflow.config import SalesforceDestinationConfig, SalesforceSourceConfig

__all__ = [
    "STREAMS",
    "RequestLimitExceeded",
    "WriteOutcome",
    "check_custom_fields",
    "is_deleted",
    "merged_into",
    "missing_custom_fields",
    "open_client",
    "parse_contact",
    "parse_lead",
    "partitions",
    "pull",
    "push_records",
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
    """A session on the org's instance URL with the access token (with `oauth`, obtained from
    the refresh token and renewed when Salesforce answers 401 INVALID_SESSION_ID; else the one
    `access_token_env` holds), query batches of the configured size, and a stop
    (RequestLimitExceeded) before the org's daily API allowance, or the configured share of it,
    runs out."""
    oauth = getattr(config, "oauth", None)
    grant = (
        RefreshTokenGrant(
            salesforce_client.SOURCE,
            oauth,
            http=config.http,
            on_token=salesforce_client.instance_url_check(config.base_url),
        )
        if oauth is not None
        else None
    )
    return salesforce_client.make_client(
        config.base_url,
        config.access_token() if grant is None else None,
        config.http,
        batch_size=getattr(config, "page_size", settings.BATCH_SIZE_MAX),
        daily_request_budget=config.daily_request_budget,
        token_provider=grant,
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


# --------------------------------------------------------------------------- reverse ETL


def check_custom_fields(client: ApiClient, sobjects: Sequence[str], api_version: str) -> None:
    """Stop the push with one clear error when an object lacks a LeadFlow field (custom fields
    are created in Setup, not through the REST API this push uses)."""
    for sobject in sobjects:
        missing = missing_custom_fields(client, sobject, api_version=api_version)
        if missing:
            raise FatalError(
                "salesforce",
                f"{sobject} has no updateable field {', '.join(missing)}; create them in Setup > "
                f"Object Manager > {sobject} > Fields & Relationships (connectors/salesforce/README.md)",
                category="MISSING_CUSTOM_FIELD",
            )


def push_records(
    client: ApiClient,
    rows: Sequence[SyncRow],
    *,
    batch_size: int = settings.COLLECTION_MAX_RECORDS,
    api_version: str = settings.DEFAULT_API_VERSION,
) -> list[PushOutcome]:
    """Write rows of marts.sync_salesforce__records: `update` rows by Id onto their object
    (Lead or Contact), `upsert` rows as Leads matched on LeadFlow_Lead_Id__c. sObject Collections
    of at most 200, allOrNone false, `Sforce-Auto-Assign: FALSE`. One outcome per row."""
    outcomes: list[PushOutcome] = []
    groups: dict[tuple[str, str], list[SyncRow]] = {}
    for row in rows:
        groups.setdefault((row.object_type or "Lead", row.operation), []).append(row)
    for (sobject, operation), group in groups.items():
        if operation == "update":
            written = update_records(
                client,
                [{"Id": row.object_id, **row.properties} for row in group],
                sobject=sobject,
                batch_size=batch_size,
                api_version=api_version,
            )
        else:
            written = upsert_records(
                client,
                [{settings.EXTERNAL_ID_FIELD: row.id_value, **row.properties} for row in group],
                sobject=sobject,
                batch_size=batch_size,
                api_version=api_version,
            )
        outcomes.extend(
            PushOutcome(
                row.lead_id,
                row.operation,
                ok=result.success,
                object_id=result.id,
                http_status=result.http_status,
                category=result.error_code,
                message=result.message,
                retriable=result.retriable,
            )
            for row, result in zip(group, written, strict=True)
        )
    return outcomes
