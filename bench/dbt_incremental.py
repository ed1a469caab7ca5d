"""An hourly run's dbt `prepare` and `publish` on incremental models against the same builds
from scratch.

A sandbox world of N people goes through a first sync, then H hourly syncs in which new people
arrive (and the sandbox clock moves an hour, so earlier leads get their first touches). Just before
the last hour's `prepare`, and again just before its `publish`, the warehouse file is copied; the
pipeline's own (incremental) builds run on the original, then `dbt build --selector prepare
--full-refresh` and `... publish --full-refresh` on the copies: the baselines from the identical
states, in the same process. Every build's per-model seconds come from dbt's run_results.json.
Then every incremental model is compared row for row between the warehouses: hours of incremental
builds must equal one build from scratch.

    .venv/bin/python bench/dbt_incremental.py --leads 20000 --hours 3
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
from harness import REPO, machine, one_run, peak_rss_mb, sandbox, settings_for

import leadflow.landing
from leadflow.dbt import PROJECT_DIR, run_dbt
from leadflow.warehouse import utcnow


def node_timings(target_dir: Path) -> dict[str, Any]:
    """Seconds per model of the last dbt invocation, and totals for models and tests."""
    results = json.loads((target_dir / "run_results.json").read_text(encoding="utf-8"))
    models = {
        r["unique_id"].split(".")[-1]: round(r["execution_time"], 3)
        for r in results["results"]
        if r["unique_id"].startswith("model.")
    }
    tests = {
        r["unique_id"].split(".")[2]: r["execution_time"]
        for r in results["results"]
        if r["unique_id"].startswith("test.")
    }
    unit = [
        r["execution_time"] for r in results["results"] if r["unique_id"].startswith("unit_test.")
    ]
    slowest = sorted(tests.items(), key=lambda item: -item[1])[:10]
    return {
        "elapsed_s": round(results["elapsed_time"], 3),
        "models_s": round(sum(models.values()), 3),
        "tests_s": round(sum(tests.values()), 3),
        "count_tests": len(tests),
        "unit_tests_s": round(sum(unit), 3),
        "count_unit_tests": len(unit),
        "slowest_tests_s": {name: round(seconds, 3) for name, seconds in slowest},
        "per_model_s": dict(sorted(models.items(), key=lambda item: -item[1])),
    }


def incremental_models() -> list[tuple[str, str]]:
    """(schema, name) of every model materialized incrementally, from dbt's manifest."""
    manifest = json.loads((PROJECT_DIR / "target" / "manifest.json").read_text(encoding="utf-8"))
    return sorted(
        (node["schema"], node["name"])
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["config"]["materialized"] == "incremental"
    )


