"""Pipedrive as a configured source: the pipeline's own steps (pull, validate, resolve) against the
Sandbox's Pipedrive company."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from leadflow import pipeline
from leadflow.accounting import record_accounting
from leadflow.config import Settings, load_settings
from leadflow.warehouse import utcnow
from sandbox import Sandbox
from sandbox.pipedrive import person_v2
from tests.sandbox.sandbox_helpers import NOW

TOKEN = "pd-pipeline-token"


@pytest.fixture
def sb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    monkeypatch.setenv("PIPEDRIVE_API_TOKEN", TOKEN)
    with Sandbox(seed=11, leads=120, tokens={"pipedrive": TOKEN}, now=NOW) as sandbox:
        yield sandbox


def settings_for(sb: Sandbox, tmp_path: Path) -> Settings:
    """A config with Pipedrive as its only source, pointed at the sandbox."""
    config = {
        "warehouse": {"path": str(tmp_path / "warehouse.duckdb")},
        "sandbox": {"embedded": False},
        "sources": {"pipedrive": {"base_url": sb.urls["pipedrive"]}},
    }
    path = tmp_path / "leadflow.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return load_settings(path)


def test_persons_become_lead_records_and_every_record_is_accounted_for(
    sb: Sandbox, tmp_path: Path
) -> None:
    # GIVEN the company's live persons, and its leads (archived ones included) naming them
    company = sb._apps["pipedrive"].company  # type: ignore[attr-defined]
    settings = settings_for(sb, tmp_path)
    as_of = utcnow()
    # WHEN the pipeline pulls, validates and resolves them
    pipeline.start_run(settings, "pd-1", as_of)
    pulls = {p.stream: p for p in pipeline.pull_source(settings, "pipedrive", "pd-1", as_of)}
    staged = pipeline.stage_records(settings, "pd-1", as_of)
    identity = pipeline.resolve_identities(settings, "pd-1", as_of)
    # THEN every stream landed, and each person is a lead record or quarantined with a reason:
    # nothing unprocessed, nothing lost
    assert set(pulls) == {"persons", "leads", "deals", "users"}
    assert pulls["persons"].pulled > 0 and pulls["leads"].pulled > 0
    with pipeline.warehouse(settings).connect() as con:
        accounting = record_accounting(con)
        emails = {
            e
            for (e,) in con.execute(
                "select email from ops.lead_records where source = 'pipedrive' and email is not null"
            ).fetchall()
        }
    assert accounting["unprocessed"] == 0
    assert staged.processed == accounting["total"] - accounting["erased"]
    assert identity.leads > 0
    # AND a person's primary address is the one kept
    primary = {
        str(email["value"]).lower()
        for person in company.records("person")
        for email in person_v2(person).get("emails") or []
        if email.get("primary")
    }
    assert emails and emails <= primary
