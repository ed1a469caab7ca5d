"""E-mail over SMTP: send notification messages (plain text) through the configured server.

Public API: `open_client`, `send_email`, `Email`.
"""

from __future__ import annotations

from connectors.email.client import SmtpClient
from connectors.email.models import Email
from leadflow.config import EmailNotifyConfig, read_secret

__all__ = ["Email", "SmtpClient", "open_client", "send_email"]


def open_client(config: EmailNotifyConfig) -> SmtpClient:
    """A client for the configured server; the connection opens on the first send."""
    username = read_secret(config.username_env).get_secret_value() if config.username_env else None
    password = read_secret(config.password_env) if config.password_env else None
    return SmtpClient(
        host=config.host,
        port=config.port,
        from_address=config.from_address,
        timeout_s=config.timeout_s,
        starttls=config.starttls,
        username=username,
        password=password,
    )


def send_email(client: SmtpClient, email: Email) -> None:
    client.send(email.build(client.from_address))
