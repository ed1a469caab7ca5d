"""Rate limits (rolling windows per token) and injected faults, shared by the three servers.

A limit is a bucket name -> (requests, per_seconds). Each (bucket, token) pair keeps the times of
its accepted requests; a request is refused while the window already holds `requests` of them.
Refused requests are not counted, so a client that waits `Retry-After` gets through: that is how
the vendors' rolling limits behave, and what a well-behaved connector relies on.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

# Buckets and their defaults. "hubspot_search" is HubSpot's separate per-second search limit; a
# search counts against both it and "hubspot".
DEFAULT_LIMITS: dict[str, tuple[int, float]] = {
    "hubspot": (100, 10.0),
    "hubspot_search": (5, 1.0),
    # Meta documents 200 x 24 x (leads in the last 90 days) calls per Page per 24 hours for lead
    # retrieval; the sandbox sets the real figure when the world is loaded (see Sandbox.start).
    "meta": (4_800, 86_400.0),
    "typeform": (2, 1.0),
    "lemlist": (20, 2.0),  # every route, per API key
    # Apollo: fixed windows per minute, hour and day, by plan; a request counts against all three.
    "apollo": (200, 60.0),
    "apollo_hourly": (600, 3_600.0),
    "apollo_daily": (2_000, 86_400.0),
    "slack": (1, 1.0),  # incoming webhooks: about one message per second per webhook
}


@dataclass(frozen=True)
class Decision:
    """The outcome of asking a bucket for room, with what the rate-limit headers report."""

    allowed: bool
    bucket: str
    limit: int
    per_seconds: float
    remaining: int
    retry_after: int  # whole seconds, at least 1 when refused


class RateLimiter:
    """Rolling-window limits per (bucket, token); `requests=0` disables a bucket."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._limits = dict(DEFAULT_LIMITS)
        self._hits: dict[tuple[str, str], deque[float]] = {}

    def configure(self, bucket: str, requests: int, per_seconds: float) -> None:
        if bucket not in self._limits:
            raise ValueError(f"unknown rate-limit bucket {bucket!r}; one of {sorted(self._limits)}")
        if requests < 0 or per_seconds <= 0:
            raise ValueError("requests must be >= 0 and per_seconds > 0")
        with self._lock:
            self._limits[bucket] = (requests, float(per_seconds))
            for key in [k for k in self._hits if k[0] == bucket]:
                del self._hits[key]

    def limit(self, bucket: str) -> tuple[int, float]:
        return self._limits[bucket]

    def acquire(self, buckets: Sequence[str], token: str) -> Decision:
        """Take one request from every bucket, or from none: the first refusal is returned."""
        now = time.monotonic()
        with self._lock:
            decisions = [self._peek(bucket, token, now) for bucket in buckets]
            refused = next((d for d in decisions if not d.allowed), None)
            if refused is not None:
                return refused
            for bucket in buckets:
                if self._limits[bucket][0] > 0:
                    self._hits.setdefault((bucket, token), deque()).append(now)
            first = decisions[0]
            return Decision(
                True,
                first.bucket,
                first.limit,
                first.per_seconds,
                max(0, first.remaining - 1),
                0,
            )

    def status(self, bucket: str, token: str) -> Decision:
        """Where a bucket stands for a token (limit, remaining), without taking a request from it."""
        with self._lock:
            return self._peek(bucket, token, time.monotonic())

    def _peek(self, bucket: str, token: str, now: float) -> Decision:
        requests, per = self._limits[bucket]
        if requests == 0:
            return Decision(True, bucket, 0, per, 0, 0)
        hits = self._hits.setdefault((bucket, token), deque())
        while hits and hits[0] <= now - per:
            hits.popleft()
        if len(hits) < requests:
            return Decision(True, bucket, requests, per, requests - len(hits), 0)
        wait = hits[0] + per - now
        return Decision(False, bucket, requests, per, 0, max(1, math.ceil(wait)))


@dataclass
class Fault:
    """`remaining` more requests to `vendor` under `path_prefix` get HTTP `status`."""

    vendor: str
    status: int
    remaining: int
    path_prefix: str = ""


class FaultInjector:
    """Queued faults, consumed first-in first-out by matching requests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, vendor: str, status: int, count: int, path_prefix: str = "") -> None:
        if not 400 <= status <= 599:
            raise ValueError(f"a fault is an HTTP error status (400-599), got {status}")
        if count < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._faults.append(Fault(vendor, status, count, path_prefix))

    def take(self, vendor: str, path: str) -> int | None:
        """The status to fail this request with, or None to serve it normally."""
        with self._lock:
            for fault in self._faults:
                if fault.vendor == vendor and path.startswith(fault.path_prefix):
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
                    return fault.status
        return None

    def pending(self) -> list[Fault]:
        with self._lock:
            return [Fault(f.vendor, f.status, f.remaining, f.path_prefix) for f in self._faults]
