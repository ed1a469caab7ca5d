"""The Slack webhook client against the sandbox: delivery, the error taxonomy, no secret in logs."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from connectors.http import AuthError, FatalError, RateLimiter, RetriableError
from connectors.slack import SlackMessage, WebhookClient, open_client, settings
from connectors.slack import models as blocks
from leadflow.config import ConfigError, SlackNotifyConfig
from leadflow.redact import RedactingFilter
from sandbox import Sandbox
from tests.sandbox.sandbox_helpers import NOW

MESSAGE = SlackMessage("New lead", [blocks.section("*Ada* <at> Acme & Co")])


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(leads=5, now=NOW) as sandbox:
        yield sandbox


def client(url: str, sleeps: list[float] | None = None, **kw: float) -> WebhookClient:
    waits = sleeps if sleeps is not None else []
    return WebhookClient(SecretStr(url), sleep=waits.append, **kw)  # type: ignore[arg-type]


def test_a_message_is_delivered_as_block_kit(sb: Sandbox) -> None:
    with client(sb.slack_webhook_url, min_interval_s=0) as slack:
        slack.post(MESSAGE)
    [got] = sb.slack_messages()
    assert got.payload["text"] == "New lead"
    # mrkdwn control characters are escaped, as Slack asks
    assert got.payload["blocks"][0]["text"]["text"] == "*Ada* <at> Acme & Co"
    assert blocks.escape("<a & b>") == "&lt;a &amp; b&gt;"


def test_a_429_is_retried_after_the_wait_slack_asks_for(sb: Sandbox) -> None:
    # GIVEN Slack answers the first post with 429 Retry-After: 1
    sb.inject_faults("slack", 429, 1)
    sleeps: list[float] = []
    with client(sb.slack_webhook_url, sleeps, min_interval_s=0) as slack:
        slack.post(MESSAGE)
    # THEN the client waited at least the second Slack asked for and delivered once
    assert sleeps and sleeps[0] >= 1
    assert len(sb.slack_messages()) == 1


def test_a_lasting_outage_raises_retriable_after_bounded_tries(sb: Sandbox) -> None:
    sb.inject_faults("slack", 500, 5)
    with (
        client(sb.slack_webhook_url, min_interval_s=0) as slack,
        pytest.raises(RetriableError) as err,
    ):
        slack.post(MESSAGE)
    assert err.value.status == 500 and err.value.category == "rollup_error"
    assert sb.slack_messages() == []


@pytest.mark.parametrize(
    ("url_suffix", "error"),
    [
        pytest.param("/services/T00SANDBOX/B00SANDBOX/revoked", AuthError, id="revoked-webhook"),
        pytest.param("/services/T1/B1/x", AuthError, id="no-service"),
    ],
)
def test_a_dead_webhook_is_an_auth_error(sb: Sandbox, url_suffix: str, error: type) -> None:
    with client(sb.urls["slack"] + url_suffix, min_interval_s=0) as slack, pytest.raises(error):
        slack.post(MESSAGE)


def test_a_refused_payload_is_fatal_at_once(sb: Sandbox) -> None:
    bad = SlackMessage("x", [{"type": "banner"}])
    with client(sb.slack_webhook_url, min_interval_s=0) as slack, pytest.raises(FatalError) as err:
        slack.post(bad)
    assert err.value.category == "invalid_blocks"


def test_posts_are_paced_to_one_a_second(sb: Sandbox) -> None:
    # GIVEN the client's default pacing (Slack: one message per second per webhook), on a fake clock
    now = [100.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    sb.set_rate_limit("slack", 0, 1)  # the fake clock does not move the sandbox's real one
    slack = client(sb.slack_webhook_url, sleeps)
    slack._pace = RateLimiter(1, slack.min_interval_s, clock=lambda: now[0], sleep=sleep)
    # WHEN two posts follow each other at once
    with slack:
        slack.post(MESSAGE)
        slack.post(MESSAGE)
    # THEN the client waited a second (plus its margin) in between instead of drawing a 429
    assert sum(sleeps) == pytest.approx(settings.MIN_INTERVAL_S, abs=0.01)
    assert settings.MIN_INTERVAL_S >= 1.0
    assert len(sb.slack_messages()) == 2


def test_the_webhook_url_never_reaches_a_log_line_or_an_error(
    sb: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.handler.addFilter(RedactingFilter())
    sb.inject_faults("slack", 503, 2)
    slack = client(sb.slack_webhook_url, min_interval_s=0, max_attempts=2)
    with caplog.at_level(logging.DEBUG), slack, pytest.raises(RetriableError) as err:
        slack.post(MESSAGE)
    secret = sb.tokens["slack"]
    assert secret not in str(err.value)
    assert caplog.records  # the retry and urllib3's request lines were logged ...
    assert all(secret.split("/")[-1] not in r.getMessage() for r in caplog.records)  # ... masked


def test_an_unset_or_malformed_webhook_variable_is_one_config_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = SlackNotifyConfig(webhook_url_env="TEST_SLACK_URL")
    monkeypatch.delenv("TEST_SLACK_URL", raising=False)
    with pytest.raises(ConfigError, match="TEST_SLACK_URL is not set"):
        open_client(config)
    monkeypatch.setenv("TEST_SLACK_URL", "https://example.com/not-a-webhook")
    with pytest.raises(ConfigError, match="TEST_SLACK_URL: a Slack webhook URL looks like"):
        open_client(config)
