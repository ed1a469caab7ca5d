"""Salesforce as a configured source: the pipeline's own steps (pull, validate, resolve) against the
Sandbox's Salesforce org, whose Leads and Contacts are some of the world's people."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from connectors.reverse_etl import PushResult
from leadflow import pipeline
from leadflow.accounting import record_accounting
from leadflow.cli import render_summary
from leadflow.config import Settings, load_settings
from leadflow.warehouse import utcnow
from routing import RouteResult
from sandbox import Sandbox
from scoring import ScoreResult
from tests.sandbox.sandbox_helpers import NOW

TOKEN = "sf-pipeline-token"
DELETED_REASON = "deleted in the CRM (its recycle bin, or merged into another record)"


@pytest.fixture
def sb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    monkeypatch.setenv("SALESFORCE_ACCESS_TOKEN", TOKEN)
    with Sandbox(seed=11, leads=80, tokens={"salesforce": TOKEN}, now=NOW) as sandbox:
        yield sandbox


def settings_for(sb: Sandbox, tmp_path: Path, **salesforce: Any) -> Settings:
    """A config with Salesforce as its only source, pointed at the sandbox."""
    config = {
        "warehouse": {"path": str(tmp_path / "warehouse.duckdb")},
        "sandbox": {"embedded": False},
        "sources": {"salesforce": {"base_url": sb.urls["salesforce"], **salesforce}},
    }
    path = tmp_path / "leadflow.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return load_settings(path)


def sync(settings: Settings, run_id: str) -> dict[str, Any]:
    as_of = utcnow()
    pipeline.start_run(settings, run_id, as_of)
    pulls = pipeline.pull_source(settings, "salesforce", run_id, as_of)
    staged = pipeline.stage_records(settings, run_id, as_of)
    pipeline.resolve_identities(settings, run_id, as_of)
    with pipeline.warehouse(settings).connect() as con:
        accounting = record_accounting(con)
        quarantined = con.execute(
            "select record_id, reasons from ops.quarantine where source = 'salesforce'"
        ).fetchall()
        lead_records = con.execute(
            "select count(*) from ops.lead_records where source = 'salesforce'"
        ).fetchone()
    return {
        "pulls": {f"{p.stream}": p for p in pulls},
        "staged": staged,
        "accounting": accounting,
        "quarantined": quarantined,
        "lead_records": lead_records[0] if lead_records else 0,
    }


def test_leads_and_contacts_become_lead_records_and_deletions_say_why(
    sb: Sandbox, tmp_path: Path
) -> None:
    # GIVEN the org, with a Lead deleted (in the recycle bin) and two Contacts merged
    org = sb._apps["salesforce"].org  # type: ignore[attr-defined]
    leads, contacts = org.records("Lead"), org.records("Contact")
    assert len(leads) >= 1 and len(contacts) >= 2
    org.delete(leads[0]["Id"])
    org.merge(contacts[0]["Id"], contacts[1]["Id"])
    live = len(org.records("Lead")) + len(org.records("Contact"))
    deleted = (
        len(org.records("Lead", include_deleted=True))
        + len(org.records("Contact", include_deleted=True))
        - live
    )
    assert deleted >= 2

    # WHEN the pipeline pulls, validates and resolves the org
    result = sync(settings_for(sb, tmp_path), "sf-1")

    # THEN every stream landed, every live Lead and Contact is a lead record, and each deleted one
    # is quarantined with the reason (nothing dropped: the accounting adds up)
    assert set(result["pulls"]) == {
        "leads",
        "contacts",
        "opportunities",
        "opportunity_history",
        "users",
    }
    assert all(p.stopped is None for p in result["pulls"].values())
    assert result["lead_records"] == live - result["staged"].quarantined + deleted
    deleted_rows = [r for r in result["quarantined"] if DELETED_REASON in r[1]]
    assert len(deleted_rows) == deleted
    accounting = result["accounting"]
    assert accounting["total"] == live + deleted
    assert accounting["unprocessed"] == 0


def test_contacts_merged_after_they_were_pulled_become_one_lead(
    sb: Sandbox, tmp_path: Path
) -> None:
    # GIVEN an org whose Contacts a first run pulled and resolved, two of them other people
    org = sb._apps["salesforce"].org  # type: ignore[attr-defined]
    winner, loser = org.records("Contact")[:2]
    assert (winner["Email"] or "").lower() != (loser["Email"] or "").lower()
    settings = settings_for(sb, tmp_path)
    sync(settings, "sf-1")

    def lead_of(record_id: str) -> tuple[str, str]:
        with pipeline.warehouse(settings).connect() as con:
            row = con.execute(
                "select lead_id, rule from ops.lead_identity where record_key = ?",
                [f"salesforce:contacts:{record_id}"],
            ).fetchone()
        assert row is not None
        return row[0], row[1]

    before = {lead_of(winner["Id"])[0], lead_of(loser["Id"])[0]}
    assert len(before) == 2

    # WHEN a user merges them in Salesforce (the loser is deleted, MasterRecordId = the winner)
    org.merge(winner["Id"], loser["Id"])
    second = sync(settings, "sf-2")

    # THEN the loser's deleted version is quarantined with the reason, its stored record and the
    # winner are one lead (the earlier one's id survives), linked by the rule crm_merge, and the
    # merge of the two leads is recorded
    assert any(
        record_id == loser["Id"] and DELETED_REASON in reasons
        for record_id, reasons in second["quarantined"]
    )
    (into, winner_rule), (loser_lead, loser_rule) = lead_of(winner["Id"]), lead_of(loser["Id"])
    assert into == loser_lead
    assert "crm_merge" in (winner_rule, loser_rule)
    with pipeline.warehouse(settings).connect() as con:
        merges = con.execute("select from_lead_id, into_lead_id from ops.lead_merges").fetchall()
    assert merges == [(*(before - {into}), into)]


def test_the_daily_api_limit_stops_the_pull_cleanly_and_the_next_run_resumes(
    sb: Sandbox, tmp_path: Path
) -> None:
    org = sb._apps["salesforce"].org  # type: ignore[attr-defined]
    settings = settings_for(sb, tmp_path, page_size=200)
    # GIVEN an org with room for two more API requests today
    org.set_api_limit(2)
    org.set_api_usage(0)
    # WHEN a run pulls
    first = sync(settings, "sf-1")
    # THEN the pull stopped with the reason, kept what it landed, and the run went on
    stopped = [p for p in first["pulls"].values() if p.stopped]
    assert len(stopped) == 1 and "daily API request limit" in str(stopped[0].stopped)
    landed_first = sum(p.pulled for p in first["pulls"].values())
    assert landed_first > 0
    # WHEN the allowance is back (a day later) and the next run pulls
    org.set_api_limit(15_000)
    second = sync(settings, "sf-2")
    # THEN it resumed: every stream finished, and every live record is there once
    assert all(p.stopped is None for p in second["pulls"].values())
    # AND it holds what one uninterrupted pull of the same org holds
    (tmp_path / "fresh").mkdir()
    full = sync(settings_for(sb, tmp_path / "fresh"), "sf-fresh")
    assert second["accounting"]["total"] == full["accounting"]["total"]
    assert second["lead_records"] == full["lead_records"]


def test_the_run_summary_names_the_stopped_source(sb: Sandbox, tmp_path: Path) -> None:
    org = sb._apps["salesforce"].org  # type: ignore[attr-defined]
    settings = settings_for(sb, tmp_path)
    org.set_api_limit(1)
    org.set_api_usage(0)
    as_of = utcnow() + timedelta(seconds=1)
    pipeline.start_run(settings, "sf-1", as_of)
    pulls = pipeline.pull_source(settings, "salesforce", "sf-1", as_of)
    staged = pipeline.stage_records(settings, "sf-1", as_of)
    identity = pipeline.resolve_identities(settings, "sf-1", as_of)
    summary = pipeline.summarize(
        settings,
        "sf-1",
        as_of,
        pulls,
        staged,
        identity,
        ScoreResult(scored=0, changed=0, new_mqls=0),
        RouteResult(),
        PushResult(),
    )
    [(stream, why)] = summary["sources_stopped"].items()
    assert stream.startswith("salesforce.") and "resumes from the saved cursor" in why
    # AND the human summary says it under the records pulled
    assert f"stopped at {stream}: " in render_summary(summary)
