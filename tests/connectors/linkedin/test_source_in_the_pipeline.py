"""LinkedIn Lead Gen Forms as a configured source: the pipeline's own steps (pull, validate,
resolve) against the Sandbox's LinkedIn ad account, whose forms some of the world's people answered."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from leadflow import pipeline
from leadflow.accounting import record_accounting
from leadflow.config import Settings, load_settings
from leadflow.warehouse import utcnow
from sandbox import Sandbox
from sandbox.linkedin import SPONSORED_ACCOUNT_ID
from tests.sandbox.sandbox_helpers import NOW

TOKEN = "li-pipeline-token"
TEST_REASON = "a test submission sent by the vendor, not a person"


@pytest.fixture
def sb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    monkeypatch.setenv("LINKEDIN_ACCESS_TOKEN", TOKEN)
    with Sandbox(seed=11, leads=200, tokens={"linkedin": TOKEN}, now=NOW) as sandbox:
        yield sandbox


def settings_for(sb: Sandbox, tmp_path: Path) -> Settings:
    """A config with LinkedIn as its only source, pointed at the sandbox."""
    config: dict[str, Any] = {
        "warehouse": {"path": str(tmp_path / "warehouse.duckdb")},
        "sandbox": {"embedded": False},
        "sources": {
            "linkedin": {
                "base_url": sb.urls["linkedin"],
                "sponsored_account_id": SPONSORED_ACCOUNT_ID,
                "forms": [
                    {"id": "7234246", "intent_event": "demo_request"},
                    {"id": "7234311", "intent_event": "pricing_request"},
                ],
            }
        },
    }
    path = tmp_path / "leadflow.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return load_settings(path)


def test_form_responses_become_lead_records_of_world_people_and_test_leads_say_why(
    sb: Sandbox, tmp_path: Path
) -> None:
    # GIVEN the account's responses, answered by people of the sandbox world
    account = sb._apps["linkedin"].account  # type: ignore[attr-defined]
    responses = list(account.responses)
    tests = sum(1 for r in responses if r["testLead"])
    assert responses and tests < len(responses)
    people = {p.email.lower() for p in sb.world.people}

    # WHEN the pipeline pulls, validates and resolves them
    settings = settings_for(sb, tmp_path)
    as_of = utcnow()
    pipeline.start_run(settings, "li-1", as_of)
    [pulled] = pipeline.pull_source(settings, "linkedin", "li-1", as_of)
    staged = pipeline.stage_records(settings, "li-1", as_of)
    pipeline.resolve_identities(settings, "li-1", as_of)

    # THEN every response landed once, each real one is a lead record of a world person with its
    # form's intent event, and each test lead is quarantined with the reason
    assert (pulled.pulled, pulled.stopped) == (len(responses), None)
    with pipeline.warehouse(settings).connect() as con:
        records = con.execute(
            "select email, form_id, intent_event from ops.lead_records where source = 'linkedin'"
        ).fetchall()
        reasons = con.execute(
            "select reasons from ops.quarantine where source = 'linkedin'"
        ).fetchall()
        accounting = record_accounting(con)
    assert len(records) == len(responses) - staged.quarantined
    assert {email for email, _, _ in records if email} <= people
    assert {(form, event) for _, form, event in records} == {
        ("7234246", "demo_request"),
        ("7234311", "pricing_request"),
    }
    assert sum(1 for (why,) in reasons if TEST_REASON in why) == tests
    assert accounting["total"] == len(responses) and accounting["unprocessed"] == 0


def test_the_sandbox_account_is_the_same_after_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "world.sqlite"
    seen = []
    for _ in range(2):
        with Sandbox(seed=5, leads=80, state_path=state) as sb:
            account = sb._apps["linkedin"].account  # type: ignore[attr-defined]
            seen.append(sorted((r["id"], r["submittedAt"]) for r in account.responses))
    assert seen[0] and seen[0] == seen[1]
