"""Chaos: a share of requests fail the ways real APIs fail, at random but reproducibly (seeded).

`Sandbox.set_chaos(rate)` (or `POST /_sandbox/chaos`) makes each vendor request, with probability
`rate`, meet one of these faults (drawn from a shuffled bag, so each comes up within a few faults),
each in the vendor's own shape:

- latency: the request is served normally, after an added delay of up to `latency_s` (a slow
  day at the vendor, still inside the client's timeout);
- rate_limited: a 429 with the vendor's body and Retry-After (the app's own `fault(429)`);
- server_error: a 500, 502 or 503 with the vendor's error body;
- timeout: the request is served (a write is applied) but the answer comes only after
  `timeout_delay_s`, past the client's timeout: the case that tests idempotent retries;
- truncated: the request is served and its 2xx JSON body cut in half (a proxy or a crash);
- partial: on HubSpot's batch write endpoints, some inputs are applied and the others answered as
  per-input errors in a 207 Multi-Status body (category RATE_LIMITS, a transient rejection).

A request that matches no applicable kind (partial outside HubSpot batch writes) is served normally.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, replace
from random import Random
from typing import Any

from sandbox.server import Request, Response, VendorApp

KINDS = ("latency", "rate_limited", "server_error", "timeout", "truncated", "partial")
# HubSpot's batch writes, where a 207 with per-input errors is possible.
PARTIAL_PATHS = (
    "/crm/v3/objects/contacts/batch/update",
    "/crm/v3/objects/contacts/batch/upsert",
)
# Salesforce's sObject Collections (some records fail, the others apply) and Pipedrive's
# one-record writes (a person or lead PATCH: failing part of it fails all of it).
PARTIAL_PATTERN = re.compile(
    r"^/services/data/v\d+\.\d+/composite/sobjects(/\w+/\w+)?$|^/api/v2/persons/\d+$|^/api/v1/leads/[\w-]+$"
)


def _partial_applies(path: str) -> bool:
    return path in PARTIAL_PATHS or PARTIAL_PATTERN.match(path) is not None


@dataclass(frozen=True)
class ChaosSettings:
    rate: float = 0.0
    kinds: tuple[str, ...] = KINDS
    timeout_delay_s: float = 2.0
    vendors: tuple[str, ...] = ()  # empty: every vendor
    latency_s: float = 0.5  # the longest delay `latency` adds

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"chaos rate must be between 0 and 1, got {self.rate}")
        unknown = set(self.kinds) - set(KINDS)
        if unknown or not self.kinds:
            raise ValueError(f"chaos kinds must be some of {KINDS}, got {sorted(self.kinds)}")
        if self.timeout_delay_s <= 0:
            raise ValueError("timeout_delay_s must be positive")
        if self.latency_s <= 0:
            raise ValueError("latency_s must be positive")


def settings_from_flags(rate: float, kinds: str | None = None) -> ChaosSettings:
    """`--chaos-rate 0.1 --chaos-kinds latency,rate_limited` as settings (every kind by default);
    a bad rate or an unknown kind is a ValueError naming it."""
    chosen = tuple(k.strip() for k in kinds.split(",") if k.strip()) if kinds else KINDS
    return ChaosSettings(rate, chosen)


class Chaos:
    """Decides, per request, whether and how it fails; counts what it did (`counts`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._settings = ChaosSettings()
        self._random = Random(0)
        self._bag: list[str] = []
        self.counts: dict[str, int] = {}

    def configure(self, settings: ChaosSettings, seed: int = 0) -> None:
        with self._lock:
            self._settings = settings
            self._random = Random(f"leadflow-sandbox:chaos:{seed}")
            self._bag = []
            self.counts = {}

    @property
    def settings(self) -> ChaosSettings:
        return self._settings

    def _next_kind(self, path: str) -> str | None:
        """The next kind from a shuffled bag of all kinds, so that every kind comes up within a few
        faults; partial waits in the bag for a batch write."""
        applicable = [k for k in self._bag if k != "partial" or _partial_applies(path)]
        if not applicable:
            self._bag = list(self._settings.kinds)
            self._random.shuffle(self._bag)
            applicable = [k for k in self._bag if k != "partial" or _partial_applies(path)]
            if not applicable:
                return None
        kind = applicable[0]
        self._bag.remove(kind)
        return kind

    def _draw(self, vendor: str, path: str) -> tuple[str, Random] | None:
        with self._lock:
            s = self._settings
            if s.rate <= 0 or (s.vendors and vendor not in s.vendors):
                return None
            if self._random.random() >= s.rate:
                return None
            kind = self._next_kind(path)
            if kind is None:
                return None
            self.counts[kind] = self.counts.get(kind, 0) + 1
            # each faulted request gets its own generator, so what it does is drawn under the lock
            return kind, Random(self._random.random())

    def serve(self, vendor: str, app: VendorApp, req: Request) -> Response:
        """The app's answer to `req`, or the fault chaos drew for it."""
        drawn = self._draw(vendor, req.path)
        if drawn is None:
            return app.handle(req)
        kind, rng = drawn
        if kind == "rate_limited":
            return app.fault(429, req)
        if kind == "server_error":
            return app.fault(rng.choice((500, 502, 503)), req)
        if kind == "partial":
            return _partial(app, req, rng)
        resp = app.handle(req)
        if kind == "latency":
            return replace(resp, delay_s=rng.uniform(0, self._settings.latency_s))
        if kind == "timeout":
            return replace(resp, delay_s=self._settings.timeout_delay_s)
        if 200 <= resp.status < 300 and resp.body is not None:  # truncated
            encoded = resp.encoded()
            return Response(
                resp.status,
                encoded[: len(encoded) // 2],
                {"Content-Type": "application/json;charset=utf-8", **resp.headers},
            )
        return resp


def _partial(app: VendorApp, req: Request, rng: Random) -> Response:
    """Apply a random part of a batch write and fail the rest, as the vendor fails one record:
    HubSpot answers 207 with per-input errors; Salesforce's sObject Collections (allOrNone
    false) a result per record, some `success: false` (UNABLE_TO_LOCK_ROW, which Salesforce
    documents as retriable). A write of one record (Pipedrive has no batch) fails whole (429)."""
    try:
        body = json.loads(req.body or b"{}")
    except ValueError:
        return app.handle(req)
    if app.vendor == "salesforce" and isinstance(body, dict) and "records" in body:
        return _salesforce_partial(app, req, body, rng)
    if app.vendor == "pipedrive" and req.method in ("PATCH", "POST", "PUT"):
        return app.fault(429, req)
    try:
        inputs = body["inputs"]
    except (KeyError, TypeError):
        return app.handle(req)  # not a batch body: let the app reject it as HubSpot would
    if not isinstance(inputs, list) or len(inputs) < 2:
        return app.fault(429, req)  # one input: failing part of it fails all of it
    rejected = set(rng.sample(range(len(inputs)), rng.randint(1, len(inputs) - 1)))
    kept = [item for i, item in enumerate(inputs) if i not in rejected]
    resp = app.handle(replace(req, body=json.dumps({**body, "inputs": kept}).encode()))
    if resp.status != 200 or not isinstance(resp.body, dict):
        return resp
    errors = [_input_error(inputs[i]) for i in sorted(rejected)]
    return Response(
        207,
        {**resp.body, "numErrors": len(errors), "errors": errors},
        dict(resp.headers),
    )


def _salesforce_partial(
    app: VendorApp, req: Request, body: dict[str, Any], rng: Random
) -> Response:
    records = body["records"]
    if not isinstance(records, list) or len(records) < 2 or body.get("allOrNone") is not False:
        return app.fault(503, req)  # one record, or all-or-none: failing part fails all
    rejected = set(rng.sample(range(len(records)), rng.randint(1, len(records) - 1)))
    kept = [record for i, record in enumerate(records) if i not in rejected]
    resp = app.handle(replace(req, body=json.dumps({**body, "records": kept}).encode()))
    if resp.status != 200 or not isinstance(resp.body, list) or len(resp.body) != len(kept):
        return resp
    applied = iter(resp.body)
    results = [
        {
            "success": False,
            "errors": [
                {
                    "statusCode": "UNABLE_TO_LOCK_ROW",
                    "message": "unable to obtain exclusive access to this record or 1 records",
                    "fields": [],
                }
            ],
        }
        if i in rejected
        else next(applied)
        for i in range(len(records))
    ]
    return Response(200, results, dict(resp.headers))


def _input_error(item: Any) -> dict[str, Any]:
    """HubSpot's per-input batch error, naming the input by its id (update) or id property value."""
    key = item.get("id") if isinstance(item, dict) else None
    return {
        "status": "error",
        "category": "RATE_LIMITS",
        "message": "You have reached your secondly limit.",
        "context": {"ids": [str(key)]},
    }
