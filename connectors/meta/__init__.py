"""Meta: the leads of each configured lead form (Lead Ads, incrementally by time_created) and the
ad account's daily spend per campaign (Insights, incrementally by day with a restatement lookback).

Public API: `STREAMS`, `open_client`, `pull`, `parse_lead`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

from connectors.http import ApiClient
from connectors.meta import client as meta_client
from connectors.meta import models
from connectors.meta.models import parse_lead
from connectors.streams import Page, PullWindow, Stream
from leadflow.config import MetaSourceConfig

__all__ = ["STREAMS", "open_client", "parse_lead", "partitions", "pull"]

log = logging.getLogger("leadflow.connectors.meta")

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
    # Graph does not promise an order for insights rows: the cursor commits with the last page.
    "ad_insights": Stream(
        source="meta",
        name="ad_insights",
        primary_key="campaign_id, date_start",
        cursor_field="date_start",
        sorted_by_cursor=False,
        record_id=models.insight_id,
        record_cursor=models.insight_cursor,
    ),
}


def open_client(config: MetaSourceConfig) -> ApiClient:
    return meta_client.make_client(config.base_url, config.access_token(), config.http)


def partitions(config: MetaSourceConfig, stream: str) -> list[str | None]:
    """Each lead form is pulled with its own cursor; insights per ad account (none: skipped)."""
    if stream == "ad_insights":
        if not config.ad_account_id:
            log.info("meta.ad_insights: skipped, no sources.meta.ad_account_id configured")
            return []
        return [f"act_{config.ad_account_id}"]
    return [form.id for form in config.forms]


def pull(
    client: ApiClient,
    config: MetaSourceConfig,
    stream: str,
    window: PullWindow,
    partition: str | None = None,
) -> Iterator[Page]:
    if stream == "ad_insights" and partition is not None:
        since, until = insights_range(config, window, datetime.now(UTC).date())
        return meta_client.list_insights(
            client, config.api_version, partition.removeprefix("act_"), since, until
        )
    if stream != "leads" or partition is None:
        raise ValueError(f"meta has no stream {stream!r} without a form id")
    return meta_client.list_leads(
        client, config.api_version, partition, window.since, config.page_size
    )


def insights_range(config: MetaSourceConfig, window: PullWindow, today: date) -> tuple[date, date]:
    """The days to read: from the cursor's day less the restatement lookback (Meta revises a day
    for up to 28 days; loads keep the newest version), never before the backfill horizon, to today
    (UTC: in an account whose day runs ahead, the next pull's lookback reads the rest of it)."""
    horizon = today - timedelta(days=config.insights_backfill_days)
    since = horizon
    if window.cursor is not None:
        since = max(horizon, window.cursor.date() - timedelta(days=config.insights_lookback_days))
    return since, today
