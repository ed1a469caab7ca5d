"""A Google Ads API stand-in on a free port (sandbox/google_ads.py), an advertiser account with two
lead forms, and configs pointing LeadFlow's Google Ads pull at it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connectors import google_ads
from connectors.streams import Page, PullWindow
from leadflow.config import GoogleAdsSourceConfig, HttpSettings
from sandbox.google_ads import (
    CUSTOMER_ID,
    GoogleAdsAccount,
    GoogleAdsApp,
    serving,
    standalone_context,
)

# The sandbox clock (v26, the connector's default version, is active; v22 is sunset).
NOW = datetime(2026, 12, 1, 15, 0, 0, tzinfo=UTC)
TOKEN = "sandbox-gads-test-token"
TOKEN_ENV = "LEADFLOW_TEST_GOOGLE_ADS_TOKEN"
FAST = HttpSettings(timeout_s=5, max_attempts=3, backoff_base_s=0, backoff_max_s=0)
STREAM = "lead_form_submissions"
PAGE = 7


@dataclass
class Ads:
    account: GoogleAdsAccount
    app: GoogleAdsApp
    url: str

    def source(self, **overrides: Any) -> GoogleAdsSourceConfig:
        fields: dict[str, Any] = {
            "base_url": self.url,
            "access_token_env": TOKEN_ENV,
            "http": FAST,
            "customer_id": CUSTOMER_ID,
            **overrides,
        }
        return GoogleAdsSourceConfig.model_validate(fields)

    def pull(self, since: datetime | None = None, **config: Any) -> list[Page]:
        """Every page of one pull from `since` (naive UTC; None: the stream's initial cursor)."""
        cfg = self.source(**config)
        with google_ads.open_client(cfg) as client:
            window = PullWindow(since, timedelta(minutes=cfg.lookback_minutes))
            return list(google_ads.pull(client, cfg, STREAM, window))

    def ids(self) -> set[str]:
        return {s.id for s in self.account.submissions}


@pytest.fixture
def ads(monkeypatch: pytest.MonkeyPatch) -> Iterator[Ads]:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    account = GoogleAdsAccount.generate(11, 60, NOW)
    app = GoogleAdsApp(standalone_context(TOKEN, NOW), account)
    app.ctx.knobs.google_ads_page_size = PAGE
    with serving(app) as url:
        yield Ads(account, app, url)


def naive(moment: datetime) -> datetime:
    """UTC without tzinfo, as cursors are kept."""
    return moment.astimezone(UTC).replace(tzinfo=None)
