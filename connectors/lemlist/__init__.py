"""Lemlist (sequencing): put nurtured leads into campaigns, take them out, read their replies.

Public API: `open_client`, `add_lead`, `remove_lead`, `replies`, `Activity`, `WriteOutcome`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from connectors.http import ApiClient
from connectors.lemlist import client as lemlist_client
from connectors.lemlist import settings
from connectors.lemlist.client import add_lead, remove_lead
from connectors.lemlist.models import Activity, WriteOutcome
from leadflow.config import LemlistDestinationConfig

__all__ = ["Activity", "WriteOutcome", "add_lead", "open_client", "remove_lead", "replies"]


def open_client(config: LemlistDestinationConfig) -> ApiClient:
    return lemlist_client.make_client(config.base_url, config.access_token(), config.http)


def replies(
    client: ApiClient, campaign_id: str, since: datetime | None = None
) -> Iterator[Activity]:
    """Email replies in one campaign, created at or after `since`."""
    for activity in lemlist_client.activities(client, settings.REPLY_TYPE, campaign_id, since):
        if activity.type in settings.REPLY_TYPES:
            yield activity
