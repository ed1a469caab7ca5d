"""The Google Ads pull with `oauth`: LeadFlow exchanges the refresh token for access tokens at the
sandbox's token endpoint (POST /token) and renews them before they expire, after they expire on
Google's side, and when one is revoked; a refused refresh token or client is one clear line."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests

from connectors import google_ads
from connectors.http import ApiClient, AuthError, RetriableError
from connectors.streams import Page, PullWindow
from leadflow.config import ConfigError, GoogleAdsSourceConfig, HttpSettings, Settings
from sandbox.oauth import GOOGLE_ADS_CLIENT
from tests.connectors.google_ads.conftest import PAGE, STREAM, TOKEN_ENV, Ads

CLIENT_ID_ENV = "LEADFLOW_TEST_GADS_CLIENT_ID"
CLIENT_SECRET_ENV = "LEADFLOW_TEST_GADS_CLIENT_SECRET"
REFRESH_TOKEN_ENV = "LEADFLOW_TEST_GADS_REFRESH_TOKEN"
PAGES = [PAGE] * 8 + [4]  # 60 submissions in pages of 7


@pytest.fixture
def oauth_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CLIENT_ID_ENV, GOOGLE_ADS_CLIENT.client_id)
    monkeypatch.setenv(CLIENT_SECRET_ENV, GOOGLE_ADS_CLIENT.client_secret)
    monkeypatch.setenv(REFRESH_TOKEN_ENV, GOOGLE_ADS_CLIENT.refresh_token)
    # With oauth the static token is never read: make sure there is none to read.
    monkeypatch.delenv(TOKEN_ENV, raising=False)


def oauth_source(ads: Ads, **oauth: Any) -> GoogleAdsSourceConfig:
    return ads.source(
        oauth={
            "client_id_env": CLIENT_ID_ENV,
            "client_secret_env": CLIENT_SECRET_ENV,
            "refresh_token_env": REFRESH_TOKEN_ENV,
            "token_url": f"{ads.url}/token",
            **oauth,
        }
    )


def open_client(ads: Ads, statuses: list[int], **oauth: Any) -> ApiClient:
    """A client on the oauth config that records the status of every API answer it gets."""
    client = google_ads.open_client(oauth_source(ads, **oauth))
    client.session.hooks["response"].append(
        lambda response, *args, **kwargs: statuses.append(response.status_code)
    )
    return client


def pages_of(client: ApiClient, ads: Ads) -> Iterator[Page]:
    cfg = oauth_source(ads)
    return google_ads.pull(client, cfg, STREAM, PullWindow(None, timedelta(0)))


def test_a_pull_with_oauth_gets_one_access_token_and_pages_every_submission(
    ads: Ads, oauth_env: None
) -> None:
    # GIVEN an oauth config and no static access token anywhere
    statuses: list[int] = []
    # WHEN the account is pulled
    with open_client(ads, statuses) as client:
        pages = list(pages_of(client, ads))
    # THEN one token request served the whole pull, and every submission arrived
    assert ads.app.oauth.grants == 1 and ads.app.oauth.refusals == []
    assert [len(p.records) for p in pages] == PAGES
    assert {r["lead_id"] for p in pages for r in p.records} == ads.ids()
    assert 401 not in statuses


def test_a_token_google_expired_mid_run_is_renewed_once_and_the_pull_goes_on(
    ads: Ads, oauth_env: None
) -> None:
    # GIVEN a pull two pages in
    statuses: list[int] = []
    with open_client(ads, statuses) as client:
        pulling = pages_of(client, ads)
        first = [next(pulling), next(pulling)]
        # WHEN Google's clock passes the token's hour (LeadFlow's own clock has not moved)
        ads.app.ctx.clock.advance(3_600)
        rest = list(pulling)
    # THEN exactly one more token was asked for, after one 401, and no page was lost
    assert ads.app.oauth.grants == 2
    assert statuses.count(401) == 1
    assert [len(p.records) for p in first + rest] == PAGES


def test_a_token_about_to_expire_is_renewed_before_the_request_without_a_401(
    ads: Ads, oauth_env: None
) -> None:
    # GIVEN a client whose clock LeadFlow controls, a page into a pull
    now = [1_000.0]
    statuses: list[int] = []
    with open_client(ads, statuses) as client:
        client.clock = lambda: now[0]
        pulling = pages_of(client, ads)
        first = next(pulling)
        # WHEN the token Google said lasts 3,599 s has less than a minute left
        now[0] += 3_599 - 59
        rest = list(pulling)
    # THEN a new one was asked for before the next request: no request was refused
    assert ads.app.oauth.grants == 2
    assert 401 not in statuses
    assert [len(p.records) for p in [first, *rest]] == PAGES


def test_a_token_revoked_mid_run_gets_one_renewal_and_the_request_succeeds(
    ads: Ads, oauth_env: None
) -> None:
    statuses: list[int] = []
    with open_client(ads, statuses) as client:
        pulling = pages_of(client, ads)
        first = next(pulling)
        # WHEN the access token is revoked (the refresh token still stands)
        assert ads.app.oauth.revoke_access_tokens() == 1
        rest = list(pulling)
    # THEN the next request was refused once (OAUTH_TOKEN_REVOKED), renewed and sent again
    assert statuses.count(401) == 1 and ads.app.oauth.grants == 2
    assert [len(p.records) for p in [first, *rest]] == PAGES


def test_a_401_right_after_a_renewal_is_an_auth_error_not_a_loop(ads: Ads, oauth_env: None) -> None:
    # GIVEN a token endpoint whose tokens are dead on arrival
    ads.app.oauth.lifetime_s = 0
    statuses: list[int] = []
    # WHEN the pull starts
    with open_client(ads, statuses) as client, pytest.raises(AuthError) as caught:
        list(pages_of(client, ads))
    # THEN one renewal was tried, and the second refusal stopped the pull with Google's reason
    assert ads.app.oauth.grants == 2 and statuses == [401, 401]
    assert "OAUTH_TOKEN_EXPIRED" in str(caught.value)
    assert "sources.google_ads.oauth" in str(caught.value)


def test_a_revoked_refresh_token_is_one_clear_line_without_any_secret(
    ads: Ads, oauth_env: None, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN the user removed the app's access
    ads.app.oauth.revoke_refresh_token()
    caplog.set_level(logging.DEBUG)
    # WHEN the pull starts
    with pytest.raises(AuthError) as caught:
        ads.pull(
            oauth={
                "client_id_env": CLIENT_ID_ENV,
                "client_secret_env": CLIENT_SECRET_ENV,
                "refresh_token_env": REFRESH_TOKEN_ENV,
                "token_url": f"{ads.url}/token",
            }
        )
    # THEN it says Google's words and which variable to fix, on one line, never a value
    message = str(caught.value)
    assert "invalid_grant" in message and "Token has been expired or revoked." in message
    assert REFRESH_TOKEN_ENV in message and "sources.google_ads.oauth.refresh_token_env" in message
    assert "\n" not in message
    logged = caplog.text + message
    for secret in (GOOGLE_ADS_CLIENT.refresh_token, GOOGLE_ADS_CLIENT.client_secret):
        assert secret not in logged
    assert caught.value.status == 400 and caught.value.category == "invalid_grant"


def test_a_refresh_token_google_never_issued_is_invalid_grant(
    ads: Ads, oauth_env: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(REFRESH_TOKEN_ENV, "1//not-a-refresh-token-google-issued")
    caplog.set_level(logging.DEBUG)
    with open_client(ads, []) as client, pytest.raises(AuthError) as caught:
        list(pages_of(client, ads))
    assert caught.value.category == "invalid_grant"
    assert "not-a-refresh-token-google-issued" not in str(caught.value) + caplog.text


def test_a_wrong_client_secret_names_the_client_variables(
    ads: Ads, oauth_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CLIENT_SECRET_ENV, "GOCSPX-a-wrong-client-secret")
    with open_client(ads, []) as client, pytest.raises(AuthError) as caught:
        list(pages_of(client, ads))
    message = str(caught.value)
    # Google answers a wrong secret with 401 invalid_client "Unauthorized"
    assert caught.value.status == 401 and caught.value.category == "invalid_client"
    assert CLIENT_ID_ENV in message and CLIENT_SECRET_ENV in message
    assert "a-wrong-client-secret" not in message


def test_a_token_endpoint_fault_is_retried_like_any_request(ads: Ads, oauth_env: None) -> None:
    # GIVEN the token endpoint fails once with a 503
    ads.app.faults = [503]
    with open_client(ads, []) as client:
        pages = list(pages_of(client, ads))
    # THEN the token request was sent again and the pull completed
    assert ads.app.oauth.grants == 1 and [len(p.records) for p in pages] == PAGES


def test_a_token_endpoint_down_for_good_is_a_retriable_error(ads: Ads, oauth_env: None) -> None:
    ads.app.faults = [503] * 3  # FAST: three attempts
    with open_client(ads, []) as client, pytest.raises(RetriableError, match="POST /token"):
        list(pages_of(client, ads))


def test_the_token_request_is_a_form_post_of_the_refresh_grant(ads: Ads, oauth_env: None) -> None:
    # The sandbox answers a form only; the same request as JSON is refused as Google does
    body = {
        "grant_type": "refresh_token",
        "refresh_token": GOOGLE_ADS_CLIENT.refresh_token,
        "client_id": GOOGLE_ADS_CLIENT.client_id,
        "client_secret": GOOGLE_ADS_CLIENT.client_secret,
    }
    as_json = requests.post(f"{ads.url}/token", json=body, timeout=5)
    as_form = requests.post(f"{ads.url}/token", data=body, timeout=5)
    assert as_json.status_code == 400 and as_json.json()["error"] == "unsupported_grant_type"
    assert as_form.status_code == 200
    assert as_form.json()["expires_in"] == 3599 and as_form.json()["token_type"] == "Bearer"


# --------------------------------------------------------------------------- config


def test_oauth_defaults_are_googles_token_url_and_google_ads_variables() -> None:
    cfg = GoogleAdsSourceConfig.model_validate({"customer_id": "407-553-2581", "oauth": {}})
    assert cfg.oauth is not None
    assert cfg.oauth.token_url == "https://oauth2.googleapis.com/token"
    assert (cfg.oauth.client_id_env, cfg.oauth.client_secret_env, cfg.oauth.refresh_token_env) == (
        "GOOGLE_ADS_CLIENT_ID",
        "GOOGLE_ADS_CLIENT_SECRET",
        "GOOGLE_ADS_REFRESH_TOKEN",
    )
    assert GoogleAdsSourceConfig.model_validate({"customer_id": "4075532581"}).oauth is None


@pytest.mark.parametrize(
    ("unset", "named"),
    [
        pytest.param((REFRESH_TOKEN_ENV,), [REFRESH_TOKEN_ENV], id="the-refresh-token"),
        pytest.param(
            (CLIENT_ID_ENV, CLIENT_SECRET_ENV),
            [CLIENT_ID_ENV, CLIENT_SECRET_ENV],
            id="the-client-id-and-secret",
        ),
    ],
)
def test_a_missing_variable_is_named_exactly(
    ads: Ads,
    oauth_env: None,
    monkeypatch: pytest.MonkeyPatch,
    unset: tuple[str, ...],
    named: list[str],
) -> None:
    for name in unset:
        monkeypatch.delenv(name)
    with pytest.raises(ConfigError) as caught:
        google_ads.open_client(oauth_source(ads))
    message = str(caught.value)
    assert message.startswith("sources.google_ads.oauth needs ")
    for name in (CLIENT_ID_ENV, CLIENT_SECRET_ENV, REFRESH_TOKEN_ENV):
        assert (name in message) == (name in named)
    assert ads.app.oauth.grants == 0  # nothing was sent


@pytest.mark.parametrize(
    "oauth",
    [
        pytest.param({"token_url": "oauth2.googleapis.com/token"}, id="token-url-without-scheme"),
        pytest.param({"refresh_token_env": ""}, id="empty-variable-name"),
        pytest.param({"refresh_token": "1//inline"}, id="a-secret-written-in-the-file"),
    ],
)
def test_a_bad_oauth_block_is_refused_when_the_config_loads(oauth: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        GoogleAdsSourceConfig.model_validate({"customer_id": "4075532581", "oauth": oauth})


def test_without_oauth_the_static_token_works_as_before(ads: Ads) -> None:
    # The conftest's static token; the token endpoint is never asked
    pages = ads.pull(http=HttpSettings(timeout_s=5, max_attempts=1))
    assert [len(p.records) for p in pages] == PAGES and ads.app.oauth.grants == 0


def test_the_oauth_variables_are_masked_from_a_flows_start() -> None:
    # Flows register every `*_env` the config names before any client exists
    settings = Settings.model_validate(
        {"sources": {"google_ads": {"customer_id": "4075532581", "oauth": {}}}}
    )
    assert {
        "GOOGLE_ADS_CLIENT_ID",
        "GOOGLE_ADS_CLIENT_SECRET",
        "GOOGLE_ADS_REFRESH_TOKEN",
    } <= set(settings.secret_env_names())
