"""The Salesforce session (bearer token, org API usage), the query paginator and the writers.

One `ApiClient` per org. Salesforce reports the org's rolling 24-hour API usage on every answer
(`Sforce-Limit-Info: api-usage=N/LIMIT`); `UsageMeter` reads it, and `OrgBudget` (the client's
limiter) refuses to send once the configured budget or the org's limit is reached, so LeadFlow
never spends the last requests other integrations need. Salesforce has no per-second limit on
this API, only the daily allowance and a cap on concurrent long-running requests.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import requests
from pydantic import SecretStr

from connectors.http import (
    AccessToken,
    ApiClient,
    AuthError,
    ConnectorError,
    FatalError,
    QuotaExhausted,
    RateLimiter,
    RetriableError,
    TokenProvider,
    Verdict,
)
from connectors.salesforce import settings
from connectors.salesforce.models import WriteOutcome
from connectors.streams import Page, parse_timestamp
from leadflow.config import HttpSettings
from leadflow.redact import redact

log = logging.getLogger("leadflow.connectors")

SOURCE = "salesforce"
_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")


class RequestLimitExceeded(QuotaExhausted):
    """The org's daily API request allowance (or LeadFlow's budget of it) is used up."""

    def __init__(self, detail: str) -> None:
        super().__init__(
            SOURCE,
            f"the org's daily API request limit is used up ({detail}); the pull stops here and "
            "resumes from the saved cursor on the next run, once Salesforce's rolling 24-hour "
            "count has room again (or raise daily_request_budget)",
            status=403,
            category="REQUEST_LIMIT_EXCEEDED",
        )


def describe_error(response: requests.Response) -> tuple[str, str]:
    """Salesforce errors: a JSON array of {"message", "errorCode"[, "fields"]}."""
    body = response.json()
    first = body[0] if isinstance(body, list) and body else body
    if not isinstance(first, dict):
        return "", ""
    return str(first.get("errorCode", "")), str(first.get("message", ""))


def _error_code(response: requests.Response) -> tuple[str, str]:
    try:
        return describe_error(response)
    except ValueError:
        return "", ""


class UsageMeter:
    """The org's API usage as the last answer reported it, and the verdict on each answer."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.used: int | None = None
        self.limit: int | None = None

    def classify(self, response: requests.Response) -> Verdict:
        match = _USAGE.search(response.headers.get("Sforce-Limit-Info", ""))
        if match:
            with self._lock:
                self.used, self.limit = int(match.group(1)), int(match.group(2))
        status = response.status_code
        if status < 400:
            return "ok"
        if status == 403:
            code, message = _error_code(response)
            # The concurrent-request cap clears in seconds; the daily allowance does not.
            if code == "REQUEST_LIMIT_EXCEEDED" and "ConcurrentRequests" in message:
                return "retriable"
            return "fatal"
        if status == 429 or status >= 500:
            return "retriable"
        return "fatal"


class OrgBudget(RateLimiter):
    """A limiter that never waits: it refuses (RequestLimitExceeded) once the org's reported
    usage reaches `budget` (LeadFlow's share) or the org's own limit."""

    def __init__(self, meter: UsageMeter, budget: int | None) -> None:
        super().__init__(0, 1.0)
        self.meter = meter
        self.budget = budget

    def acquire(self) -> None:
        used, limit = self.meter.used, self.meter.limit
        if used is None or limit is None:
            return
        if self.budget is not None and used >= self.budget:
            raise RequestLimitExceeded(f"api-usage {used}/{limit} reached the budget {self.budget}")
        if used >= limit:
            raise RequestLimitExceeded(f"api-usage {used}/{limit}")


