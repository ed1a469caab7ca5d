"""The staging models of Salesforce, LinkedIn and Pipedrive, on what their connectors land.

GIVEN each vendor's sandbox (sandbox/salesforce.py, sandbox/linkedin.py, sandbox/pipedrive.py)
pulled by its connector and landed by leadflow.landing into a fresh warehouse, then pulled again
after a few changes (a Salesforce Lead deleted, two Contacts merged, a Pipedrive lead archived and
a deal lost); WHEN dbt builds the three sources' staging models, their tests included; THEN each
model holds one row per record, its newest raw version, with the deleted / merged / archived flags
the vendor set, and PostgreSQL builds the same rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from connectors import linkedin, pipedrive, salesforce
from leadflow.config import (
    HttpSettings,
    LinkedInSourceConfig,
    PipedriveSourceConfig,
    SalesforceSourceConfig,
)
from leadflow.dbt import DbtRunResult, run_dbt, scoped_environ
from leadflow.landing import land
from leadflow.pg_mirror import PgSettings, mirror_warehouse
from leadflow.warehouse import Warehouse
from sandbox import linkedin as li_sandbox
from sandbox import pipedrive as pd_sandbox
from sandbox import salesforce as sf_sandbox
from tests.dbt_project.postgres_compare import compare_models, throwaway_database
from tests.dbt_project.querying import rows
from tests.sandbox.sandbox_helpers import StepClock

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
AS_OF = datetime(2026, 11, 2, 14, 0)  # after both pulls, on the sandboxes' clocks
FAST = HttpSettings(timeout_s=5, max_attempts=3, backoff_base_s=0, backoff_max_s=0)
TOKENS = {
    "salesforce": ("LEADFLOW_TEST_SF_STAGING_TOKEN", "sf-staging-token"),
    "linkedin": ("LEADFLOW_TEST_LI_STAGING_TOKEN", "li-staging-token"),
    "pipedrive": ("LEADFLOW_TEST_PD_STAGING_TOKEN", "pd-staging-token"),
}
SELECT = "path:models/staging/salesforce path:models/staging/linkedin path:models/staging/pipedrive"
# model -> (its key column, the raw table it stages)
MODELS = {
    "stg_salesforce__leads": ("lead_id", "salesforce__leads"),
    "stg_salesforce__contacts": ("contact_id", "salesforce__contacts"),
    "stg_salesforce__opportunities": ("opportunity_id", "salesforce__opportunities"),
    "stg_salesforce__opportunity_history": ("opportunity_history_id", "salesforce__opportunity_history"),
    "stg_salesforce__users": ("user_id", "salesforce__users"),
    "stg_linkedin__lead_form_responses": ("response_id", "linkedin__lead_form_responses"),
    "stg_pipedrive__persons": ("person_id", "pipedrive__persons"),
    "stg_pipedrive__leads": ("lead_id", "pipedrive__leads"),
    "stg_pipedrive__deals": ("deal_id", "pipedrive__deals"),
    "stg_pipedrive__users": ("user_id", "pipedrive__users"),
}  # fmt: skip


@dataclass(frozen=True)
class Changed:
    """What the second pull saw change in the vendors' data."""

    deleted_lead: str
    merged_contact: str
    merged_into: str
    test_response: str
    archived_lead: str
    lost_deal: int


@dataclass(frozen=True)
class Built:
    warehouse: Path
    tmp: Path
    build: DbtRunResult
    changed: Changed
    org: sf_sandbox.SalesforceOrg
    account: li_sandbox.LeadSyncAccount
    company: pd_sandbox.PipedriveCompany


