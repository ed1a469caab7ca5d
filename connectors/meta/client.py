"""The Graph API session (bearer token in a header, never in a URL) and the leads and insights
paginators."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import requests
from pydantic import SecretStr

from connectors.http import ApiClient, ConnectorError, RateLimiter, Verdict
from connectors.meta import settings
from connectors.streams import Page
from leadflow.config import HttpSettings


def _graph_error(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def classify(response: requests.Response) -> Verdict:
    """Graph reports throttling with error codes, often inside a 400 or 403."""
    if response.status_code < 400:
        return "ok"
    code = _graph_error(response).get("code")
    if (
        code in settings.RETRIABLE_CODES
        or response.status_code == 429
        or response.status_code >= 500
    ):
        return "retriable"
    return "fatal"


def is_auth_failure(response: requests.Response) -> bool:
    """Graph reports a bad or missing token as a 400 with an OAuth error code."""
    return (
        response.status_code in (401, 403)
        or _graph_error(response).get("code") in settings.AUTH_CODES
    )


def describe_error(response: requests.Response) -> tuple[str, str]:
    error = _graph_error(response)
    code = error.get("code")
    category = f"{error.get('type', 'GraphError')} code {code}" if code is not None else ""
    return category, str(error.get("message", ""))


def make_client(base_url: str, token: SecretStr, http: HttpSettings | None = None) -> ApiClient:
    calls, period = settings.RATE_LIMIT
    return ApiClient(
        source="meta",
        base_url=base_url,
        token=token,
        http=http or HttpSettings(),
        classify=classify,
        describe_error=describe_error,
        is_auth_failure=is_auth_failure,
        limiters={"/": RateLimiter(calls, period)},
    )


def list_leads(
    client: ApiClient, version: str, form_id: str, since: datetime | None, limit: int
) -> Iterator[Page]:
    """Leads of one form created after `since`, following paging cursors to the end.

    Graph returns newest first, so the stream is not sorted by its cursor: the caller commits the
    cursor with the last page only.
    """
    params: dict[str, Any] = {"fields": ",".join(settings.LEAD_FIELDS), "limit": limit}
    if since is not None:
        epoch = int((since - datetime(1970, 1, 1)).total_seconds())
        params["filtering"] = json.dumps(
            [{"field": "time_created", "operator": "GREATER_THAN", "value": epoch - 1}]
        )
    path = settings.LEADS.format(version=version, form_id=form_id)
    yield from graph_pages(client, path, params)


def get_lead(client: ApiClient, version: str, leadgen_id: str) -> dict[str, Any] | None:
    """One lead by its id (the `leadgen_id` of a webhook), with the fields the pull reads, so the
    payload is the one `list_leads` would land; None when Graph says the lead does not exist."""
    params = {"fields": ",".join(settings.LEAD_FIELDS)}
    try:
        data = client.get_json(f"/{version}/{leadgen_id}", params=params)
    except ConnectorError as exc:
        # Graph answers a node it does not have (or the token cannot see) with a 400, code 100.
        if exc.status == 400 and exc.category.endswith("code 100"):
            return None
        raise
    return data if isinstance(data, dict) else None


def list_insights(
    client: ApiClient,
    version: str,
    account_id: str,
    since: date,
    until: date,
    limit: int = settings.INSIGHTS_PAGE_LIMIT,
) -> Iterator[Page]:
    """One row per campaign per day of the ad account from `since` to `until` (both included),
    following `paging.cursors.after` while Graph gives a `paging.next`."""
    params: dict[str, Any] = {
        "level": "campaign",
        "fields": ",".join(settings.INSIGHTS_FIELDS),
        "time_increment": 1,
        "time_range": json.dumps({"since": since.isoformat(), "until": until.isoformat()}),
        "limit": limit,
    }
    path = settings.INSIGHTS.format(version=version, account_id=account_id)
    yield from graph_pages(client, path, params)


def graph_pages(client: ApiClient, path: str, params: dict[str, Any]) -> Iterator[Page]:
    """The Graph API's cursor paging: follow `paging.cursors.after` while a `paging.next` is given.

    https://developers.facebook.com/docs/graph-api/results (cursor-based pagination).
    """
    while True:
        data = client.get_json(path, params=params)
        paging = data.get("paging") or {}
        after = (paging.get("cursors") or {}).get("after")
        more = bool(paging.get("next")) and bool(after)
        yield Page(data.get("data") or [], last=not more)
        if not more:
            return
        params = {**params, "after": after}
