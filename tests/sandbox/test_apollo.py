"""The sandbox's Apollo over real HTTP: the organization answer from the world's companies, the
"no record" answer, the x-api-key auth, the three rate-limit windows with their headers and 429
bodies, the error bodies, and chaos."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from sandbox import Sandbox
from sandbox.apollo import INDUSTRY_LABELS, is_known
from sandbox.world import INDUSTRIES

KEY = "tok-apollo"
ENRICH = "/api/v1/organizations/enrich"


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(seed=7, leads=80, tokens={"apollo": KEY}) as sandbox:
        yield sandbox


def enrich(sb: Sandbox, domain: str | None, key: str | None = KEY) -> requests.Response:
    headers = {"x-api-key": key} if key is not None else {}
    params = {"domain": domain} if domain is not None else {}
    return requests.get(sb.urls["apollo"] + ENRICH, params=params, headers=headers, timeout=5)


def known_and_unknown(sb: Sandbox) -> tuple[list[str], list[str]]:
    domains = [c.domain for c in sb.world.companies]
    return [d for d in domains if is_known(d)], [d for d in domains if not is_known(d)]


def test_a_world_company_is_answered_with_its_firmographics(sb: Sandbox) -> None:
    known, _ = known_and_unknown(sb)
    company = next(c for c in sb.world.companies if c.domain == known[0])
    response = enrich(sb, company.domain.upper())  # Apollo reads the domain case-blind
    assert response.status_code == 200
    org = response.json()["organization"]
    assert (org["name"], org["primary_domain"]) == (company.name, company.domain)
    assert org["estimated_num_employees"] == company.employees
    assert org["industry"] == INDUSTRY_LABELS[company.industry]
    assert org["annual_revenue"] > 0 and org["annual_revenue_printed"][-1] in "KMB"
    assert 3 <= len(org["technology_names"]) <= 9
    assert sorted(t["name"] for t in org["current_technologies"]) == org["technology_names"]
    # AND the same domain is answered the same way every time
    assert enrich(sb, company.domain).json()["organization"] == org


def test_every_world_industry_has_an_apollo_label() -> None:
    assert set(INDUSTRY_LABELS) == set(INDUSTRIES)


@pytest.mark.parametrize(
    "domain",
    [
        pytest.param("gmail.com", id="free-mail"),
        pytest.param("never-heard-of.example", id="outside-the-world"),
        pytest.param("unknown-world-company", id="world-company-not-in-apollo"),
    ],
)
def test_a_domain_apollo_has_no_record_of_is_an_empty_answer(sb: Sandbox, domain: str) -> None:
    if domain == "unknown-world-company":
        _, unknown = known_and_unknown(sb)
        assert unknown, "one world company in ten is unknown to Apollo"
        domain = unknown[0]
    response = enrich(sb, domain)
    assert (response.status_code, response.json()) == (200, {})


def test_a_missing_domain_is_a_422(sb: Sandbox) -> None:
    response = enrich(sb, None)
    assert response.status_code == 422
    assert response.json()["error_code"] == "INVALID_PARAMETERS"


@pytest.mark.parametrize(
    "key", [pytest.param(None, id="no-key"), pytest.param("wrong", id="wrong-key")]
)
def test_requests_without_the_key_get_apollos_401(sb: Sandbox, key: str | None) -> None:
    response = enrich(sb, "acme.example", key=key)
    assert (response.status_code, response.text) == (401, "Invalid access credentials.")


def test_every_answer_reports_the_three_windows(sb: Sandbox) -> None:
    enrich(sb, "acme.example")
    headers = enrich(sb, "acme.example").headers
    assert headers["x-rate-limit-minute"] == "200"
    assert headers["x-minute-usage"] == "2"
    assert headers["x-minute-requests-left"] == "198"
    assert (headers["x-rate-limit-hourly"], headers["x-hourly-requests-left"]) == ("600", "598")
    assert (headers["x-rate-limit-daily"], headers["x-daily-requests-left"]) == ("2000", "1998")


@pytest.mark.parametrize(
    ("bucket", "window"),
    [
        pytest.param("apollo", "minute", id="minute"),
        pytest.param("apollo_hourly", "hour", id="hour"),
        pytest.param("apollo_daily", "day", id="day"),
    ],
)
def test_a_spent_window_is_a_429_naming_it(sb: Sandbox, bucket: str, window: str) -> None:
    sb.set_rate_limit(bucket, 2, 3_600)
    assert [enrich(sb, "acme.example").status_code for _ in range(2)] == [200, 200]
    refused = enrich(sb, "acme.example")
    assert refused.status_code == 429
    assert f"is 2 times per {window}. Please upgrade your plan" in refused.json()["message"]
    assert refused.json()["error_details"]["code"] == "USAGE.RATE_LIMIT.API_RATE_LIMIT_EXCEEDED"
    assert int(refused.headers["Retry-After"]) >= 1


@pytest.mark.parametrize(
    ("status", "body"),
    [
        pytest.param(403, {"error_code": "API_INACCESSIBLE"}, id="403"),
        pytest.param(503, {"error_code": "INTERNAL_SERVER_ERROR"}, id="503"),
    ],
)
def test_injected_faults_answer_in_apollos_shape(
    sb: Sandbox, status: int, body: dict[str, str]
) -> None:
    sb.inject_faults("apollo", status, 1)
    response = enrich(sb, "acme.example")
    assert response.status_code == status
    assert body.items() <= response.json().items()
    assert enrich(sb, "acme.example").status_code == 200  # the fault was used up


def test_chaos_reaches_apollo(sb: Sandbox) -> None:
    sb.set_chaos(1.0, kinds=("server_error",), vendors=("apollo",))
    assert enrich(sb, "acme.example").status_code in (500, 502, 503)
    assert sb.chaos.counts == {"server_error": 1}
