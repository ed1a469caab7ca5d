"""The shared client with a token provider (connectors/http.py, fed by connectors/oauth.py): a token
before the first request, a new one before a request when the held one expires within a minute,
one renewal and the same request again on a 401, and an AuthError on a 401 right after that.
The grant itself is tested against the vendors' sandboxes (tests/connectors/google_ads/test_oauth.py,
tests/connectors/salesforce/test_oauth.py)."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from connectors.http import AccessToken, ApiClient, AuthError
from leadflow.config import HttpSettings
from tests.connectors.conftest import Canned, ScriptedServer


class Tokens:
    """A token provider handing out tok-1, tok-2, ... valid `expires_in_s` each."""

    def __init__(self, expires_in_s: float | None = 3_599) -> None:
        self.expires_in_s = expires_in_s
        self.fetched = 0
        self.closed = False

    def fetch(self) -> AccessToken:
        self.fetched += 1
        return AccessToken(SecretStr(f"tok-{self.fetched}-0123456789"), self.expires_in_s)

    def close(self) -> None:
        self.closed = True


class Clock:
    def __init__(self) -> None:
        self.now = 5_000.0

    def __call__(self) -> float:
        return self.now


def client(server: ScriptedServer, tokens: Tokens, clock: Clock, attempts: int = 1) -> ApiClient:
    return ApiClient(
        source="vendor",
        base_url=server.url,
        token=None,
        token_provider=tokens,
        clock=clock,
        http=HttpSettings(timeout_s=2, max_attempts=attempts, backoff_base_s=0, backoff_max_s=0),
        sleep=lambda _s: None,
    )


def sent_tokens(server: ScriptedServer) -> list[str]:
    return [seen.headers["Authorization"].removeprefix("Bearer ")[:5] for seen in server.seen]


def test_a_token_is_fetched_before_the_first_request_and_held(scripted: ScriptedServer) -> None:
    scripted.script = [Canned(200, {"n": 1}), Canned(200, {"n": 2})]
    tokens = Tokens()
    with client(scripted, tokens, Clock()) as api:
        assert tokens.fetched == 0  # nothing is asked for until a request goes out
        api.get_json("/a")
        api.get_json("/b")
    assert tokens.fetched == 1 and sent_tokens(scripted) == ["tok-1", "tok-1"]
    assert tokens.closed


@pytest.mark.parametrize(
    ("expires_in_s", "later_s", "fetched"),
    [
        pytest.param(3_599, 3_599 - 61, 1, id="61s-left-kept"),
        pytest.param(3_599, 3_599 - 60, 2, id="60s-left-renewed"),
        pytest.param(100, 49, 1, id="short-lived-kept-until-half-its-life"),
        pytest.param(100, 50, 2, id="short-lived-renewed-at-half-its-life"),
        pytest.param(None, 86_400, 1, id="no-expires-in-kept-until-a-401"),
    ],
)
def test_a_token_is_renewed_before_a_request_only_near_its_expiry(
    scripted: ScriptedServer, expires_in_s: float | None, later_s: float, fetched: int
) -> None:
    scripted.script = [Canned(200, {}), Canned(200, {})]
    tokens, clock = Tokens(expires_in_s), Clock()
    with client(scripted, tokens, clock) as api:
        api.get_json("/a")
        clock.now += later_s
        api.get_json("/b")
    assert tokens.fetched == fetched
    assert sent_tokens(scripted)[-1] == f"tok-{fetched}"


def test_a_401_renews_once_and_resends_without_spending_an_attempt(
    scripted: ScriptedServer,
) -> None:
    # GIVEN a single attempt allowed, and a token the server stopped taking
    scripted.script = [Canned(401, {"message": "expired"}), Canned(200, {"ok": 1})]
    tokens = Tokens()
    with client(scripted, tokens, Clock(), attempts=1) as api:
        status, body = api.request("POST", "/things", json={"x": 1})
    # THEN the same request went again with a new token, and succeeded
    assert (status, body) == (200, {"ok": 1}) and tokens.fetched == 2
    assert sent_tokens(scripted) == ["tok-1", "tok-2"]
    assert [(s.method, s.path, s.body) for s in scripted.seen] == [
        ("POST", "/things", {"x": 1})
    ] * 2


def test_a_401_right_after_a_renewal_is_an_auth_error(scripted: ScriptedServer) -> None:
    scripted.script = [Canned(401, {"message": "no"}), Canned(401, {"message": "still no"})]
    tokens = Tokens()
    with client(scripted, tokens, Clock(), attempts=5) as api, pytest.raises(AuthError) as caught:
        api.get_json("/x")
    assert tokens.fetched == 2 and len(scripted.seen) == 2
    assert caught.value.status == 401 and "still no" in str(caught.value)
    assert "tok-2" not in str(caught.value)


def test_a_401_after_a_retried_fault_still_gets_its_one_renewal(
    scripted: ScriptedServer,
) -> None:
    scripted.script = [Canned(503, {}), Canned(401, {}), Canned(200, {"ok": 1})]
    tokens = Tokens()
    with client(scripted, tokens, Clock(), attempts=2) as api:
        assert api.get_json("/x") == {"ok": 1}
    assert tokens.fetched == 2 and len(scripted.seen) == 3


def test_a_static_token_client_fails_at_once_on_a_401(scripted: ScriptedServer) -> None:
    scripted.script = [Canned(401, {"message": "bad token"}), Canned(200, {})]
    api = ApiClient(
        source="vendor",
        base_url=scripted.url,
        token=SecretStr("pat-static-0123456789"),
        http=HttpSettings(timeout_s=2, max_attempts=3),
    )
    with api, pytest.raises(AuthError):
        api.get_json("/x")
    assert len(scripted.seen) == 1
