"""Typeform: pull the submitted responses of each configured form, incrementally by submitted_at.

Public API: `STREAMS`, `open_client`, `partitions`, `pull`, `parse_response`.
"""

from __future__ import annotations

from collections.abc import Iterator

from connectors.http import ApiClient
from connectors.streams import Page, PullWindow, Stream
from connectors.typeform import client as typeform_client
from connectors.typeform import models
from connectors.typeform.models import parse_response
from leadflow.config import TypeformSourceConfig

__all__ = ["STREAMS", "open_client", "parse_response", "partitions", "pull"]

STREAMS: dict[str, Stream] = {
    "responses": Stream(
        source="typeform",
        name="responses",
        primary_key="response_id",
        cursor_field="submitted_at",
        sorted_by_cursor=False,
        record_id=models.response_id,
        record_cursor=models.response_cursor,
    ),
}


def open_client(config: TypeformSourceConfig) -> ApiClient:
    return typeform_client.make_client(config.base_url, config.access_token(), config.http)


def partitions(config: TypeformSourceConfig, stream: str) -> list[str]:
    """Each form is pulled with its own cursor."""
    return [form.id for form in config.forms]


def pull(
    client: ApiClient,
    config: TypeformSourceConfig,
    stream: str,
    window: PullWindow,
    partition: str | None = None,
) -> Iterator[Page]:
    if stream != "responses" or partition is None:
        raise ValueError(f"typeform has no stream {stream!r} without a form id")
    return typeform_client.list_responses(client, partition, window.since, config.page_size)
