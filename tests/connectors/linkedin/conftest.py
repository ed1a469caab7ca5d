"""A LinkedIn lead sync stand-in on a free port, an ad account with two forms, and configs
pointing LeadFlow's connector at it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from leadflow.config import HttpSettings, LinkedInSourceConfig
from sandbox.linkedin import (
    SPONSORED_ACCOUNT_ID,
    LeadSyncAccount,
    LinkedInApp,
    serving,
    standalone_context,
)

# The sandbox clock: 202607 (the connector's default) is active, 202510 is sunset.
NOW = datetime(2026, 11, 2, 12, 0, 0, tzinfo=UTC)
TOKEN = "sandbox-li-test-token"
TOKEN_ENV = "LEADFLOW_TEST_LINKEDIN_TOKEN"
FAST = HttpSettings(timeout_s=5, max_attempts=3, backoff_base_s=0, backoff_max_s=0)
DEMO_FORM, GUIDE_FORM = 7_234_246, 7_234_311


@dataclass
class Account:
    account: LeadSyncAccount
    app: LinkedInApp
    url: str

    def source(self, **overrides: object) -> LinkedInSourceConfig:
        fields: dict[str, object] = {
            "base_url": self.url,
            "access_token_env": TOKEN_ENV,
            "http": FAST,
            "sponsored_account_id": SPONSORED_ACCOUNT_ID,
            "forms": [{"id": str(DEMO_FORM)}, {"id": f"urn:li:leadGenForm:{GUIDE_FORM}"}],
            "page_size": 40,
            **overrides,
        }
        return LinkedInSourceConfig.model_validate(fields)

    def ids(self, form_id: int) -> set[str]:
        return {
            r["id"]
            for r in self.account.responses
            if f"urn:li:leadGenForm:{form_id}," in r["versionedLeadGenFormUrn"]
        }


@pytest.fixture
def li(monkeypatch: pytest.MonkeyPatch) -> Iterator[Account]:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    account = LeadSyncAccount.generate(11, 250, NOW)
    app = LinkedInApp(standalone_context(TOKEN, NOW), account)
    with serving(app) as url:
        yield Account(account, app, url)
