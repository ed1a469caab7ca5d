"""The OAuth 2.0 refresh-token grant (RFC 6749 section 6), for the vendors whose access tokens
expire while a schedule keeps running: Google (an hour) and Salesforce (the org's session timeout,
two hours by default).

LeadFlow holds the long-lived refresh token and the OAuth client's id and secret (each read from
the environment variable the config names), and exchanges them for an access token whenever the
`ApiClient` needs one (connectors/http.py: before the first request, a minute before the token
expires when the grant said when, and once on a 401):

    POST <token_url>
    Content-Type: application/x-www-form-urlencoded

    grant_type=refresh_token&refresh_token=...&client_id=...&client_secret=...

Google answers `{"access_token", "expires_in": 3599, "scope", "token_type": "Bearer"}`; Salesforce
`{"access_token", "instance_url", "id", "token_type": "Bearer", "issued_at", "signature"}`, with no
`expires_in` (the session lasts the org's timeout after its last use). Both refuse a revoked or
expired refresh token with 400 `invalid_grant`, and bad client credentials with `invalid_client`
(Google with 401; Salesforce with 400, `invalid_client_id` for an unknown consumer key): those end
the pull with one AuthError line naming the config keys to fix, never a value. 429, 5xx and
timeouts are retried like any request. Every secret sent and every access token received is
registered with `leadflow.redact`, so none reaches a log line.

Docs: https://datatracker.ietf.org/doc/html/rfc6749#section-6,
https://developers.google.com/identity/protocols/oauth2/web-server#offline,
https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_refresh_token_flow.htm
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests
from pydantic import SecretStr

from connectors.http import AccessToken, ApiClient, AuthError, FatalError
from leadflow.config import HttpSettings, OAuthRefreshConfig
from leadflow.redact import register_secret

log = logging.getLogger("leadflow.connectors")

# RFC 6749 5.2 error codes (and Salesforce's `invalid_client_id`) that mean the client's id or
# secret is wrong, and those that mean the refresh token is.
CLIENT_ERRORS = frozenset({"invalid_client", "invalid_client_id", "unauthorized_client"})
GRANT_ERRORS = frozenset({"invalid_grant"})


def describe_error(response: requests.Response) -> tuple[str, str]:
    """The token endpoint's error: `{"error", "error_description"}` (RFC 6749 5.2)."""
    body = response.json()
    if not isinstance(body, dict):
        return "", ""
    return str(body.get("error", "")), str(body.get("error_description", ""))


class RefreshTokenGrant:
    """A `TokenProvider` (connectors/http.py) that exchanges one refresh token for access tokens.

    `on_token` sees each token obtained (Salesforce checks the answer's `instance_url`). Requests
    to the token endpoint go through a client of their own, without the API session's headers.
    """

    def __init__(
        self,
        source: str,
        config: OAuthRefreshConfig,
        *,
        http: HttpSettings | None = None,
        on_token: Callable[[AccessToken], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.source = source
        self.config = config
        self.on_token = on_token
        self.client_id, self.client_secret, self.refresh_token = config.credentials()
        for secret in (self.client_id, self.client_secret, self.refresh_token):
            register_secret(secret.get_secret_value())
        parts = urlsplit(config.token_url)
        self._client = ApiClient(
            source=source,
            base_url=f"{parts.scheme}://{parts.netloc}",
            token=None,
            http=http or HttpSettings(),
            describe_error=describe_error,
            sleep=sleep,
        )
        self._client.session.headers["Accept"] = "application/json"
        self.grants = 0  # access tokens obtained so far

    def close(self) -> None:
        self._client.close()

    def fetch(self) -> AccessToken:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": self.refresh_token.get_secret_value(),
            "client_id": self.client_id.get_secret_value(),
            "client_secret": self.client_secret.get_secret_value(),
        }
        try:
            _, answer = self._client.request("POST", self.config.token_url, data=form)
        except FatalError as exc:  # AuthError included: Google answers invalid_client with 401
            raise AuthError(
                self.source, self._advice(exc), status=exc.status, category=exc.category
            ) from None
        token = self._token(answer)
        self.grants += 1
        if self.on_token is not None:
            self.on_token(token)
        lifetime = "" if token.expires_in_s is None else f", valid {token.expires_in_s:.0f}s"
        log.info("%s: got an OAuth access token from the refresh token%s", self.source, lifetime)
        return token

    def _token(self, answer: Any) -> AccessToken:
        value = answer.get("access_token") if isinstance(answer, dict) else None
        if not isinstance(value, str) or not value:
            raise AuthError(
                self.source,
                f"the token endpoint {self.config.token_url} answered without an access_token: "
                f"check {self.config.where}.token_url",
            )
        register_secret(value)
        expires = answer.get("expires_in")
        try:
            expires_in = float(expires) if expires is not None else None
        except (TypeError, ValueError):
            expires_in = None
        rest = {k: v for k, v in answer.items() if k not in ("access_token", "refresh_token")}
        return AccessToken(SecretStr(value), expires_in, rest)

    def _advice(self, exc: FatalError) -> str:
        """One line: what the token endpoint said and which config keys fix it."""
        where = self.config.where
        said = str(exc).removeprefix(f"{self.source}: ")
        code = exc.category
        if code in GRANT_ERRORS:
            return (
                f"the OAuth refresh token was refused ({said}): it was revoked, expired or "
                f"belongs to another OAuth client; get a new one and put it in "
                f"{self.config.refresh_token_env} ({where}.refresh_token_env)"
            )
        if code in CLIENT_ERRORS:
            return (
                f"the OAuth client was refused ({said}): check {self.config.client_id_env} and "
                f"{self.config.client_secret_env} ({where}.client_id_env, "
                f"{where}.client_secret_env) hold the id and secret of the OAuth client the "
                "refresh token was issued to"
            )
        return f"the OAuth token request was refused ({said}): check {where}.token_url"


__all__ = ["CLIENT_ERRORS", "GRANT_ERRORS", "RefreshTokenGrant", "describe_error"]
