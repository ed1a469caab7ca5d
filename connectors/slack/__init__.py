"""Slack: post notification messages to an incoming webhook.

Public API: `open_client`, `post_message`, `SlackMessage` and the Block Kit helpers in `models`.
"""

from __future__ import annotations

from connectors.slack.client import WebhookClient
from connectors.slack.models import SlackMessage
from leadflow.config import ConfigError, SlackNotifyConfig

__all__ = ["SlackMessage", "WebhookClient", "open_client", "post_message"]


def open_client(config: SlackNotifyConfig) -> WebhookClient:
    """A client for the webhook whose URL is in `config.webhook_url_env` (ConfigError if unset)."""
    try:
        return WebhookClient(
            url=config.webhook_url(),
            timeout_s=config.timeout_s,
            min_interval_s=config.min_interval_s,
        )
    except ValueError as exc:
        raise ConfigError(f"{config.webhook_url_env}: {exc}") from None


def post_message(client: WebhookClient, message: SlackMessage) -> None:
    client.post(message)
