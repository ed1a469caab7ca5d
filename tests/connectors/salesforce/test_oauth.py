"""The Salesforce pull with `oauth`: LeadFlow exchanges the connected app's refresh token for a
session at the sandbox's POST /services/oauth2/token, and, since Salesforce never says when a
session ends, gets a new one when an answer is 401 INVALID_SESSION_ID."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest

from connectors import salesforce
from connectors.http import ApiClient, AuthError
from connectors.streams import Page, PullWindow
from leadflow.config import (
    ConfigError,
    SalesforceSourceConfig,
)
from sandbox.oauth import SALESFORCE_CLIENT
from tests.connectors.salesforce.conftest import TOKEN_ENV, Org

CLIENT_ID_ENV = "LEADFLOW_TEST_SF_CLIENT_ID"
CLIENT_SECRET_ENV = "LEADFLOW_TEST_SF_CLIENT_SECRET"
REFRESH_TOKEN_ENV = "LEADFLOW_TEST_SF_REFRESH_TOKEN"
TWO_HOURS = 2 * 3_600


@pytest.fixture
def oauth_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CLIENT_ID_ENV, SALESFORCE_CLIENT.client_id)
    monkeypatch.setenv(CLIENT_SECRET_ENV, SALESFORCE_CLIENT.client_secret)
    monkeypatch.setenv(REFRESH_TOKEN_ENV, SALESFORCE_CLIENT.refresh_token)
    monkeypatch.delenv(TOKEN_ENV, raising=False)  # with oauth the static token is never read


def oauth_source(sfo: Org, *, base_url: str | None = None, **oauth: Any) -> SalesforceSourceConfig:
    return sfo.source(
        base_url=base_url or sfo.url,
        oauth={
            "client_id_env": CLIENT_ID_ENV,
            "client_secret_env": CLIENT_SECRET_ENV,
            "refresh_token_env": REFRESH_TOKEN_ENV,
            "token_url": f"{sfo.url}/services/oauth2/token",
            **oauth,
        },
    )


def open_client(cfg: SalesforceSourceConfig, statuses: list[int]) -> ApiClient:
    client = salesforce.open_client(cfg)
    client.session.hooks["response"].append(
        lambda response, *args, **kwargs: statuses.append(response.status_code)
    )
    return client


def leads(client: ApiClient, cfg: SalesforceSourceConfig) -> list[Page]:
    return list(salesforce.pull(client, cfg, "leads", PullWindow(None, timedelta(0))))


def _ids(pages: list[Page]) -> set[str]:
    return {r["Id"] for p in pages for r in p.records}


def test_a_pull_with_oauth_gets_a_session_and_pages_every_lead(sfo: Org, oauth_env: None) -> None:
    cfg = oauth_source(sfo)
    statuses: list[int] = []
    with open_client(cfg, statuses) as client:
        pages = leads(client, cfg)
    # THEN one session served every batch, and the token request was not an API request
    every = {r["Id"] for r in sfo.org.records("Lead", include_deleted=True)}
    assert len(pages) > 1 and _ids(pages) == every
    assert sfo.app.oauth.grants == 1 and 401 not in statuses
    assert sfo.org.api_usage()[0] == len(pages)


def test_a_session_past_the_timeout_mid_run_is_renewed_once_and_the_pull_goes_on(
    sfo: Org, oauth_env: None
) -> None:
    cfg = oauth_source(sfo)
    statuses: list[int] = []
    with open_client(cfg, statuses) as client:
        pulling = salesforce.pull(client, cfg, "leads", PullWindow(None, timedelta(0)))
        first = next(pulling)
        # WHEN the org's session timeout passes with the session unused
        sfo.app.ctx.clock.advance(TWO_HOURS + 1)
        rest = list(pulling)
    # THEN exactly one more session was asked for, after one INVALID_SESSION_ID, and nothing lost
    assert sfo.app.oauth.grants == 2 and statuses.count(401) == 1
    every = {r["Id"] for r in sfo.org.records("Lead", include_deleted=True)}
    assert _ids([first, *rest]) == every


def test_a_session_in_use_outlives_the_timeout_without_a_new_token(
    sfo: Org, oauth_env: None
) -> None:
    # Salesforce's timeout counts inactivity: a session used every 90 minutes keeps going
    cfg = oauth_source(sfo)
    with open_client(cfg, []) as client:
        for _ in range(3):
            leads(client, cfg)
            sfo.app.ctx.clock.advance(90 * 60)
    assert sfo.app.oauth.grants == 1


def test_a_session_revoked_mid_run_gets_one_renewal_and_the_request_succeeds(
    sfo: Org, oauth_env: None
) -> None:
    cfg = oauth_source(sfo)
    statuses: list[int] = []
    with open_client(cfg, statuses) as client:
        pulling = salesforce.pull(client, cfg, "leads", PullWindow(None, timedelta(0)))
        first = next(pulling)
        assert sfo.app.oauth.revoke_access_tokens() == 1
        rest = list(pulling)
    assert sfo.app.oauth.grants == 2 and statuses.count(401) == 1
    assert _ids([first, *rest]) == {r["Id"] for r in sfo.org.records("Lead", include_deleted=True)}


def test_an_expired_refresh_token_is_one_clear_line_without_any_secret(
    sfo: Org, oauth_env: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(REFRESH_TOKEN_ENV, "5Aep861-a-refresh-token-salesforce-revoked")
    caplog.set_level(logging.DEBUG)
    cfg = oauth_source(sfo)
    with open_client(cfg, []) as client, pytest.raises(AuthError) as caught:
        leads(client, cfg)
    message = str(caught.value)
    assert "invalid_grant" in message and "expired access/refresh token" in message
    assert "sources.salesforce.oauth.refresh_token_env" in message and REFRESH_TOKEN_ENV in message
    assert "\n" not in message
    for secret in ("a-refresh-token-salesforce-revoked", SALESFORCE_CLIENT.client_secret):
        assert secret not in message + caplog.text
    assert sfo.org.api_usage()[0] == 0  # no API request went out


@pytest.mark.parametrize(
    ("variable", "value", "code"),
    [
        pytest.param(CLIENT_ID_ENV, "3MVG9-unknown-consumer-key", "invalid_client_id", id="key"),
        pytest.param(CLIENT_SECRET_ENV, "wrong-consumer-secret", "invalid_client", id="secret"),
    ],
)
def test_a_wrong_connected_app_credential_names_the_client_variables(
    sfo: Org,
    oauth_env: None,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    value: str,
    code: str,
) -> None:
    monkeypatch.setenv(variable, value)
    cfg = oauth_source(sfo)
    with open_client(cfg, []) as client, pytest.raises(AuthError) as caught:
        leads(client, cfg)
    message = str(caught.value)
    assert caught.value.category == code and caught.value.status == 400
    assert CLIENT_ID_ENV in message and CLIENT_SECRET_ENV in message and value not in message


def test_an_instance_url_other_than_base_url_is_a_warning_and_the_client_stays(
    sfo: Org, oauth_env: None, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN base_url names the server as localhost; the token answer says 127.0.0.1
    port = sfo.url.rsplit(":", 1)[1]
    cfg = oauth_source(sfo, base_url=f"http://localhost:{port}")
    caplog.set_level(logging.WARNING, logger="leadflow.connectors")
    with open_client(cfg, []) as client:
        leads(client, cfg)
        sfo.app.oauth.revoke_access_tokens()  # a second token, the same instance_url
        pages = leads(client, cfg)
    # THEN one warning names both, the pull went to base_url, and it worked
    warnings = [r.getMessage() for r in caplog.records if "the org lives at" in r.getMessage()]
    assert len(warnings) == 1
    assert sfo.url in warnings[0] and f"localhost:{port}" in warnings[0]
    assert sfo.app.oauth.grants == 2 and pages and client.base_url == f"http://localhost:{port}"


def test_the_same_instance_url_is_not_a_warning(
    sfo: Org, oauth_env: None, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = oauth_source(sfo, base_url=sfo.url + "/")
    caplog.set_level(logging.WARNING, logger="leadflow.connectors")
    with open_client(cfg, []) as client:
        leads(client, cfg)
    assert "the org lives at" not in caplog.text


# --------------------------------------------------------------------------- config


def test_oauth_defaults_are_login_salesforce_com_and_salesforce_variables() -> None:
    cfg = SalesforceSourceConfig.model_validate(
        {"base_url": "https://acme.my.salesforce.com", "oauth": {}}
    )
    assert cfg.oauth is not None
    assert cfg.oauth.token_url == "https://login.salesforce.com/services/oauth2/token"
    assert cfg.oauth.refresh_token_env == "SALESFORCE_REFRESH_TOKEN"
    assert cfg.oauth.client_id_env == "SALESFORCE_CLIENT_ID"
    sandbox_org = SalesforceSourceConfig.model_validate(
        {
            "base_url": "https://acme--uat.sandbox.my.salesforce.com",
            "oauth": {"token_url": "https://test.salesforce.com/services/oauth2/token"},
        }
    )
    assert sandbox_org.oauth is not None and "test.salesforce.com" in sandbox_org.oauth.token_url


def test_a_missing_refresh_token_variable_is_named_exactly(
    sfo: Org, oauth_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(REFRESH_TOKEN_ENV)
    with pytest.raises(ConfigError) as caught:
        salesforce.open_client(oauth_source(sfo))
    message = str(caught.value)
    assert f"{REFRESH_TOKEN_ENV} (sources.salesforce.oauth.refresh_token_env)" in message
    assert CLIENT_ID_ENV not in message and CLIENT_SECRET_ENV not in message


def test_the_push_with_oauth_renews_a_timed_out_session_and_writes(
    sfo: Org, oauth_env: None
) -> None:
    # GIVEN the destination with oauth, and a session that timed out while the push waited
    cfg = sfo.destination(
        oauth={
            "client_id_env": CLIENT_ID_ENV,
            "client_secret_env": CLIENT_SECRET_ENV,
            "refresh_token_env": REFRESH_TOKEN_ENV,
            "token_url": f"{sfo.url}/services/oauth2/token",
        }
    )
    lead = sfo.org.records("Lead")[0]["Id"]
    statuses: list[int] = []
    with open_client(cfg, statuses) as client:  # type: ignore[arg-type]
        assert salesforce.missing_custom_fields(client, "Lead") == []
        sfo.app.ctx.clock.advance(TWO_HOURS + 60)
        # WHEN a score is written
        outcomes = salesforce.update_records(
            client, [{"Id": lead, "LeadFlow_Score__c": 77}], sobject="Lead"
        )
    # THEN the 401 got one new session and the write went through with it
    assert [o.success for o in outcomes] == [True]
    assert sfo.org.get(lead)["LeadFlow_Score__c"] == 77.0
    assert statuses.count(401) == 1
