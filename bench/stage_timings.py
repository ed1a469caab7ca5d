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
import os
import platform
import resource
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from leadflow import pipeline  # noqa: E402
from leadflow.config import load_settings  # noqa: E402
from leadflow.warehouse import utcnow  # noqa: E402
from sandbox import Sandbox  # noqa: E402

TOKENS = {
    "hubspot": "bench-hubspot-token",
    "meta": "bench-meta-token",
    "typeform": "bench-typeform-token",
}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def one_run(settings: Any, run_id: str, as_of: Any) -> dict[str, Any]:
    stages: dict[str, float] = {}

    def timed(name: str, fn: Any, *args: Any) -> Any:
        started = time.perf_counter()
        result = fn(*args)
        stages[name] = round(time.perf_counter() - started, 3)
        return result

    pipeline.start_run(settings, run_id, as_of)
    pulls = []
    for source in settings.sources.enabled():
        pulls += timed(f"pull_{source}", pipeline.pull_source, settings, source, run_id, as_of)
    staged = timed("validate_enrich", pipeline.stage_records, settings, run_id, as_of)
    identity = timed("dedupe", pipeline.resolve_identities, settings, run_id, as_of)
    timed("dbt_prepare", pipeline.build_models, settings, "prepare")
    scores = timed("score", pipeline.score_leads, settings, run_id, as_of)
    routes = timed("route", pipeline.route_leads, settings, run_id, as_of)
    timed("dbt_publish", pipeline.build_models, settings, "publish")
    pushed = timed("push", pipeline.push_hubspot, settings, run_id, as_of)
    summary = pipeline.summarize(
        settings, run_id, as_of, pulls, staged, identity, scores, routes, pushed
    )
    pipeline.finish_run(settings, run_id, "completed", summary)
    return {
        "total_s": round(sum(stages.values()), 3),
        "stages_s": stages,
        "records_pulled": summary["records_pulled"],
        "leads": summary["leads"],
        "records_pushed": summary["records_pushed"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    for vendor, env in (
        ("hubspot", "HUBSPOT_ACCESS_TOKEN"),
        ("meta", "META_ACCESS_TOKEN"),
        ("typeform", "TYPEFORM_ACCESS_TOKEN"),
    ):
        os.environ[env] = TOKENS[vendor]
    with (
        tempfile.TemporaryDirectory() as tmp,
        Sandbox(seed=args.seed, leads=args.leads, tokens=TOKENS) as sb,
    ):
        for bucket in ("hubspot", "hubspot_search", "meta", "typeform"):
            sb.set_rate_limit(bucket, 0, 1)  # measure LeadFlow, not the vendors' limits
        config = yaml.safe_load((REPO / "leadflow.yml").read_text(encoding="utf-8"))
        config["warehouse"]["path"] = str(Path(tmp) / "warehouse.duckdb")
        config["sandbox"]["embedded"] = False
        for vendor in ("hubspot", "meta", "typeform"):
            config["sources"][vendor]["base_url"] = sb.urls[vendor]
        config["destinations"]["hubspot"]["base_url"] = sb.urls["hubspot"]
        path = Path(tmp) / "leadflow.yml"
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
        settings = load_settings(path)
        as_of = utcnow()
        first = one_run(settings, "bench-first", as_of)
        rerun = one_run(settings, "bench-rerun", as_of + timedelta(minutes=1))
    result = {
        "command": f"python bench/stage_timings.py --leads {args.leads} --seed {args.seed}",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
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
