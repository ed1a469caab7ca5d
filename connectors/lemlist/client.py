"""The Lemlist HTTP session (basic auth with the API key as password, the rate limit, its error
bodies) and the offset paginator for activities."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

import requests
from pydantic import SecretStr

from connectors.http import ApiClient, ConnectorError, FatalError, RateLimiter
from connectors.lemlist import settings
from connectors.lemlist.models import Activity, WriteOutcome, parse_activity
from leadflow.config import HttpSettings

_LEAD_IN_PATH = re.compile(r"/leads/\S+")


def basic_auth(api_key: str) -> Mapping[str, str]:
    """Lemlist's basic auth: an empty user name and the API key as the password."""
    encoded = base64.b64encode(f":{api_key}".encode()).decode("ascii")
    return {"Authorization": f"Basic {encoded}"}


def describe_error(response: requests.Response) -> tuple[str, str]:
    """Lemlist answers errors with a short text ("Bad params", "Campaign not found"); some routes
    send JSON with `message` or `error` instead."""
    text = response.text.strip()
    try:
        body = response.json()
    except ValueError:
        return "", text[:200]
    if isinstance(body, dict):
        return str(body.get("code") or ""), str(body.get("message") or body.get("error") or "")
    return "", str(body)[:200]


def make_client(base_url: str, api_key: SecretStr, http: HttpSettings | None = None) -> ApiClient:
    calls, period = settings.RATE_LIMIT
    return ApiClient(
        source="lemlist",
        base_url=base_url,
        token=api_key,
        http=http or HttpSettings(),
        auth_header=basic_auth,
        describe_error=describe_error,
        limiters={"/": RateLimiter(calls, period)},
    )


def _lead_path(template: str, campaign_id: str, email: str) -> str:
    # '@' stays readable so a logged path is masked by leadflow.redact like any other address.
    return template.format(campaign_id=quote(campaign_id, safe=""), email=quote(email, safe="@"))


def _outcome(exc: ConnectorError) -> WriteOutcome:
    # The lead's address is part of the path; redact() masks a valid one, this masks any.
    message = _LEAD_IN_PATH.sub("/leads/[lead]", str(exc))
    return WriteOutcome(
        ok=False, http_status=exc.status, error=message, retriable=not isinstance(exc, FatalError)
    )


def add_lead(
    client: ApiClient, campaign_id: str, email: str, variables: Mapping[str, Any]
) -> WriteOutcome:
    """Add a lead to a campaign. A lead already in it counts as done (the call is idempotent for
    LeadFlow: a crash between the call and its record is followed by the same call)."""
    path = _lead_path(settings.ADD_LEAD, campaign_id, email)
    body = {k: v for k, v in variables.items() if v is not None}
    try:
        status, _ = client.request("POST", path, json=body)
    except FatalError as exc:
        if exc.status in (400, 409) and "already" in str(exc).lower():
            return WriteOutcome(ok=True, http_status=exc.status)
        return _outcome(exc)
    except ConnectorError as exc:
        return _outcome(exc)
    return WriteOutcome(ok=True, http_status=status)


def remove_lead(client: ApiClient, campaign_id: str, email: str) -> WriteOutcome:
    """Delete a lead from a campaign (`action=remove`; without it Lemlist would only unsubscribe
    the address, which would also block it from any later campaign). A lead that is not in the
    campaign any more counts as removed."""
    path = _lead_path(settings.REMOVE_LEAD, campaign_id, email)
    try:
        status, _ = client.request("DELETE", path, params={"action": "remove"})
    except FatalError as exc:
        if exc.status == 404 and "lead not found" in str(exc).lower():
            return WriteOutcome(ok=True, http_status=exc.status)
        return _outcome(exc)
    except ConnectorError as exc:
        return _outcome(exc)
    return WriteOutcome(ok=True, http_status=status)


def activities(
    client: ApiClient,
    activity_type: str,
    campaign_id: str | None = None,
    since: datetime | None = None,
    limit: int = settings.ACTIVITIES_PAGE_LIMIT,
) -> Iterator[Activity]:
    """Every activity of a type (in a campaign, created at or after `since`), page by page.

    Offset paging (https://developer.lemlist.com/api-reference/endpoints/activities/get-many-activities):
    `offset` grows by the page size until a page comes back shorter than `limit`.
    """
    limit = max(1, min(limit, settings.ACTIVITIES_PAGE_LIMIT))
    offset = 0
    while True:
        params: dict[str, Any] = {"type": activity_type, "offset": offset, "limit": limit}
        if campaign_id is not None:
            params["campaignId"] = campaign_id
        if since is not None:
            params["minDate"] = since.strftime("%Y-%m-%dT%H:%M:%SZ")
        page = client.get_json(settings.ACTIVITIES, params=params)
        if not isinstance(page, list):
            raise FatalError("lemlist", "GET /api/activities did not return a list")
        for payload in page:
            if isinstance(payload, dict):
                activity = parse_activity(payload)
                if activity is not None:
                    yield activity
        if len(page) < limit:
            return
        offset += limit
