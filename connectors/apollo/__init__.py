"""Apollo.io (firmographics): the company behind a business email domain.

Public API: `open_client`, `enrich_organization`, `is_quota_exhausted`, `Organization`.
"""

from __future__ import annotations

from connectors.apollo import client as apollo_client
from connectors.apollo.client import enrich_organization, is_quota_exhausted
from connectors.apollo.models import Organization
from connectors.http import ApiClient
from leadflow.config import FirmographicsConfig, HttpSettings

__all__ = ["Organization", "enrich_organization", "is_quota_exhausted", "open_client"]


def open_client(config: FirmographicsConfig, http: HttpSettings | None = None) -> ApiClient:
    """A session for the configured provider; `http` overrides the config's timeouts and retries
    (the speed lane's single short attempt)."""
    return apollo_client.make_client(
        config.base_url,
        config.access_token(),
        http or config.http,
        requests_per_minute=config.requests_per_minute,
    )