def instance_url_check(base_url: str) -> Callable[[AccessToken], None]:
    """What to do with each token answer: warn (once per URL) when its `instance_url`, the host
    the token's org lives on, is not `base_url`. The client stays on `base_url` (a config says
    where data goes; a token answer does not move it): a wrong base_url fails with 401 or 404."""
    warned: set[str] = set()

    def check(token: AccessToken) -> None:
        instance = token.answer.get("instance_url")
        if not isinstance(instance, str) or not instance:
            return
        if instance.rstrip("/").lower() == base_url.rstrip("/").lower() or instance in warned:
            return
        warned.add(instance)
        log.warning(
            "salesforce: the token endpoint says the org lives at %s, but base_url is %s; "
            "LeadFlow stays on base_url: set sources.salesforce.base_url to the instance URL "
            "if the org has moved",
            instance,
            base_url,
        )

    return check


def make_client(
    base_url: str,
    token: SecretStr | None,
    http: HttpSettings | None = None,
    *,
    batch_size: int = settings.BATCH_SIZE_MAX,
    daily_request_budget: int | None = None,
    token_provider: TokenProvider | None = None,
) -> ApiClient:
    """The org's session; `token` is a static access token, or None with a `token_provider`
    (the refresh-token grant, connectors/oauth.py). Salesforce says nothing of when a session
    ends, so the provider's token is renewed when an answer is 401 INVALID_SESSION_ID."""
    meter = UsageMeter()
    client = ApiClient(
        source=SOURCE,
        base_url=base_url,
        token=token,
        http=http or HttpSettings(),
        classify=meter.classify,
        describe_error=describe_error,
        # A 403 is the request limit, not the token: only 401 INVALID_SESSION_ID is about auth.
        is_auth_failure=lambda r: r.status_code == 401,
        limiters={"/": OrgBudget(meter, daily_request_budget)},
        token_provider=token_provider,
    )
    size = max(settings.BATCH_SIZE_MIN, min(settings.BATCH_SIZE_MAX, batch_size))
    client.session.headers["Sforce-Query-Options"] = f"batchSize={size}"
    # Never let the org's lead assignment rules reassign what LeadFlow writes (see push).
    client.session.headers["Sforce-Auto-Assign"] = "FALSE"
    return client


def usage(client: ApiClient) -> tuple[int | None, int | None]:
    """(used, limit) of the org's daily API requests as last reported; (None, None) before any."""
    for limiter in client.limiters.values():
        if isinstance(limiter, OrgBudget):
            return limiter.meter.used, limiter.meter.limit
    return None, None


def _get(client: ApiClient, path: str, params: Mapping[str, Any] | None = None) -> Any:
    try:
        return client.get_json(path, params=params)
    except FatalError as exc:
        if exc.category == "REQUEST_LIMIT_EXCEEDED" and not isinstance(exc, AuthError):
            used, limit = usage(client)
            raise RequestLimitExceeded(f"api-usage {used}/{limit}") from exc
        raise


# --------------------------------------------------------------------------- reads


def soql_datetime(value: datetime) -> str:
    """A SOQL datetime literal, whole seconds rounded down (the documented format)."""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def incremental_soql(sobject: str, fields: Sequence[str], since: datetime | None) -> str:
    where = f" WHERE {settings.CURSOR_FIELD} >= {soql_datetime(since)}" if since else ""
    return (
        f"SELECT {', '.join(fields)} FROM {sobject}{where} "
        f"ORDER BY {settings.CURSOR_FIELD} ASC, Id ASC"
    )


