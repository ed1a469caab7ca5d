"""The embedded default for an `oauth` block: pointed at the sandbox's token endpoint, its unset
variables get the sandbox's fixed OAuth client; pointed at the vendor, nothing is made up."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from leadflow.config import Settings
from leadflow.embedded import sandbox_tokens, sandbox_url
from sandbox.oauth import GOOGLE_ADS_CLIENT

VARIABLES = ("LF_TEST_EMB_CLIENT_ID", "LF_TEST_EMB_CLIENT_SECRET", "LF_TEST_EMB_REFRESH_TOKEN")


def settings_with(token_url: str | None) -> Settings:
    base = sandbox_url(Settings(), "google_ads")
    keys = ("client_id_env", "client_secret_env", "refresh_token_env")
    oauth = dict(zip(keys, VARIABLES, strict=True))
    if token_url is not None:
        oauth["token_url"] = token_url.replace("<sandbox>", base)
    google_ads = {"base_url": base, "customer_id": "4075532581", "oauth": oauth}
    return Settings.model_validate({"sources": {"google_ads": google_ads}})


@pytest.fixture(autouse=True)
def unset() -> Iterator[None]:
    """The variables start unset, and what sandbox_tokens sets is gone after the test."""
    names = (*VARIABLES, "GOOGLE_ADS_ACCESS_TOKEN")
    kept = {name: os.environ.pop(name) for name in names if name in os.environ}
    yield
    for name in names:
        os.environ.pop(name, None)
    os.environ.update(kept)


def test_an_oauth_block_on_the_sandbox_gets_its_fixed_client() -> None:
    sandbox_tokens(settings_with("<sandbox>/token"))
    assert [os.environ[name] for name in VARIABLES] == [
        GOOGLE_ADS_CLIENT.client_id,
        GOOGLE_ADS_CLIENT.client_secret,
        GOOGLE_ADS_CLIENT.refresh_token,
    ]


def test_an_oauth_block_on_googles_token_endpoint_gets_nothing_made_up() -> None:
    sandbox_tokens(settings_with(None))  # the default: https://oauth2.googleapis.com/token
    assert not any(name in os.environ for name in VARIABLES)
