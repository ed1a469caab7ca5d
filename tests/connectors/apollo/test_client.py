"""The Apollo connector against the sandbox: the organization lookup and its "no record" answer,
the x-api-key header, 429 handling (a minute's limit waited out with Retry-After, an hour's or a
day's not retried at all), the error taxonomy with no key in a message, and the client-side pace."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from connectors.apollo import enrich_organization, is_quota_exhausted
from connectors.apollo.client import make_client
from connectors.apollo.models import parse_organization
from connectors.apollo.settings import ORGANIZATION_ENRICH
from connectors.http import ApiClient, AuthError, FatalError, RetriableError
from leadflow.config import HttpSettings
from sandbox import Sandbox
from sandbox.apollo import is_known

KEY = "connector-apollo-key"


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(seed=5, leads=60, tokens={"apollo": KEY}) as sandbox:
        yield sandbox


@pytest.fixture(autouse=True)
def fresh_limits(sb: Sandbox) -> None:
    """Each test starts with Apollo's default windows, empty, and its request log cleared."""
    for bucket, (requests, per) in {
        "apollo": (200, 60),
        "apollo_hourly": (600, 3600),
        "apollo_daily": (2000, 86400),
    }.items():
        sb.set_rate_limit(bucket, requests, per)
    sb.clear_request_log()


def client_for(
    sb: Sandbox, key: str = KEY, attempts: int = 3, per_minute: int = 0
) -> tuple[ApiClient, list[float]]:
    """A client whose backoff sleeps are recorded instead of slept."""
    client = make_client(
        sb.urls["apollo"],
        SecretStr(key),
        HttpSettings(max_attempts=attempts, backoff_base_s=0.01, backoff_max_s=0.01, timeout_s=5),
        requests_per_minute=per_minute,
    )
    slept: list[float] = []
    client.sleep = slept.append
    return client, slept


def known_domain(sb: Sandbox) -> str:
    return next(c.domain for c in sb.world.companies if is_known(c.domain))


def test_a_known_domain_is_the_worlds_company(sb: Sandbox) -> None:
    client, _ = client_for(sb)
    domain = known_domain(sb)
    company = next(c for c in sb.world.companies if c.domain == domain)
    org = enrich_organization(client, domain)
    assert org is not None
    assert (org.name, org.primary_domain, org.estimated_num_employees) == (
        company.name,
        domain,
        company.employees,
    )
    assert org.industry and org.annual_revenue and org.technologies
    assert org.payload["id"] == org.id
    # AND the key travelled in Apollo's header, the domain as the query parameter
    assert client.session.headers["x-api-key"] == KEY
    assert sb.request_log == [("apollo", "GET", ORGANIZATION_ENRICH, 200)]


@pytest.mark.parametrize(
    "domain",
    [
        pytest.param("nobody-knows.example", id="outside-the-world"),
        pytest.param("gmail.com", id="free-mail"),
    ],
)
def test_a_domain_without_a_record_is_none(sb: Sandbox, domain: str) -> None:
    client, _ = client_for(sb)
    assert enrich_organization(client, domain) is None


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param({}, None, id="empty-object"),
        pytest.param({"organization": None}, None, id="null"),
        pytest.param({"organization": {}}, None, id="empty-organization"),
        pytest.param([], None, id="not-an-object"),
        pytest.param(
            {
                "organization": {
                    "id": "o1",
                    "estimated_num_employees": "NaN",
                    "annual_revenue": True,
                    "current_technologies": [
                        {"name": " Slack "},
                        {"name": ""},
                        "x",
                        {"name": "Slack"},
                    ],
                }
            },
            ("o1", None, None, ("Slack",)),
            id="odd-values",
        ),
    ],
)
def test_organization_bodies_parse_defensively(body: object, expected: object) -> None:
    org = parse_organization(body)
    if expected is None:
        assert org is None
    else:
        assert org is not None
        assert (
            org.id,
            org.estimated_num_employees,
            org.annual_revenue,
            org.technologies,
        ) == expected


def test_a_wrong_key_is_an_auth_error_that_does_not_show_the_key(sb: Sandbox) -> None:
    client, slept = client_for(sb, key="not-the-key-123")
    with pytest.raises(AuthError) as raised:
        enrich_organization(client, known_domain(sb))
    assert raised.value.status == 401
    assert "Invalid access credentials" in str(raised.value)
    assert "not-the-key-123" not in str(raised.value)
    assert slept == []  # not retried


def test_a_minute_429_is_retried_after_retry_after(sb: Sandbox) -> None:
    client, slept = client_for(sb)
    sb.inject_faults("apollo", 429, 1)
    assert enrich_organization(client, known_domain(sb)) is not None
    assert slept and slept[0] >= 1.0  # the sandbox's Retry-After: 1
    assert [status for *_, status in sb.request_log] == [429, 200]


@pytest.mark.parametrize("bucket", ["apollo_hourly", "apollo_daily"])
def test_an_hourly_or_daily_429_is_not_retried(sb: Sandbox, bucket: str) -> None:
    # GIVEN a plan with one lookup left in the window
    sb.set_rate_limit(bucket, 1, 3600)
    client, slept = client_for(sb)
    enrich_organization(client, known_domain(sb))
    # WHEN the next lookup is refused
    with pytest.raises(FatalError) as raised:
        enrich_organization(client, known_domain(sb))
    # THEN it is reported at once as the quota, without a retry spent against the same limit
    assert is_quota_exhausted(raised.value)
    assert "times per" in str(raised.value)
    assert slept == []
    assert [status for *_, status in sb.request_log] == [200, 429]


def test_server_errors_are_retried_then_reported_retriable(sb: Sandbox) -> None:
    client, slept = client_for(sb, attempts=2)
    sb.inject_faults("apollo", 503, 2)
    with pytest.raises(RetriableError) as raised:
        enrich_organization(client, known_domain(sb))
    assert raised.value.status == 503 and not is_quota_exhausted(raised.value)
    assert len(slept) == 1
    # AND once the provider is back the same client gets through
    assert enrich_organization(client, known_domain(sb)) is not None


def test_other_4xx_are_fatal_for_that_request(sb: Sandbox) -> None:
    client, slept = client_for(sb)
    sb.inject_faults("apollo", 422, 1)
    with pytest.raises(FatalError) as raised:
        enrich_organization(client, "acme.example")
    assert (raised.value.status, raised.value.category) == (422, "INVALID_PARAMETERS")
    assert not isinstance(raised.value, AuthError) and not is_quota_exhausted(raised.value)
    assert slept == []


def test_lookups_are_paced_to_the_configured_rate(sb: Sandbox) -> None:
    # GIVEN a client allowed 2 lookups a minute, on a clock that moves only when it sleeps
    client, _ = client_for(sb, per_minute=2)
    limiter = client.limiters[ORGANIZATION_ENRICH]
    now = [1000.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    limiter._clock = lambda: now[0]
    limiter._sleep = sleep
    # WHEN it looks up three domains at once
    for _ in range(3):
        enrich_organization(client, known_domain(sb))
    # THEN the third waited for the minute to pass, and the sandbox never refused one
    assert sum(waits) == pytest.approx(60.0)
    assert [status for *_, status in sb.request_log] == [200, 200, 200]