def query_all(
    client: ApiClient,
    sobject: str,
    fields: Sequence[str],
    since: datetime | None,
    api_version: str = settings.DEFAULT_API_VERSION,
) -> Iterator[Page]:
    """Every record of `sobject` modified at or after `since`, deleted and merged ones included
    (queryAll), oldest change first, one Page per batch, following nextRecordsUrl to the end.

    A query locator dies after 15 minutes unused (a slow consumer) or when an 11th cursor
    opens: the pull then queries again from the last SystemModstamp it yielded and drops the
    records it already gave at that second, so nothing is skipped or repeated.
    """
    path = settings.QUERY_ALL.format(version=api_version)
    lower = since
    seen_at_lower: set[str] = set()
    data = _get(client, path, {"q": incremental_soql(sobject, fields, lower)})
    while True:
        records: list[dict[str, Any]] = data.get("records") or []
        fresh = [r for r in records if str(r.get("Id")) not in seen_at_lower]
        next_url = data.get("nextRecordsUrl")
        done = bool(data.get("done", True)) or not next_url
        yield Page(fresh, last=done)
        if done:
            return
        if records:
            top = parse_timestamp(records[-1].get(settings.CURSOR_FIELD))
            if top is not None:
                floor = top.replace(microsecond=0)
                if lower is None or floor > lower:
                    lower, seen_at_lower = floor, set()
                seen_at_lower |= {
                    str(r.get("Id"))
                    for r in records
                    if (stamp := parse_timestamp(r.get(settings.CURSOR_FIELD))) is not None
                    and stamp >= floor
                }
        try:
            data = _get(client, str(next_url))
        except FatalError as exc:
            if exc.category != "INVALID_QUERY_LOCATOR":
                raise
            data = _get(client, path, {"q": incremental_soql(sobject, fields, lower)})


def missing_custom_fields(
    client: ApiClient,
    sobject: str,
    wanted: Sequence[str] = settings.LEADFLOW_FIELDS,
    api_version: str = settings.DEFAULT_API_VERSION,
) -> list[str]:
    """The fields of `wanted` that `sobject` lacks or that this user cannot update (describe)."""
    body = _get(client, settings.DESCRIBE.format(version=api_version, sobject=sobject))
    present = {
        str(f.get("name", "")).lower(): bool(f.get("updateable"))
        for f in body.get("fields") or []
        if isinstance(f, dict)
    }
    return [name for name in wanted if not present.get(name.lower(), False)]


# --------------------------------------------------------------------------- writes


def update_records(
    client: ApiClient,
    records: Sequence[Mapping[str, Any]],
    *,
    sobject: str,
    batch_size: int = settings.COLLECTION_MAX_RECORDS,
    api_version: str = settings.DEFAULT_API_VERSION,
) -> list[WriteOutcome]:
    """Update records by Id (each mapping holds `Id` and the fields to set), with PATCH
    composite/sobjects in batches of at most 200, allOrNone false and `Sforce-Auto-Assign:
    FALSE`. One outcome per input, in input order."""
    path = settings.COLLECTIONS.format(version=api_version)
    items = []
    for record in records:
        fields = {k: v for k, v in record.items() if k not in ("Id", "id", "attributes")}
        key = record.get("Id", record.get("id"))
        items.append(
            (
                None if key is None else str(key),
                {"attributes": {"type": sobject}, "id": key, **fields},
            )
        )
    return _write_all(client, path, items, batch_size, upsert=False)


def upsert_records(
    client: ApiClient,
    records: Sequence[Mapping[str, Any]],
    *,
    sobject: str,
    external_id_field: str = settings.EXTERNAL_ID_FIELD,
    batch_size: int = settings.COLLECTION_MAX_RECORDS,
    api_version: str = settings.DEFAULT_API_VERSION,
) -> list[WriteOutcome]:
    """Create or update records matched on an external id field (each mapping holds it), with
    PATCH composite/sobjects/<sobject>/<field>; otherwise as `update_records`. A new Lead needs
    LastName and Company (a new Contact, LastName), or Salesforce answers REQUIRED_FIELD_MISSING."""
    path = settings.COLLECTIONS_UPSERT.format(
        version=api_version, sobject=sobject, external_id_field=external_id_field
    )
    items = []
    for record in records:
        key = record.get(external_id_field)
        fields = {k: v for k, v in record.items() if k not in ("Id", "id", "attributes")}
        items.append(
            (None if key is None else str(key), {"attributes": {"type": sobject}, **fields})
        )
    return _write_all(client, path, items, batch_size, upsert=True)


