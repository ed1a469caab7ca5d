"""Routing at scale: 100,000 leads over 50 weighted, capped reps through the real engine.

Leads arrive evenly over 30 days (about 140 an hour) and each is decided at its arrival time by
routing.engine.Engine (the same code a run uses), then every decision is written by
routing.write_decisions (assignments, audit, pool state in one transaction; one per simulated day)
to a temporary DuckDB file. The two halves are timed separately. Then the warehouse is checked:

- cap violations: for every capped rep, the most leads in any calendar hour / day / week / month
  (and open at the end), counted with SQL from the written assignments, against its caps: must be 0;
- share error: for the reps whose caps never bound (never skipped for a cap), the realized share of
  the leads they got against their weight share among themselves: max_share_error is the largest
  absolute gap, and must stay within 1 % (0.01); the relative gap is recorded too.

    .venv/bin/python bench/routing.py            # or: make bench-routing
    .venv/bin/python bench/routing.py --leads 20000 --out /tmp/routing.json
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
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from leadflow.config import RoutingConfig  # noqa: E402
from leadflow.warehouse import Warehouse  # noqa: E402
from routing import write_decisions  # noqa: E402
from routing.engine import Decision, Engine, Owner, Roster, RoutingState  # noqa: E402

START = datetime(2026, 6, 1)  # a Monday
DAYS = 30
PERIOD_SQL = {"per_hour": "hour", "per_day": "day", "per_week": "week", "per_month": "month"}


def rep_email(n: int) -> str:
    return f"rep{n:02d}@bench.example"


def build_config(reps: int) -> RoutingConfig:
    """50 reps with weights 1-4; some caps bind (tight), some never do (loose), most reps uncapped."""
    overlay: dict[str, Any] = {}
    for n in range(reps):
        weight = (1, 1.5, 2, 4)[n % 4]
        caps: dict[str, int] = {}
        if n < 5:
            caps = {"per_hour": 1}  # ~2-6 an hour at these weights: binds
        elif n < 10:
            caps = {"per_day": 25}  # ~35-140 a day: binds
        elif n < 13:
            caps = {"per_week": 150}  # ~250-1,000 a week: binds
        elif n < 15:
            caps = {"open": 500}  # leads stay open here: binds after ~2 weeks or sooner
        elif n < 20:
            caps = {"per_hour": 50, "per_day": 500, "per_week": 3000, "per_month": 10000}  # loose
        overlay[rep_email(n)] = {"weight": weight, "caps": caps}
    return RoutingConfig.model_validate(
        {
            "rules": [{"name": "everyone", "pool": "all"}],
            "pools": {"all": {"reps": [rep_email(n) for n in range(reps)]}},
            "reps": overlay,
            "fallback_owner": "overflow@bench.example",
        }
    )


def cap_violations(
    con: Any, config: RoutingConfig, ids: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    """Count (rep, cap, period) cells over the cap, from the written assignments (SQL, UTC periods)."""
    violations = 0
    worst: dict[str, Any] = {}
    for email, rep in config.reps.items():
        owner_id = ids[email]
        for cap_name, period in PERIOD_SQL.items():
            cap = getattr(rep.caps, cap_name)
            if cap is None:
                continue
            rows = con.execute(
                f"""select date_trunc('{period}', assigned_at) as p, count(*) as n
                    from ops.lead_assignments
                    where owner_id = ? and coalesce(action, '') <> 'sticky'
                    group by p having count(*) > ?""",
                [owner_id, cap],
            ).fetchall()
            violations += len(rows)
            peak = con.execute(
                f"""select coalesce(max(n), 0) from (select count(*) as n from ops.lead_assignments
                    where owner_id = ? group by date_trunc('{period}', assigned_at))""",
                [owner_id],
            ).fetchone()
            worst[f"{email}:{cap_name}"] = {"cap": cap, "peak": int(peak[0]) if peak else 0}
        if rep.caps.open is not None:
            total = con.execute(
                "select count(*) from ops.lead_assignments where owner_id = ?", [owner_id]
            ).fetchone()
            held = int(total[0]) if total else 0
            violations += held > rep.caps.open
            worst[f"{email}:open"] = {"cap": rep.caps.open, "peak": held}
    return violations, worst


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=50)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "routing.json")
    args = parser.parse_args()

    config = build_config(args.reps)
    owners = [Owner(str(700_000 + n), rep_email(n)) for n in range(args.reps)]
    owners.append(Owner("799999", "overflow@bench.example"))
    ids = {o.email: o.id for o in owners}
    state = RoutingState(roster=Roster(owners))
    engine = Engine(config)
    step = timedelta(seconds=DAYS * 86_400 / args.leads)
    leads = [
        ({"lead_id": f"lead-{n:06d}", "region": "NA"}, START + step * n) for n in range(args.leads)
    ]

    load_before = os.getloadavg()[0]
    started, cpu = time.perf_counter(), time.process_time()
    decisions: list[Decision] = [engine.decide(lead, state, at) for lead, at in leads]
    decide_s = time.perf_counter() - started
    decide_cpu = time.process_time() - cpu

    with tempfile.TemporaryDirectory() as tmp:
        wh = Warehouse(Path(tmp) / "bench.duckdb")
        wh.ensure_schema()
        with wh.connect() as con:
            # one write per simulated day, as a daily run would commit its batch
            started, cpu = time.perf_counter(), time.process_time()
            per_day = -(-len(decisions) // DAYS)
            for day in range(DAYS):
                batch = decisions[day * per_day : (day + 1) * per_day]
                if batch:
                    write_decisions(
                        con,
                        batch,
                        state,
                        run_id=f"bench-{day:02d}",
                        as_of=START + timedelta(days=day + 1),
                    )
            write_s = time.perf_counter() - started
            write_cpu = time.process_time() - cpu
            violations, peaks = cap_violations(con, config, ids)
            written = con.execute(
                "select count(*), count(distinct lead_id) from ops.lead_assignments"
            ).fetchone()
            audited = con.execute("select count(*) from ops.routing_audit").fetchone()
            db_mb = round(os.path.getsize(wh.path) / 1e6, 1)

    got = Counter(d.owner.email for d in decisions if d.owner is not None)
    bound = {
        s["rep"]
        for d in decisions
        for s in d.skipped
        if s["why"].startswith(("cap ", "open-lead cap"))
    }
    free = [rep_email(n) for n in range(args.reps) if rep_email(n) not in bound]
    weights = {email: config.reps[email].weight for email in free}
    free_total = sum(got[e] for e in free)
    weight_total = sum(weights.values())
    errors = {
        e: (got[e] / free_total - weights[e] / weight_total, weights[e] / weight_total)
        for e in free
    }
    max_abs = max(abs(gap) for gap, _ in errors.values())
    max_rel = max(abs(gap) / share for gap, share in errors.values())
    seconds = decide_s + write_s
    result = {
        "command": "python bench/routing.py"
        + (f" --leads {args.leads}" if args.leads != 100_000 else "")
        + (f" --reps {args.reps}" if args.reps != 50 else ""),
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "leads": args.leads,
        "reps": args.reps,
        "arrival": f"evenly over {DAYS} days from {START.date()}, each decided at its arrival",
        "max_share_error": round(max_abs, 6),
        "max_share_error_relative": round(max_rel, 6),
        "share_error_over_reps": len(free),
        "reps_with_binding_caps": sorted(bound),
        "cap_violations": violations,
        "seconds": round(seconds, 3),
        "decide_seconds": round(decide_s, 3),
        "write_seconds": round(write_s, 3),
        "decide_cpu_seconds": round(decide_cpu, 3),
        "write_cpu_seconds": round(write_cpu, 3),
        "load_average_at_start": round(load_before, 2),
        "decisions_per_s": round(args.leads / decide_s),
        "decisions_per_s_with_write": round(args.leads / seconds),
        "assignments_written": int(written[0]) if written else 0,
        "assignments_distinct_leads": int(written[1]) if written else 0,
        "audit_rows": int(audited[0]) if audited else 0,
        "to_fallback": got["overflow@bench.example"],
        "warehouse_mb": db_mb,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "cap_peaks": peaks,
        "ok": violations == 0 and max_abs <= 0.01,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in result.items() if k != "cap_peaks"}, indent=2))
    if not result["ok"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
