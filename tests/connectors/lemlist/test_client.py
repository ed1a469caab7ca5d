"""The Lemlist connector against the sandbox: basic auth, adds and removes (idempotent), activity
paging, 429 handling with Retry-After, and the error taxonomy (with no address in a message)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from connectors.http import ApiClient, AuthError, FatalError
from connectors.lemlist import add_lead, remove_lead, replies
from connectors.lemlist.client import activities, make_client
from leadflow.config import HttpSettings
from sandbox import Sandbox

KEY = "connector-lemlist-key"
CAMPAIGN = "cam_sbxNurtureGeneral"


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    sandbox = Sandbox(seed=5, leads=5, tokens={"lemlist": KEY})
    sandbox.set_rate_limit("lemlist", 0, 1)
    with sandbox:
        yield sandbox


def client_for(sb: Sandbox, key: str = KEY, attempts: int = 3) -> tuple[ApiClient, list[float]]:
    """A client whose backoff sleeps are recorded instead of slept."""
    client = make_client(
        sb.urls["lemlist"],
        SecretStr(key),
        HttpSettings(max_attempts=attempts, backoff_base_s=0.01, backoff_max_s=0.01, timeout_s=5),
    )
    slept: list[float] = []
    client.sleep = slept.append
    return client, slept


def test_add_is_idempotent_and_remove_of_an_absent_lead_is_done(sb: Sandbox) -> None:
    client, _ = client_for(sb)
    first = add_lead(client, CAMPAIGN, "ann@acme.example", {"firstName": "Ann", "x": None})
    again = add_lead(client, CAMPAIGN, "ann@acme.example", {})
    assert (first.ok, again.ok) == (True, True)
    assert len(sb.lemlist_leads()) == 1
    removed = remove_lead(client, CAMPAIGN, "ann@acme.example")
    absent = remove_lead(client, CAMPAIGN, "ann@acme.example")
    assert (removed.ok, absent.ok, absent.http_status) == (True, True, 404)
    assert sb.lemlist_leads() == []


def test_activities_are_read_across_pages(sb: Sandbox) -> None:
    # GIVEN five replies in the campaign and one in another
    client, _ = client_for(sb)
    for n in range(5):
        add_lead(client, CAMPAIGN, f"p{n}@acme.example", {})
        sb.lemlist_reply(CAMPAIGN, f"p{n}@acme.example")
    add_lead(client, "cam_sbxNurtureSmallBiz", "x@acme.example", {})
    sb.lemlist_reply("cam_sbxNurtureSmallBiz", "x@acme.example")
    sb.clear_request_log()
    # WHEN the campaign's replies are read two per page
    found = list(activities(client, "emailsReplied", CAMPAIGN, limit=2))
    # THEN all five arrive, once each, in three requests
    assert sorted(a.lead_email or "" for a in found) == [f"p{n}@acme.example" for n in range(5)]
    assert [path for _, _, path, _ in sb.request_log] == ["/api/activities"] * 3
    assert all(a.created_at is not None for a in found)
    # AND the public helper reads the same set
    assert len(list(replies(client, CAMPAIGN))) == 5


def test_a_429_is_retried_after_the_retry_after_wait(sb: Sandbox) -> None:
    client, slept = client_for(sb)
    sb.inject_faults("lemlist", 429, 1)
    outcome = add_lead(client, CAMPAIGN, "ann@acme.example", {})
    assert outcome.ok
    assert slept and slept[0] >= 1.0  # the sandbox's Retry-After: 1
    assert [status for *_, status in sb.request_log] == [429, 200]


@pytest.mark.parametrize(
    ("fault", "attempts", "retriable", "status"),
    [
        pytest.param(500, 3, True, 500, id="server-error-outlasting-retries"),
        pytest.param(403, 1, False, 403, id="forbidden-is-fatal"),
    ],
)
def test_failures_come_back_as_outcomes_without_the_address(
    sb: Sandbox, fault: int, attempts: int, retriable: bool, status: int
) -> None:
    client, _ = client_for(sb)
    sb.inject_faults("lemlist", fault, 3)
    outcome = add_lead(client, CAMPAIGN, "ann@acme.example", {})
    assert (outcome.ok, outcome.retriable, outcome.http_status) == (False, retriable, status)
    assert "ann" not in outcome.error and "[lead]" in outcome.error
    assert len(sb.request_log) == attempts


def test_a_wrong_key_is_an_auth_error_on_reads(sb: Sandbox) -> None:
    client, _ = client_for(sb, key="not-the-key")
    with pytest.raises(AuthError) as caught:
        list(replies(client, CAMPAIGN))
    assert "not-the-key" not in str(caught.value)
    assert caught.value.status == 401


def test_an_unknown_campaign_is_fatal_and_not_mistaken_for_an_absent_lead(sb: Sandbox) -> None:
    client, _ = client_for(sb)
    outcome = remove_lead(client, "cam_nope", "ann@acme.example")
    assert (outcome.ok, outcome.retriable, outcome.http_status) == (False, False, 404)
    assert "Campaign not found" in outcome.error
    # AND a page size Lemlist refuses is a fatal "Bad params", not retried
    with pytest.raises(FatalError, match="Bad params"):
        client.get_json("/api/activities", params={"limit": 500})
