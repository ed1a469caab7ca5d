"""The Pipedrive session (API token header, burst pacing), the two paginators and the writers.

One `ApiClient` per company. Pipedrive allows a plan-dependent number of requests per token in
a rolling 2-second window and answers 429 past it; the client's limiter sends at most 80% of
that, and a 429 (another integration on the same token) is retried after `x-ratelimit-reset`
seconds, which Pipedrive sends instead of Retry-After.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import requests
from pydantic import SecretStr

from connectors.http import (
    ApiClient,
    AuthError,
    ConnectorError,
    FatalError,
    RateLimiter,
    RetriableError,
)
from connectors.pipedrive import settings
from connectors.pipedrive.models import WriteOutcome, record_cursor
from connectors.streams import Page
from leadflow.config import HttpSettings
from leadflow.redact import redact

SOURCE = "pipedrive"


class MissingCustomFields(FatalError):
    """The company lacks person fields LeadFlow writes; they must be created first."""

    def __init__(self, names: Sequence[str]) -> None:
        super().__init__(
            SOURCE,
            "the company has no person field named "
            + ", ".join(repr(n) for n in names)
            + "; create them in Pipedrive (Settings > Data fields > Person) before pushing",
            category="MISSING_CUSTOM_FIELD",
        )


def describe_error(response: requests.Response) -> tuple[str, str]:
    """Pipedrive errors: `{"success": false, "error": "...", "errorCode": N, "error_info"}`."""
    body = response.json()
    if not isinstance(body, dict):
        return "", ""
    # errorCode repeats the HTTP status; a textual `code` (some v2 answers) is worth keeping.
    code = body.get("code")
    category = code if isinstance(code, str) else ""
    return category, str(body.get("error") or "")


def _reset_as_retry_after(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    """On a 429, Pipedrive says when the window has room in `x-ratelimit-reset` (seconds);
    ApiClient honours Retry-After, so copy it there when the answer has none."""
    if response.status_code == 429 and "Retry-After" not in response.headers:
        reset = response.headers.get("x-ratelimit-reset")
        if reset is not None:
            with contextlib.suppress(ValueError):
                response.headers["Retry-After"] = str(max(0.0, float(reset)))


def make_client(
    base_url: str,
    token: SecretStr,
    http: HttpSettings | None = None,
    *,
    burst_limit: int = settings.DEFAULT_BURST_LIMIT,
) -> ApiClient:
    pace = max(1, math.floor(burst_limit * settings.PACING_SHARE))
    client = ApiClient(
        source=SOURCE,
        base_url=base_url,
        token=token,
        http=http or HttpSettings(),
        auth_header=lambda tok: {"x-api-token": tok},
        describe_error=describe_error,
        # 403 is a permission (a non-admin token on an admin-only endpoint), not the token.
        is_auth_failure=lambda r: r.status_code == 401,
        limiters={"/": RateLimiter(pace, settings.BURST_WINDOW_S)},
    )
    client.session.hooks["response"].append(_reset_as_retry_after)
    return client


def rfc3339(value: datetime) -> str:
    """`updated_since` as v2 takes it: whole seconds, rounded down, UTC."""
    utc = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------- reads


def cursor_pages(
    client: ApiClient, path: str, since: datetime | None, page_size: int
) -> Iterator[Page]:
    """Every row of a v2 list changed at or after `since`, oldest change first (sort_by
    update_time, ties by id), following `additional_data.next_cursor` to the end.
    https://pipedrive.readme.io/docs/core-api-concepts-pagination#cursor-pagination"""
    params: dict[str, Any] = {
        "limit": max(1, min(settings.PAGE_MAX, page_size)),
        "sort_by": "update_time",
        "sort_direction": "asc",
    }
    if since is not None:
        params["updated_since"] = rfc3339(since)
    while True:
        body = client.get_json(path, params=params) or {}
        data = body.get("data") or []
        extra = body.get("additional_data") or {}
        cursor = extra.get("next_cursor") if isinstance(extra, dict) else None
        yield Page([r for r in data if isinstance(r, dict)], last=not cursor)
        if not cursor:
            return
        params = {**params, "cursor": cursor}


def lead_pages(client: ApiClient, since: datetime | None, page_size: int) -> Iterator[Page]:
    """Leads changed at or after `since` (archived ones included), newest change first, by
    offset (`start`/`limit`): GET /v1/leads has no updated_since, so paging stops at the first
    page reaching back past `since`, and older rows are dropped. Each page after the first
    starts `LEAD_PAGE_OVERLAP` rows early so a delete mid-pull cannot skip a row; ids already
    given are dropped. https://pipedrive.readme.io/docs/core-api-concepts-pagination"""
    limit = max(1, min(settings.PAGE_MAX, page_size))
    overlap = min(settings.LEAD_PAGE_OVERLAP, limit - 1)
    floor = since
    if floor is not None and floor.tzinfo is not None:
        floor = floor.astimezone(UTC).replace(tzinfo=None)
    seen: set[str] = set()
    start = 0
    while True:
        params = {
            "start": start,
            "limit": limit,
            "archived_status": "all",
            "sort": "update_time DESC",
        }
        body = client.get_json(settings.LEADS, params=params) or {}
        data = [r for r in body.get("data") or [] if isinstance(r, dict)]
        extra = body.get("additional_data") or {}
        pagination = extra.get("pagination") if isinstance(extra, dict) else None
        pagination = pagination if isinstance(pagination, dict) else {}
        fresh = []
        reached_floor = False
        for row in data:
            stamp = record_cursor(row)
            if floor is not None and stamp is not None and stamp < floor:
                reached_floor = True
                continue
            key = str(row.get("id"))
            if key not in seen:
                seen.add(key)
                fresh.append(row)
        next_start = pagination.get("next_start")
        more = bool(pagination.get("more_items_in_collection")) and isinstance(next_start, int)
        last = reached_floor or not more
        yield Page(fresh, last=last)
        if last:
            return
        assert isinstance(next_start, int)
        start = max(start + 1, next_start - overlap)