def _land_all(warehouse: Warehouse, module: Any, config: Any, run_id: str) -> None:
    """Every stream of one source, as the sync lands it (leadflow.landing, the stream's cursor)."""
    client = module.open_client(config)
    with warehouse.connect() as con:
        for name, stream in module.STREAMS.items():

            def pages(window: Any, partition: str | None, name: str = name) -> Any:
                return module.pull(client, config, name, window, partition)

            land(
                con,
                stream,
                pages,
                module.partitions(config, name),
                lookback=timedelta(minutes=10),
                run_id=run_id,
                as_of=AS_OF,
            )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    tmp = tmp_path_factory.mktemp("crm_staging")
    warehouse = Warehouse(tmp / "warehouse.duckdb")
    warehouse.ensure_schema()
    patch = pytest.MonkeyPatch()
    for env, token in TOKENS.values():
        patch.setenv(env, token)
    sf_clock, pd_clock = StepClock(NOW), StepClock(NOW)
    org = sf_sandbox.SalesforceOrg.generate(11, 60, NOW, clock=sf_clock)
    account = li_sandbox.LeadSyncAccount.generate(11, 30, NOW)
    test_response = account.add_response(
        next(iter(account.forms)),
        {"EMAIL": "test.lead@linkedin.example", "FIRST_NAME": "Test"},
        NOW - timedelta(hours=2),
        test_lead=True,
    )
    company = pd_sandbox.PipedriveCompany.generate(11, 60, NOW, clock=pd_clock)
    sf_app = sf_sandbox.SalesforceApp(
        sf_sandbox.standalone_context(TOKENS["salesforce"][1], NOW), org
    )
    li_app = li_sandbox.LinkedInApp(
        li_sandbox.standalone_context(TOKENS["linkedin"][1], NOW), account
    )
    pd_app = pd_sandbox.PipedriveApp(
        pd_sandbox.standalone_context(TOKENS["pipedrive"][1], NOW), company, burst_limit=0
    )
    try:
        with (
            sf_sandbox.serving(sf_app) as sf_url,
            li_sandbox.serving(li_app) as li_url,
            pd_sandbox.serving(pd_app) as pd_url,
        ):
            sources = [
                (
                    salesforce,
                    SalesforceSourceConfig.model_validate(
                        {"base_url": sf_url, "access_token_env": TOKENS["salesforce"][0],
                         "http": FAST, "page_size": 200}
                    ),
                ),
                (
                    linkedin,
                    LinkedInSourceConfig.model_validate(
                        {"base_url": li_url, "access_token_env": TOKENS["linkedin"][0],
                         "http": FAST, "sponsored_account_id": li_sandbox.SPONSORED_ACCOUNT_ID,
                         "forms": [{"id": "7234246"}, {"id": "urn:li:leadGenForm:7234311"}]}
                    ),
                ),
                (
                    pipedrive,
                    PipedriveSourceConfig.model_validate(
                        {"base_url": pd_url, "access_token_env": TOKENS["pipedrive"][0],
                         "http": FAST, "burst_limit": 480}
                    ),
                ),
            ]  # fmt: skip
            for module, config in sources:
                _land_all(warehouse, module, config, "run-1")

            # WHEN the vendors' data changes between two pulls
            sf_clock.advance(hours=1)
            pd_clock.advance(hours=1)
            leads = [r["Id"] for r in org.records("Lead")]
            contacts = [r["Id"] for r in org.records("Contact")]
            org.delete(leads[0])
            org.merge(contacts[0], contacts[1])
            live_lead = next(r for r in company.records("lead") if not r["is_archived"])
            company.archive_lead(live_lead["id"])
            open_deal = next(r for r in company.records("deal") if r["status"] == "open")
            company.update("deal", open_deal["id"], status="lost", lost_time=pd_clock.now)
            for module, config in sources:
                _land_all(warehouse, module, config, "run-2")
    finally:
        patch.undo()

    # dbt needs the file to itself; its artifacts go to tmp, not the shared dbt_project/target
    result = run_dbt(
        ["build", "--select", SELECT], warehouse_path=warehouse.path, target_path=tmp / "target"
    )
    changed = Changed(
        deleted_lead=leads[0],
        merged_contact=contacts[1],
        merged_into=contacts[0],
        test_response=test_response,
        archived_lead=live_lead["id"],
        lost_deal=open_deal["id"],
    )
    yield Built(warehouse.path, tmp, result, changed, org, account, company)


