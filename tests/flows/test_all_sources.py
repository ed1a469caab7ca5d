"""examples/all_sources.yml end to end (issue 3's "done when"): every source and CRM destination
against one sandbox world, through the lead_sync flow. Records pulled reconcile with leads, merged
records, CRM copies and quarantined ones; each CRM receives its writes (Salesforce without
assignment rules, Pipedrive persons with owner and fields); a second run pushes nothing; and with
10 % of requests failing the run still finishes, loses nothing, and what the CRMs rejected goes
through on the next run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from typer.testing import CliRunner

from flows.lead_sync import lead_sync
from leadflow.cli import app
from sandbox import Sandbox
from sandbox.chaos import KINDS
from tests.flows.test_lead_sync import TOKEN_ENV as BASE_TOKEN_ENV
from tests.flows.test_lead_sync import TOKENS as BASE_TOKENS

REPO = Path(__file__).resolve().parents[2]
AS_OF = datetime(2026, 5, 4, 9, 30)
TOKENS = {
    **BASE_TOKENS,
    "salesforce": "all-salesforce-token",
    "linkedin": "all-linkedin-token",
    "pipedrive": "all-pipedrive-token",
    "google_ads": "all-google-ads-token",
}
TOKEN_ENV = {
    **BASE_TOKEN_ENV,
    "salesforce": "SALESFORCE_ACCESS_TOKEN",
    "linkedin": "LINKEDIN_ACCESS_TOKEN",
    "pipedrive": "PIPEDRIVE_API_TOKEN",
    "google_ads": "GOOGLE_ADS_ACCESS_TOKEN",
}
FAST_HTTP = {"timeout_s": 3, "max_attempts": 4, "backoff_base_s": 0.01, "backoff_max_s": 0.05}
CRMS = ("hubspot", "salesforce", "pipedrive")


def configure(tmp: Path, sandbox: Sandbox) -> Path:
    """examples/all_sources.yml pointed at this sandbox and a temporary warehouse."""
    config = yaml.safe_load((REPO / "examples" / "all_sources.yml").read_text(encoding="utf-8"))
    config["warehouse"]["path"] = str(tmp / "warehouse.duckdb")
    config["sandbox"]["embedded"] = False
    for section in ("sources", "destinations"):
        for name, connector in config[section].items():
            vendor = "apollo" if name == "firmographics" else name
            if vendor in sandbox.urls and "base_url" in connector:
                connector["base_url"] = sandbox.urls[vendor]
                connector["http"] = dict(FAST_HTTP)
    config["enrichment"]["firmographics"]["base_url"] = sandbox.urls["apollo"]
    config["sources"]["file_drop"]["path"] = str(REPO / "examples" / "file_drop")
    config["notifications"]["email"]["port"] = sandbox.smtp_address[1]
    config["notifications"]["slack"]["min_interval_s"] = 0
    config["notifications"]["max_per_run"] = 1000
    for policy in config["sla"]["policies"]:
        policy["action"] = "record"
    path = tmp / "all_sources.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def world(
    prefect_harness: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Sandbox, Path]]:
    tmp = tmp_path_factory.mktemp("all_sources")
    patch = pytest.MonkeyPatch()
    for vendor, env in TOKEN_ENV.items():
        patch.setenv(env, TOKENS[vendor])
    try:
        with Sandbox(seed=29, leads=80, tokens=TOKENS, now=AS_OF - timedelta(days=30)) as sandbox:
            patch.setenv("LEADFLOW_SLACK_WEBHOOK_URL", sandbox.slack_webhook_url)
            for bucket in ("slack", "hubspot", "hubspot_search", "meta", "typeform"):
                sandbox.set_rate_limit(bucket, 0, 1)
            yield sandbox, configure(tmp, sandbox)
    finally:
        patch.undo()


def run(config: Path, as_of: datetime) -> dict[str, Any]:
    summary: dict[str, Any] = lead_sync(config_path=str(config), as_of=as_of)
    return summary


def accounted(summary: dict[str, Any]) -> None:
    """Every raw record is a lead, a merged duplicate, a CRM copy or quarantined: none is lost."""
    accounting = summary["accounting"]
    assert accounting["unprocessed"] == 0, accounting
    assert accounting["total"] == sum(
        accounting[status] for status in ("lead", "merged", "crm_copy", "quarantined", "erased")
    ), accounting


def test_every_source_and_crm_end_to_end_then_under_chaos(world: tuple[Sandbox, Path]) -> None:
    sandbox, config = world
    warehouse = config.parent / "warehouse.duckdb"

    # WHEN the first run pulls every source and pushes to every CRM
    first = run(config, AS_OF)
    # THEN every source landed records and they all reconcile
    pulled_sources = {stream.split(".")[0] for stream in first["records_pulled_by_stream"]}
    assert {
        "hubspot", "meta", "typeform", "salesforce", "linkedin", "pipedrive", "google_ads", "file_drop",
    } <= pulled_sources  # fmt: skip
    accounted(first)
    # AND each CRM got writes, all acknowledged
    by_destination = first["push_by_destination"]
    assert set(by_destination) == set(CRMS)
    for name in CRMS:
        assert by_destination[name]["pushed"] > 0, (name, by_destination[name])
        assert by_destination[name]["failed"] == 0, (name, by_destination[name])
    # AND Salesforce was told not to run its assignment rules on LeadFlow's writes
    salesforce_app = sandbox._apps["salesforce"]  # type: ignore[attr-defined]
    writes = [w for w in salesforce_app.write_log() if "/composite/sobjects" in w.path]
    assert writes and all(w.headers.get("Sforce-Auto-Assign") == "FALSE" for w in writes)
    # AND each pushed Pipedrive person carries its lead's score, and its routed owner when that rep
    # is a Pipedrive user
    with duckdb.connect(str(warehouse), read_only=True) as con:
        person_pushes = con.execute(
            "select object_id, owner_id, leadflow_score from marts.sync_pipedrive__persons"
        ).fetchall()
        runs = con.execute(
            "select destination, processed, succeeded from ops.push_runs order by destination"
        ).fetchall()
    company = sandbox._apps["pipedrive"].company  # type: ignore[attr-defined]
    score_key = company.field_key("LeadFlow Score")
    assert person_pushes
    for person_id, owner_id, score in person_pushes:
        person = company._record("person", int(person_id))
        assert person["custom_fields"][score_key] == float(score)
        if owner_id is not None:
            assert str(person["owner_id"]) == owner_id
    assert [r[0] for r in runs] == sorted(CRMS) and all(r[1] == r[2] > 0 for r in runs)

    # WHEN a second run comes with nothing new
    second = run(config, AS_OF + timedelta(hours=1))
    # THEN it pushes nothing anywhere (the CRM copies the first push created came back as copies)
    assert second["records_pushed"] == 0, second["push_by_destination"]
    accounted(second)
    assert second["accounting"]["crm_copy"] > 0
    # AND the dry run agrees: nothing to create or update
    preview = CliRunner().invoke(app, ["push", "--dry-run", "--json", "--config", str(config)])
    assert preview.exit_code == 0, preview.output
    plan = json.loads(preview.output)["destinations"]
    assert {n: (p["creates"], p["updates"]) for n, p in plan.items()} == {n: (0, 0) for n in CRMS}

    # WHEN new people arrive and the next run meets 10 % chaos on every vendor
    sandbox.add_arrivals(40, AS_OF + timedelta(hours=1, minutes=30))
    sandbox.set_chaos(
        0.10,
        seed=11,
        kinds=tuple(k for k in KINDS if k != "latency"),
        timeout_delay_s=1.0,
        vendors=(
            "hubspot",
            "meta",
            "typeform",
            "salesforce",
            "linkedin",
            "pipedrive",
            "google_ads",
        ),
    )
    # AND HubSpot's batch writes down for longer than the client retries: at 10 % of the few
    # write requests a run makes, the chaos alone may reject none, and the rejected rows must be
    # seen going through on the next run
    sandbox.inject_faults(
        "hubspot", 503, FAST_HTTP["max_attempts"], "/crm/v3/objects/contacts/batch/up"
    )
    chaotic = run(config, AS_OF + timedelta(hours=2))
    served = dict(sandbox.chaos.counts)
    sandbox.set_chaos(0)
    # THEN it finished, lost nothing, faults were served, and some writes were rejected
    assert sum(served.values()) > 0
    accounted(chaotic)
    assert chaotic["push_failed"] > 0, (served, chaotic["push_by_destination"])
    # WHEN the next calm runs come
    after = run(config, AS_OF + timedelta(hours=3))
    settled = run(config, AS_OF + timedelta(hours=4))
    # THEN whatever was rejected under chaos went through, and the world settles: nothing waits
    accounted(after)
    accounted(settled)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        waiting = con.execute(
            "select destination, count(*) from ops.dead_letter group by 1"
        ).fetchall()
    assert waiting == []
    assert settled["records_pushed"] == 0, settled["push_by_destination"]
