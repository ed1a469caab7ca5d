"""Identity resolution against labelled dirty duplicates: pairwise precision, recall, F1, throughput.

The records come from dedupe/generator.py (its hard setting by default, a seed the model was not
trained on) and are written to ops.lead_records of a temporary warehouse file by a child process,
so the measured process holds only what a pipeline run holds. Then the real
`dedupe.deterministic.resolve` (the deterministic rules, then the probabilistic stage: the code a
sync run calls) resolves them all as one first run, timed, with peak RSS recorded.

Scoring is pairwise: a predicted pair is two records given one lead_id, a true pair two records of
one person; precision = true pairs predicted / pairs predicted, recall = true pairs predicted /
true pairs. In the same process, on the same records: a plain exact-email baseline (records with
the same address are one person, every other record alone) and, on a copy of the warehouse, the
deterministic stage alone (identity.probabilistic: false), to show what each stage adds.

With --incremental FRACTION the last FRACTION of the records (by arrival) is held back, the rest
resolved, then the held-back records added and resolved again: the second run is timed apart
(`incremental_seconds`), and lead ids of the first run that changed are counted (must be 0 besides
recorded merges).

    .venv/bin/python bench/dedupe.py                              # make bench-dedupe
    .venv/bin/python bench/dedupe.py --records 1000000 --out bench/results/dedupe_scale.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import duckdb  # noqa: E402
import pandas as pd  # noqa: E402

from dedupe.deterministic import resolve  # noqa: E402
from dedupe.generator import generate  # noqa: E402
from leadflow.config import IdentityConfig  # noqa: E402
from leadflow.warehouse import Warehouse  # noqa: E402

AS_OF = datetime(2026, 6, 1)
SEED = 7  # the shipped model was trained on seed 42


def prepare(path: Path, records: int, seed: int, difficulty: str) -> None:
    """Generate and write the records (ops.lead_records) and the truth (bench_truth)."""
    frame = generate(records, seed=seed, difficulty=difficulty)
    Warehouse(path).ensure_schema()
    with duckdb.connect(str(path)) as con:
        columns = [c for c in frame.columns if c != "person_id"]
        con.register("generated", frame)
        con.execute(
            f"insert into ops.lead_records ({', '.join(columns)}) select {', '.join(columns)} from generated"
        )
        con.execute(
            "create table main.bench_truth as select record_key, person_id, email, first_seen_at from generated"
        )


def pairwise(predicted: pd.Series, truth: pd.Series) -> dict[str, float]:
    """Pairwise precision/recall/F1 of a clustering (predicted cluster per record) against the true
    clusters, both indexed by record."""

    def pairs(sizes: pd.Series) -> int:
        return int((sizes * (sizes - 1) // 2).sum())

    frame = pd.DataFrame({"p": predicted, "t": truth})
    true_positive = pairs(frame.groupby(["p", "t"]).size())
    predicted_pairs = pairs(frame.groupby("p").size())
    true_pairs = pairs(frame.groupby("t").size())
    precision = true_positive / predicted_pairs if predicted_pairs else 1.0
    recall = true_positive / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "true_pairs": true_pairs,
        "predicted_pairs": predicted_pairs,
        "true_positive_pairs": true_positive,
    }


CPU: dict[str, float] = {}


def run_resolve(path: Path, identity: IdentityConfig, run_id: str) -> tuple[float, Any]:
    """Resolve the warehouse once; wall seconds (and CPU seconds in CPU[run_id]: on a shared
    machine the steadier figure)."""
    with duckdb.connect(str(path)) as con:
        started, cpu = time.perf_counter(), time.process_time()
        result = resolve(con, run_id=run_id, as_of=AS_OF, identity=identity)
        CPU[run_id] = time.process_time() - cpu
        return time.perf_counter() - started, result


def clusters(path: Path) -> pd.DataFrame:
    with duckdb.connect(str(path)) as con:
        return con.execute(
            """select t.record_key, t.person_id, t.email, i.lead_id, i.rule
               from main.bench_truth t join ops.lead_identity i using (record_key)"""
        ).df()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--difficulty", choices=("easy", "hard"), default="hard")
    parser.add_argument("--incremental", type=float, default=0.0, metavar="FRACTION")
    parser.add_argument(
        "--threshold", type=float, help="identity.threshold (default: the config's)"
    )
    parser.add_argument("--no-deterministic-only", action="store_true", help="skip that run")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "dedupe.json")
    parser.add_argument("--prepare", type=Path, help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.prepare:
        prepare(args.prepare, args.records, args.seed, args.difficulty)
        return

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-dedupe-") as tmp:
        path = Path(tmp) / "warehouse.duckdb"
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--prepare",
                str(path),
                "--records",
                str(args.records),
                "--seed",
                str(args.seed),
                "--difficulty",
                args.difficulty,
            ],
            check=True,
        )
        generate_s = time.perf_counter() - started
        if not args.no_deterministic_only:
            shutil.copy(path, Path(tmp) / "deterministic.duckdb")

        identity = (
            IdentityConfig() if args.threshold is None else IdentityConfig(threshold=args.threshold)
        )
        held_back: list[str] = []
        if args.incremental:
            with duckdb.connect(str(path)) as con:
                cut = int(args.records * (1 - args.incremental))
                con.execute(
                    "create table main.held_back as select * from ops.lead_records "
                    "order by first_seen_at, record_key offset ?",
                    [cut],
                )
                con.execute(
                    "delete from ops.lead_records where record_key in (select record_key from main.held_back)"
                )
                held_back = [
                    r[0] for r in con.execute("select record_key from main.held_back").fetchall()
                ]

        seconds, result = run_resolve(path, identity, "bench-1")
        peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        incremental: dict[str, Any] = {}
        if held_back:
            before = clusters(path).set_index("record_key")["lead_id"]
            with duckdb.connect(str(path)) as con:
                con.execute("insert into ops.lead_records select * from main.held_back")
            incremental_s, second = run_resolve(path, identity, "bench-2")
            after = clusters(path).set_index("record_key")["lead_id"]
            with duckdb.connect(str(path)) as con:
                merged_away = {
                    r[0] for r in con.execute("select from_lead_id from ops.lead_merges").fetchall()
                }
            changed = before[(after[before.index] != before) & ~before.isin(merged_away)]
            incremental = {
                "first_run_records": args.records - len(held_back),
                "new_records": len(held_back),
                "incremental_seconds": round(incremental_s, 2),
                "incremental_cpu_seconds": round(CPU["bench-2"], 2),
                "new_records_linked": second.newly_linked,
                "new_records_linked_probabilistic": second.probabilistic,
                "existing_leads_merged": second.merges,
                "existing_records_moved_without_merge": len(changed),
            }
            peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        frame = clusters(path)
        truth = frame.set_index("record_key")["person_id"]
        scores = pairwise(frame.set_index("record_key")["lead_id"], truth)
        email_cluster = frame["email"].where(
            frame["email"].notna(), "record:" + frame["record_key"]
        )
        baseline = pairwise(pd.Series(email_cluster.to_numpy(), index=frame["record_key"]), truth)
        rules = frame["rule"].value_counts().to_dict()
        deterministic_only: dict[str, Any] = {}
        if not args.no_deterministic_only:
            det_path = Path(tmp) / "deterministic.duckdb"
            det_s, _ = run_resolve(det_path, IdentityConfig(probabilistic=False), "bench-det")
            det = clusters(det_path)
            deterministic_only = {
                **pairwise(det.set_index("record_key")["lead_id"], truth),
                "seconds": round(det_s, 2),
            }

    out = {
        "benchmark": "dedupe",
        "recorded_at": datetime.now().isoformat(timespec="seconds"),
        "command": " ".join([".venv/bin/python", "bench/dedupe.py", *sys.argv[1:]]),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        },
        "difficulty": args.difficulty,
        "seed": args.seed,
        "records": args.records,
        "people": int(truth.nunique()),
        "threshold": identity.threshold,
        "f1": scores["f1"],
        "precision": scores["precision"],
        "recall": scores["recall"],
        "baseline_f1": baseline["f1"],
        "baseline": baseline,
        "pairwise": scores,
        "deterministic_only": deterministic_only,
        "seconds": round(seconds, 2),
        "cpu_seconds": round(CPU["bench-1"], 2),
        "seconds_by_step": result.seconds,
        "records_per_second": round(args.records / seconds) if seconds else None,
        "peak_rss_mb": round(peak_rss_mb, 1),
        "generate_seconds": round(generate_s, 2),
        "leads": result.leads,
        "linked_records": result.linked_records,
        "linked_probabilistic": result.probabilistic,
        "rules": {str(k): int(v) for k, v in rules.items()},
        "incremental": incremental,
        "meets_targets": {"f1_at_least_0.95": scores["f1"] >= 0.95},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(
        json.dumps(
            {
                k: out[k]
                for k in (
                    "records",
                    "f1",
                    "precision",
                    "recall",
                    "baseline_f1",
                    "seconds",
                    "peak_rss_mb",
                )
            }
        )
    )
    print(f"deterministic only: {deterministic_only}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
