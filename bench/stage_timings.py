"""Where a sync run spends its time: each stage of a first run and of a re-run with nothing new.

Runs the pipeline steps directly (no Prefect server, whose ~10 s start-up would drown the small
numbers) against an in-process sandbox world of N people and a temporary warehouse, and writes
bench/results/stage_timings-<N>.json. The re-run is the same-process baseline for "cost follows what
changed": it re-reads only the lookback window and pushes nothing.

    .venv/bin/python bench/stage_timings.py --leads 300
    .venv/bin/python bench/stage_timings.py --leads 5000
"""

from __future__ import annotations

import argparse
import json
import tempfile
from datetime import timedelta
from pathlib import Path

from harness import REPO, machine, one_run, peak_rss_mb, sandbox, settings_for

from leadflow.warehouse import utcnow


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        sandbox(args.seed, args.leads) as sb,
    ):
        settings = settings_for(sb, Path(tmp))
        as_of = utcnow()
        first = one_run(settings, "bench-first", as_of)
        rerun = one_run(settings, "bench-rerun", as_of + timedelta(minutes=1))
    result = {
        "command": f"python bench/stage_timings.py --leads {args.leads} --seed {args.seed}",
        "machine": machine(),
        "leads_in_world": args.leads,
        "first_run": first,
        "rerun_nothing_new": rerun,
        "rerun_to_first_ratio": round(rerun["total_s"] / first["total_s"], 3),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "measured_at": utcnow().isoformat(timespec="seconds"),
    }
    out = REPO / "bench" / "results" / f"stage_timings-{args.leads}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
