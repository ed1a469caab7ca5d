"""Scoring every lead of a scale run's warehouse (a first run's scoring) in chunks against in one
pass: time and peak memory, each in its own process so that each peak is its own.

On a copy of DIR/warehouse.duckdb (bench/scale.py --workdir DIR), with ops.lead_scores emptied so
that every lead is due, `scoring.score_all` runs with DIR/leadflow.yml's scoring settings: once
with chunk_size = every lead (the baseline: how score_all worked before SCORE_CHUNK) and once with
the default SCORE_CHUNK; with --duckdb-memory-limit, a third time chunked with the warehouse
connection's DuckDB capped (SET memory_limit, spilling to a temporary directory), the setting a
`warehouse.memory_limit_mb` would apply. All must write the same scores.

    .venv/bin/python bench/score_memory.py --workdir /tmp/scale-1m-work
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import (  # puts REPO first on sys.path
    REPO,
    copy_warehouse,
    export_tokens,
    machine_and_load,
)

RESULTS = REPO / "bench" / "results"


def child(workdir: Path, copy: Path, one_pass: bool, memory_limit: str | None) -> None:
    """Score every lead of `copy` and print one JSON line: seconds, CPU, peak RSS, a digest."""
    from leadflow.config import load_settings
    from leadflow.warehouse import Warehouse, utcnow
    from scoring import SCORE_CHUNK, score_all

    settings = load_settings(workdir / "leadflow.yml")
    with Warehouse(copy).connect() as con:
        leads = con.execute("select count(*) from intermediate.int_leads_unified").fetchone()
        size = max(1, leads[0] if leads else 1) if one_pass else SCORE_CHUNK
        if memory_limit:
            con.execute(f"set memory_limit = '{memory_limit}'")
            con.execute(f"set temp_directory = '{copy.parent / 'spill'}'")
        con.execute("delete from ops.lead_scores")
        started, cpu = time.perf_counter(), time.process_time()
        result = score_all(
            con,
            settings.scoring,
            run_id="score-memory",
            as_of=utcnow().replace(hour=12, minute=0, second=0, microsecond=0),
            chunk_size=size,
        )
        seconds, cpu_s = time.perf_counter() - started, time.process_time() - cpu
        digest = con.execute(
            "select sum(hash(lead_id, score, grade, factors, reasons)::hugeint)::varchar"
            " from ops.lead_scores"
        ).fetchone()
    print(
        json.dumps(
            {
                "chunk_size": size,
                "duckdb_memory_limit": memory_limit,
                "default_chunk": SCORE_CHUNK,
                "rescored": result.rescored,
                "seconds": round(seconds, 1),
                "cpu_s": round(cpu_s, 1),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "scores_digest": digest[0] if digest else None,
            }
        )
    )


def run(workdir: Path, one_pass: bool, memory_limit: str | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="score-memory-") as tmp:
        copy = copy_warehouse(workdir, Path(tmp))
        command = [sys.executable, __file__, "--child", "--workdir", str(workdir)]
        command += ["--copy", str(copy)] + (["--one-pass"] if one_pass else [])
        command += ["--duckdb-memory-limit", memory_limit] if memory_limit else []
        out = subprocess.run(command, capture_output=True, text=True, check=True)
        result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, required=True, help="a scale run's --workdir")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--copy", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--one-pass", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--duckdb-memory-limit", help="also: chunked with DuckDB capped (e.g. 2GB)")
    args = parser.parse_args()
    export_tokens()
    if args.child:
        child(args.workdir, args.copy, args.one_pass, args.duckdb_memory_limit)
        return
    load_before = [round(x, 2) for x in os.getloadavg()]
    one_pass = run(args.workdir, True)
    chunked = run(args.workdir, False)
    capped = (
        run(args.workdir, False, args.duckdb_memory_limit) if args.duckdb_memory_limit else None
    )
    result = {
        "benchmark": "score_memory",
        "command": f"python bench/score_memory.py --workdir {args.workdir}",
        "machine": machine_and_load(load_before),
        "leads": one_pass["rescored"],
        "one_pass": one_pass,
        "chunked": chunked,
        "chunked_duckdb_capped": capped,
        "same_scores": one_pass["scores_digest"]
        == chunked["scores_digest"]
        == (capped or chunked)["scores_digest"],
        "peak_rss_ratio": round(one_pass["peak_rss_mb"] / chunked["peak_rss_mb"], 2),
    }
    text = json.dumps(result, indent=2) + "\n"
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"score_memory-{result['leads']}.json").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
