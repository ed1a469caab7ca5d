"""The shared HTTP client: retry what is retriable, fail fast on the rest, never leak secrets."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from connectors.http import (
    ApiClient,
    AuthError,
    FatalError,
    RateLimiter,
    RetriableError,
    parse_retry_after,
)
from leadflow.config import HttpSettings
from tests.connectors.conftest import Canned, ScriptedServer

TOKEN = "pat-test-0123456789abcdef"


def client(server: ScriptedServer, sleeps: list[float], attempts: int = 4) -> ApiClient:
    return ApiClient(
        source="vendor",
        base_url=server.url,
        token=SecretStr(TOKEN),
        http=HttpSettings(timeout_s=2, max_attempts=attempts, backoff_base_s=0.5, backoff_max_s=8),
        sleep=sleeps.append,
    )


def test_429_is_retried_after_the_retry_after_delay(scripted: ScriptedServer) -> None:
    # GIVEN a rate limit answer, then success
    scripted.script = [
        Canned(429, {"message": "slow down"}, {"Retry-After": "3"}),
        Canned(200, {"ok": 1}),
    ]
    sleeps: list[float] = []
    # WHEN
    body = client(scripted, sleeps).get_json("/things")
    # THEN it waited at least what the server asked and got the answer
    assert body == {"ok": 1}
    assert len(sleeps) == 1 and sleeps[0] >= 3
    assert scripted.seen[0].headers["Authorization"] == f"Bearer {TOKEN}"


def test_server_errors_back_off_exponentially_within_the_cap(scripted: ScriptedServer) -> None:
    scripted.script = [Canned(503, {}), Canned(502, {}), Canned(500, {}), Canned(200, {"ok": 1})]
    sleeps: list[float] = []
    assert client(scripted, sleeps).get_json("/x") == {"ok": 1}
    assert len(sleeps) == 3
    assert all(0 <= s <= cap for s, cap in zip(sleeps, [0.5, 1.0, 2.0], strict=True))


def test_retries_are_bounded(scripted: ScriptedServer) -> None:
    scripted.script = [Canned(503, {"message": "down"})] * 3
    sleeps: list[float] = []
    with pytest.raises(RetriableError, match="503"):
        client(scripted, sleeps, attempts=3).get_json("/x")
    assert len(scripted.seen) == 3 and len(sleeps) == 2


def test_a_truncated_json_body_is_retried(scripted: ScriptedServer) -> None:
    scripted.script = [Canned(200, raw=b'{"results": [1, 2'), Canned(200, {"results": [1, 2]})]
    assert client(scripted, []).get_json("/x") == {"results": [1, 2]}


@pytest.mark.parametrize(
    ("status", "error"), [(400, FatalError), (404, FatalError), (401, AuthError)]
)
def test_client_errors_are_fatal_and_not_retried(
    scripted: ScriptedServer, status: int, error: type
) -> None:
    scripted.script = [Canned(status, {"message": "no"})]
    with pytest.raises(error):
        client(scripted, []).get_json("/x")
    assert len(scripted.seen) == 1


def test_error_messages_carry_no_token_or_email(scripted: ScriptedServer) -> None:
    scripted.script = [Canned(400, {"message": f"bad email ana@acme.io for token {TOKEN}"})]
    with pytest.raises(FatalError) as err:
        client(scripted, []).post_json("/x", {"email": "ana@acme.io"})
    assert TOKEN not in str(err.value) and "ana@acme.io" not in str(err.value)


def test_connection_refused_is_retriable() -> None:
    sleeps: list[float] = []
    dead = ApiClient(
        source="vendor",
        base_url="http://127.0.0.1:9",
        token=None,
        http=HttpSettings(timeout_s=1, max_attempts=2, backoff_base_s=0.1),
        sleep=sleeps.append,
    )
    with pytest.raises(RetriableError, match="could not connect"):
        dead.get_json("/x")
    assert len(sleeps) == 1


def test_retry_after_accepts_an_http_date() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("soon") is None


def test_rate_limiter_waits_for_the_window() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(2, 10.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(3):
        limiter.acquire()
    assert slept and sum(slept) == pytest.approx(10.0)
