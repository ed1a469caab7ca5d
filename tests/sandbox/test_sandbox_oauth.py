"""The OAuth refresh-token grant the Google Ads and Salesforce stand-ins serve over real HTTP: each
vendor's token endpoint, answers and refusals, access tokens that live on the sandbox clock next
to the fixed tokens, and revoking them from Python or a control request."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests

from sandbox import Sandbox
from sandbox.oauth import CLIENTS, GOOGLE_ADS_CLIENT, SALESFORCE_CLIENT
from tests.sandbox.sandbox_helpers import NOW

GOOGLE_TOKEN = "/token"
SALESFORCE_TOKEN = "/services/oauth2/token"
SEARCH = "/v26/customers/4075532581/googleAds:search"
QUERY = "/services/data/v62.0/query"


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(seed=7, leads=60, now=NOW) as sandbox:
        yield sandbox


@pytest.fixture(autouse=True)
def fresh_grants(sb: Sandbox) -> None:
    """Each test starts with a refresh token that works (a test may revoke it)."""
    for vendor in CLIENTS:
        sb.oauth(vendor).refresh_token_revoked = False


def grant(sb: Sandbox, vendor: str, **changes: Any) -> requests.Response:
    client = CLIENTS[vendor]
    form = {
        "grant_type": "refresh_token",
        "refresh_token": client.refresh_token,
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        **changes,
    }
    form = {k: v for k, v in form.items() if v is not None}
    path = GOOGLE_TOKEN if vendor == "google_ads" else SALESFORCE_TOKEN
    return requests.post(sb.urls[vendor] + path, data=form, timeout=10)


def search(sb: Sandbox, token: str) -> requests.Response:
    return requests.post(
        sb.urls["google_ads"] + SEARCH,
        json={"query": "SELECT customer.id FROM customer"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def soql(sb: Sandbox, token: str) -> requests.Response:
    return requests.get(
        sb.urls["salesforce"] + QUERY,
        params={"q": "SELECT Id FROM User"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def auth_failure(resp: requests.Response) -> tuple[int, str, str]:
    error = resp.json()["error"]
    [failure] = error["details"][0]["errors"]
    return (
        resp.status_code,
        error["message"].split(".")[0],
        failure["errorCode"]["authenticationError"],
    )


# --------------------------------------------------------------------------- Google


def test_google_answers_an_access_token_for_an_hour_that_the_ads_api_takes(sb: Sandbox) -> None:
    resp = grant(sb, "google_ads")
    body = resp.json()
    assert resp.status_code == 200 and resp.headers["Cache-Control"].startswith("no-cache")
    assert set(body) == {"access_token", "expires_in", "scope", "token_type"}
    assert body["access_token"].startswith("ya29.") and body["expires_in"] == 3599
    assert (body["scope"], body["token_type"]) == (
        "https://www.googleapis.com/auth/adwords",
        "Bearer",
    )
    assert search(sb, body["access_token"]).status_code == 200
    assert grant(sb, "google_ads").json()["access_token"] != body["access_token"]


def test_a_google_token_past_its_hour_is_401_oauth_token_expired(sb: Sandbox) -> None:
    token = grant(sb, "google_ads").json()["access_token"]
    sb.advance_clock(timedelta(seconds=3_598))
    assert search(sb, token).status_code == 200
    sb.advance_clock(timedelta(seconds=2))
    assert auth_failure(search(sb, token)) == (
        401,
        "Request had invalid authentication credentials",
        "OAUTH_TOKEN_EXPIRED",
    )
    # The fixed token is not an issued one: it never expires
    assert search(sb, "sandbox-google_ads-token").status_code == 200


def test_a_revoked_google_token_is_401_oauth_token_revoked(sb: Sandbox) -> None:
    token = grant(sb, "google_ads").json()["access_token"]
    assert sb.oauth("google_ads").revoke_access_tokens() >= 1
    assert auth_failure(search(sb, token))[2] == "OAUTH_TOKEN_REVOKED"
    assert auth_failure(search(sb, "ya29.never-issued"))[2] == "OAUTH_TOKEN_INVALID"
    assert search(sb, grant(sb, "google_ads").json()["access_token"]).status_code == 200


# --------------------------------------------------------------------------- Salesforce


def test_salesforce_answers_a_session_on_its_instance_without_expires_in(sb: Sandbox) -> None:
    resp = grant(sb, "salesforce")
    body = resp.json()
    assert resp.status_code == 200
    assert set(body) == {
        "access_token", "signature", "scope", "instance_url", "id", "token_type", "issued_at"
    }  # fmt: skip
    assert body["instance_url"] == sb.urls["salesforce"] and body["token_type"] == "Bearer"
    assert body["access_token"].startswith("00D") and body["access_token"][15] == "!"
    # signature: HMAC-SHA256 of id + issued_at keyed with the consumer secret, as Salesforce signs
    expected = hmac.new(
        SALESFORCE_CLIENT.client_secret.encode(),
        (body["id"] + body["issued_at"]).encode(),
        hashlib.sha256,
    ).digest()
    assert base64.b64decode(body["signature"]) == expected
    assert soql(sb, body["access_token"]).status_code == 200


def test_a_salesforce_session_ends_two_hours_after_its_last_use(sb: Sandbox) -> None:
    token = grant(sb, "salesforce").json()["access_token"]
    sb.advance_clock(timedelta(minutes=100))
    assert soql(sb, token).status_code == 200  # used: the timeout starts again
    sb.advance_clock(timedelta(minutes=100))
    assert soql(sb, token).status_code == 200
    sb.advance_clock(timedelta(hours=2))
    resp = soql(sb, token)
    assert resp.status_code == 401
    assert resp.json() == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]


def test_the_token_endpoint_is_not_an_api_request(sb: Sandbox) -> None:
    before = requests.get(
        sb.urls["salesforce"] + "/services/data/v62.0/limits",
        headers={"Authorization": "Bearer sandbox-salesforce-token"},
        timeout=10,
    ).json()["DailyApiRequests"]["Remaining"]
    for _ in range(3):
        grant(sb, "salesforce")
    after = requests.get(
        sb.urls["salesforce"] + "/services/data/v62.0/limits",
        headers={"Authorization": "Bearer sandbox-salesforce-token"},
        timeout=10,
    ).json()["DailyApiRequests"]["Remaining"]
    assert before - after == 1  # the second limits request only


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("vendor", "change", "status", "error", "description"),
    [
        ("google_ads", {"refresh_token": "1//never-issued"}, 400, "invalid_grant", "Bad Request"),
        ("google_ads", {"client_id": "x.apps.googleusercontent.com"}, 401, "invalid_client",
         "The OAuth client was not found."),
        ("google_ads", {"client_secret": "wrong"}, 401, "invalid_client", "Unauthorized"),
        ("google_ads", {"refresh_token": None}, 400, "invalid_request",
         "Missing required parameter: refresh_token"),
        ("google_ads", {"grant_type": "password"}, 400, "unsupported_grant_type",
         "Invalid grant_type: password"),
        ("salesforce", {"refresh_token": "5Aep-never-issued"}, 400, "invalid_grant",
         "expired access/refresh token"),
        ("salesforce", {"client_id": "3MVG9-other"}, 400, "invalid_client_id",
         "client identifier invalid"),
        ("salesforce", {"client_secret": "wrong"}, 400, "invalid_client",
         "invalid client credentials"),
        ("salesforce", {"grant_type": "password"}, 400, "unsupported_grant_type",
         "grant type not supported"),
    ],
    ids=lambda value: value if isinstance(value, str) and " " not in value else None,
)  # fmt: skip
def test_a_bad_token_request_is_refused_in_the_vendors_words(
    sb: Sandbox, vendor: str, change: dict[str, Any], status: int, error: str, description: str
) -> None:
    before = sb.oauth(vendor).grants
    resp = grant(sb, vendor, **change)
    assert resp.status_code == status
    assert resp.json() == {"error": error, "error_description": description}
    assert sb.oauth(vendor).grants == before


@pytest.mark.parametrize(
    ("vendor", "description"),
    [
        ("google_ads", "Token has been expired or revoked."),
        ("salesforce", "expired access/refresh token"),
    ],
)
def test_a_revoked_refresh_token_is_invalid_grant_and_its_sessions_end(
    sb: Sandbox, vendor: str, description: str
) -> None:
    token = grant(sb, vendor).json()["access_token"]
    # WHEN the user removes the app's access (over HTTP, as a sandbox in another process is steered)
    revoked = requests.post(
        sb.urls[vendor] + "/_sandbox/oauth/revoke", json={"refresh_token": True}, timeout=10
    )
    assert revoked.status_code == 200
    assert grant(sb, vendor).json() == {"error": "invalid_grant", "error_description": description}
    check = search if vendor == "google_ads" else soql
    assert check(sb, token).status_code == 401


def test_client_credentials_may_come_as_http_basic_auth(sb: Sandbox) -> None:
    resp = requests.post(
        sb.urls["google_ads"] + GOOGLE_TOKEN,
        data={"grant_type": "refresh_token", "refresh_token": GOOGLE_ADS_CLIENT.refresh_token},
        auth=(GOOGLE_ADS_CLIENT.client_id, GOOGLE_ADS_CLIENT.client_secret),
        timeout=10,
    )
    assert resp.status_code == 200 and resp.json()["access_token"].startswith("ya29.")


def test_only_google_ads_and_salesforce_have_a_token_endpoint(sb: Sandbox) -> None:
    with pytest.raises(ValueError, match="no OAuth token endpoint"):
        sb.oauth("hubspot")
    resp = requests.post(sb.urls["hubspot"] + "/_sandbox/oauth/revoke", json={}, timeout=10)
    assert resp.status_code == 400
