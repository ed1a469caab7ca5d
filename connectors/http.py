"""The one HTTP client every connector uses, with the project's single error taxonomy.

- Retriable: 429, 5xx, connection errors and timeouts (and whatever a vendor's `classify` hook says,
  e.g. Meta's throttling codes inside a 400). Retried with exponential backoff and full jitter,
  honouring Retry-After, for a bounded number of attempts.
- Fatal: every other 4xx and bad configuration. Raised at once.

Every request carries a timeout. No token, email or phone number ever reaches an exception message
or a log line: messages pass through `leadflow.redact.redact`, and the token is registered as a
secret so it is masked wherever it would appear.

Auth is a static `token` (most vendors: a private app token or an API key that does not expire), or
a `token_provider` (connectors/oauth.py: an OAuth refresh-token grant) for vendors whose access
tokens expire within the hour or two a scheduled run may take. With a provider the client gets a
token before its first request, gets a new one before a request when the one it holds expires
within a minute (when the grant said when), and on a 401 gets a new one once and sends the same
request again, without counting an attempt; a 401 right after that is an AuthError.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

import requests
from pydantic import SecretStr

from leadflow.config import HttpSettings
from leadflow.redact import redact, register_secret

log = logging.getLogger("leadflow.connectors")

Verdict = Literal["ok", "retriable", "fatal"]


class ConnectorError(Exception):
    """A request to an external system failed. The message is safe to log."""

    def __init__(
        self, source: str, message: str, *, status: int | None = None, category: str = ""
    ) -> None:
        self.source = source
        self.status = status
        self.category = category
        super().__init__(redact(f"{source}: {message}"))


class QuotaExhausted(ConnectorError):
    """The source's API allowance for now (a daily request limit) is used up. Landing stops that
    source cleanly: the pages already landed keep their cursor, and the next run resumes."""


class RetriableError(ConnectorError):
    """Worth trying again later: rate limits, server faults, timeouts, dropped connections."""

    def __init__(self, *args: Any, retry_after_s: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.retry_after_s = retry_after_s


class FatalError(ConnectorError):
    """Will fail the same way again until someone changes the request, the config or the token."""


class AuthError(FatalError):
    """The token is missing, wrong or lacks a scope."""


@dataclass(frozen=True)
class AccessToken:
    """An access token a `TokenProvider` obtained: the token, the seconds it is valid for when the
    issuer said (OAuth's `expires_in`; Salesforce says nothing), and the rest of the issuer's
    answer (`instance_url`, `scope`, ...), the token left out."""

    value: SecretStr
    expires_in_s: float | None = None
    answer: Mapping[str, Any] = field(default_factory=dict)


class TokenProvider(Protocol):
    """Where an `ApiClient` gets its access tokens when they expire (connectors/oauth.py)."""

    def fetch(self) -> AccessToken:
        """A new access token; raises AuthError when the credentials are refused."""
        ...

    def close(self) -> None: ...


# Get a new token this long before the one held expires (a request can take a while to arrive).
REFRESH_MARGIN_S = 60.0


def default_classify(response: requests.Response) -> Verdict:
    if response.status_code < 400:
        return "ok"
    if response.status_code == 429 or response.status_code >= 500:
        return "retriable"
    return "fatal"


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds; it may be a number of seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class RateLimiter:
    """Client-side sliding window: at most `max_calls` per `period_s`, so the vendor's limit is
    approached but not tripped. Thread-safe; `max_calls=0` disables it."""

    def __init__(
        self,
        max_calls: int,
        period_s: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.max_calls = max_calls
        self.period_s = period_s
        self._calls: deque[float] = deque()
        self._lock = threading.Lock()
        self._clock = clock
        self._sleep = sleep

    def acquire(self) -> None:
        if self.max_calls <= 0:
            return
        while True:
            with self._lock:
                now = self._clock()
                while self._calls and now - self._calls[0] >= self.period_s:
                    self._calls.popleft()
                if len(self._calls) < self.max_calls:
                    self._calls.append(now)
                    return
                wait = self.period_s - (now - self._calls[0])
            self._sleep(max(wait, 0.001))


@dataclass
class ApiClient:
    """One `requests.Session` per connector: base URL, auth header, timeout, retries, limiter."""

    source: str
    base_url: str
    token: SecretStr | None
    http: HttpSettings = field(default_factory=lambda: HttpSettings())
    auth_header: Callable[[str], Mapping[str, str]] = lambda tok: {"Authorization": f"Bearer {tok}"}
    classify: Callable[[requests.Response], Verdict] = default_classify
    describe_error: Callable[[requests.Response], tuple[str, str]] | None = None
    # Whether a fatal answer is about the token (some vendors say so in a 400's body, not a 401).
    is_auth_failure: Callable[[requests.Response], bool] = lambda r: r.status_code in (401, 403)
    limiters: Mapping[str, RateLimiter] = field(default_factory=dict)  # path prefix -> limiter
    sleep: Callable[[float], None] = time.sleep
    session: requests.Session = field(default_factory=requests.Session)
    # Instead of `token`: where expiring access tokens come from (connectors/oauth.py).
    token_provider: TokenProvider | None = None
    clock: Callable[[], float] = time.monotonic  # when the held token expires, by this clock
    _held: str | None = field(default=None, init=False, repr=False)
    _renew_at: float | None = field(default=None, init=False, repr=False)
    _auth_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self.session.headers["User-Agent"] = "leadflow/0.1 (+https://github.com/leadflow)"
        if self.token is not None:
            register_secret(self.token.get_secret_value())
            self.session.headers.update(self.auth_header(self.token.get_secret_value()))

    def close(self) -> None:
        self.session.close()
        if self.token_provider is not None:
            self.token_provider.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.base_url}/{path.lstrip('/')}"

    def _limit(self, path: str) -> None:
        for prefix, limiter in self.limiters.items():
            if path.startswith(prefix):
                limiter.acquire()

    def _install(self, token: AccessToken) -> None:
        value = token.value.get_secret_value()
        register_secret(value)
        self._held = value
        self._renew_at = None
        if token.expires_in_s is not None:
            # A token valid for less than two margins is renewed halfway through its life.
            margin = min(REFRESH_MARGIN_S, token.expires_in_s / 2)
            self._renew_at = self.clock() + token.expires_in_s - margin

    def _auth(self) -> tuple[str | None, Mapping[str, str] | None]:
        """(the provider's token this request goes out with, its header); a new token first when
        none is held yet or the held one expires within REFRESH_MARGIN_S. (None, None) with a
        static token: the session already carries it."""
        if self.token_provider is None:
            return None, None
        with self._auth_lock:
            if self._held is None or (
                self._renew_at is not None and self.clock() >= self._renew_at
            ):
                self._install(self.token_provider.fetch())
            held = self._held
        assert held is not None
        return held, self.auth_header(held)

    def _renew(self, refused: str | None) -> None:
        """A new token after `refused` got a 401, unless another thread already replaced it."""
        assert self.token_provider is not None
        with self._auth_lock:
            if self._held == refused:
                self._install(self.token_provider.fetch())

    def _error(self, response: requests.Response, what: str) -> tuple[str, str]:
        category, message = ("", "")
        if self.describe_error is not None:
            try:
                category, message = self.describe_error(response)
            except Exception:  # an unparseable error body still gets reported by status
                category, message = ("", "")
        if not message:
            message = response.text[:300]
        label = f"{response.status_code} {category}".strip()
        return category, f"{what} failed with {label}: {message}"

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, str] | None = None,
    ) -> tuple[int, Any]:
        """Send one request and return (status, parsed JSON body), retrying retriable failures.

        `json` is sent as a JSON body, `data` as a form (application/x-www-form-urlencoded).
        A 2xx whose body is not valid JSON (truncated by a proxy or a crashing server) counts as a
        retriable fault too: the request is sent again. With a token provider, a 401 gets a new
        token and the same request again, once, without counting an attempt.
        """
        url = self.url(path)
        what = f"{method} {url.split('?')[0].removeprefix(self.base_url) or '/'}"
        last: RetriableError | None = None
        attempt = 1
        renewed = False
        while True:
            self._limit(url.removeprefix(self.base_url))
            held, auth = self._auth()
            try:
                response = self.session.request(
                    method,
                    url,
                    params=params,
                    json=json,
                    data=data,
                    headers=auth,
                    timeout=self.http.timeout_s,
                )
            except (requests.Timeout, requests.ConnectionError) as exc:
                kind = "timed out" if isinstance(exc, requests.Timeout) else "could not connect"
                last = RetriableError(self.source, f"{what} {kind}")
            else:
                if response.status_code == 401 and held is not None and not renewed:
                    renewed = True
                    log.info("%s: %s answered 401; getting a new access token", self.source, what)
                    self._renew(held)
                    continue
                verdict = self.classify(response)
                if verdict == "ok":
                    if response.status_code == 204:  # No Content: success without a body
                        return 204, None
                    try:
                        return response.status_code, response.json()
                    except ValueError:
                        last = RetriableError(
                            self.source,
                            f"{what} returned a body that is not valid JSON",
                            status=response.status_code,
                        )
                elif verdict == "fatal":
                    category, message = self._error(response, what)
                    error_type = AuthError if self.is_auth_failure(response) else FatalError
                    raise error_type(
                        self.source, message, status=response.status_code, category=category
                    )
                else:
                    category, message = self._error(response, what)
                    last = RetriableError(
                        self.source,
                        message,
                        status=response.status_code,
                        category=category,
                        retry_after_s=parse_retry_after(response.headers.get("Retry-After")),
                    )
            if attempt >= self.http.max_attempts:
                break
            delay = self._backoff(attempt, last.retry_after_s)
            log.warning(
                "%s (attempt %d of %d); retrying in %.1fs",
                last,
                attempt,
                self.http.max_attempts,
                delay,
            )
            self.sleep(delay)
            attempt += 1
        assert last is not None
        raise last

    def _backoff(self, attempt: int, retry_after_s: float | None) -> float:
        cap = min(self.http.backoff_max_s, self.http.backoff_base_s * 2 ** (attempt - 1))
        delay = random.uniform(0, cap)  # full jitter: retries from many workers spread out
        if retry_after_s is not None:
            delay = max(delay, retry_after_s)
        return delay

    def get_json(self, path: str, *, params: Mapping[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params)[1]

    def post_json(self, path: str, body: Any) -> tuple[int, Any]:
        return self.request("POST", path, json=body)
