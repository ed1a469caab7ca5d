"""Firmographics per company domain (enrichment/firmographics.py), with a scripted provider: which
domains are asked and in what order, the cache and its TTLs, the daily budget across runs and
restarts, what stops lookups (provider down, quota, key) and what only skips a domain, and the lead
profile scoring reads."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

from connectors.apollo.models import Organization
from connectors.http import AuthError, FatalError, RetriableError
from enrichment.firmographics import (
    enrich_companies,
    industry_key,
    lookups_spent,
    revenue_band,
    technology_lists,
)
from leadflow.config import FirmographicsConfig, PointRule, load_settings
from leadflow.warehouse import Warehouse
from scoring.rules import score_lead

REPO = Path(__file__).resolve().parents[2]
AS_OF = datetime(2026, 6, 10, 9, 0)
CONFIG = FirmographicsConfig(daily_budget=100, ttl_days=30, not_found_ttl_days=7)


def org(domain: str, *, industry: str = "computer software", employees: int = 120) -> Organization:
    return Organization(
        id=f"id-{domain}",
        name=domain.split(".")[0].title(),
        primary_domain=domain,
        industry=industry,
        estimated_num_employees=employees,
        annual_revenue=employees * 150_000.0,
        technologies=("Salesforce", "Google Analytics"),
        payload={"id": f"id-{domain}", "primary_domain": domain},
    )


class Provider:
    """A scripted provider: known companies, and domains that fail in a given way."""

    def __init__(self, known: dict[str, Organization] | None = None) -> None:
        self.known = known or {}
        self.failing: dict[str, Exception] = {}
        self.asked: list[str] = []

    def __call__(self, domain: str) -> Organization | None:
        self.asked.append(domain)
        if domain in self.failing:
            raise self.failing[domain]
        return self.known.get(domain)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    """One warehouse for the module: creating the schema is what a test would spend most on."""
    wh = Warehouse(tmp_path_factory.mktemp("firmographics") / "w.duckdb")
    wh.ensure_schema()
    return wh


@pytest.fixture
def con(warehouse: Warehouse) -> Iterator[duckdb.DuckDBPyConnection]:
    """The module's warehouse, emptied of records, answers and spent budget."""
    with warehouse.connect() as connection:
        for table in ("lead_records", "company_enrichment", "enrichment_usage"):
            connection.execute(f"delete from ops.{table}")
        yield connection


def add_records(con: duckdb.DuckDBPyConnection, *rows: tuple[str, bool, datetime]) -> None:
    """(email domain, is free mail, first seen) -> one ops.lead_records row each."""
    for n, (domain, free, seen) in enumerate(
        rows, start=con.execute("select count(*) from ops.lead_records").fetchone()[0]
    ):
        con.execute(
            "insert into ops.lead_records (record_key, source, stream, record_id, _raw_id, email,"
            " email_domain, is_free_email, first_seen_at, run_id)"
            " values (?, 'meta', 'leads', ?, 'r', ?, ?, ?, ?, 'r1')",
            [f"meta:leads:{n}", str(n), f"p{n}@{domain}", domain, free, seen],
        )


def run(
    con: duckdb.DuckDBPyConnection,
    provider: Provider,
    as_of: datetime = AS_OF,
    config: FirmographicsConfig = CONFIG,
    **kwargs: Any,
) -> Any:
    return enrich_companies(con, provider, config, run_id="run", as_of=as_of, **kwargs)


def cached(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[Any, ...]]:
    rows = con.execute(
        "select domain, status, industry, employee_band, revenue_band, technologies"
        " from ops.company_enrichment"
    ).fetchall()
    return {
        domain: (*rest, json.loads(technologies) if technologies else None)
        for domain, *rest, technologies in rows
    }


