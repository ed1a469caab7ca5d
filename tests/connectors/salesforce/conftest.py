"""A Salesforce stand-in on a free port, an org on a clock that moves only when told, and
configs pointing LeadFlow's connector at it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from leadflow.config import HttpSettings, SalesforceDestinationConfig, SalesforceSourceConfig
from sandbox.salesforce import SalesforceApp, SalesforceOrg, serving, standalone_context
from tests.sandbox.sandbox_helpers import StepClock

NOW = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
TOKEN = "sandbox-sf-test-token"
TOKEN_ENV = "LEADFLOW_TEST_SALESFORCE_TOKEN"
FAST = HttpSettings(timeout_s=5, max_attempts=3, backoff_base_s=0, backoff_max_s=0)


@dataclass
class Org:
    org: SalesforceOrg
    app: SalesforceApp
    clock: StepClock
    url: str

    def source(self, **overrides: object) -> SalesforceSourceConfig:
        fields: dict[str, object] = {
            "base_url": self.url,
            "access_token_env": TOKEN_ENV,
            "http": FAST,
            "page_size": 200,
            **overrides,
        }
        return SalesforceSourceConfig.model_validate(fields)

    def destination(self, **overrides: object) -> SalesforceDestinationConfig:
        fields: dict[str, object] = {
            "base_url": self.url,
            "access_token_env": TOKEN_ENV,
            "http": FAST,
            **overrides,
        }
        return SalesforceDestinationConfig.model_validate(fields)


@pytest.fixture
def sfo(monkeypatch: pytest.MonkeyPatch) -> Iterator[Org]:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    clock = StepClock(NOW)
    org = SalesforceOrg.generate(11, 300, NOW, clock=clock)
    app = SalesforceApp(standalone_context(TOKEN, NOW), org)
    with serving(app) as url:
        yield Org(org, app, clock, url)
