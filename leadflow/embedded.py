"""The embedded default: run against the local sandbox when the config points at it.

When a source or destination's base_url is the sandbox's address (sandbox.host and its port for that
vendor) and nothing is listening there yet, `embedded_sandbox()` starts the sandbox in-process for
the duration of a run. If a sandbox is already serving (`leadflow sandbox serve` in another
terminal), it is used as it is. Real vendor URLs are never touched by any of this.

The sandbox checks tokens like the vendors do. For connectors pointed at the sandbox, an unset token
variable gets a fixed development value, on both sides, so a fresh clone runs with no account
anywhere; a connector pointed at a real vendor still requires its variable. The same holds for an
`oauth` block whose token_url is the sandbox's: its client id, secret and refresh token variables
default to the sandbox's fixed OAuth client.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from leadflow.config import Settings

VENDORS = (
    "hubspot",
    "meta",
    "typeform",
    "lemlist",
    "apollo",
    "salesforce",
    "linkedin",
    "pipedrive",
    "google_ads",
)


def sandbox_url(settings: Settings, vendor: str) -> str:
    return f"http://{settings.sandbox.host}:{getattr(settings.sandbox.ports, vendor)}"


def _targets(settings: Settings) -> list[tuple[str, Any]]:
    """(vendor, connector config) for every enabled connector."""
    found: list[tuple[str, Any]] = [
        (name, config)
        for name, config in settings.sources.enabled().items()
        if hasattr(config, "base_url")  # a file drop reads a folder: no vendor to stand in for
    ]
    found.extend(settings.destinations.crms().items())
    lemlist_dest = settings.destinations.lemlist
    if lemlist_dest is not None and lemlist_dest.enabled:
        found.append(("lemlist", lemlist_dest))
    firmographics = settings.enrichment.firmographics
    if firmographics is not None and firmographics.enabled:
        found.append((firmographics.provider, firmographics))
    return found


def sandboxed_vendors(settings: Settings) -> set[str]:
    """Vendors whose enabled connectors point at the sandbox's address."""
    return {
        vendor
        for vendor, config in _targets(settings)
        if config.base_url.rstrip("/") == sandbox_url(settings, vendor)
    } | _sandboxed_notifications(settings)


# Slack's credential is the webhook path: the sandbox accepts /services/<this>.
SANDBOX_SLACK_WEBHOOK = "T00SANDBOX/B00SANDBOX/sandbox-slack-webhook-secret"


def sandbox_slack_webhook(settings: Settings) -> str:
    return f"{sandbox_url(settings, 'slack')}/services/{SANDBOX_SLACK_WEBHOOK}"


def _sandboxed_notifications(settings: Settings) -> set[str]:
    """ "slack" / "smtp" when notifications go to the sandbox.

    SMTP: the configured host and port are the sandbox's. Slack: the webhook variable holds a
    sandbox URL, or is unset while the sandbox is embedded (it then gets the sandbox's URL, as
    connectors pointed at the sandbox get a development token).
    """
    config = settings.notifications
    found: set[str] = set()
    if not config.enabled:
        return found
    if config.email.enabled and (config.email.host, config.email.port) == (
        settings.sandbox.host,
        settings.sandbox.ports.smtp,
    ):
        found.add("smtp")
    if config.slack.enabled:
        url = os.environ.get(config.slack.webhook_url_env, "")
        if url.startswith(f"{sandbox_url(settings, 'slack')}/services/") or (
            not url and settings.sandbox.embedded
        ):
            found.add("slack")
    return found


def default_token(vendor: str) -> str:
    return f"sandbox-{vendor}-token"


def sandbox_tokens(settings: Settings) -> dict[str, str]:
    """The token each sandboxed vendor accepts: its connector's variable, or the development value."""
    tokens: dict[str, str] = {}
    sandboxed = sandboxed_vendors(settings)
    for vendor, config in _targets(settings):
        if vendor in sandboxed:
            os.environ.setdefault(config.access_token_env, default_token(vendor))
            tokens[vendor] = os.environ[config.access_token_env]
            oauth = getattr(config, "oauth", None)
            if oauth is not None and oauth.token_url.startswith(sandbox_url(settings, vendor)):
                _default_oauth_client(vendor, oauth)
    for vendor in VENDORS:
        tokens.setdefault(vendor, default_token(vendor))
    if "slack" in sandboxed:
        env = settings.notifications.slack.webhook_url_env
        os.environ.setdefault(env, sandbox_slack_webhook(settings))
        tokens["slack"] = os.environ[env].split("/services/", 1)[1]
    return tokens


def _default_oauth_client(vendor: str, oauth: Any) -> None:
    """An `oauth` block whose token_url is the sandbox's: its unset variables get the sandbox's
    fixed OAuth client and refresh token (sandbox/oauth.py)."""
    from sandbox.oauth import CLIENTS

    client = CLIENTS.get(vendor)
    if client is None:
        return
    os.environ.setdefault(oauth.client_id_env, client.client_id)
    os.environ.setdefault(oauth.client_secret_env, client.client_secret)
    os.environ.setdefault(oauth.refresh_token_env, client.refresh_token)


def is_listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.3):
            return True
    except OSError:
        return False


@contextmanager
def embedded_sandbox(settings: Settings) -> Iterator[Any]:
    """Start the sandbox for the duration of a block when the config calls for it."""
    vendors = sandboxed_vendors(settings)
    if not settings.sandbox.embedded or not vendors:
        yield None
        return
    tokens = sandbox_tokens(settings)
    ports = {v: getattr(settings.sandbox.ports, v) for v in (*VENDORS, "slack", "smtp")}
    if all(is_listening(settings.sandbox.host, ports[v]) for v in vendors):
        yield None  # a sandbox started elsewhere is serving these ports
        return
    from sandbox import Sandbox

    state_dir = settings.resolve(settings.sandbox.state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    sandbox = Sandbox(
        seed=settings.sandbox.seed,
        leads=settings.sandbox.leads,
        state_path=state_dir / "world.sqlite",
        tokens=tokens,
    )
    sandbox.start(host=settings.sandbox.host, ports=ports)
    try:
        yield sandbox
    finally:
        sandbox.stop()
