"""Google Ads lead form submissions as a pulled source: the pipeline's own steps (pull, validate,
resolve) against the Sandbox's Google Ads account, whose forms an eighth of the world's people
submitted, and a lead the webhook delivered first staying one record."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from connectors import google_ads
from intake.webhooks import Request, accept
from leadflow import pipeline
from leadflow.accounting import record_accounting
from leadflow.config import Settings, load_settings
from leadflow.landing import land_records
from leadflow.warehouse import utcnow
from sandbox import Sandbox
from sandbox.google_ads import CUSTOMER_ID, DEMO, PRICING, GoogleAdsApp
from tests.sandbox.sandbox_helpers import NOW

TOKEN = "gads-pipeline-token"


@pytest.fixture
def sb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    monkeypatch.setenv("GOOGLE_ADS_ACCESS_TOKEN", TOKEN)
    with Sandbox(seed=11, leads=240, tokens={"google_ads": TOKEN}, now=NOW) as sandbox:
        sandbox.knobs.google_ads_page_size = 9  # several pages from a small world
        yield sandbox


def app_of(sb: Sandbox) -> GoogleAdsApp:
    app = sb._apps["google_ads"]
    assert isinstance(app, GoogleAdsApp)
    return app


def settings_for(sb: Sandbox, tmp_path: Path) -> Settings:
    """A config with Google Ads as its only pulled source, pointed at the sandbox."""
    config: dict[str, Any] = {
        "warehouse": {"path": str(tmp_path / "warehouse.duckdb")},
        "sandbox": {"embedded": False},
        "sources": {
            "google_ads": {
                "base_url": sb.urls["google_ads"],
                "customer_id": "407-553-2581",
                "forms": [
                    {"id": str(DEMO.asset_id), "intent_event": "demo_request"},
                    {"id": str(PRICING.asset_id), "intent_event": "pricing_request"},
                ],
            }
        },
    }
    path = tmp_path / "leadflow.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return load_settings(path)


def test_submissions_become_lead_records_of_world_people_with_their_forms_intent(
    sb: Sandbox, tmp_path: Path
) -> None:
    # GIVEN the account's submissions, made by people of the sandbox world
    submissions = app_of(sb).account.submissions
    people = {p.email.lower() for p in sb.world.people}
    assert len(submissions) > 18  # more than two pages of nine
    settings = settings_for(sb, tmp_path)
    assert settings.sources.google_ads.customer_id == CUSTOMER_ID  # type: ignore[union-attr]
    # WHEN the pipeline pulls, validates and resolves them
    as_of = utcnow()
    pipeline.start_run(settings, "ga-1", as_of)
    [pulled] = pipeline.pull_source(settings, "google_ads", "ga-1", as_of)
    staged = pipeline.stage_records(settings, "ga-1", as_of)
    pipeline.resolve_identities(settings, "ga-1", as_of)
    # THEN every submission landed once, and each is a lead record of a world person (or is
    # quarantined with a reason) carrying its form's intent event
    assert (pulled.pulled, pulled.new_versions, pulled.stopped) == (len(submissions),) * 2 + (None,)
    with pipeline.warehouse(settings).connect() as con:
        records = con.execute(
            "select email, form_id, intent_event from ops.lead_records where source = 'google_ads'"
        ).fetchall()
        accounting = record_accounting(con)
    assert len(records) == len(submissions) - staged.quarantined
    assert records and {e.strip().lower() for e, _, _ in records if e} <= people
    assert {(form, event) for _, form, event in records} == {
        (str(DEMO.asset_id), "demo_request"),
        (str(PRICING.asset_id), "pricing_request"),
    }
    assert accounting["total"] == len(submissions) and accounting["unprocessed"] == 0
    # AND a second run with nothing new lands nothing
    [again] = pipeline.pull_source(settings, "google_ads", "ga-2", utcnow())
    assert again.new_versions == 0


def test_a_lead_the_webhook_delivered_first_stays_one_record_after_the_pull(
    sb: Sandbox, tmp_path: Path
) -> None:
    # GIVEN the webhook delivered one submission, landed as the intake lands it
    account = app_of(sb).account
    sub = account.submissions[0]
    body = json.dumps(account.webhook_body(sub.id, "k")).encode()
    [arrival] = accept("google_ads", Request("POST", "https://x/webhooks/google_ads", {}, body), "k", window_s=300)  # fmt: skip
    settings = settings_for(sb, tmp_path)
    as_of = utcnow()
    pipeline.start_run(settings, "ga-1", as_of)
    with pipeline.warehouse(settings).connect() as con:
        stream = google_ads.STREAMS["lead_form_submissions"]
        assert arrival.payload is not None
        land_records(con, stream, [arrival.payload], arrival.partition, run_id="intake")
    # WHEN the pull reads every submission, that one included
    [pulled] = pipeline.pull_source(settings, "google_ads", "ga-1", as_of)
    pipeline.stage_records(settings, "ga-1", as_of)
    # THEN it is one raw record and one lead record, not two
    assert (pulled.pulled, pulled.new_versions) == (len(account.submissions), len(account.submissions) - 1)  # fmt: skip
    with pipeline.warehouse(settings).connect() as con:
        raw = con.execute(
            "select count(*) from raw.google_ads__lead_form_submissions where record_id = ?",
            [sub.id],
        ).fetchone()
        staged = con.execute(
            "select count(*) from ops.lead_records where source = 'google_ads' and record_id = ?",
            [sub.id],
        ).fetchone()
        quarantined = con.execute(
            "select count(*) from ops.quarantine where source = 'google_ads' and record_id = ?",
            [sub.id],
        ).fetchone()
    assert raw == (1,)
    assert (staged or (0,))[0] + (quarantined or (0,))[0] == 1