def differing_rows(incremental: Path, scratch: Path, relation: str) -> dict[str, int]:
    """Rows only in the incremental build and rows only in the build from scratch."""
    con = duckdb.connect(str(incremental), read_only=True)
    try:
        con.execute(f"attach '{scratch}' as scratch (read_only)")
        only_incremental = con.execute(
            f"select count(*) from (select * from {relation} except all "
            f"select * from scratch.{relation})"
        ).fetchone()
        only_scratch = con.execute(
            f"select count(*) from (select * from scratch.{relation} except all "
            f"select * from {relation})"
        ).fetchone()
        rows = con.execute(f"select count(*) from {relation}").fetchone()
    finally:
        con.close()
    assert only_incremental and only_scratch and rows
    return {
        "rows": rows[0],
        "only_in_incremental": only_incremental[0],
        "only_in_full_refresh": only_scratch[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=20000)
    parser.add_argument("--hours", type=int, default=3)
    parser.add_argument("--arrivals", type=int, default=0, help="new people an hour (0: leads/500)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="copy the final warehouse here (to profile it)")
    args = parser.parse_args()
    arrivals = args.arrivals or max(1, args.leads // 500)

    with tempfile.TemporaryDirectory() as tmp, sandbox(args.seed, args.leads) as sb:
        workdir = Path(tmp)
        settings = settings_for(sb, workdir)
        copy = workdir / "full_refresh.duckdb"
        prepare_copy = workdir / "full_refresh_prepare.duckdb"
        prepares: list[dict[str, Any]] = []
        publishes: list[dict[str, Any]] = []
        runs: list[dict[str, Any]] = []
        hour = 0

        def hook(event: str) -> None:
            if event == "after_prepare":
                prepares.append(node_timings(PROJECT_DIR / "target"))
            elif event == "after_publish":
                publishes.append(node_timings(PROJECT_DIR / "target"))
            elif event == "before_publish" and hour == args.hours:
                shutil.copyfile(settings.warehouse_path, copy)
            elif event == "before_prepare" and hour == args.hours:
                shutil.copyfile(settings.warehouse_path, prepare_copy)

        # Raw rows are stamped _loaded_at from the wall clock, and incremental staging re-stages
        # what was loaded within its lookback of the newest stamp (dbt var staging_lookback_minutes).
        # The hours here pass in minutes: stamp each hour's rows an hour later, as an hourly
        # schedule would, so a build does not re-stage the previous hour's rows.
        wall_clock = leadflow.landing.utcnow
        leadflow.landing.utcnow = lambda: wall_clock() + timedelta(hours=hour)
        as_of = utcnow()
        runs.append(one_run(settings, "bench-hour-0", as_of, hook))
        for hour in range(1, args.hours + 1):
            sb.add_arrivals(arrivals)
            sb.advance_clock(timedelta(hours=1))
            runs.append(
                one_run(settings, f"bench-hour-{hour}", as_of + timedelta(hours=hour), hook)
            )

        bands = settings.scoring.bands
        full_refreshes: dict[str, dict[str, Any]] = {}
        for selector, warehouse in (("prepare", prepare_copy), ("publish", copy)):
            run_dbt(
                [
                    "build",
                    "--selector",
                    selector,
                    "--full-refresh",
                    "--exclude-resource-type",
                    "unit_test",
                ],
                warehouse_path=warehouse,
                dbt_vars={
                    "score_grades": list(bands.grades),
                    "score_temperatures": list(bands.temperature),
                },
                target_path=workdir / "full_refresh_target",
            )
            full_refreshes[selector] = node_timings(workdir / "full_refresh_target")
        if args.keep:
            shutil.copyfile(settings.warehouse_path, args.keep)
        # prepare's tables (staging, intermediate) against the prepare copy; the marts against the
        # publish copy (scoring and routing ran between the two)
        compared = {
            f"{schema}.{name}": differing_rows(
                settings.warehouse_path,
                copy if schema == "marts" else prepare_copy,
                f"{schema}.{name}",
            )
            for schema, name in incremental_models()
        }

    hourly = {"prepare": prepares[-1], "publish": publishes[-1]}
    incremental_names = [(schema, name) for schema, name in incremental_models()]
    result = {
        "command": (
            f"python bench/dbt_incremental.py --leads {args.leads} --hours {args.hours} "
            f"--arrivals {arrivals} --seed {args.seed}"
        ),
        "machine": machine(),
        "leads_in_world": args.leads,
        "arrivals_per_hour": arrivals,
        "runs": [
            {"leads": r["leads"], "records_pulled": r["records_pulled"], "stages_s": r["stages_s"]}
            for r in runs
        ],
        "last_hour_prepare_incremental": hourly["prepare"],
        "last_hour_prepare_full_refresh": full_refreshes["prepare"],
        "last_hour_publish_incremental": hourly["publish"],
        "last_hour_publish_full_refresh": full_refreshes["publish"],
        "incremental_models_s": {
            name: {
                "incremental": hourly[step]["per_model_s"].get(name),
                "full_refresh": full_refreshes[step]["per_model_s"].get(name),
            }
            for schema, name in incremental_names
            for step in ["publish" if schema == "marts" else "prepare"]
        },
        "incremental_equals_full_refresh": compared,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "measured_at": utcnow().isoformat(timespec="seconds"),
    }
    out = REPO / "bench" / "results" / f"dbt_incremental-{args.leads}.json"
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    broken = {
        k: v for k, v in compared.items() if v["only_in_incremental"] or v["only_in_full_refresh"]
    }
    if broken:
        sys.exit(f"incremental marts differ from a full refresh: {broken}")


if __name__ == "__main__":
    main()
