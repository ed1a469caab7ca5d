"""HubSpot's stage histories in staging, on what the connector lands.

GIVEN the sandbox portal pulled by the HubSpot connector into a fresh warehouse, then a contact moved
from opportunity back to lead through the API and a second pull; WHEN dbt builds the HubSpot staging
models, their tests and unit tests included; THEN stg_hubspot__contact_lifecycle_history holds the
regression as a change of its own (lead after opportunity), every contact's history agrees with its
stage dates, the deals' history ends in their current stage, and PostgreSQL builds the same rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from connectors import hubspot
from leadflow.config import HttpSettings, HubSpotSourceConfig
from leadflow.dbt import DbtRunResult, run_dbt, scoped_environ
from leadflow.landing import land
from leadflow.pg_mirror import PgSettings, mirror_warehouse
from leadflow.warehouse import Warehouse
from sandbox import Sandbox
from tests.dbt_project.postgres_compare import compare_models, throwaway_database
from tests.dbt_project.querying import rows
from tests.sandbox.sandbox_helpers import NOW

TOKEN_ENV, TOKEN = "LEADFLOW_TEST_HS_HISTORY_TOKEN", "hs-history-staging-token"
FAST = HttpSettings(timeout_s=10, max_attempts=3, backoff_base_s=0, backoff_max_s=0)
SELECT = "path:models/staging/hubspot"
# the HubSpot models and their own tests only (not another folder's tests that read them)
BUILD = ["build", "--select", SELECT, "--indirect-selection", "cautious"]
FIRST_ENTRY = {
    "lead": "became_lead_at",
    "marketingqualifiedlead": "became_mql_at",
    "salesqualifiedlead": "became_sql_at",
    "opportunity": "became_opportunity_at",
    "customer": "became_customer_at",
}


@dataclass(frozen=True)
class Built:
    warehouse: Path
    tmp: Path
    build: DbtRunResult
    regressed: str  # the contact moved opportunity -> lead through the API
    regressed_at: datetime


def _land_all(warehouse: Warehouse, config: HubSpotSourceConfig, run_id: str) -> None:
    """Every HubSpot stream, as the sync lands it (leadflow.landing, each stream's cursor)."""
    client = hubspot.open_client(config)
    try:
        with warehouse.connect() as con:
            for name, stream in hubspot.STREAMS.items():

                def pages(window: Any, partition: str | None, name: str = name) -> Any:
                    return hubspot.pull(client, config, name, window, partition)

                land(
                    con,
                    stream,
                    pages,
                    hubspot.partitions(config, name),
                    lookback=timedelta(minutes=10),
                    run_id=run_id,
                    as_of=(NOW + timedelta(days=1)).replace(tzinfo=None),
                )
    finally:
        client.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    tmp = tmp_path_factory.mktemp("hubspot_history")
    warehouse = Warehouse(tmp / "warehouse.duckdb")
    warehouse.ensure_schema()
    patch = pytest.MonkeyPatch()
    patch.setenv(TOKEN_ENV, TOKEN)
    try:
        with Sandbox(seed=3, leads=120, tokens={"hubspot": TOKEN}, now=NOW) as sb:
            sb.set_rate_limit("hubspot", 0, 1)
            sb.set_rate_limit("hubspot_search", 0, 1)
            config = HubSpotSourceConfig(
                base_url=sb.urls["hubspot"], access_token_env=TOKEN_ENV, http=FAST
            )
            _land_all(warehouse, config, "run-1")
            # WHEN a rep's tool moves an opportunity back to lead through the API, and a run follows
            opportunity = next(
                c
                for c in sb.hubspot_contacts()
                if c["properties"]["lifecyclestage"] == "opportunity"
            )
            sb.advance_clock(timedelta(minutes=30))
            answer = requests.post(
                f"{sb.urls['hubspot']}/crm/v3/objects/contacts/batch/update",
                json={
                    "inputs": [{"id": opportunity["id"], "properties": {"lifecyclestage": "lead"}}]
                },
                headers={"Authorization": f"Bearer {TOKEN}"},
                timeout=10,
            )
            assert answer.status_code == 200, answer.text
            regressed_at = datetime.fromisoformat(
                answer.json()["results"][0]["properties"]["lastmodifieddate"].replace("Z", "")
            )
            _land_all(warehouse, config, "run-2")
    finally:
        patch.undo()
    result = run_dbt(BUILD, warehouse_path=warehouse.path, target_path=tmp / "target")
    yield Built(warehouse.path, tmp, result, str(opportunity["id"]), regressed_at)


def query(built: Built, sql: str) -> list[dict[str, Any]]:
    return rows(built.warehouse, sql)


def test_the_models_build_with_their_tests(built: Built) -> None:
    assert built.build.success and built.build.failed == ()
    history = query(
        built, "select count(*) as n from staging.stg_hubspot__contact_lifecycle_history"
    )
    deals = query(built, "select count(*) as n from staging.stg_hubspot__deal_stage_history")
    assert history[0]["n"] > 0 and deals[0]["n"] > 0


def test_a_contact_moved_back_to_lead_shows_as_a_change_of_its_own(built: Built) -> None:
    changes = query(
        built,
        "select * from staging.stg_hubspot__contact_lifecycle_history "
        f"where contact_id = '{built.regressed}' order by change_order",
    )
    # THEN its newest change is the move back, from opportunity, made through the API, and current
    last = changes[-1]
    assert (last["lifecycle_stage"], last["previous_lifecycle_stage"]) == ("lead", "opportunity")
    assert last["source_type"] == "INTEGRATION" and last["is_current"] is True
    assert last["changed_at"] == built.regressed_at
    # AND the path before it is intact: lead first, opportunity before the move back
    assert changes[0]["lifecycle_stage"] == "lead"
    assert [c["change_order"] for c in changes] == list(range(1, len(changes) + 1))
    assert sum(c["is_current"] for c in changes) == 1
    # AND the stage date of stg_hubspot__contacts still says only when it first became a lead
    contact = query(
        built,
        "select lifecycle_stage, became_opportunity_at from staging.stg_hubspot__contacts "
        f"where contact_id = '{built.regressed}'",
    )[0]
    assert contact["lifecycle_stage"] == "lead" and contact["became_opportunity_at"] is not None


def test_every_history_agrees_with_the_contacts_stage_dates(built: Built) -> None:
    contacts = {
        r["contact_id"]: r for r in query(built, "select * from staging.stg_hubspot__contacts")
    }
    history: dict[str, list[dict[str, Any]]] = {}
    for change in query(
        built,
        "select * from staging.stg_hubspot__contact_lifecycle_history order by contact_id, change_order",
    ):
        history.setdefault(change["contact_id"], []).append(change)
    assert set(history) == set(contacts)
    regressions = 0
    for contact_id, changes in history.items():
        contact = contacts[contact_id]
        # the first entry into each stage is the stage's date; the newest value is the current stage
        for stage, column in FIRST_ENTRY.items():
            entries = [c["changed_at"] for c in changes if c["lifecycle_stage"] == stage]
            assert (min(entries) if entries else None) == contact[column], (contact_id, stage)
        assert changes[-1]["lifecycle_stage"] == contact["lifecycle_stage"]
        stages = [c["lifecycle_stage"] for c in changes]
        regressions += len(stages) != len(set(stages))
    # AND the generated world holds moves back and re-entries besides the one the test made
    assert regressions >= 3


def test_every_deal_history_ends_in_its_current_stage(built: Built) -> None:
    deals = {r["deal_id"]: r for r in query(built, "select * from staging.stg_hubspot__deals")}
    current = {
        r["deal_id"]: r
        for r in query(
            built, "select * from staging.stg_hubspot__deal_stage_history where is_current"
        )
    }
    assert set(current) == set(deals)
    assert all(current[i]["deal_stage"] == deals[i]["deal_stage"] for i in deals)


@pytest.fixture(scope="module")
def pg_database() -> Iterator[PgSettings]:
    yield from throwaway_database("leadflow_hs_history_test")


@pytest.mark.postgres
def test_postgres_builds_the_same_rows(built: Built, pg_database: PgSettings) -> None:
    # GIVEN the same raw tables mirrored into PostgreSQL (the `leadflow dbt-postgres` path)
    mirror_warehouse(built.warehouse, pg_database)
    # WHEN the same models build there, their tests and unit tests included
    with scoped_environ(pg_database.environ()):
        result = run_dbt(
            BUILD,
            warehouse_path=built.warehouse,
            target="postgres",
            target_path=built.tmp / "pg_target",
        )
    assert result.success
    # THEN the history models hold the same rows on both engines (compare_models asserts it)
    compared = compare_models(built.warehouse, pg_database)
    for model in ("stg_hubspot__contact_lifecycle_history", "stg_hubspot__deal_stage_history"):
        assert compared[f"staging.{model}"] > 0
