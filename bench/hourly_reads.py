"""What an hour with nothing new reads in dedupe, routing and the push, against reading every lead,
on the warehouse a scale run left (bench/scale.py --workdir DIR).

On a copy of DIR/warehouse.duckdb, with DIR/leadflow.yml's routing and HubSpot settings:

- route: `routing.plan` as a run calls it, first with no remembered verdicts (the baseline: every
  unrouted lead read and tested against routing.eligible, as before ops.routing_not_eligible),
  then, once `remember_not_eligible` kept what it found, again: the hour after;
- push: `read_changed_sync_rows` + `push_changed` for HubSpot, first with no row hashes stored (the
  baseline: every row of the sync model read and diffed in Python), then again. Nothing has changed
  between the two, so only rows already pending (retriable dead letters) may be sent: counted;
- dedupe: `resolve` with no stored input digest (the baseline: every record read and linked in
  Python, as before ops.identity_state), then again, as the next hour finds it.

Each side is timed in the same process, back to back, with its rows read and the ratio.

    .venv/bin/python bench/hourly_reads.py --workdir /tmp/scale-1m-work
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from harness import (  # puts REPO first on sys.path
    REPO,
    copy_warehouse,
    export_tokens,
    machine_and_load,
    peak_rss_mb,
)

RESULTS = REPO / "bench" / "results"


def _timed(fn: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    value = fn()
    return value, round(time.perf_counter() - started, 2)


def measure(workdir: Path, as_of: datetime) -> dict[str, Any]:
    from connectors.reverse_etl import push_changed, read_changed_sync_rows
    from connectors.sync import PushOutcome, SyncRow
    from leadflow.config import load_settings
    from leadflow.pipeline import SYNC_IDENTITY_COLUMNS, SYNC_MODELS, owned_fields
    from leadflow.warehouse import Warehouse, utcnow
    from routing import condition_digest, plan, remember_not_eligible

    settings = load_settings(workdir / "leadflow.yml")
    with tempfile.TemporaryDirectory(prefix="hourly-reads-") as tmp:
        copy = copy_warehouse(workdir, Path(tmp))
        wh = Warehouse(copy)
        wh.ensure_schema()  # a warehouse from before ops.routing_not_eligible gains it
        with wh.connect() as con:
            leads = con.execute("select count(*) from intermediate.int_leads_unified").fetchone()
            con.execute("delete from ops.routing_not_eligible")
            con.execute("update ops.push_state set row_hash = null")
            config = settings.routing
            route: dict[str, Any] = {}
            (every, _), route["every_lead_s"] = _timed(lambda: plan(con, config, as_of=as_of))
            remember_not_eligible(con, every.judged_not_eligible, condition_digest(config), as_of)
            (after, _), route["remembered_s"] = _timed(lambda: plan(con, config, as_of=as_of))
            route.update(
                every_lead_read=every.considered - every.not_eligible_unchanged,
                remembered_read=after.considered - after.not_eligible_unchanged,
                not_eligible=every.not_eligible,
                same_decisions=(every.not_eligible, every.routed, every.unassigned)
                == (after.not_eligible, after.routed, after.unassigned),
                ratio=round(route["every_lead_s"] / max(route["remembered_s"], 0.01), 1),
            )

            sent: list[str] = []

            def acknowledge(batch: Sequence[SyncRow]) -> list[PushOutcome]:
                # No CRM: a row sent here was pending already (a retriable dead letter); counted.
                sent.extend(row.lead_id for row in batch)
                return [PushOutcome(r.lead_id, r.operation, ok=True) for r in batch]

            model = SYNC_MODELS["hubspot"]
            owned = owned_fields("hubspot")
            mode = settings.destinations.crms()["hubspot"].mode

            def push_once() -> tuple[int, int]:
                read = read_changed_sync_rows(con, model, SYNC_IDENTITY_COLUMNS, "hubspot", owned)
                result = push_changed(
                    con,
                    "hubspot",
                    read.rows,
                    acknowledge,
                    owned_properties=owned,
                    batch_size=100,
                    run_id="hourly-reads",
                    as_of=utcnow(),
                    mode=mode,
                    row_hashes=read.row_hashes,
                    unchanged_unread=read.unchanged_unread,
                )
                return len(read.rows), result.candidates

            push: dict[str, Any] = {}
            (every_read, candidates), push["every_row_s"] = _timed(push_once)
            (after_read, _), push["row_hashes_s"] = _timed(push_once)
            push.update(
                candidates=candidates,
                every_row_read=every_read,
                row_hashes_read=after_read,
                sent_pending=len(sent),
                ratio=round(push["every_row_s"] / max(push["row_hashes_s"], 0.01), 1),
            )
            # dedupe: resolve as the last run left it, first made to read everything (no stored
            # digest: what every run did before ops.identity_state), then as the next hour does
            from dedupe.deterministic import resolve

            identity = settings.identity
            if identity.model is not None:
                identity = identity.model_copy(update={"model": settings.resolve(identity.model)})
            con.execute("delete from ops.identity_state")
            dedupe: dict[str, Any] = {}
            full, dedupe["every_record_s"] = _timed(
                lambda: resolve(con, run_id="hourly-reads", as_of=as_of, identity=identity)
            )
            after_resolve, dedupe["unchanged_s"] = _timed(
                lambda: resolve(con, run_id="hourly-reads-2", as_of=as_of, identity=identity)
            )
            dedupe.update(
                records=full.records,
                newly_linked_by_the_full_read=full.newly_linked,
                same_counts=(full.records, full.leads)
                == (after_resolve.records, after_resolve.leads),
                skipped=after_resolve.unchanged,
                ratio=round(dedupe["every_record_s"] / max(dedupe["unchanged_s"], 0.01), 1),
            )
    return {
        "leads": leads[0] if leads else None,
        "route": route,
        "push": push,
        "dedupe": dedupe,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, required=True, help="a scale run's --workdir")
    parser.add_argument("--as-of", help="the hour to plan for (default: now, UTC)")
    args = parser.parse_args()
    export_tokens()
    from leadflow.warehouse import utcnow

    as_of = datetime.fromisoformat(args.as_of) if args.as_of else utcnow()
    load_before = [round(x, 2) for x in os.getloadavg()]
    figures = measure(args.workdir, as_of)
    result = {
        "benchmark": "hourly_reads",
        "command": f"python bench/hourly_reads.py --workdir {args.workdir}",
        "machine": machine_and_load(load_before),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        **figures,
    }
    text = json.dumps(result, indent=2, default=str) + "\n"
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"hourly_reads-{result['leads']}.json").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
