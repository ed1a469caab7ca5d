"""Google Ads lead form submissions, by two routes into one raw table: delivered by Google's lead
form webhook to `leadflow serve` (the intake checks the form's `google_key`, removes it and lands
the body), and pulled from the Google Ads API (googleAds:search over `lead_form_submission_data`,
incrementally by submission time), for a team without the webhook or recovering deliveries it
missed. Both land raw.google_ads__lead_form_submissions in the webhook's shape and go through one
parser, `parse_lead`; a lead that came both ways is one raw record.

Public API: `STREAMS`, `open_client`, `partitions`, `pull`, `parse_lead`. In `connectors.SOURCES`
(pulled every run when `sources.google_ads` is configured), `connectors.WEBHOOK_SOURCES` and
`connectors.LEAD_STREAMS`.
"""

from __future__ import annotations

from collections.abc import Iterator

from connectors.google_ads import client as google_ads_client
from connectors.google_ads import models
from connectors.google_ads.models import parse_lead
from connectors.http import ApiClient
from connectors.oauth import RefreshTokenGrant
from connectors.streams import Page, PullWindow, Stream
from leadflow.config import GoogleAdsSourceConfig, read_secret

__all__ = ["STREAMS", "open_client", "parse_lead", "partitions", "pull"]

STREAMS: dict[str, Stream] = {
    # Webhooks arrive in any order, and the pull reads by wall-clock submission time in the
    # account's zone (an autumn hour sorts out of order): unsorted, so the cursor commits with a
    # pull's last page. A submission is never edited, and Google's lead_id is the webhook's key
    # for de-duplicating deliveries: immutable, so the first copy landed, by either route, is the
    # one raw record of that lead.
    "lead_form_submissions": Stream(
        source="google_ads",
        name="lead_form_submissions",
        primary_key="lead_id",
        cursor_field="lead_submit_time",
        sorted_by_cursor=False,
        record_id=models.lead_id,
        record_cursor=models.lead_cursor,
        immutable=True,
    ),
}


def open_client(config: GoogleAdsSourceConfig) -> ApiClient:
    """A session with an OAuth access token (with `oauth`, obtained from the refresh token and
    renewed before it expires; else the one `access_token_env` holds), `login-customer-id` when
    the account is reached through a manager account, and `developer-token` only if the config
    still names one."""
    developer_token = (
        read_secret(config.developer_token_env) if config.developer_token_env else None
    )
    grant = (
        RefreshTokenGrant(google_ads_client.SOURCE, config.oauth, http=config.http)
        if config.oauth is not None
        else None
    )
    return google_ads_client.make_client(
        config.base_url,
        config.access_token() if grant is None else None,
        config.http,
        login_customer_id=config.login_customer_id,
        developer_token=developer_token,
        token_provider=grant,
    )


def partitions(config: GoogleAdsSourceConfig, stream: str) -> list[str | None]:
    """One query over the whole account, with one cursor."""
    return [None]


def pull(
    client: ApiClient,
    config: GoogleAdsSourceConfig,
    stream: str,
    window: PullWindow,
    partition: str | None = None,
) -> Iterator[Page]:
    """Submissions made from `window.since` (the cursor less the lookback; on the first pull, the
    stream's initial cursor: all Google keeps) to now, every page, as the webhook would have
    landed them."""
    if stream != "lead_form_submissions":
        raise ValueError(f"google_ads has no stream {stream!r}")
    since = window.since or STREAMS[stream].initial_cursor
    return google_ads_client.lead_pages(client, config.api_version, config.customer_id, since)
