"""The Apollo HTTP session (the `x-api-key` header, the client-side pace, its error bodies and its
quota answers) and the organization lookup. One request per domain: the endpoint has no paging."""

from __future__ import annotations

from collections.abc import Mapping

import requests
from pydantic import SecretStr

from connectors.apollo import settings
from connectors.apollo.models import Organization, parse_organization
from connectors.http import ApiClient, ConnectorError, FatalError, RateLimiter, Verdict
from leadflow.config import HttpSettings


def api_key_header(api_key: str) -> Mapping[str, str]:
    return {settings.API_KEY_HEADER: api_key}


def _message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:300]
    if isinstance(body, dict):
        return str(body.get("message") or body.get("error") or "")[:300]
    return str(body)[:300]


def describe_error(response: requests.Response) -> tuple[str, str]:
    """Apollo's error bodies: `{"error": ..., "error_code": "API_INACCESSIBLE"}` (401/403/422),
    `{"message": "The maximum number of api calls allowed for ... is N times per minute. ...",
    "error_details": {"code": ...}}` (429), or a short text ("Invalid access credentials.")."""
    try:
        body = response.json()
    except ValueError:
        return "", response.text.strip()[:200]
    if not isinstance(body, dict):
        return "", str(body)[:200]
    details = body.get("error_details")
    code = body.get("error_code") or (details.get("code") if isinstance(details, dict) else None)
    return str(code or ""), _message(response)


def is_quota_answer(response: requests.Response) -> bool:
    """A 429 for the plan's hourly or daily limit: it will not free up within this run."""
    if response.status_code != 429:
        return False
    message = _message(response).lower()
    return any(window in message for window in settings.QUOTA_WINDOWS)


def classify(response: requests.Response) -> Verdict:
    """The shared taxonomy, except that an hourly or daily 429 is not retried: backing off for
    seconds cannot outwait it, and every retry would count against the same limit."""
    if response.status_code < 400:
        return "ok"
    if is_quota_answer(response):
        return "fatal"
    if response.status_code == 429 or response.status_code >= 500:
        return "retriable"
    return "fatal"


def is_quota_exhausted(error: ConnectorError) -> bool:
    """Whether a failed lookup means the plan's hourly or daily limit is spent."""
    return isinstance(error, FatalError) and error.status == 429


def make_client(
    base_url: str,
    api_key: SecretStr,
    http: HttpSettings | None = None,
    requests_per_minute: int = 0,
) -> ApiClient:
    return ApiClient(
        source="apollo",
        base_url=base_url,
        token=api_key,
        http=http or HttpSettings(),
        auth_header=api_key_header,
        classify=classify,
        describe_error=describe_error,
        limiters={settings.ORGANIZATION_ENRICH: RateLimiter(requests_per_minute, 60.0)},
    )


def enrich_organization(client: ApiClient, domain: str) -> Organization | None:
    """The company behind an email domain; None when Apollo has no record of it.

    Apollo answers a miss with a body without `organization`; a 404 is read as a miss too. Other
    failures raise the shared taxonomy's errors (RetriableError, FatalError, AuthError); the domain
    travels in the query string, which no error message or log line includes.
    """
    try:
        body = client.get_json(settings.ORGANIZATION_ENRICH, params={"domain": domain})
    except FatalError as exc:
        if exc.status == 404:
            return None
        raise
    return parse_organization(body)
