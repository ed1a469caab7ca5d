"""The one HTTP session for a Slack incoming webhook, with the project's error taxonomy.

The webhook URL is the credential: it is registered as a secret (masked in every log line and error
message, its path included, since urllib3 logs request paths) and never written anywhere.

Slack answers plain text, not JSON, so `connectors.http.ApiClient` (which parses JSON bodies) is not
used; the classification is the same: 429/5xx/connection/timeout are `RetriableError` (retried a few
times honouring Retry-After), a bad payload is `FatalError`, a dead or wrong webhook is `AuthError`.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests
from pydantic import SecretStr

from connectors.http import AuthError, FatalError, RateLimiter, RetriableError, parse_retry_after
from connectors.slack import settings
from connectors.slack.models import SlackMessage
from leadflow.redact import register_secret

log = logging.getLogger("leadflow.connectors")

SOURCE = "slack"


@dataclass
class WebhookClient:
    """Posts messages to one incoming webhook, at most one per `min_interval_s`."""

    url: SecretStr
    timeout_s: float = 10.0
    min_interval_s: float = settings.MIN_INTERVAL_S
    max_attempts: int = 3
    sleep: Callable[[float], None] = time.sleep
    session: requests.Session = field(default_factory=requests.Session)

    def __post_init__(self) -> None:
        raw = self.url.get_secret_value()
        parts = urlsplit(raw)
        if parts.scheme not in ("http", "https") or not parts.path.startswith("/services/"):
            raise ValueError(
                "a Slack webhook URL looks like https://hooks.slack.com/services/T…/B…/…"
            )
        register_secret(raw)
        register_secret(parts.path)
        self.session.headers["User-Agent"] = "leadflow/0.1 (+https://github.com/leadflow)"
        self._pace = RateLimiter(
            1 if self.min_interval_s > 0 else 0, self.min_interval_s or 1.0, sleep=self.sleep
        )

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> WebhookClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def post(self, message: SlackMessage) -> None:
        """Deliver one message; raises RetriableError / FatalError / AuthError when it was not."""
        last: RetriableError | None = None
        for attempt in range(1, self.max_attempts + 1):
            self._pace.acquire()
            try:
                response = self.session.post(
                    self.url.get_secret_value(), json=message.payload(), timeout=self.timeout_s
                )
            except (requests.Timeout, requests.ConnectionError) as exc:
                kind = "timed out" if isinstance(exc, requests.Timeout) else "could not connect"
                last = RetriableError(SOURCE, f"webhook post {kind}")
            else:
                body = response.text.strip()[:100]
                if response.status_code == 200 and body == settings.OK_BODY:
                    return
                last = self._classify(
                    response.status_code, body, response.headers.get("Retry-After")
                )
            if attempt == self.max_attempts:
                break
            wait = self._backoff(attempt, last.retry_after_s)
            if wait > settings.MAX_RETRY_AFTER_S:
                break  # Slack wants a long pause: leave the message for the next run
            log.warning(
                "%s (attempt %d of %d); retrying in %.1fs", last, attempt, self.max_attempts, wait
            )
            self.sleep(wait)
        assert last is not None
        raise last

    @staticmethod
    def _classify(status: int, body: str, retry_after: str | None) -> RetriableError:
        code = body if body.replace("_", "").isalnum() else ""
        what = f"webhook post failed with {status} {code}".rstrip()
        if status == 429 or status >= 500:
            return RetriableError(
                SOURCE,
                what,
                status=status,
                category=code or "server_error",
                retry_after_s=parse_retry_after(retry_after),
            )
        if code in settings.WEBHOOK_ERRORS or status in (401, 403, 404, 410):
            raise AuthError(SOURCE, f"{what}: check the webhook URL", status=status, category=code)
        raise FatalError(SOURCE, what, status=status, category=code or "bad_request")

    @staticmethod
    def _backoff(attempt: int, retry_after_s: float | None) -> float:
        delay = random.uniform(0, min(8.0, 0.5 * 2 ** (attempt - 1)))
        return max(delay, retry_after_s) if retry_after_s is not None else delay
