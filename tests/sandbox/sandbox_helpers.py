"""Shared helpers for the sandbox tests: constants, a session per server, paging to the end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from sandbox import Sandbox

NOW = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
TOKENS = {"hubspot": "tok-h", "meta": "tok-m", "typeform": "tok-t"}
SEARCH = "/crm/v3/objects/contacts/search"
UPSERT = "/crm/v3/objects/contacts/batch/upsert"
UPDATE = "/crm/v3/objects/contacts/batch/update"
META_FORMS = ("810000000000001", "810000000000002")
TYPEFORM_FORMS = ("dEm0rQ", "eB00kD")


class StepClock:
    """A clock for a vendor app that moves only when a test says: `advance(minutes=5)`."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def no_limits(sb: Sandbox) -> Sandbox:
    """The sandbox with every rate limit switched off."""
    for bucket in ("hubspot", "hubspot_search", "meta", "typeform"):
        sb.set_rate_limit(bucket, 0, 1)
    return sb


class Client:
    """A requests session bound to one server, with a timeout on every call."""

    def __init__(self, base: str, headers: dict[str, str]) -> None:
        self.base = base
        self.session = requests.Session()
        self.session.headers.update(headers)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.session.close()

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.get(self.base + path, timeout=10, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.post(self.base + path, timeout=10, **kwargs)


def search_all(hubspot: Client, body: dict[str, Any]) -> list[dict[str, Any]]:
    """Every result of a HubSpot search, following paging.next.after to the end."""
    results: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        page = hubspot.post(SEARCH, json={**body, **({"after": after} if after else {})})
        assert page.status_code == 200, page.text
        data = page.json()
        results.extend(data["results"])
        after = data.get("paging", {}).get("next", {}).get("after")
        if after is None:
            return results


def meta_leads(meta: Client, form_id: str, **params: Any) -> list[dict[str, Any]]:
    """Every lead of a Meta form, following paging.next to the end."""
    leads: list[dict[str, Any]] = []
    resp = meta.get(f"/v21.0/{form_id}/leads", params=params)
    while True:
        assert resp.status_code == 200, resp.text
        data = resp.json()
        leads.extend(data["data"])
        nxt = data.get("paging", {}).get("next")
        if nxt is None:
            return leads
        resp = meta.session.get(nxt, timeout=10)


def typeform_responses(
    typeform: Client, form_id: str, page_size: int = 1000
) -> list[dict[str, Any]]:
    """Every response of a Typeform form, newest first, paging with `before`."""
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"page_size": page_size}
    while True:
        resp = typeform.get(f"/forms/{form_id}/responses", params=params)
        assert resp.status_code == 200, resp.text
        page = resp.json()["items"]
        if not page:
            return items
        items.extend(page)
        params["before"] = page[-1]["token"]
