"""One vendor app served on its own, outside `Sandbox`: what a connector's tests run against.

`context(vendor, token, now)` gives the app a store, clock, limiter and token of its own;
`serving(app)` serves it on a free loopback port with the sandbox's HTTP server and yields the base
URL. Statuses a test appends to `app.faults` fail the next requests through the app's own
`fault` (its error body), as `Sandbox.inject_faults` does for the full sandbox.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Protocol

from sandbox.clock import Clock
from sandbox.limits import RateLimiter
from sandbox.server import Context, Knobs, Request, Response, VendorServer, base_url
from sandbox.store import Store


class FaultyApp(Protocol):
    vendor: str
    faults: list[int]  # statuses the next requests fail with, oldest first

    def handle(self, req: Request) -> Response: ...

    def fault(self, status: int, req: Request) -> Response: ...


def context(vendor: str, token: str, now: datetime | None = None) -> Context:
    """A Context for one app served on its own: an in-memory store, a clock starting at `now`
    (default: the real now), no rate limits of the shared kind, and `token` for `vendor`."""
    return Context(Store(None), Clock(now), RateLimiter(), {vendor: token}, Knobs())


@contextmanager
def serving(app: FaultyApp, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve `app` on a free loopback port until the block ends; yields its base URL."""
    lock = threading.Lock()

    def dispatch(_vendor: str, req: Request) -> Response:
        with lock:
            status = app.faults.pop(0) if app.faults else None
        return app.fault(status, req) if status is not None else app.handle(req)

    server = VendorServer(host, 0, app.vendor, dispatch)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield base_url(server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
