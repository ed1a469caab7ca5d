"""Pipedrive: pull persons, leads, deals and users incrementally, and push scores and owners
back (reverse ETL).

Public API: `STREAMS`, `open_client`, `partitions`, `pull`, `parse_person`, `parse_lead`,
`is_archived`, `custom_field_keys`, `update_persons`, `update_leads`, `MissingCustomFields`,
`WriteOutcome`, `push_persons`, `SYNC_FIELDS`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from connectors.http import ApiClient
from connectors.pipedrive import client as pipedrive_client
from connectors.pipedrive import models, settings
from connectors.pipedrive.client import (
    MissingCustomFields,
    custom_field_keys,
    update_leads,
    update_persons,
)
from connectors.pipedrive.models import WriteOutcome, is_archived, parse_lead, parse_person
from connectors.streams import Page, PullWindow, Stream
from connectors.sync import PushOutcome, SyncRow
from leadflow.config import PipedriveDestinationConfig, PipedriveSourceConfig

__all__ = [
    "STREAMS",
    "SYNC_FIELDS",
    "MissingCustomFields",
    "WriteOutcome",
    "custom_field_keys",
    "is_archived",
    "open_client",
    "parse_lead",
    "parse_person",
    "partitions",
    "pull",
    "push_persons",
    "update_leads",
    "update_persons",
]

STREAMS: dict[str, Stream] = {
    # v2 lists sorted by update_time ascending, with a keyset cursor: the cursor commits per page.
    "persons": Stream(
        "pipedrive", "persons", "id", settings.CURSOR_FIELD, True,
        models.record_id, models.record_cursor,
    ),
    "deals": Stream(
        "pipedrive", "deals", "id", settings.CURSOR_FIELD, True,
        models.record_id, models.record_cursor,
    ),
    # Read newest first by offset (v1 has no updated_since): the cursor commits with the last page.
    "leads": Stream(
        "pipedrive", "leads", "id", settings.CURSOR_FIELD, False,
        models.record_id, models.record_cursor,
    ),
    # A handful of rows, read whole every run.
    "users": Stream(
        "pipedrive", "users", "id", settings.USERS_CURSOR_FIELD, False,
        models.record_id, models.user_cursor,
    ),
}  # fmt: skip


def open_client(config: PipedriveSourceConfig | PipedriveDestinationConfig) -> ApiClient:
    """A session on the company domain with the API token (`x-api-token`), paced at 80% of
    the plan's burst limit, retrying 429s after `x-ratelimit-reset`."""
    return pipedrive_client.make_client(
        config.base_url, config.access_token(), config.http, burst_limit=config.burst_limit
    )


def partitions(config: PipedriveSourceConfig, stream: str) -> list[str | None]:
    """Each stream is one list over the whole company, with one cursor."""
    return [None]


def pull(
    client: ApiClient,
    config: PipedriveSourceConfig,
    stream: str,
    window: PullWindow,
    partition: str | None = None,
) -> Iterator[Page]:
    """Pages of raw records changed at or after `window.since`. Deleted persons and deals and
    persons merged away are not listed any more (Pipedrive gives no tombstones); archived leads
    are (`is_archived`)."""
    if stream in ("persons", "deals"):
        return pipedrive_client.cursor_pages(
            client, settings.STREAM_PATHS[stream], window.since, config.page_size
        )
    if stream == "leads":
        return pipedrive_client.lead_pages(client, window.since, config.page_size)
    if stream == "users":
        return pipedrive_client.users_page(client)
    raise ValueError(f"pipedrive has no stream {stream!r}")


# --------------------------------------------------------------------------- reverse ETL

# marts.sync_pipedrive__persons columns -> the person fields they fill (names in Pipedrive).
SYNC_FIELDS: dict[str, str] = {
    "leadflow_score": settings.SCORE_FIELD,
    "leadflow_grade": settings.GRADE_FIELD,
    "leadflow_temperature": settings.TEMPERATURE_FIELD,
    "leadflow_reasons": settings.REASONS_FIELD,
    "leadflow_lead_id": settings.LEAD_ID_FIELD,
}
# The sync model's column naming the person's open Leads Inbox items ('id;id'): they get the
# person's owner too, since reps work leads from the inbox, where the item's own owner shows.
INBOX_LEADS = "inbox_lead_ids"


def push_persons(
    client: ApiClient, rows: Sequence[SyncRow], field_keys: Mapping[str, str]
) -> list[PushOutcome]:
    """Write rows of marts.sync_pipedrive__persons (all `update`, by person id): owner_id and
    LeadFlow's person fields, whose company-specific keys `field_keys` gives
    (`custom_field_keys`); then the same owner onto the person's open Leads Inbox items
    (`inbox_lead_ids`). One outcome per row: a row succeeds when its person and every one of its
    inbox items were written (both writes are idempotent, so a failed row is simply sent again)."""
    written = update_persons(
        client,
        [
            {
                "id": row.object_id,
                **{
                    SYNC_FIELDS.get(k, k): _typed(k, v)
                    for k, v in row.properties.items()
                    if k != INBOX_LEADS
                },
            }
            for row in rows
        ],
        field_keys,
    )
    outcomes = []
    for row, result in zip(rows, written, strict=True):
        owner = row.properties.get("owner_id")
        inbox = [i for i in (row.properties.get(INBOX_LEADS) or "").split(";") if i]
        if result.success and owner and inbox:
            failed = [
                r
                for r in update_leads(
                    client, [{"id": i, "owner_id": _typed("owner_id", owner)} for i in inbox]
                )
                if not r.success
            ]
            if failed:
                result = WriteOutcome(
                    result.id,
                    False,
                    f"the person was written, not its Leads Inbox item: {failed[0].error}",
                    http_status=failed[0].http_status,
                    retriable=failed[0].retriable,
                )
        outcomes.append(
            PushOutcome(
                row.lead_id,
                row.operation,
                ok=result.success,
                object_id=result.id,
                http_status=result.http_status,
                category=""
                if result.success
                else ("RETRIABLE" if result.retriable else "REJECTED"),
                message=result.error,
                retriable=result.retriable,
            )
        )
    return outcomes


def _typed(column: str, value: str) -> str | int | float:
    """Sync rows carry text; Pipedrive wants owner_id as an integer and a Numerical field as a
    number (its API answers 400 to "87")."""
    if column == "owner_id" and value.isdigit():
        return int(value)
    if column == "leadflow_score":
        try:
            number = float(value)
        except ValueError:
            return value  # Pipedrive rejects it, and the row is dead-lettered with the reason
        return int(number) if number.is_integer() else number
    return value
