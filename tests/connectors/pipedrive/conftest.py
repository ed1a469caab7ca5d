"""A Pipedrive stand-in on a free port, a company on a clock that moves only when told, and
configs pointing LeadFlow's connector at it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from leadflow.config import HttpSettings, PipedriveDestinationConfig, PipedriveSourceConfig
from sandbox.pipedrive import PipedriveApp, PipedriveCompany, serving, standalone_context
from tests.sandbox.sandbox_helpers import StepClock

NOW = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
TOKEN = "sandbox-pd-test-token-0123456789"
TOKEN_ENV = "LEADFLOW_TEST_PIPEDRIVE_TOKEN"
FAST = HttpSettings(timeout_s=5, max_attempts=3, backoff_base_s=0, backoff_max_s=0)


@dataclass
class Pd:
    company: PipedriveCompany
    app: PipedriveApp
    clock: StepClock
    url: str

    def source(self, **overrides: object) -> PipedriveSourceConfig:
        fields: dict[str, object] = {
            "base_url": self.url,
            "access_token_env": TOKEN_ENV,
            "http": FAST,
            # The sandbox's burst limit is switched off unless a test switches it on; a high
            # figure keeps the client's own pacing out of the way too.
            "burst_limit": 480,
            **overrides,
        }
        return PipedriveSourceConfig.model_validate(fields)

    def destination(self, **overrides: object) -> PipedriveDestinationConfig:
        fields: dict[str, object] = {
            "base_url": self.url,
            "access_token_env": TOKEN_ENV,
            "http": FAST,
            "burst_limit": 480,
            **overrides,
        }
        return PipedriveDestinationConfig.model_validate(fields)

    def requests(self, path_prefix: str = "") -> list[tuple[str, str, int]]:
        return [r for r in self.app.served if r[1].startswith(path_prefix)]


@pytest.fixture
def pd(monkeypatch: pytest.MonkeyPatch) -> Iterator[Pd]:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    clock = StepClock(NOW)
    company = PipedriveCompany.generate(11, 300, NOW, clock=clock)
    app = PipedriveApp(standalone_context(TOKEN, NOW), company, burst_limit=0)
    with serving(app) as url:
        yield Pd(company, app, clock, url)
