"""The LinkedIn session (bearer token, the pinned `LinkedIn-Version`, Rest.li 2.0), the Rest.li
query encoding and the `start`/`count` paginator of the lead form responses finder."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import requests
from pydantic import SecretStr

from connectors.http import ApiClient, FatalError, RateLimiter, Verdict
from connectors.linkedin import settings
from connectors.streams import Page
from leadflow.config import HttpSettings

SOURCE = "linkedin"


def _error_body(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def describe_error(response: requests.Response) -> tuple[str, str]:
    """LinkedIn's error body: `{"status", "serviceErrorCode"?, "code"?, "message"}`."""
    body = _error_body(response)
    code = body.get("code")
    service = body.get("serviceErrorCode")
    category = str(code) if code else (f"serviceErrorCode {service}" if service else "")
    message = str(body.get("message", ""))
    if code == "NONEXISTENT_VERSION":
        message += (
            "; LinkedIn has sunset this API version: set sources.linkedin.api_version to an "
            "active one (https://learn.microsoft.com/en-us/linkedin/marketing/versioning)"
        )
    elif response.status_code == 401:
        message += "; renew the access token (LinkedIn's expire after 60 days) in its env var"
    return category, message


def classify(response: requests.Response) -> Verdict:
    """429 (a daily limit or LinkedIn's infrastructure protection) and 5xx are retried; the rest,
    426 for a sunset version included, are fatal."""
    if response.status_code < 400:
        return "ok"
    if response.status_code == 429 or response.status_code >= 500:
        return "retriable"
    return "fatal"


def make_client(
    base_url: str, token: SecretStr, api_version: str, http: HttpSettings | None = None
) -> ApiClient:
    calls, period = settings.RATE_LIMIT
    client = ApiClient(
        source=SOURCE,
        base_url=base_url,
        token=token,
        http=http or HttpSettings(),
        classify=classify,
        describe_error=describe_error,
        limiters={"/rest/": RateLimiter(calls, period)},
    )
    # Every versioned call must name its version: LinkedIn never applies the latest by default.
    client.session.headers["LinkedIn-Version"] = api_version
    client.session.headers["X-Restli-Protocol-Version"] = settings.RESTLI_PROTOCOL_VERSION
    return client


# --------------------------------------------------------------------------- Rest.li 2.0


def restli_leaf(value: str) -> str:
    """A scalar inside a Rest.li 2.0 query value: every reserved character percent-encoded
    (`urn:li:sponsoredAccount:1` -> `urn%3Ali%3AsponsoredAccount%3A1`)."""
    return quote(value, safe="")


def restli_record(**fields: str) -> str:
    """A Rest.li 2.0 record `(key:value,...)`; values must already be encoded leaves or records."""
    return "(" + ",".join(f"{key}:{value}" for key, value in fields.items()) + ")"


def query_string(params: list[tuple[str, str]]) -> str:
    """Parameters already in Rest.li 2.0 form, joined as they are: `requests` would encode the
    parentheses, colons and commas that carry the structure, and LinkedIn would refuse them."""
    return "&".join(f"{name}={value}" for name, value in params)


def epoch_ms(value: datetime) -> int:
    """Epoch milliseconds of a naive UTC (or aware) datetime."""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return int(aware.timestamp() * 1000)


def sponsored_account_urn(account_id: str) -> str:
    return f"urn:li:sponsoredAccount:{account_id}"


def versioned_form_urn(form_id: str, version: int) -> str:
    return f"urn:li:versionedLeadGenForm:(urn:li:leadGenForm:{form_id},{version})"


# --------------------------------------------------------------------------- reads


def form_version(client: ApiClient, form_id: str) -> int:
    """The form's current version (`versionId`): editing a published form makes a new version,
    and responses are filtered per version, so a pull reads versions 1..current."""
    try:
        form = client.get_json(settings.FORM.format(form_id=form_id))
    except FatalError as exc:
        if exc.status == 404:
            raise FatalError(
                SOURCE,
                f"lead form {form_id} was not found: check sources.linkedin.forms (the numeric id "
                "from Campaign Manager > Account assets > Lead gen forms) and that it belongs to "
                "sources.linkedin.sponsored_account_id",
                status=404,
            ) from None
        raise
    version = form.get("versionId") if isinstance(form, dict) else None
    return (
        version if isinstance(version, int) and not isinstance(version, bool) and version > 0 else 1
    )


def list_forms(client: ApiClient, account_id: str, page_size: int = 100) -> list[dict[str, Any]]:
    """Every lead form the sponsored account owns, with its questions (setup checks, README)."""
    owner = restli_record(sponsoredAccount=restli_leaf(sponsored_account_urn(account_id)))
    forms: list[dict[str, Any]] = []
    for page in offset_pages(client, settings.FORMS, [("q", "owner"), ("owner", owner)], page_size):
        forms.extend(page.records)
    return forms


def list_responses(
    client: ApiClient,
    account_id: str,
    form_id: str,
    since: datetime,
    until: datetime,
    page_size: int,
) -> Iterator[Page]:
    """Responses to every version of one form submitted in [since, until], page by page.

    LinkedIn documents no order for this finder (it answers newest first), so the caller commits
    its cursor with the last page only.
    """
    versions = form_version(client, form_id)
    owner = restli_record(sponsoredAccount=restli_leaf(sponsored_account_urn(account_id)))
    time_range = restli_record(start=str(epoch_ms(since)), end=str(epoch_ms(until)))
    for version in range(1, versions + 1):
        params = [
            ("q", "owner"),
            ("owner", owner),
            ("leadType", restli_record(leadType=settings.LEAD_TYPE)),
            ("versionedLeadGenFormUrn", restli_leaf(versioned_form_urn(form_id, version))),
            ("submittedAtTimeRange", time_range),
            ("fields", settings.RESPONSE_PROJECTION),
        ]
        for page in offset_pages(client, settings.RESPONSES, params, page_size):
            yield Page(page.records, last=page.last and version == versions)


def offset_pages(
    client: ApiClient, path: str, params: list[tuple[str, str]], count: int
) -> Iterator[Page]:
    """Rest.li offset paging: `start` advances by what each page held until `paging.total` is
    reached, or, without a total, until a page comes back empty (a short page alone does not end
    it: LinkedIn may hold a page under `count`).

    https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/pagination
    """
    start = 0
    while True:
        query = query_string([*params, ("count", str(count)), ("start", str(start))])
        data = client.get_json(f"{path}?{query}")
        data = data if isinstance(data, dict) else {}
        elements = data.get("elements")
        records = [e for e in elements if isinstance(e, dict)] if isinstance(elements, list) else []
        paging = data.get("paging") if isinstance(data.get("paging"), dict) else {}
        total = paging.get("total") if isinstance(paging, dict) else None
        held = len(elements) if isinstance(elements, list) else 0
        if isinstance(total, int) and not isinstance(total, bool):
            more = held > 0 and start + held < total
        else:
            more = held > 0
        yield Page(records, last=not more)
        if not more:
            return
        start += held
