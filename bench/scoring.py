"""The predictive score on generated worlds: holdout AUC and Brier next to the rules score's.

Two worlds, each trained and evaluated by the same code `leadflow train` runs
(scoring.model.train_and_evaluate), with the shipped leadflow.yml rules as the comparison:

- history: a generated CRM history export (scoring.history_export.write_example_export) whose
  outcomes truly depend on industry, company size, a started trial, seniority and email type;
- sandbox: the sandbox world (whose funnel progress depends on seniority, email type, country and
  company size) pulled, validated, de-duplicated and modelled by dbt's `prepare`, then trained from
  the warehouse like a real install (window 30 days: the sandbox's funnel moves within weeks).

Writes bench/results/scoring.json (the history world's numbers at the top level, both in `worlds`).

    .venv/bin/python bench/scoring.py                      # 20,000 leads each (make bench-scoring)
    .venv/bin/python bench/scoring.py --history 5000 --sandbox 0
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
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from harness import sandbox  # noqa: E402

from leadflow import pipeline  # noqa: E402
from leadflow.config import load_settings  # noqa: E402
from leadflow.warehouse import utcnow  # noqa: E402
from scoring.history_export import (  # noqa: E402
    EXAMPLE_COLUMNS,
    EXAMPLE_EVENTS,
    write_example_export,
)
from scoring.model import TrainingResult, train_and_evaluate  # noqa: E402


def _round(value: Any) -> Any:
    return round(value, 4) if isinstance(value, float) else value


def summary(result: TrainingResult, seconds: dict[str, float], leads: int) -> dict[str, Any]:
    metrics = result.metrics()
    return {
        "leads_in_world": leads,
        "status": result.status,
        "message": result.message,
        "model_auc": _round(metrics["model_auc"]),
        "rules_auc": _round(metrics["rules_auc"]),
        "brier": _round(metrics["model_brier"]),
        "rules_brier": _round(metrics["rules_brier"]),
        "train_leads": metrics["train_leads"],
        "conversions": metrics["train_conversions"],
        "holdout_leads": metrics["holdout_leads"],
        "holdout_conversions": metrics["holdout_conversions"],
        "top_decile_lift": (result.model_eval["lift"][0]["lift"] if result.model_eval else None),
        "rules_top_decile_lift": (
            result.rules_eval["lift"][0]["lift"] if result.rules_eval else None
        ),
        "top_coefficients": [
            [name, round(c, 3)]
            for name, c in (result.model.top_coefficients(8) if result.model else [])
        ],
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
    }


def history_world(leads: int, seed: int, tmp: Path) -> dict[str, Any]:
    as_of = datetime(2026, 11, 1)
    started = time.perf_counter()
    paths = write_example_export(tmp / "export", leads=leads, seed=seed, as_of=as_of)
    generated = time.perf_counter()
    config = yaml.safe_load((REPO / "leadflow.yml").read_text(encoding="utf-8"))
    config["warehouse"]["path"] = str(tmp / "history.duckdb")
    config["scoring"]["model"]["window_days"] = 90
    config["scoring"]["model"]["history_export"] = {
        **{name: str(path) for name, path in paths.items()},
        "columns": EXAMPLE_COLUMNS,
        "events": EXAMPLE_EVENTS,
    }
    path = tmp / "history.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    result = train_and_evaluate(load_settings(path), as_of=as_of, from_history=True)
    done = time.perf_counter()
    return summary(
        result, {"generate": generated - started, "load_train_evaluate": done - generated}, leads
    )


def sandbox_world(leads: int, seed: int, tmp: Path) -> dict[str, Any]:
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    with sandbox(seed, leads) as sb:
        for bucket in ("hubspot", "hubspot_search", "meta", "typeform"):
            sb.set_rate_limit(bucket, 0, 1)  # measure LeadFlow, not the vendors' limits
        seconds["generate"] = time.perf_counter() - started
        config = yaml.safe_load((REPO / "leadflow.yml").read_text(encoding="utf-8"))
        config["warehouse"]["path"] = str(tmp / "sandbox.duckdb")
        config["sandbox"]["embedded"] = False
        config["destinations"] = {}  # training needs no push
        for vendor in ("hubspot", "meta", "typeform"):
            config["sources"][vendor]["base_url"] = sb.urls[vendor]
        path = tmp / "sandbox.yml"
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
        settings = load_settings(path)
        as_of = utcnow()
        mark = time.perf_counter()
        pipeline.start_run(settings, "bench-scoring", as_of)
        for source in settings.sources.enabled():
            pipeline.pull_source(settings, source, "bench-scoring", as_of)
        pipeline.stage_records(settings, "bench-scoring", as_of)
        pipeline.resolve_identities(settings, "bench-scoring", as_of)
        pipeline.build_models(settings, "prepare")
        seconds["sync_to_intermediate"] = time.perf_counter() - mark
    mark = time.perf_counter()
    result = train_and_evaluate(settings, as_of=as_of)
    seconds["train_evaluate"] = time.perf_counter() - mark
    return summary(result, seconds, leads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history", type=int, default=20_000, help="leads in the export (0: skip)")
    parser.add_argument("--sandbox", type=int, default=20_000, help="people in the world (0: skip)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    worlds: dict[str, Any] = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        if args.history:
            worlds["history"] = history_world(args.history, args.seed, Path(tmp))
            print(json.dumps(worlds["history"], indent=2), flush=True)
        if args.sandbox:
            worlds["sandbox"] = sandbox_world(args.sandbox, args.seed, Path(tmp))
            print(json.dumps(worlds["sandbox"], indent=2), flush=True)
    headline = worlds.get("history") or worlds.get("sandbox") or {}
    result = {
        "command": (
            f"python bench/scoring.py --history {args.history} --sandbox {args.sandbox} "
            f"--seed {args.seed}"
        ),
        "date": utcnow().isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "world": "history" if "history" in worlds else "sandbox",
        **{
            key: headline.get(key)
            for key in (
                "model_auc",
                "rules_auc",
                "brier",
                "rules_brier",
                "holdout_leads",
                "train_leads",
                "conversions",
            )
        },
        "seconds": round(time.perf_counter() - started, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "worlds": worlds,
    }
    out = REPO / "bench" / "results" / "scoring.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
