"""LinkedIn: the responses of each configured Lead Gen Form (Marketing API lead sync),
incrementally by submittedAt.

Public API: `STREAMS`, `open_client`, `partitions`, `pull`, `parse_response`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from connectors.http import ApiClient
from connectors.linkedin import client as linkedin_client
from connectors.linkedin import models, settings
from connectors.linkedin.models import parse_response
from connectors.streams import Page, PullWindow, Stream
from leadflow.config import LinkedInSourceConfig

__all__ = ["STREAMS", "open_client", "parse_response", "partitions", "pull"]

STREAMS: dict[str, Stream] = {
    # LinkedIn documents no order for the finder (it answers newest first): not sorted, so the
    # cursor commits with a form's last page.
    "lead_form_responses": Stream(
        source="linkedin",
        name="lead_form_responses",
        primary_key="id",
        cursor_field="submittedAt",
        sorted_by_cursor=False,
        record_id=models.response_id,
        record_cursor=models.response_cursor,
    ),
}


def open_client(config: LinkedInSourceConfig) -> ApiClient:
    """A session with the bearer token, the pinned `LinkedIn-Version` and Rest.li 2.0."""
    return linkedin_client.make_client(
        config.base_url, config.access_token(), config.api_version, config.http
    )


def partitions(config: LinkedInSourceConfig, stream: str) -> list[str | None]:
    """Each lead form is pulled with its own cursor (its numeric id)."""
    return [models.form_id_of(form.id) or form.id for form in config.forms]


def pull(
    client: ApiClient,
    config: LinkedInSourceConfig,
    stream: str,
    window: PullWindow,
    partition: str | None = None,
) -> Iterator[Page]:
    """Responses to the form `partition` submitted from `window.since` (the cursor less the
    lookback; on the first pull, LinkedIn's 365-day retention) to now, every version of the form,
    every page."""
    form_id = models.form_id_of(partition) if partition is not None else None
    if stream != "lead_form_responses" or form_id is None:
        raise ValueError(f"linkedin has no stream {stream!r} without a numeric lead form id")
    now = datetime.now(UTC).replace(tzinfo=None)
    since = window.since or now - timedelta(days=settings.RETENTION_DAYS)
    return linkedin_client.list_responses(
        client, config.sponsored_account_id, form_id, since, now, config.page_size
    )
