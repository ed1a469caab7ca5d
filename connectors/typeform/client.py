"""The Typeform session (bearer token) and the responses paginator."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import requests
from pydantic import SecretStr

from connectors.http import ApiClient, RateLimiter
from connectors.streams import Page
from connectors.typeform import settings
from leadflow.config import HttpSettings


def describe_error(response: requests.Response) -> tuple[str, str]:
    """Typeform errors: {"code": "...", "description": "..."}."""
    body = response.json()
    return str(body.get("code", "")), str(body.get("description", ""))


def make_client(base_url: str, token: SecretStr, http: HttpSettings | None = None) -> ApiClient:
    calls, period = settings.RATE_LIMIT
    return ApiClient(
        source="typeform",
        base_url=base_url,
        token=token,
        http=http or HttpSettings(),
        describe_error=describe_error,
        limiters={"/": RateLimiter(calls, period)},
    )


def list_responses(
    client: ApiClient, form_id: str, since: datetime | None, page_size: int
) -> Iterator[Page]:
    """Submitted responses of one form since `since`, newest first, paged with `before` tokens."""
    params: dict[str, Any] = {"page_size": min(page_size, settings.PAGE_MAX), "completed": "true"}
    if since is not None:
        # Typeform takes ISO 8601 UTC "to the second".
        params["since"] = since.strftime("%Y-%m-%dT%H:%M:%SZ")
    path = settings.RESPONSES.format(form_id=form_id)
    while True:
        data = client.get_json(path, params=params)
        items = data.get("items") or []
        more = len(items) >= params["page_size"] and bool(items[-1].get("token"))
        yield Page(items, last=not more)
        if not more:
            return
        params = {**params, "before": items[-1]["token"]}


def get_response(client: ApiClient, form_id: str, token: str) -> dict[str, Any] | None:
    """One submitted response by its token (the `form_response.token` of a webhook), as
    `list_responses` returns it; None when the form has no such completed response."""
    params = {"included_response_ids": token, "completed": "true", "page_size": 1}
    data = client.get_json(settings.RESPONSES.format(form_id=form_id), params=params)
    items = data.get("items") if isinstance(data, dict) else None
    return next((item for item in items or [] if item.get("token") == token), None)