def test_business_domains_are_asked_once_newest_first_and_stored_in_leadflows_vocabulary(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # GIVEN records on three business domains (one twice) and one on free mail
    day = timedelta(days=1)
    add_records(
        con,
        ("old.example", False, AS_OF - 3 * day),
        ("gmail.com", True, AS_OF),
        ("new.example", False, AS_OF - day),
        ("old.example", False, AS_OF - 2 * day),
        ("ghost.example", False, AS_OF - 4 * day),
    )
    provider = Provider({"old.example": org("old.example"), "new.example": org("new.example")})
    # WHEN the step runs
    result = run(con, provider)
    # THEN each business domain was asked once, the newest records' first; never the free mail
    assert provider.asked == ["new.example", "old.example", "ghost.example"]
    assert (result.domains, result.looked_up, result.found, result.not_found) == (3, 3, 2, 1)
    assert (result.waiting, result.known, result.stopped) == (0, 2, "")
    # AND the answers are in LeadFlow's vocabulary
    assert cached(con) == {
        "new.example": (
            "found",
            "software",
            "100-500",
            "10M-50M",
            ["Salesforce", "Google Analytics"],
        ),
        "old.example": (
            "found",
            "software",
            "100-500",
            "10M-50M",
            ["Salesforce", "Google Analytics"],
        ),
        "ghost.example": ("not_found", None, None, None, None),
    }


def test_answers_are_reused_until_their_ttl(con: duckdb.DuckDBPyConnection) -> None:
    # GIVEN a found and a not-found domain, looked up once
    add_records(con, ("acme.example", False, AS_OF), ("ghost.example", False, AS_OF))
    provider = Provider({"acme.example": org("acme.example")})
    run(con, provider)
    # WHEN later runs come: within both TTLs, past the not-found one, past the found one
    for days, expected in (
        (6, []),
        (8, ["ghost.example"]),
        (31, ["acme.example", "ghost.example"]),  # ghost's answer is 23 days old by then
    ):
        provider.asked.clear()
        result = run(con, provider, as_of=AS_OF + timedelta(days=days))
        # THEN only what aged past its TTL is asked again
        assert provider.asked == expected, days
        assert result.fresh == 2 - len(expected)


def test_the_daily_budget_holds_across_runs_and_restarts(
    con: duckdb.DuckDBPyConnection, warehouse: Warehouse
) -> None:
    # GIVEN five business domains and a budget of two lookups a day
    domains = [f"c{n}.example" for n in range(5)]
    add_records(con, *((d, False, AS_OF - timedelta(minutes=n)) for n, d in enumerate(domains)))
    con.close()
    config = FirmographicsConfig(daily_budget=2)
    provider = Provider({d: org(d) for d in domains})

    def run_in_new_process(as_of: datetime) -> Any:
        with warehouse.connect() as con:  # a fresh connection: nothing is kept in memory
            return run(con, provider, as_of=as_of, config=config)

    # WHEN the first run spends the budget
    first = run_in_new_process(AS_OF)
    assert (first.looked_up, first.waiting, first.budget_left) == (2, 3, 0)
    assert "daily budget of 2 lookups is spent" in first.stopped
    # THEN a second run the same day asks nothing
    second = run_in_new_process(AS_OF + timedelta(hours=5))
    assert (second.looked_up, second.waiting) == (0, 3)
    # AND the next UTC day the next two are asked, then the last one
    third = run_in_new_process(AS_OF + timedelta(days=1))
    fourth = run_in_new_process(AS_OF + timedelta(days=2))
    assert (third.looked_up, fourth.looked_up, fourth.waiting, fourth.stopped) == (2, 1, 0, "")
    assert provider.asked == domains  # each once, newest first
    with warehouse.connect() as con:
        assert lookups_spent(con, "apollo", AS_OF) == 2
        assert lookups_spent(con, "apollo", AS_OF + timedelta(days=2)) == 1


@pytest.mark.parametrize(
    ("error", "says"),
    [
        pytest.param(
            RetriableError("apollo", "GET /api/v1/organizations/enrich could not connect"),
            "the provider is unavailable",
            id="down",
        ),
        pytest.param(
            FatalError(
                "apollo",
                "GET failed with 429: ... is 600 times per hour. Please upgrade your plan",
                status=429,
            ),
            "lookup limit is reached",
            id="hourly-quota",
        ),
        pytest.param(
            AuthError("apollo", "GET failed with 401: Invalid access credentials.", status=401),
            "check APOLLO_API_KEY",
            id="key-refused",
        ),
    ],
)
def test_an_outage_stops_lookups_and_a_later_run_enriches(
    con: duckdb.DuckDBPyConnection, error: Exception, says: str
) -> None:
    # GIVEN three business domains and a provider failing on the first one asked
    add_records(
        con,
        ("a.example", False, AS_OF),
        ("b.example", False, AS_OF - timedelta(hours=1)),
        ("c.example", False, AS_OF - timedelta(hours=2)),
    )
    provider = Provider({d: org(d) for d in ("a.example", "b.example", "c.example")})
    provider.failing["a.example"] = error
    # WHEN the step runs, it does not raise: it stops asking and says why
    result = run(con, provider)
    assert provider.asked == ["a.example"]
    assert says in result.stopped
    assert (result.looked_up, result.waiting, result.found) == (1, 3, 0)
    assert cached(con) == {}
    assert lookups_spent(con, "apollo", AS_OF) == 1  # the attempt counts against the budget
    # THEN once the provider is back, the next run enriches them all
    provider.failing.clear()
    later = run(con, provider, as_of=AS_OF + timedelta(hours=1))
    assert (later.found, later.waiting, later.stopped) == (3, 0, "")


def test_a_domain_the_provider_refuses_is_skipped_not_fatal(
    con: duckdb.DuckDBPyConnection,
) -> None:
    add_records(con, ("bad.example", False, AS_OF), ("ok.example", False, AS_OF - timedelta(1)))
    provider = Provider({"ok.example": org("ok.example")})
    provider.failing["bad.example"] = FatalError("apollo", "GET failed with 422", status=422)
    result = run(con, provider)
    assert provider.asked == ["bad.example", "ok.example"]
    assert (result.rejected, result.found, result.stopped) == (1, 1, "")
    assert cached(con)["bad.example"][0] == "rejected"
    # AND it is not asked again before the not-found TTL
    provider.asked.clear()
    run(con, provider, as_of=AS_OF + timedelta(days=1))
    assert provider.asked == []


def test_the_lane_asks_at_most_its_share(con: duckdb.DuckDBPyConnection) -> None:
    add_records(con, *((f"c{n}.example", False, AS_OF - timedelta(minutes=n)) for n in range(4)))
    provider = Provider()
    result = run(con, provider, max_lookups=1)
    assert (provider.asked, result.waiting, result.stopped) == (["c0.example"], 3, "")


@pytest.mark.parametrize(
    ("label", "key"),
    [
        pytest.param("computer software", "software", id="alias"),
        pytest.param("Financial Services", "fintech", id="alias-any-case"),
        pytest.param("COMPUTER_SOFTWARE", "software", id="alias-as-enum"),
        pytest.param("Veterinary", "veterinary", id="unlisted-keeps-its-key"),
        pytest.param("  ", None, id="blank"),
        pytest.param(None, None, id="none"),
    ],
)
def test_industry_labels_become_leadflow_keys(label: str | None, key: str | None) -> None:
    assert industry_key(label) == key


@pytest.mark.parametrize(
    ("amount", "band"),
    [
        (None, None),
        (0.0, None),
        (999_999.0, "<1M"),
        (1_000_000.0, "1M-10M"),
        (49_999_999.0, "10M-50M"),
        (100_000_000.0, "100M-500M"),
        (2.5e9, "1B+"),
    ],
)
def test_revenue_bands(amount: float | None, band: str | None) -> None:
    assert revenue_band(amount) == band


def test_scoring_rules_read_the_enriched_profile() -> None:
    # GIVEN the shipped scoring rules plus one on a technology, and a lead whose records say
    # nothing of its company
    shipped = load_settings(REPO / "leadflow.yml").scoring
    runs_salesforce = PointRule.model_validate(
        {"name": "runs_salesforce", "when": {"field": "technologies", "contains": "Salesforce"},
         "points": 7}
    )  # fmt: skip
    fit = shipped.fit.model_copy(update={"rules": [*shipped.fit.rules, runs_salesforce]})
    config = shipped.model_copy(update={"fit": fit})
    lead = {"lead_id": "l1", "email_domain": "acme.example", "is_free_email": False,
            "industry": None, "employee_band": None, "technologies": None}  # fmt: skip
    before = score_lead(lead, [], config, AS_OF)
    # WHEN int_leads_unified has the provider's answer (software, 120 people, runs Salesforce;
    # technologies as the JSON text the warehouse keeps) and scoring reads it as a list
    enriched = {**lead, "industry": "software", "employee_band": "100-500",
                "technologies": '["Salesforce Sales Cloud", "Google Analytics"]'}  # fmt: skip
    [profile] = technology_lists(pd.DataFrame([enriched])).to_dict("records")
    after = score_lead(profile, [], config, AS_OF)
    # THEN the industry, size and technology rules now count
    new = {f.factor for f in after.factors} - {f.factor for f in before.factors}
    assert new == {"icp_industry", "icp_company_size"}, (
        "contains tests a list item, not a substring"
    )
    profile["technologies"].append("Salesforce")
    after = score_lead(profile, [], config, AS_OF)
    assert {f.factor for f in after.factors} - {f.factor for f in before.factors} == {
        "icp_industry",
        "icp_company_size",
        "runs_salesforce",
    }
    assert after.fit_score == before.fit_score + 10 + 10 + 7
