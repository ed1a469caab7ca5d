"""The Google Ads API session (OAuth bearer token, optional `login-customer-id`), its error
taxonomy, and the paginator of the lead form submissions query.

One `ApiClient` per advertiser account. Google counts operations per Cloud project per sliding
24 hours (one per query, however many pages it has) and answers 429 RESOURCE_EXHAUSTED past the
project's daily allowance or a short-term rate, saying how long to wait in the GoogleAdsFailure's
`quotaErrorDetails.retryDelay`, not in a Retry-After header. A short wait is waited out by the
shared client's retries; a wait longer than the client would ever back off (the day's operations
spent) stops the pull cleanly: what landed keeps its cursor and the next run resumes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests
from pydantic import SecretStr

from connectors.google_ads import settings
from connectors.google_ads.models import from_search_row
from connectors.http import ApiClient, FatalError, QuotaExhausted, TokenProvider, Verdict
from connectors.streams import Page
from leadflow.config import HttpSettings
from leadflow.redact import register_secret

SOURCE = "google_ads"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


class OperationsExhausted(QuotaExhausted):
    """The Cloud project's daily operations are spent (429 RESOURCE_EXHAUSTED with a long retry
    delay): the pull stops here and resumes from the saved cursor on a later run."""

    def __init__(self, answer: str) -> None:
        super().__init__(
            SOURCE,
            f"{answer}; the Cloud project's daily Google Ads API operations are used up, and the "
            "pull resumes from the saved cursor on a later run (Explorer access allows 2,880 "
            "operations a day on production accounts, Basic 15,000: apply for more on the Google "
            "Ads API page of the Cloud console)",
            status=429,
            category="quotaError.RESOURCE_EXHAUSTED",
        )


# --------------------------------------------------------------------------- errors


def _body(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def _failures(error: dict[str, Any]) -> list[dict[str, Any]]:
    """The GoogleAdsFailure's errors, if the error carries one (the front end's 401s do not)."""
    found: list[dict[str, Any]] = []
    details = error.get("details")
    for detail in details if isinstance(details, list) else []:
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith(
            ".errors.GoogleAdsFailure"
        ):
            errors = detail.get("errors")
            if isinstance(errors, list):
                found.extend(e for e in errors if isinstance(e, dict))
    return found


def _code(failure: dict[str, Any]) -> tuple[str, str]:
    """(kind, code) of a GoogleAdsError: {"errorCode": {"queryError": "UNRECOGNIZED_FIELD"}}."""
    code = failure.get("errorCode")
    if isinstance(code, dict) and code:
        kind, value = next(iter(code.items()))
        return str(kind), str(value)
    return "", ""


def retry_delay(response: requests.Response) -> float | None:
    """Seconds Google asks to wait before the next request: the quotaErrorDetails' retryDelay
    (a protobuf Duration, "40591s" or "1.5s"), or None when the answer names none."""
    for failure in _failures(_body(response)):
        details = failure.get("details")
        quota = details.get("quotaErrorDetails") if isinstance(details, dict) else None
        delay = quota.get("retryDelay") if isinstance(quota, dict) else None
        match = _DURATION.match(delay) if isinstance(delay, str) else None
        if match:
            return float(match.group(1))
    return None


HINTS: dict[tuple[str, str], str] = {
    ("authenticationError", "OAUTH_TOKEN_INVALID"): (
        "the access token in sources.google_ads.access_token_env is not valid: put a fresh OAuth "
        "access token there (Google's expire after an hour)"
    ),
    ("authenticationError", "OAUTH_TOKEN_EXPIRED"): (
        "the OAuth access token has expired (Google's last an hour): put a fresh one in "
        "sources.google_ads.access_token_env, or set sources.google_ads.oauth and LeadFlow "
        "renews it from a refresh token"
    ),
    ("authenticationError", "OAUTH_TOKEN_REVOKED"): (
        "the access token in sources.google_ads.access_token_env was revoked: get a new one"
    ),
    ("authenticationError", "NOT_ADS_USER"): (
        "the Google account behind the token has no access to any Google Ads account"
    ),
    ("authorizationError", "USER_PERMISSION_DENIED"): (
        "the token's user cannot reach this account: check sources.google_ads.customer_id, and set "
        "login_customer_id to the manager account it is reached through"
    ),
    ("requestError", "UNSUPPORTED_VERSION"): (
        "Google has sunset this API version: set sources.google_ads.api_version to an active one "
        "(https://developers.google.com/google-ads/api/docs/sunset-dates)"
    ),
    ("requestError", "INVALID_CUSTOMER_ID"): (
        "sources.google_ads.customer_id must be the account's ten digits"
    ),
}


# With `oauth`, an access token Google refuses is one LeadFlow got a moment ago from the refresh
# token (a refused one was renewed once already): the fix is the grant, not access_token_env.
OAUTH_HINTS: dict[tuple[str, str], str] = {
    **HINTS,
    ("authenticationError", "OAUTH_TOKEN_INVALID"): (
        "Google refused the access token just obtained with sources.google_ads.oauth's refresh "
        "token: check the refresh token was granted the https://www.googleapis.com/auth/adwords "
        "scope"
    ),
    ("authenticationError", "OAUTH_TOKEN_EXPIRED"): (
        "Google says the access token just obtained with sources.google_ads.oauth's refresh token "
        "has expired: check this machine's clock"
    ),
    ("authenticationError", "OAUTH_TOKEN_REVOKED"): (
        "the access token just obtained with sources.google_ads.oauth's refresh token was revoked: "
        "the user may have removed the app's access; get a new refresh token"
    ),
}


def describe_error(response: requests.Response) -> tuple[str, str]:
    """Google's error body: `{"error": {"code", "message", "status", "details":
    [GoogleAdsFailure{"errors": [{"errorCode": {kind: CODE}, "message", ...}]}]}}`. The category
    is `kind.CODE` of the first GoogleAdsError (else the status), the message Google's own for it
    (never the `trigger`, the value that caused it), with a hint where the fix is in the config."""
    return _describe(response, HINTS)


def describe_oauth_error(response: requests.Response) -> tuple[str, str]:
    """`describe_error` for a session whose tokens come from `sources.google_ads.oauth`."""
    return _describe(response, OAUTH_HINTS)


def _describe(response: requests.Response, hints: dict[tuple[str, str], str]) -> tuple[str, str]:
    error = _body(response)
    failures = _failures(error)
    if not failures:
        status = str(error.get("status", ""))
        if response.status_code == 404:
            return status, (
                "no such method: check sources.google_ads.api_version is an active version "
                "(https://developers.google.com/google-ads/api/docs/sunset-dates) and base_url"
            )
        return status, str(error.get("message", ""))
    kind, code = _code(failures[0])
    message = str(failures[0].get("message", ""))
    hint = hints.get((kind, code))
    return f"{kind}.{code}".strip("."), f"{message} ({hint})" if hint else message


def _quota_code(response: requests.Response) -> str:
    for failure in _failures(_body(response)):
        kind, code = _code(failure)
        if kind == settings.QUOTA_ERROR:
            return code
    return ""


def _classifier(longest_wait_s: float) -> Any:
    def classify(response: requests.Response) -> Verdict:
        """429 and 5xx are retried, except the day's operations spent: quotaError
        RESOURCE_EXHAUSTED asking for a wait longer than the client would ever back off, fatal
        here and a clean stop for the pull. RESOURCE_TEMPORARILY_EXHAUSTED (a burst) is always
        waited out."""
        if response.status_code < 400:
            return "ok"
        if response.status_code == 429:
            delay = retry_delay(response)
            daily = _quota_code(response) == "RESOURCE_EXHAUSTED"
            return (
                "fatal" if daily and delay is not None and delay > longest_wait_s else "retriable"
            )
        if response.status_code >= 500:
            return "retriable"
        return "fatal"

    return classify


def _delay_as_retry_after(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    """ApiClient honours Retry-After; Google puts the wait in the body, so copy it there."""
    if response.status_code == 429 and "Retry-After" not in response.headers:
        delay = retry_delay(response)
        if delay is not None:
            response.headers["Retry-After"] = f"{delay:g}"


def make_client(
    base_url: str,
    token: SecretStr | None,
    http: HttpSettings | None = None,
    *,
    login_customer_id: str | None = None,
    developer_token: SecretStr | None = None,
    token_provider: TokenProvider | None = None,
) -> ApiClient:
    """The session; `token` is a static access token, or None with a `token_provider` (the
    refresh-token grant, connectors/oauth.py), which renews the token before it expires and once
    on a 401."""
    http = http or HttpSettings()
    client = ApiClient(
        source=SOURCE,
        base_url=base_url,
        token=token,
        http=http,
        classify=_classifier(http.backoff_max_s),
        describe_error=describe_error if token_provider is None else describe_oauth_error,
        # 401: the token; 403: the token's user cannot reach the account (the fix is the same
        # person's: another token or login_customer_id), never worth retrying.
        is_auth_failure=lambda r: r.status_code in (401, 403),
        token_provider=token_provider,
    )
    client.session.hooks["response"].append(_delay_as_retry_after)
    if login_customer_id:
        client.session.headers["login-customer-id"] = login_customer_id
    if developer_token is not None:
        register_secret(developer_token.get_secret_value())
        client.session.headers["developer-token"] = developer_token.get_secret_value()
    return client


# --------------------------------------------------------------------------- reads


def search(client: ApiClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """One googleAds:search request; the day's operations spent is OperationsExhausted."""
    try:
        _, answer = client.post_json(path, body)
    except FatalError as exc:
        if exc.status == 429:
            raise OperationsExhausted(str(exc).removeprefix(f"{SOURCE}: ")) from exc
        raise
    return answer if isinstance(answer, dict) else {}


def search_pages(
    client: ApiClient, path: str, query: str
) -> Iterator[tuple[list[dict[str, Any]], bool]]:
    """(rows, last) for each page of a GAQL query, following nextPageToken to the end: fixed
    pages of 10,000 rows, the same query with every page token (Google refuses a changed one).
    An empty result is one empty last page (Google leaves `results` out).
    https://developers.google.com/google-ads/api/docs/reporting/paging"""
    body: dict[str, Any] = {"query": query}
    while True:
        answer = search(client, path, body)
        results = answer.get("results")
        rows = [r for r in results if isinstance(r, dict)] if isinstance(results, list) else []
        token = answer.get("nextPageToken")
        more = isinstance(token, str) and bool(token)
        yield rows, not more
        if not more:
            return
        body = {"query": query, "pageToken": token}


def search_path(api_version: str, customer_id: str) -> str:
    return settings.SEARCH.format(version=api_version, customer_id=customer_id)


def account_time_zone(client: ApiClient, path: str) -> tzinfo:
    """The account's time zone (`customer.time_zone`), the zone of `submission_date_time` and of
    a date-time filter value."""
    for rows, _ in search_pages(client, path, settings.TIME_ZONE_QUERY):
        for row in rows:
            customer = row.get("customer")
            name = customer.get("timeZone") if isinstance(customer, dict) else None
            if isinstance(name, str) and name:
                try:
                    return ZoneInfo(name)
                except (ZoneInfoNotFoundError, ValueError):
                    raise FatalError(
                        SOURCE, f"the account's time zone {name!r} is not one this machine knows"
                    ) from None
    raise FatalError(SOURCE, "the account answered no customer.time_zone")


def gaql_date_time(moment: datetime, zone: tzinfo) -> str:
    """A filter value for `submission_date_time`: the account's wall time, whole seconds, rounded
    down (so `>=` still includes the moment itself).

    A wall time the autumn clock change makes ambiguous names two instants, and Google does not
    say which it reads; such a moment is moved back to the first of them, then minute by minute
    to the last unambiguous wall time before, so the filter can only start early (a re-read of
    at most the two hours the change spans), never late (a loss)."""
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    local = utc.astimezone(zone).replace(microsecond=0)
    while local.utcoffset() != local.replace(fold=1 - local.fold).utcoffset():
        first = local.replace(fold=0).astimezone(UTC)
        local = (min(first, local.astimezone(UTC)) - timedelta(minutes=1)).astimezone(zone)
    return local.strftime("%Y-%m-%d %H:%M:%S")


def lead_query(since: str) -> str:
    return (
        f"SELECT {', '.join(settings.LEAD_FIELDS)} FROM lead_form_submission_data "
        f"WHERE {settings.SUBMITTED} >= '{since}' "
        f"ORDER BY {settings.SUBMITTED} ASC, lead_form_submission_data.id ASC"
    )


def lead_pages(
    client: ApiClient, api_version: str, customer_id: str, since: datetime
) -> Iterator[Page]:
    """Every submission made at or after `since`, as webhook-shaped payloads, oldest first, page
    by page (a first pull, from the stream's initial cursor, reads all Google keeps: 60 days).
    The cursor commits with the last page only (`STREAMS` says unsorted): a wall-clock sort can
    put an instant of the autumn hour after a later one."""
    path = search_path(api_version, customer_id)
    zone = account_time_zone(client, path)
    for rows, last in search_pages(client, path, lead_query(gaql_date_time(since, zone))):
        yield Page([from_search_row(row) for row in rows], last=last)