def users_page(client: ApiClient) -> Iterator[Page]:
    """Every user, one answer (GET /v1/users does not page)."""
    body = client.get_json(settings.USERS) or {}
    yield Page([r for r in body.get("data") or [] if isinstance(r, dict)], last=True)


def custom_field_keys(
    client: ApiClient, names: Sequence[str] = settings.LEADFLOW_FIELDS
) -> dict[str, str]:
    """LeadFlow's field names -> this company's 40-hex person field keys (GET /v1/personFields,
    every page). Raises MissingCustomFields naming every field the company lacks."""
    found: dict[str, str] = {}
    start = 0
    while True:
        body = client.get_json(
            settings.PERSON_FIELDS, params={"start": start, "limit": settings.PAGE_MAX}
        )
        body = body if isinstance(body, dict) else {}
        for field in body.get("data") or []:
            if isinstance(field, dict) and isinstance(field.get("name"), str):
                found.setdefault(field["name"], str(field.get("key")))
        pagination = (body.get("additional_data") or {}).get("pagination") or {}
        next_start = pagination.get("next_start")
        if not pagination.get("more_items_in_collection") or not isinstance(next_start, int):
            break
        start = next_start
    missing = [name for name in names if name not in found]
    if missing:
        raise MissingCustomFields(missing)
    return {name: found[name] for name in names}


# --------------------------------------------------------------------------- writes


def update_persons(
    client: ApiClient, rows: Sequence[Mapping[str, Any]], field_keys: Mapping[str, str]
) -> list[WriteOutcome]:
    """Write owner and LeadFlow's custom fields onto persons: one PATCH /api/v2/persons/{id}
    per row (Pipedrive has no batch update), paced by the client's limiter. Each row holds `id`,
    optionally `owner_id`, and field names (keys of `field_keys`, e.g. "LeadFlow Score") with
    their values. One outcome per row, in order. A bad token stops the push (AuthError)."""
    bodies: list[tuple[str | None, dict[str, Any]]] = []
    for row in rows:
        unknown = [k for k in row if k not in ("id", "owner_id") and k not in field_keys]
        if unknown:
            raise ValueError(
                f"no custom field key for {unknown[0]!r}; pass it in field_keys "
                "(custom_field_keys(client, names))"
            )
        body: dict[str, Any] = {}
        if row.get("owner_id") is not None:
            body["owner_id"] = row["owner_id"]
        custom = {field_keys[k]: v for k, v in row.items() if k not in ("id", "owner_id")}
        if custom:
            body["custom_fields"] = custom
        bodies.append((_key(row.get("id")), body))
    return [_patch(client, settings.PERSON, key, body) for key, body in bodies]


def update_leads(client: ApiClient, rows: Sequence[Mapping[str, Any]]) -> list[WriteOutcome]:
    """Write owner (and labels) onto leads: one PATCH /api/v1/leads/{id} per row with the row's
    `owner_id` and `label_ids`. Leads take no person custom fields (they share the deal fields),
    so scores go on the lead's person. One outcome per row, in order."""
    out = []
    for row in rows:
        body = {k: row[k] for k in ("owner_id", "label_ids") if row.get(k) is not None}
        out.append(_patch(client, settings.LEAD, _key(row.get("id")), body))
    return out


def _key(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _patch(client: ApiClient, template: str, key: str | None, body: dict[str, Any]) -> WriteOutcome:
    if key is None or "/" in key or "?" in key:
        return WriteOutcome(key, False, "the row has no usable id", retriable=False)
    if not body:
        return WriteOutcome(key, True, "nothing to write")
    try:
        status, answer = client.request("PATCH", template.format(id=key), json=body)
    except AuthError:
        raise  # every record would fail alike: stop with one clear error
    except FatalError as exc:
        return _failed(key, exc, retriable=False)
    except RetriableError as exc:
        return _failed(key, exc, retriable=True)
    if not isinstance(answer, dict) or answer.get("success") is not True:
        return WriteOutcome(key, False, "unreadable answer", retriable=True, http_status=status)
    return WriteOutcome(key, True, http_status=status)


def _failed(key: str, exc: ConnectorError, *, retriable: bool) -> WriteOutcome:
    return WriteOutcome(key, False, redact(str(exc))[:300], retriable, exc.status)
