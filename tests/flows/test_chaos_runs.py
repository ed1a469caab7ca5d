"""Runs under API chaos (issue 9 point 2): with 10 % of HubSpot, Meta and Typeform requests failing
(429 with Retry-After, 5xx, answers that time out after the write was applied, truncated JSON,
HubSpot batch writes rejecting some inputs with a 207), hourly runs still finish, nothing is lost,
rejected pushes wait in ops.dead_letter and go through on a later run, and the warehouse and the CRM
end exactly as in the same world synced without chaos."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from leadflow.accounting import record_accounting
from sandbox import Sandbox
from sandbox.chaos import KINDS
from tests.flows.test_lead_sync import TOKEN_ENV, TOKENS, write_config

WORLD_START = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
AS_OF = datetime(2026, 5, 4, 9, 30)
CHAOS_RATE = 0.10
# Timeouts: the client gives up after 0.5 s; chaos answers 1 s late (the write already applied).
FAST_HTTP = {"timeout_s": 0.5, "max_attempts": 8, "backoff_base_s": 0.05, "backoff_max_s": 0.5}


def _many_small_requests(config: Path) -> None:
    """Fast retries, and small pages and batches: many requests for chaos to pick from."""
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    for section in ("sources", "destinations"):
        for name in ("hubspot", "meta", "typeform"):
            if name in data[section]:
                data[section][name]["http"] = dict(FAST_HTTP)
    # (Meta's page size also pages a year of daily ad insights: kept larger)
    for name, page_size in (("hubspot", 2), ("meta", 25), ("typeform", 2)):
        data["sources"][name]["page_size"] = page_size
    data["destinations"]["hubspot"]["batch_size"] = 5
    config.write_text(yaml.safe_dump(data), encoding="utf-8")


def _snapshot(sandbox: Sandbox, warehouse: Path) -> dict[str, Any]:
    """What must not differ between a calm world and a chaotic one."""
    contacts = sandbox.hubspot_contacts()
    crm = sorted(
        (
            str(c["properties"].get("email") or ""),
            str(c["properties"].get("hubspot_owner_id") or ""),
            *(
                str(c["properties"].get(p) or "")
                for p in ("leadflow_lead_id", "leadflow_score", "leadflow_grade")
            ),
        )
        for c in contacts
    )
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assignments = con.execute(
            "select lead_id, owner_id from ops.lead_assignments order by lead_id"
        ).fetchall()
        scores = con.execute(
            "select lead_id, score, grade from ops.lead_scores order by lead_id"
        ).fetchall()
        leads = con.execute("select count(*) from marts.dim_leads").fetchone()
        dead = con.execute("select count(*) from ops.dead_letter").fetchone()
        accounting = record_accounting(con)
    return {
        "crm_contacts": len(contacts),
        "crm": crm,
        "assignments": assignments,
        "scores": scores,
        "leads": leads[0] if leads else None,
        "dead_letters_left": dead[0] if dead else None,
        "accounting": accounting,
    }


def _sync_world(tmp: Path, chaos: bool, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    from flows.lead_sync import lead_sync

    for vendor, env in TOKEN_ENV.items():
        monkeypatch.setenv(env, TOKENS[vendor])
    tmp.mkdir(parents=True)
    with Sandbox(seed=41, leads=60, tokens=TOKENS, now=WORLD_START) as sandbox:
        monkeypatch.setenv("LEADFLOW_SLACK_WEBHOOK_URL", sandbox.slack_webhook_url)
        # the vendors' own limits off: with pages of two, they would only add waiting; chaos
        # serves the 429s
        for bucket in ("slack", "hubspot", "hubspot_search", "meta", "typeform"):
            sandbox.set_rate_limit(bucket, 0, 1)
        config = write_config(tmp, sandbox.urls, smtp_port=sandbox.smtp_address[1])
        _many_small_requests(config)
        if chaos:
            sandbox.set_chaos(
                CHAOS_RATE, seed=5, timeout_delay_s=1.0, vendors=("hubspot", "meta", "typeform")
            )
        runs = [lead_sync(config_path=str(config), as_of=AS_OF)]
        served = dict(sandbox.chaos.counts)
        # the hour after, the APIs are calm again and whatever waited in the dead letter goes out;
        # the hour after that pulls back the contacts those late pushes created
        sandbox.set_chaos(0)
        # (the calm world has nothing waiting: it skips to the last hour)
        for hours in (1, 2) if chaos else (2,):
            runs.append(lead_sync(config_path=str(config), as_of=AS_OF + timedelta(hours=hours)))
        snapshot = _snapshot(sandbox, tmp / "warehouse.duckdb")
    return {"runs": runs, "served": served, **snapshot}


def test_chaos_runs_end_as_calm_ones(
    prefect_harness: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calm = _sync_world(tmp_path / "calm", chaos=False, monkeypatch=monkeypatch)
    chaotic = _sync_world(tmp_path / "chaos", chaos=True, monkeypatch=monkeypatch)

    # GIVEN chaos served every kind of fault while the runs went on
    assert set(chaotic["served"]) == set(KINDS)
    assert sum(chaotic["served"].values()) >= len(KINDS)
    # THEN every run finished (a failed run raises; a skipped one says so)
    assert [r.get("status", "completed") for r in chaotic["runs"]] == ["completed"] * 3
    # AND nothing was lost or doubled: the same leads, owners, scores, raw records and CRM contacts
    for key in ("leads", "accounting", "assignments", "scores", "crm_contacts", "crm"):
        assert chaotic[key] == calm[key], key
    assert chaotic["accounting"]["unprocessed"] == 0
    # AND whatever was rejected on the way went through on a later run
    assert chaotic["dead_letters_left"] == 0
