"""Pipedrive: pull persons, leads, deals and users incrementally, and push scores and owners
back (reverse ETL).

Public API: `STREAMS`, `open_client`, `partitions`, `pull`, `parse_person`, `parse_lead`,
`is_archived`, `custom_field_keys`, `update_persons`, `update_leads`, `MissingCustomFields`,
`WriteOutcome`.
"""

from __future__ import annotations

from collections.abc import Iterator

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
from leadflow.config import PipedriveDestinationConfig, PipedriveSourceConfig

__all__ = [
    "STREAMS",
    "MissingCustomFields",
    "WriteOutcome",
    "custom_field_keys",
    "is_archived",
    "open_client",
    "parse_lead",
    "parse_person",
    "partitions",
    "pull",
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
