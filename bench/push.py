"""The HubSpot push against the sandbox's enforced rate limit: how much of the limit it uses, and
how many 429s it meets.

The sandbox enforces HubSpot's documented limit for the lowest tier (100 requests per 10 seconds
per app; `sandbox/limits.py`) and answers past it with HubSpot's 429 body. `N` leads go through the
pipeline's own push (`connectors.reverse_etl.push_changed` with `connectors.hubspot.push_contacts`,
exactly as `leadflow.pipeline.push_crms` calls them, ops.push_log and ops.push_state included)
as upserts by email into the sandbox's portal, which creates the contacts. Measured: seconds,
requests sent, the 429s the sandbox served, and `push_efficiency`: how full the limit's rolling
window was, averaged over every request answered once the first window had passed (a rolling
window lets a first burst through, so the whole push's average rate would overstate it; a client
that keeps every 10-second window at the enforced 100 requests scores 1.0). Then, in the same
process:

- a second push of the same rows: nothing changed, so nothing may be sent (`noop_pushed`);
- the naive baseline: a push of one lead per request (`batch_size=1`) of `--baseline` leads, what
  a per-record sync would do, and the ratio of leads per second.

    .venv/bin/python bench/push.py --leads 50000     # -> bench/results/push.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from harness import REPO, machine, peak_rss_mb
from pydantic import SecretStr

from connectors.hubspot import push_contacts
from connectors.hubspot import settings as hubspot_settings
from connectors.hubspot.client import make_client
from connectors.reverse_etl import push_changed
from connectors.sync import SyncRow
from leadflow.warehouse import Warehouse
from sandbox import Sandbox
from sandbox.limits import DEFAULT_LIMITS

TOKEN = "bench-push-token"
BATCH_PATHS = (hubspot_settings.BATCH_UPSERT_CONTACTS, hubspot_settings.BATCH_UPDATE_CONTACTS)
LIMIT, LIMIT_S = DEFAULT_LIMITS["hubspot"]
WINDOW = (LIMIT_S, LIMIT)


def rows(count: int, start: int = 0) -> list[SyncRow]:
    """`count` leads as marts.sync_hubspot__contacts would hand them to the push: upserts by email
    with LeadFlow's properties."""
    return [
        SyncRow(
            lead_id=f"bench-lead-{i:07d}",
            operation="upsert",
            object_id=None,
            id_property="email",
            id_value=f"bench.person{i}@bench-company{i % 997}.example",
            properties={
                "email": f"bench.person{i}@bench-company{i % 997}.example",
                "firstname": f"Person{i}",
                "leadflow_lead_id": f"bench-lead-{i:07d}",
                "leadflow_score": str(40 + i % 60),
                "leadflow_grade": "ABCD"[i % 4],
                "leadflow_temperature": ("hot", "warm", "cold")[i % 3],
                "leadflow_reasons": "+20 Business email; +15 Pricing page visit",
            },
        )
        for i in range(start, start + count)
    ]


def window_fill(answered: list[float], window_s: float, limit: int) -> float | None:
    """The share of the limit each rolling window ending at an answer held, averaged over the
    answers that came a full window after the first one; None for a push shorter than that."""
    if not answered:
        return None
    fills = []
    first = 0
    for i, at in enumerate(answered):
        if at < answered[0] + window_s:
            continue
        while answered[first] <= at - window_s:
            first += 1
        fills.append((i - first + 1) / limit)
    return round(sum(fills) / len(fills), 3) if fills else None


class ServesHubSpot(Protocol):
    """What `push` needs of a sandbox: a `Sandbox`, or bench/scale.py's one in another process."""

    @property
    def urls(self) -> dict[str, str]: ...

    @property
    def request_log(self) -> list[tuple[str, str, str, int]]: ...

    def clear_request_log(self) -> None: ...


def push(
    sb: ServesHubSpot,
    warehouse: Warehouse,
    batch: list[SyncRow],
    batch_size: int,
    run_id: str,
    token: str = TOKEN,
) -> dict[str, Any]:
    """One push through the pipeline's own code, timed, with what the sandbox saw; `token` is the
    HubSpot token the sandbox accepts."""
    sb.clear_request_log()
    client = make_client(sb.urls["hubspot"], SecretStr(token))
    answered: list[float] = []

    def send(chunk: list[SyncRow]) -> Any:
        outcomes = push_contacts(client, chunk, batch_size)
        answered.append(time.monotonic())
        return outcomes

    started = time.perf_counter()
    try:
        with warehouse.connect() as con:
            result = push_changed(
                con,
                "hubspot",
                batch,
                send,
                owned_properties=hubspot_settings.OWNED_PROPERTIES,
                batch_size=batch_size,
                run_id=run_id,
                as_of=datetime.now(UTC).replace(tzinfo=None),
            )
    finally:
        client.close()
    seconds = time.perf_counter() - started
    served = [entry for entry in sb.request_log if entry[2] in BATCH_PATHS]
    return {
        "leads": len(batch),
        "changed": result.changed,
        "pushed": result.pushed,
        "failed": result.failed,
        "seconds": round(seconds, 2),
        "requests": len(served),
        "status_429": sum(1 for entry in served if entry[3] == 429),
        "requests_per_s": round(len(served) / seconds, 3) if seconds else 0.0,
        "leads_per_s": round(result.pushed / seconds, 1) if seconds else 0.0,
        "window_fill": window_fill(answered, *WINDOW),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=50_000)
    parser.add_argument("--baseline", type=int, default=300, help="leads pushed one per request")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "push.json")
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory() as tmp,
        Sandbox(seed=7, leads=20, tokens={"hubspot": TOKEN}) as sb,
    ):
        warehouse = Warehouse(Path(tmp) / "warehouse.duckdb")
        warehouse.ensure_schema()
        batched = push(sb, warehouse, rows(args.leads), 100, "bench-push-1")
        noop = push(sb, warehouse, rows(args.leads), 100, "bench-push-2")
        # A new client does not know what the last one sent: wait out the limit's window, as
        # HubSpot counts both against the same token (without the pause its first requests meet
        # 429s, which is what two LeadFlow processes sharing a token would see).
        time.sleep(LIMIT_S)
        # the baseline's leads are others, so they are all changed
        naive = push(sb, warehouse, rows(args.baseline, start=args.leads), 1, "bench-push-naive")
    result = {
        "benchmark": "push",
        "command": "python bench/push.py " + " ".join(sys.argv[1:]),
        "recorded_at": datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds"),
        "machine": machine(),
        "enforced_limit": {"requests": LIMIT, "per_seconds": LIMIT_S},
        "client_limit": {
            "requests": hubspot_settings.GENERAL_LIMIT[0],
            "per_seconds": hubspot_settings.GENERAL_LIMIT[1],
        },
        "batched": batched,
        "push_efficiency": batched["window_fill"],
        "push_429s": batched["status_429"],
        "noop": noop,
        "noop_pushed": noop["requests"],
        "naive_per_record": naive,
        "batched_vs_naive_leads_per_s": round(batched["leads_per_s"] / naive["leads_per_s"], 1)
        if naive["leads_per_s"]
        else None,
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    if result["push_429s"] or result["noop_pushed"] or batched["failed"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
