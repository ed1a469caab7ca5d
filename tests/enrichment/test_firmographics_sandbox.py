"""The firmographics step as a run calls it (leadflow.pipeline.enrich_firmographics) against the
sandbox's Apollo: answers match the world's companies, an outage leaves the run whole and a later
run enriches, the speed lane asks little and nothing for cached domains, a missing key is one line."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from enrichment.normalize import normalize_industry
from leadflow import pipeline
from leadflow.config import Settings, parse_settings
from leadflow.warehouse import Warehouse
from sandbox import Sandbox
from sandbox.apollo import is_known
from sandbox.world import employee_range

KEY_ENV = "FIRMOGRAPHICS_TEST_APOLLO_KEY"
KEY = "step-apollo-key"
AS_OF = datetime(2026, 6, 10, 9, 0)


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(seed=3, leads=120, tokens={"apollo": KEY}) as sandbox:
        yield sandbox


@pytest.fixture
def settings(sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A warehouse whose records carry every world company's domain (and a free-mail one)."""
    monkeypatch.setenv(KEY_ENV, KEY)
    sb.clear_request_log()
    config = {
        "warehouse": {"path": str(tmp_path / "w.duckdb")},
        "enrichment": {
            "firmographics": {
                "base_url": sb.urls["apollo"],
                "access_token_env": KEY_ENV,
                "requests_per_minute": 0,
                "http": {"max_attempts": 2, "backoff_base_s": 0.01, "backoff_max_s": 0.01},
            }
        },
    }
    settings = parse_settings(config, root=tmp_path)
    warehouse = Warehouse(settings.warehouse_path)
    warehouse.ensure_schema()
    domains = [c.domain for c in sb.world.companies] + ["gmail.com"]
    with warehouse.connect() as con:
        for n, domain in enumerate(domains):
            con.execute(
                "insert into ops.lead_records (record_key, source, stream, record_id, _raw_id,"
                " email_domain, is_free_email, first_seen_at, run_id)"
                " values (?, 'meta', 'leads', ?, 'r', ?, ?, ?, 'r1')",
                [f"meta:leads:{n}", str(n), domain, domain == "gmail.com", AS_OF],
            )
    return settings


def answers(settings: Settings) -> dict[str, tuple[str, str | None, str | None]]:
    with Warehouse(settings.warehouse_path).connect() as con:
        rows = con.execute(
            "select domain, status, industry, employee_band from ops.company_enrichment"
        ).fetchall()
    return {domain: (status, industry, band) for domain, status, industry, band in rows}


def test_answers_are_the_world_companies_in_leadflows_vocabulary(
    sb: Sandbox, settings: Settings
) -> None:
    result = pipeline.enrich_firmographics(settings, "run-1", AS_OF)
    companies = sb.world.companies
    assert (result.domains, result.looked_up, result.waiting) == (len(companies), len(companies), 0)
    got = answers(settings)
    assert "gmail.com" not in got
    for company in companies:
        if is_known(company.domain):
            # the provider's label, mapped by the seed, is the world's own industry key
            expected = (
                "found",
                normalize_industry(company.industry),
                employee_range(company.employees),
            )
            assert got[company.domain] == expected, company.domain
        else:
            assert got[company.domain] == ("not_found", None, None)
    assert result.found == sum(is_known(c.domain) for c in companies) == result.known


def test_an_outage_leaves_the_run_whole_and_a_later_run_enriches(
    sb: Sandbox, settings: Settings
) -> None:
    # GIVEN Apollo answering 503 to the two attempts the client makes
    sb.inject_faults("apollo", 503, 2)
    # WHEN a run reaches the step THEN it returns, having tried one domain (with its retry)
    down = pipeline.enrich_firmographics(settings, "run-1", AS_OF)
    assert down.stopped.startswith("the provider is unavailable")
    assert "503" in down.stopped
    assert (down.looked_up, down.found, down.waiting) == (1, 0, down.domains)
    assert [status for *_, status in sb.request_log] == [503, 503]
    assert answers(settings) == {}
    # AND once Apollo is back, the next run enriches every domain
    later = pipeline.enrich_firmographics(settings, "run-2", AS_OF + timedelta(hours=1))
    assert (later.stopped, later.waiting, later.looked_up) == ("", 0, later.domains)


def test_the_lane_asks_a_few_and_nothing_for_cached_domains(
    sb: Sandbox, settings: Settings
) -> None:
    lane_settings = settings.model_copy(
        update={
            "enrichment": settings.enrichment.model_copy(
                update={
                    "firmographics": settings.enrichment.firmographics.model_copy(  # type: ignore[union-attr]
                        update={"lane_lookups": 2}
                    )
                }
            )
        }
    )
    first = pipeline.enrich_firmographics(lane_settings, "lane-1", AS_OF, lane=True)
    assert (first.looked_up, first.waiting) == (2, first.domains - 2)
    # WHEN the hourly run has enriched the rest
    pipeline.enrich_firmographics(settings, "run-1", AS_OF)
    sb.clear_request_log()
    # THEN a lane batch over the same domains sends no request at all
    again = pipeline.enrich_firmographics(lane_settings, "lane-2", AS_OF, lane=True)
    assert (again.looked_up, again.fresh, sb.request_log) == (0, again.domains, [])


def test_a_missing_key_skips_the_step_with_one_line(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_ENV)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    result = pipeline.enrich_firmographics(settings, "run-1", AS_OF)
    assert result.enabled and result.looked_up == 0
    assert KEY_ENV in result.stopped and "\n" not in result.stopped


def test_without_a_firmographics_section_the_step_does_nothing(tmp_path: Path) -> None:
    settings = parse_settings({"warehouse": {"path": str(tmp_path / "w.duckdb")}})
    assert (
        pipeline.enrich_firmographics(settings, "run-1", AS_OF).as_summary()[
            "firmographics_enabled"
        ]
        is False
    )
