"""`leadflow serve`: the HTTP intake. Verify, store, answer; nothing else happens in a request.

`POST /webhooks/<source>` for each source configured under `intake:` (meta, typeform, hubspot,
google_ads, webform); `GET /webhooks/meta` answers Meta's subscription check; `GET /healthz` says
the service is up, what its inbox holds and how the speed lane is doing.

In order, a request is refused with:
- 404 when the source is not configured;
- 429 (with Retry-After) past the source's rate limit: a token bucket of `rate_per_second` with
  `burst`, so a flood on one source neither starves the others nor fills the disk;
- 411 without a Content-Length, 413 when it exceeds `max_body_bytes` (the body is not read);
- 401 when the signature is missing or wrong or its timestamp is outside the replay window, 400
  when the verified body is not the source's documented shape (intake/webhooks.py);
- 503 when the inbox could not store it, so the sender retries.
Otherwise the leads it announces are committed to the inbox (intake/inbox.py) and the answer is 200
with how many were new: a repeat (vendors retry on any doubt) is acknowledged and stored once.
Something new wakes the speed lane (intake/lane.py), which processes it after the answer is sent.

Log lines name the source, the status and counts, never a value from the request.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pydantic import SecretStr

from intake.inbox import Inbox
from intake.webhooks import WEBHOOKS, Rejected, Request, accept
from leadflow.config import ConfigError, IntakeConfig, Settings, read_secret

log = logging.getLogger("leadflow.intake")

WEBHOOK_PREFIX = "/webhooks/"


class TokenBucket:
    """`rate` tokens a second up to `burst`; thread-safe. `take()` is 0 when allowed, else the
    seconds until a token is due (the Retry-After)."""

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate, self.burst, self._clock = rate, burst, clock
        self._tokens = float(burst)
        self._at = clock()
        self._lock = threading.Lock()

    def take(self) -> float:
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
            self._at = now
            if self._tokens >= 1:
                self._tokens -= 1
                return 0.0
            return (1 - self._tokens) / self.rate


def dev_secret(source: str) -> str:
    return f"sandbox-{source}-webhook-secret"


def load_secrets(settings: Settings) -> dict[str, SecretStr]:
    """Each enabled source's secret (and Meta's verify token under "meta:verify") from the
    environment or a Prefect Secret block.

    On the embedded default (sandbox.embedded) a service bound to loopback may run with development
    secrets (`dev_secret`) for the variables that are unset, so a fresh clone can try it; bound to
    any other address it never does.
    """
    config = settings.intake
    wanted: dict[str, str] = {}
    for source, cfg in config.enabled().items():
        wanted[source] = cfg.secret_env
        if source == "meta" and config.meta is not None:
            wanted["meta:verify"] = config.meta.verify_token_env
    secrets: dict[str, SecretStr] = {}
    for key, env in wanted.items():
        try:
            secrets[key] = read_secret(env)
        except ConfigError:
            if not (settings.sandbox.embedded and is_loopback(config.host)):
                raise
            log.warning("%s is not set: using a development value (loopback only)", env)
            secrets[key] = SecretStr(dev_secret(key.replace(":", "-")))
    return secrets


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class IntakeService:
    """The intake on its own thread pool; `start()` binds (port 0 picks a free one)."""

    def __init__(
        self,
        config: IntakeConfig,
        secrets: dict[str, SecretStr],
        inbox: Inbox,
        *,
        clock: Callable[[], float] = time.time,
        on_stored: Callable[[], None] = lambda: None,
        health: Callable[[], dict[str, Any]] = dict,
    ) -> None:
        self.config = config
        self.secrets = secrets
        self.inbox = inbox
        self.clock = clock
        self.on_stored = on_stored  # after every commit that stored something new (the lane)
        self.health = health  # more for /healthz (the lane's state)
        self.buckets = {
            source: TokenBucket(cfg.rate_per_second, cfg.burst)
            for source, cfg in config.enabled().items()
        }
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        assert self._server is not None, "the service is not started"
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        host, port = self.address
        return f"http://{host}:{port}"

    def start(self, port: int | None = None) -> IntakeService:
        service = self

        class Handler(_Handler):
            intake = service

        self._server = ThreadingHTTPServer(
            (self.config.host, self.config.port if port is None else port), Handler
        )
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="leadflow-intake", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def serve_forever(self) -> None:
        """Block until interrupted (the CLI's `leadflow serve`)."""
        assert self._thread is not None, "start() first"
        try:
            while self._thread.is_alive():
                self._thread.join(0.5)
        finally:
            self.stop()

    # ------------------------------------------------------------------ one request

    def handle_post(self, source: str, request: Request) -> tuple[int, dict[str, Any]]:
        secret = self.secrets.get(source)
        if secret is None:
            return 404, {"error": f"no webhook is configured at {WEBHOOK_PREFIX}{source}"}
        try:
            arrivals = accept(
                source,
                request,
                secret.get_secret_value(),
                window_s=self.config.replay_window_s,
                now_s=self.clock(),
            )
        except Rejected as exc:
            return exc.status, {"error": exc.reason}
        try:
            new = self.inbox.store(arrivals)
        except Exception as exc:  # the disk full, the file locked: the sender must retry
            log.error("intake %s: could not store a request (%s)", source, type(exc).__name__)
            return 503, {"error": "the request could not be stored; retry"}
        if new:
            self.on_stored()
        return 200, {"received": len(arrivals), "new": new}

    def handle_meta_check(self, query: dict[str, list[str]]) -> tuple[int, str]:
        """Meta's subscription check: echo hub.challenge when hub.verify_token is ours."""
        expected = self.secrets.get("meta:verify")
        mode = (query.get("hub.mode") or [""])[0]
        token = (query.get("hub.verify_token") or [""])[0]
        challenge = (query.get("hub.challenge") or [""])[0]
        if expected is None or mode != "subscribe" or not challenge:
            return 400, "not a subscription check"
        if not _equal(token, expected.get_secret_value()):
            return 403, "verify_token does not match"
        return 200, challenge


def _equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


class _Handler(BaseHTTPRequestHandler):
    intake: IntakeService
    protocol_version = "HTTP/1.1"
    server_version = "LeadFlowIntake"
    timeout = 10  # seconds a connection may stall (a slow sender cannot hold a thread forever)
    _unread_body = False  # a POST answered before its body was read: the connection must close

    def log_message(self, format: str, *args: Any) -> None:
        return  # every answer is logged by _answer, without the request line's query string

    def _answer(self, source: str, status: int, body: Any, started: float) -> None:
        data = (json.dumps(body) if not isinstance(body, str) else body).encode()
        self.send_response(status)
        self.send_header(
            "Content-Type", "application/json" if not isinstance(body, str) else "text/plain"
        )
        self.send_header("Content-Length", str(len(data)))
        if status == 429 and isinstance(body, dict) and "retry_after_s" in body:
            self.send_header("Retry-After", str(max(1, round(body["retry_after_s"]))))
        if self._unread_body:
            self.send_header("Connection", "close")  # the unread body must not become a request
            self.close_connection = True
        self.end_headers()
        self.wfile.write(data)
        log.info(
            "intake %s %s -> %d in %.1f ms",
            self.command,
            source or "-",
            status,
            (time.perf_counter() - started) * 1000,
        )

    def _source(self, path: str) -> str | None:
        if not path.startswith(WEBHOOK_PREFIX):
            return None
        name = path[len(WEBHOOK_PREFIX) :].strip("/")
        return name if name in WEBHOOKS else None

    def do_GET(self) -> None:
        started = time.perf_counter()
        parts = urlsplit(self.path)
        if parts.path == "/healthz":
            health = {"status": "ok", "inbox": self.intake.inbox.counts(), **self.intake.health()}
            self._answer("", 200, health, started)
        elif self._source(parts.path) == "meta":
            status, text = self.intake.handle_meta_check(parse_qs(parts.query))
            self._answer("meta", status, text, started)
        else:
            self._answer("", 404, {"error": "not found"}, started)

    def do_POST(self) -> None:
        started = time.perf_counter()
        self._unread_body = True
        parts = urlsplit(self.path)
        source = self._source(parts.path)
        if source is None or source not in self.intake.secrets:
            self._answer("", 404, {"error": "no webhook is configured here"}, started)
            return
        wait = self.intake.buckets[source].take()
        if wait:
            limited = {"error": "rate limit exceeded", "retry_after_s": wait}
            self._answer(source, 429, limited, started)
            return
        length = self.headers.get("Content-Length")
        if length is None or not length.strip().isdigit():
            self._answer(source, 411, {"error": "a Content-Length is required"}, started)
            return
        if int(length) > self.intake.config.max_body_bytes:
            limit = self.intake.config.max_body_bytes
            self._answer(source, 413, {"error": f"the body exceeds {limit} bytes"}, started)
            return
        body = self.rfile.read(int(length))
        self._unread_body = False
        request = Request(
            method="POST",
            url=self._public_url(),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        status, answer = self.intake.handle_post(source, request)
        self._answer(source, status, answer, started)

    def _public_url(self) -> str:
        base = self.intake.config.public_url
        if base:
            return base.rstrip("/") + self.path
        return f"http://{self.headers.get('Host', '')}{self.path}"