def _write_all(
    client: ApiClient,
    path: str,
    items: list[tuple[str | None, dict[str, Any]]],
    batch_size: int,
    *,
    upsert: bool,
) -> list[WriteOutcome]:
    # Whatever client sent these, its writes must not trigger the org's assignment rules.
    client.session.headers["Sforce-Auto-Assign"] = "FALSE"
    size = max(1, min(batch_size, settings.COLLECTION_MAX_RECORDS))
    outcomes: list[WriteOutcome] = []
    for start in range(0, len(items), size):
        batch = items[start : start + size]
        try:
            outcomes.extend(_send(client, path, batch, upsert=upsert))
        except RequestLimitExceeded as exc:
            # Nothing more can be sent today: the rest goes again on the next run.
            rest = items[start:]
            outcomes.extend(_failed(key, exc, retriable=True) for key, _ in rest)
            return outcomes
    return outcomes


def _send(
    client: ApiClient,
    path: str,
    batch: list[tuple[str | None, dict[str, Any]]],
    *,
    upsert: bool,
) -> list[WriteOutcome]:
    body = {"allOrNone": False, "records": [record for _, record in batch]}
    try:
        status, results = client.request("PATCH", path, json=body)
    except AuthError:
        raise  # a bad token fails every record the same way: stop the push with a clear error
    except FatalError as exc:
        if exc.category == "REQUEST_LIMIT_EXCEEDED":
            used, limit = usage(client)
            raise RequestLimitExceeded(f"api-usage {used}/{limit}") from exc
        # JSON_PARSER_ERROR: one record's value cannot become its field's type, and Salesforce
        # rejects the whole request; halve until the bad record stands alone. Other 400s
        # (INVALID_FIELD: a field the object lacks) fail every record alike: no point splitting.
        if exc.category == "JSON_PARSER_ERROR" and len(batch) > 1:
            middle = len(batch) // 2
            return _send(client, path, batch[:middle], upsert=upsert) + _send(
                client, path, batch[middle:], upsert=upsert
            )
        return [_failed(key, exc, retriable=False) for key, _ in batch]
    except RetriableError as exc:
        return [_failed(key, exc, retriable=True) for key, _ in batch]
    if not isinstance(results, list) or len(results) != len(batch):
        error = RetriableError(SOURCE, f"PATCH {path} answered {len(batch)} records unreadably")
        return [_failed(key, error, retriable=True) for key, _ in batch]
    return [
        _outcome(key, result, status, upsert=upsert)
        for (key, _), result in zip(batch, results, strict=True)
    ]


def _outcome(key: str | None, result: Any, status: int, *, upsert: bool) -> WriteOutcome:
    if not isinstance(result, dict):
        return WriteOutcome(key, None, False, "UNREADABLE", "unreadable result", retriable=True)
    record_id = result.get("id")
    record_id = None if record_id is None else str(record_id)
    if result.get("success") is True:
        created = bool(result.get("created")) if upsert else None
        return WriteOutcome(key, record_id or key, True, created=created, http_status=status)
    errors = result.get("errors")
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    code = str(first.get("statusCode") or first.get("errorCode") or "UNKNOWN")
    fields = first.get("fields")
    field_names = tuple(str(f) for f in fields) if isinstance(fields, list) else ()
    return WriteOutcome(
        key,
        record_id or (None if upsert else key),
        False,
        error_code=code,
        message=safe_message(code, str(first.get("message", "")), field_names),
        fields=field_names,
        retriable=code in settings.RETRIABLE_STATUS_CODES,
        http_status=status,
    )


def _failed(key: str | None, exc: ConnectorError, *, retriable: bool) -> WriteOutcome:
    return WriteOutcome(
        key,
        None,
        False,
        error_code=exc.category or type(exc).__name__,
        message=str(exc),
        retriable=retriable,
        http_status=exc.status,
    )


def safe_message(code: str, message: str, fields: Sequence[str] = ()) -> str:
    """A Salesforce error message fit for a log line: the ones that quote the rejected value
    (a too-long name, a bad email) keep only the code, the fields and any max length."""
    if code in settings.VALUE_ECHOING_STATUS_CODES:
        limit = re.search(r"\(max length=\d+\)", message)
        named = ", ".join(fields) or "a field"
        return f"{code} on {named}" + (f" {limit.group(0)}" if limit else "")
    return redact(message)[:300]
