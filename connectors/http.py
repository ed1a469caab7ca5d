"""The one HTTP client every connector uses, with the project's single error taxonomy.

- Retriable: 429, 5xx, connection errors and timeouts (and whatever a vendor's `classify` hook says,
  e.g. Meta's throttling codes inside a 400). Retried with exponential backoff and full jitter,
  honouring Retry-After, for a bounded number of attempts.
- Fatal: every other 4xx and bad configuration. Raised at once.

Every request carries a timeout. No token, email or phone number ever reaches an exception message
or a log line: messages pass through `leadflow.redact.redact`, and the token is registered as a
secret so it is masked wherever it would appear.
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
from typing import Any, Literal

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

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self.session.headers["User-Agent"] = "leadflow/0.1 (+https://github.com/leadflow)"
        if self.token is not None:
            register_secret(self.token.get_secret_value())
            self.session.headers.update(self.auth_header(self.token.get_secret_value()))

    def close(self) -> None:
        self.session.close()

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
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None, json: Any = None
    ) -> tuple[int, Any]:
        """Send one request and return (status, parsed JSON body), retrying retriable failures.

        A 2xx whose body is not valid JSON (truncated by a proxy or a crashing server) counts as a
        retriable fault too: the request is sent again.
        """
        url = self.url(path)
        what = f"{method} {url.split('?')[0].removeprefix(self.base_url) or '/'}"
        last: RetriableError | None = None
        for attempt in range(1, self.http.max_attempts + 1):
            self._limit(url.removeprefix(self.base_url))
            try:
                response = self.session.request(
                    method, url, params=params, json=json, timeout=self.http.timeout_s
                )
            except (requests.Timeout, requests.ConnectionError) as exc:
                kind = "timed out" if isinstance(exc, requests.Timeout) else "could not connect"
                last = RetriableError(self.source, f"{what} {kind}")
            else:
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
            if attempt == self.http.max_attempts:
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