def query(built: Built, sql: str) -> list[dict[str, Any]]:
    return rows(built.warehouse, sql)


def test_every_model_builds_and_its_tests_pass(built: Built) -> None:
    # THEN the ten models built, with their data tests and unit tests
    assert built.build.success and built.build.failed == ()
    assert built.build.status_counts.get("success", 0) == len(MODELS)
    assert built.build.status_counts["pass"] >= 60


@pytest.mark.parametrize("model", list(MODELS))
def test_one_row_per_record_its_newest_version(built: Built, model: str) -> None:
    key, raw = MODELS[model]
    # GIVEN raw holding every version each pull landed
    newest = {
        r["record_id"]: r["_raw_id"]
        for r in query(
            built,
            f"""
            select record_id, _raw_id from (
                select record_id, _raw_id, row_number() over (
                    partition by record_id
                    order by record_updated_at desc nulls last, _loaded_at desc, _raw_id
                ) as n
                from raw.{raw}
            ) where n = 1
            """,
        )
    }
    # THEN staging holds each record once, as its newest version
    staged = {
        r[key]: r["raw_id"] for r in query(built, f"select {key}, raw_id from staging.{model}")
    }
    assert staged == newest
    assert len(staged) > 0


def test_salesforce_deletions_and_merges_are_flagged(built: Built) -> None:
    leads = {r["lead_id"]: r for r in query(built, "select * from staging.stg_salesforce__leads")}
    contacts = {
        r["contact_id"]: r for r in query(built, "select * from staging.stg_salesforce__contacts")
    }
    # THEN the Lead moved to the recycle bin is deleted, not merged
    deleted = leads[built.changed.deleted_lead]
    assert deleted["is_deleted"] is True and deleted["is_merged"] is False
    # AND the merge's loser is deleted and names the winner, which stays live
    loser = contacts[built.changed.merged_contact]
    assert loser["is_deleted"] is True and loser["is_merged"] is True
    assert loser["master_record_id"] == built.changed.merged_into
    assert contacts[built.changed.merged_into]["is_deleted"] is False
    # AND every flag is the org's own
    org_leads = {r["Id"]: r for r in built.org.records("Lead", include_deleted=True)}
    assert {i for i, r in leads.items() if r["is_deleted"]} == {
        i for i, r in org_leads.items() if r["IsDeleted"]
    }
    assert {i for i, r in leads.items() if r["is_merged"]} == {
        i for i, r in org_leads.items() if r["MasterRecordId"]
    }
    # AND the account, owner and times come through typed
    winner = contacts[built.changed.merged_into]
    assert winner["account_name"] and winner["owner_id"].startswith("005")
    assert winner["updated_at"] == NOW.replace(tzinfo=None) + timedelta(hours=1)


def test_salesforce_opportunities_history_and_users(built: Built) -> None:
    opportunities = {
        r["opportunity_id"]: r
        for r in query(built, "select * from staging.stg_salesforce__opportunities")
    }
    # THEN each opportunity's stage, amount and outcome are the org's
    for record in built.org.records("Opportunity"):
        staged = opportunities[record["Id"]]
        assert staged["stage_name"] == record["StageName"]
        assert float(staged["amount"]) == record["Amount"]
        assert (staged["is_closed"], staged["is_won"]) == (record["IsClosed"], record["IsWon"])
        assert staged["close_date"] == record["CloseDate"]
    # AND each stage an opportunity entered is a history row of a known opportunity
    history = query(built, "select * from staging.stg_salesforce__opportunity_history")
    assert len(history) == len(built.org.records("OpportunityHistory"))
    assert {h["opportunity_id"] for h in history} <= set(opportunities)
    # AND the users are the org's, active, with their e-mail lower-cased
    users = query(built, "select * from staging.stg_salesforce__users")
    assert {u["user_id"] for u in users} == {u["Id"] for u in built.org.records("User")}
    assert all(u["is_active"] and u["email"] == u["email"].lower() for u in users)


