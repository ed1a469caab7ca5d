"""The HTTP plumbing the three vendor servers share: request/response values and the handler.

Each vendor is a `VendorApp` that turns a `Request` into a `Response`; it never touches sockets,
so its behaviour is plain Python. One `ThreadingHTTPServer` per vendor, each on its own port in a
daemon thread, feeds it. HTTP/1.1 keep-alive is on (every response has a Content-Length), so a
connector's pooled session behaves as it does against the vendor.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qs, urlsplit

from sandbox.clock import Clock
from sandbox.limits import RateLimiter
from sandbox.store import Store

log = logging.getLogger("sandbox")


@dataclass(frozen=True)
class Request:
    """One HTTP request as the apps see it. `path` has no query string."""

    method: str
    path: str
    query: dict[str, list[str]]
    raw_query: str
    headers: Message
    body: bytes
    base_url: str

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def header(self, name: str) -> str | None:
        value = self.headers.get(name)
        return None if value is None else str(value)

    def bearer_token(self) -> str | None:
        auth = self.header("Authorization") or ""
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer":
            return None
        return token.strip() or None

    def json(self) -> Any:
        """The body parsed as JSON; raises json.JSONDecodeError (callers answer it per vendor)."""
        return json.loads(self.body.decode("utf-8") or "null")


@dataclass
class Response:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0  # answer only after this long (chaos: a response that times out)

    def encoded(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body, separators=(",", ":")).encode("utf-8")


@dataclass
class Knobs:
    """Settings tests turn to reach edge cases quickly (a small world hitting a 'large' cap)."""

    hubspot_search_cap: int = 10_000
    meta_max_limit: int = 500
    # A new HubSpot portal: LeadFlow's custom contact properties (leadflow_*) do not exist until
    # the properties API creates them. Off: the portal was set up already.
    hubspot_fresh_portal: bool = False
    # Google Ads search answers pages of a fixed 10,000 rows; lower it to page a small world.
    google_ads_page_size: int = 10_000


@dataclass
class Context:
    """What every vendor app shares."""

    store: Store
    clock: Clock
    limiter: RateLimiter
    tokens: Mapping[str, str]
    knobs: Knobs


T = TypeVar("T")


class Lazy(Generic[T]):
    """A vendor's data made on first use, once, thread-safe: `given` itself, or what `given()`
    makes, or (None) what `default()` makes. A run that never asks that vendor does not pay for
    making it (the Sandbox draws some vendors' data from its whole world)."""

    def __init__(self, given: T | Callable[[], T] | None, default: Callable[[], T]) -> None:
        self._value: T | None = None
        self._make: Callable[[], T]
        if given is None:
            self._make = default
        elif callable(given):
            self._make = given
        else:
            self._value = given
            self._make = default
        self._lock = threading.Lock()

    def get(self) -> T:
        with self._lock:
            if self._value is None:
                self._value = self._make()
            return self._value


class VendorApp(ABC):
    """One vendor's API: routes, auth, limits and error bodies in that vendor's shapes."""

    vendor: str

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    @abstractmethod
    def handle(self, req: Request) -> Response:
        """Serve one request (auth, rate limit, routing, body)."""

    @abstractmethod
    def fault(self, status: int, req: Request) -> Response:
        """An injected error with `status`, in this vendor's error shape."""


Dispatch = Callable[[str, Request], Response]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: VendorServer

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without NODELAY, Nagle plus the client's
        # delayed ACK adds ~40 ms to every keep-alive response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        parts = urlsplit(self.path)
        host, port = self.server.server_address[:2]
        req = Request(
            method=self.command,
            path=parts.path or "/",
            query=parse_qs(parts.query, keep_blank_values=True),
            raw_query=parts.query,
            headers=self.headers,
            body=body,
            base_url=_base_url(str(host), int(port)),
        )
        resp = self.server.dispatch(self.server.vendor, req)
        payload = resp.encoded()
        if resp.delay_s:
            time.sleep(resp.delay_s)
        try:
            self.send_response(resp.status)
            if resp.body is not None and not isinstance(resp.body, bytes):
                self.send_header("Content-Type", "application/json;charset=utf-8")
            for name, value in resp.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up waiting (a delayed answer)

    def log_message(self, format: str, *args: Any) -> None:
        # The default writes every request line to stderr, query strings (and so any Meta
        # access_token) included. The sandbox keeps its own request log instead.
        return


class VendorServer(ThreadingHTTPServer):
    """A threaded HTTP server bound to one vendor."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str, port: int, vendor: str, dispatch: Dispatch) -> None:
        self.vendor = vendor
        self.dispatch = dispatch
        if ":" in host:
            self.address_family = socket.AF_INET6
        super().__init__((host, port), _Handler)


def _base_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def base_url(server: VendorServer) -> str:
    host, port = server.server_address[:2]
    return _base_url(str(host), int(port))
