"""Lead-to-account matching (dedupe/accounts.py) at scale: time and memory of the runs the pipeline
makes, on a warehouse file of synthetic leads and HubSpot companies.

    .venv/bin/python bench/accounts.py [--leads 1000000] [--out bench/results/accounts.json]

One company per ten leads, one in twenty of them entered twice (a later record on the same domain,
without an owner: the tie-breakers choose). Companies carry names with legal forms, domains or only
a website URL, some a phone; a third of them an owner. Lead records (1.3 per lead) carry a business or free-mail
domain, the company name in another spelling or nothing. Four runs are timed, each a call of
`match_accounts` on the same file, as the sync makes them:

- first: every key made, every lead matched;
- unchanged: nothing new (what most speed-lane batches and quiet hourly runs see);
- new_leads: ten new leads arrived;
- account_changed: one company got a new version in HubSpot (renamed and re-owned).
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

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import duckdb  # noqa: E402

from dedupe.accounts import match_accounts  # noqa: E402
from leadflow.config import AccountsConfig  # noqa: E402
from leadflow.warehouse import Warehouse  # noqa: E402

AS_OF = datetime(2026, 5, 1)


def load(con: duckdb.DuckDBPyConnection, leads: int) -> None:
    """Synthetic companies and lead records, made in SQL (seconds for a million leads)."""
    accounts = max(1, leads // 10)
    con.execute(
        f"""
        insert into raw.hubspot__companies
        select 'c' || i, cast(20000000000 + i as varchar), null, timestamp '2026-01-01',
            json_object('id', cast(20000000000 + i as varchar), 'properties', json_object(
                'name', 'Firm' || i || ['', ' Labs', ' Systems'][1 + i % 3]
                        || [' Inc', ' GmbH', ' Ltd', ''][1 + i % 4],
                'domain', case when i % 5 <> 0 then 'firm' || i || '.com' end,
                'website', case when i % 5 = 0 then 'https://www.firm' || i || '.com/about' end,
                'phone', case when i % 7 = 0 then '+1 415 555 ' || lpad(cast(i % 10000 as varchar), 4, '0') end,
                'country', 'United States',
                'hubspot_owner_id', case when i % 3 = 0 then cast(51000001 + i % 8 as varchar) end,
                'num_associated_contacts', cast(i % 13 as varchar),
                'createdate', '2025-01-01T00:00:00Z'),
                'archived', false),
            'h' || i, 'bench', timestamp '2026-01-01'
        from range({accounts}) t(i)
        """
    )
    # one company in twenty entered twice: a later record on the same domain, without an owner
    con.execute(
        f"""
        insert into raw.hubspot__companies
        select 'd' || i, cast(30000000000 + i as varchar), null, timestamp '2026-01-01',
            json_object('id', cast(30000000000 + i as varchar), 'properties', json_object(
                'name', 'Firm' || i, 'domain', 'firm' || i || '.com',
                'num_associated_contacts', '1', 'createdate', '2025-06-01T00:00:00Z'),
                'archived', false),
            'hd' || i, 'bench', timestamp '2026-01-01'
        from range(1, {accounts}, 20) t(i)
        """
    )
    records = int(leads * 1.3)
    con.execute(
        f"""
        insert into ops.lead_records (record_key, source, stream, record_id, _raw_id, email_domain,
            is_free_email, company, phone_e164, first_seen_at, run_id)
        select 'meta:leads:' || j, 'meta', 'leads', cast(j as varchar), 'r' || j,
            case when j % 4 = 0 then 'gmail.com' else 'firm' || (j % {accounts}) || '.com' end,
            j % 4 = 0,
            case when j % 10 <> 0
                 then ['', 'ACME ', ''][1 + j % 3] || 'Firm' || (j % {accounts})
                      || ['', ' Labs', ' Systems'][1 + (j % {accounts}) % 3]
                      || [', Inc.', '', ' GmbH'][1 + j % 3] end,
            null, timestamp '2026-01-01', 'bench'
        from range({records}) t(j)
        """
    )
    con.execute(
        f"""
        insert into ops.lead_identity (record_key, lead_id, rule, resolved_at, run_id)
        select 'meta:leads:' || j, 'lf_' || (j % {leads}), 'new_lead', timestamp '2026-01-01', 'bench'
        from range({records}) t(j)
        """
    )


def timed(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, Any]:
    start, cpu = time.perf_counter(), time.process_time()
    result = match_accounts(con, AccountsConfig(), run_id=run_id, as_of=AS_OF)
    return {
        "seconds": round(time.perf_counter() - start, 2),
        "cpu_seconds": round(time.process_time() - cpu, 2),
        "leads_matched_again": result.leads,
        "matched": result.matched,
        "by_rule": dict(result.by_rule),
        "tie_broken": result.tie_broken,
        "unchanged": result.unchanged,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=REPO / "bench/results/accounts.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        warehouse = Warehouse(Path(tmp) / "warehouse.duckdb")
        warehouse.ensure_schema()
        with warehouse.connect() as con:
            started = time.perf_counter()
            load(con, args.leads)
            setup = round(time.perf_counter() - started, 1)
            runs = {"first": timed(con, "first"), "unchanged": timed(con, "unchanged")}
            con.execute(
                """
                insert into ops.lead_records (record_key, source, stream, record_id, _raw_id,
                    email_domain, is_free_email, company, first_seen_at, run_id)
                select 'typeform:responses:' || j, 'typeform', 'responses', cast(j as varchar),
                    'new' || j, 'firm' || j || '.com', false, 'Firm' || j, now(), 'bench'
                from range(10) t(j)
                """
            )
            con.execute(
                """
                insert into ops.lead_identity (record_key, lead_id, rule, resolved_at, run_id)
                select 'typeform:responses:' || j, 'lf_new_' || j, 'new_lead', now(), 'bench'
                from range(10) t(j)
                """
            )
            runs["new_leads"] = timed(con, "new_leads")
            con.execute(
                """
                insert into raw.hubspot__companies
                select 'c5-v2', '20000000005', null, timestamp '2026-02-01',
                    json_object('id', '20000000005', 'properties', json_object(
                        'name', 'Renamed Corp', 'domain', 'firm5.com',
                        'hubspot_owner_id', '51000002', 'num_associated_contacts', '3',
                        'createdate', '2025-01-01T00:00:00Z'), 'archived', false),
                    'h5-v2', 'bench', timestamp '2026-02-01'
                """
            )
            runs["account_changed"] = timed(con, "account_changed")
        size_mb = round((Path(tmp) / "warehouse.duckdb").stat().st_size / 2**20, 1)
    figures = {
        "command": " ".join(sys.argv),
        "recorded_at": datetime.now().isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "duckdb": duckdb.__version__,
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        },
        "leads": args.leads,
        "companies": max(1, args.leads // 10),
        "lead_records": int(args.leads * 1.3),
        "setup_seconds": setup,
        "runs": runs,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "warehouse_mb": size_mb,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