def test_linkedin_forms_campaigns_and_test_leads(built: Built) -> None:
    responses = {
        r["response_id"]: r
        for r in query(built, "select * from staging.stg_linkedin__lead_form_responses")
    }
    # THEN each response names the form and version its URN names, and the campaign's id
    for response in built.account.responses:
        staged = responses[response["id"]]
        assert response["versionedLeadGenFormUrn"] == (
            "urn:li:versionedLeadGenForm:(urn:li:leadGenForm:"
            f"{staged['form_id']},{staged['form_version']})"
        )
        campaign = response["leadMetadata"]["sponsoredLeadMetadata"]["campaign"]
        assert campaign == f"urn:li:sponsoredCampaign:{staged['campaign_id']}"
        # AND the test leads are the ones LinkedIn flagged
        assert staged["is_test"] is response["testLead"]
        assert staged["submitted_at"] == datetime.fromtimestamp(
            response["submittedAt"] / 1000, UTC
        ).replace(tzinfo=None)
    assert responses[built.changed.test_response]["is_test"] is True
    assert {r["form_id"] for r in responses.values()} == {"7234246", "7234311"}


def test_pipedrive_archived_leads_and_closed_deals(built: Built) -> None:
    leads = {r["lead_id"]: r for r in query(built, "select * from staging.stg_pipedrive__leads")}
    deals = {r["deal_id"]: r for r in query(built, "select * from staging.stg_pipedrive__deals")}
    # THEN the lead archived between the pulls is archived, as is every lead Pipedrive archived
    assert leads[built.changed.archived_lead]["is_archived"] is True
    assert {i for i, r in leads.items() if r["is_archived"]} == {
        r["id"] for r in built.company.records("lead") if r["is_archived"]
    }
    # AND the deal lost between the pulls is closed, not won, with its time
    lost = deals[str(built.changed.lost_deal)]
    assert (lost["deal_status"], lost["is_closed"], lost["is_won"]) == ("lost", True, False)
    assert lost["lost_at"] == NOW.replace(tzinfo=None) + timedelta(hours=1)
    # AND persons and users come through with their owners and v1 times read as UTC
    persons = query(built, "select * from staging.stg_pipedrive__persons")
    users = {u["user_id"]: u for u in query(built, "select * from staging.stg_pipedrive__users")}
    assert {p["owner_id"] for p in persons if p["owner_id"]} <= set(users)
    for record in built.company.records("user"):
        staged = users[str(record["id"])]
        assert staged["is_active"] is record["active_flag"]
        assert staged["updated_at"] == record["modified"].astimezone(UTC).replace(tzinfo=None)


@pytest.fixture(scope="module")
def pg_database() -> Iterator[PgSettings]:
    yield from throwaway_database("leadflow_crm_staging_test")


@pytest.mark.postgres
def test_postgres_builds_the_same_rows(built: Built, pg_database: PgSettings) -> None:
    # GIVEN the same raw tables mirrored into PostgreSQL (the `leadflow dbt-postgres` path)
    mirror_warehouse(built.warehouse, pg_database)
    # WHEN the same models build there, their tests and unit tests included
    with scoped_environ(pg_database.environ()):
        result = run_dbt(
            ["build", "--select", SELECT],
            warehouse_path=built.warehouse,
            target="postgres",
            target_path=built.tmp / "pg_target",
        )
    assert result.success
    # THEN every staging relation holds the same rows on both engines (compare_models asserts it)
    compared = compare_models(built.warehouse, pg_database)
    assert {f"staging.{model}" for model in MODELS} <= set(compared)
    assert all(compared[f"staging.{model}"] > 0 for model in MODELS)
