"""Meta Lead Ads: pull the leads of each configured lead form, incrementally by time_created.

Public API: `STREAMS`, `open_client`, `pull`, `parse_lead`.
"""

from __future__ import annotations

from collections.abc import Iterator

from connectors.http import ApiClient
from connectors.meta import client as meta_client
from connectors.meta import models
from connectors.meta.models import parse_lead
from connectors.streams import Page, PullWindow, Stream
from leadflow.config import MetaSourceConfig

__all__ = ["STREAMS", "open_client", "parse_lead", "partitions", "pull"]

STREAMS: dict[str, Stream] = {
    "leads": Stream(
        source="meta",
        name="leads",
        primary_key="id",
        cursor_field="created_time",
        sorted_by_cursor=False,
        record_id=models.lead_id,
        record_cursor=models.lead_cursor,
    ),
}


def open_client(config: MetaSourceConfig) -> ApiClient:
    return meta_client.make_client(config.base_url, config.access_token(), config.http)


def partitions(config: MetaSourceConfig, stream: str) -> list[str]:
    """Each lead form is pulled with its own cursor."""
    return [form.id for form in config.forms]


def pull(
    client: ApiClient,
    config: MetaSourceConfig,
    stream: str,
    window: PullWindow,
    partition: str | None = None,
) -> Iterator[Page]:
    if stream != "leads" or partition is None:
        raise ValueError(f"meta has no stream {stream!r} without a form id")
    return meta_client.list_leads(
        client, config.api_version, partition, window.since, config.page_size
    )
