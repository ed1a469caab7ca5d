"""The OAuth 2.0 refresh-token grant (RFC 6749 section 6) as the Google Ads and Salesforce stand-ins
serve it: one registered OAuth client with one user's refresh token, and the access tokens issued
for it, each valid for a while on the sandbox clock.

`TokenIssuer` holds the shared part: it reads the form (`grant_type`, `refresh_token`, `client_id`,
`client_secret` in an application/x-www-form-urlencoded body, or the client's id and secret as
HTTP Basic auth), says what is wrong with it (`GrantRefusal`), issues random access tokens and
judges the ones a request carries (`live`, `expired`, `revoked`, `unknown`). Each vendor module
turns that into its own token endpoint answers and 401 bodies (sandbox/google_ads.py,
sandbox/salesforce.py).

The credentials are fixed, like the API tokens (`sandbox-<vendor>-token`), and listed in
sandbox/README.md: a refresh token cannot be obtained from the sandbox by a consent screen.
"""

from __future__ import annotations

import base64
import secrets
import threading
from dataclasses import dataclass
from enum import Enum
from typing import Literal
from urllib.parse import parse_qs, unquote

from sandbox.clock import Clock
from sandbox.server import Request


@dataclass(frozen=True)
class OAuthClient:
    """A registered OAuth client (Google's OAuth client, Salesforce's connected app) and the
    refresh token one user granted it."""

    client_id: str
    client_secret: str
    refresh_token: str


GOOGLE_ADS_CLIENT = OAuthClient(
    client_id="sandbox-google_ads-client.apps.googleusercontent.com",
    client_secret="sandbox-google_ads-client-secret",
    refresh_token="1//sandbox-google_ads-refresh-token",
)
SALESFORCE_CLIENT = OAuthClient(
    client_id="3MVG9sandbox.salesforce.consumer.key",
    client_secret="sandbox-salesforce-consumer-secret",
    refresh_token="5Aep861sandbox-salesforce-refresh-token",
)
CLIENTS: dict[str, OAuthClient] = {"google_ads": GOOGLE_ADS_CLIENT, "salesforce": SALESFORCE_CLIENT}


class GrantRefusal(Enum):
    """Why a token request is refused; each vendor answers each in its own words."""

    NOT_POST = "not_post"
    UNSUPPORTED_GRANT_TYPE = "unsupported_grant_type"
    NO_REFRESH_TOKEN = "no_refresh_token"
    UNKNOWN_CLIENT = "unknown_client"  # no such client id
    BAD_SECRET = "bad_secret"  # the client's secret is wrong or missing
    BAD_REFRESH_TOKEN = "bad_refresh_token"  # not a refresh token this client was given
    REVOKED_REFRESH_TOKEN = "revoked_refresh_token"  # it was, and it has been revoked


TokenState = Literal["live", "expired", "revoked", "unknown"]


@dataclass
class _Issued:
    expires_ms: int
    revoked: bool = False


class TokenIssuer:
    """Access tokens for one OAuth client's refresh token.

    `lifetime_s`: how long a token lives after it is issued (Google: 3,599 s). With `sliding`, each
    request with a live token moves its end to `lifetime_s` after that request (Salesforce's
    session timeout counts inactivity). `prefix` starts every token (Google's `ya29.`, an org id
    and `!` for Salesforce).
    """

    def __init__(
        self,
        client: OAuthClient,
        clock: Clock,
        lifetime_s: int,
        *,
        prefix: str = "",
        sliding: bool = False,
    ) -> None:
        self.client = client
        self.clock = clock
        self.lifetime_s = lifetime_s
        self.prefix = prefix
        self.sliding = sliding
        self.refresh_token_revoked = False
        self.grants = 0  # access tokens issued
        self.refusals: list[GrantRefusal] = []  # token requests refused, oldest first
        self._issued: dict[str, _Issued] = {}
        self._lock = threading.Lock()

    # ---------------------------------------------------------------- the token endpoint

    @staticmethod
    def form(req: Request) -> dict[str, str]:
        """The request's parameters: the form body (only when sent as one), and the client's id
        and secret from HTTP Basic auth when the body does not name them (RFC 6749 2.3.1)."""
        params: dict[str, str] = {}
        kind = (req.header("Content-Type") or "").split(";")[0].strip().lower()
        if kind == "application/x-www-form-urlencoded":
            try:
                text = req.body.decode("utf-8")
            except UnicodeDecodeError:
                text = ""
            params = {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}
        scheme, _, encoded = (req.header("Authorization") or "").partition(" ")
        if scheme.lower() == "basic" and encoded:
            try:
                pair = base64.b64decode(encoded.strip()).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                pair = ""
            user, sep, password = pair.partition(":")
            if sep:
                params.setdefault("client_id", unquote(user))
                params.setdefault("client_secret", unquote(password))
        return params

    def refusal(self, req: Request) -> GrantRefusal | None:
        """What is wrong with a token request, checked in the order the vendors do (the grant type,
        the client, then the refresh token); None when a token may be issued. Counted."""
        found = self._judge(req)
        if found is not None:
            with self._lock:
                self.refusals.append(found)
        return found

    def _judge(self, req: Request) -> GrantRefusal | None:
        if req.method != "POST":
            return GrantRefusal.NOT_POST
        params = self.form(req)
        if params.get("grant_type") != "refresh_token":
            return GrantRefusal.UNSUPPORTED_GRANT_TYPE
        if params.get("client_id") != self.client.client_id:
            return GrantRefusal.UNKNOWN_CLIENT
        if not secrets.compare_digest(
            params.get("client_secret", "").encode(), self.client.client_secret.encode()
        ):
            return GrantRefusal.BAD_SECRET
        refresh = params.get("refresh_token")
        if not refresh:
            return GrantRefusal.NO_REFRESH_TOKEN
        if not secrets.compare_digest(refresh.encode(), self.client.refresh_token.encode()):
            return GrantRefusal.BAD_REFRESH_TOKEN
        if self.refresh_token_revoked:
            return GrantRefusal.REVOKED_REFRESH_TOKEN
        return None

    def issue(self) -> str:
        """A new random access token, live for `lifetime_s` from now."""
        token = self.prefix + secrets.token_urlsafe(48)
        with self._lock:
            now = self.clock.now_ms()
            # Forget tokens long dead, so a long-running sandbox does not grow without end.
            dead = [t for t, i in self._issued.items() if i.expires_ms < now - 86_400_000]
            for gone in dead:
                del self._issued[gone]
            self._issued[token] = _Issued(now + self.lifetime_s * 1000)
            self.grants += 1
        return token

    # ---------------------------------------------------------------- the API

    def state(self, token: str) -> TokenState:
        """Whether an access token a request carries is one this issuer gave and still live; a
        live one's end moves on when `sliding`."""
        with self._lock:
            issued = self._issued.get(token)
            if issued is None:
                return "unknown"
            if issued.revoked:
                return "revoked"
            now = self.clock.now_ms()
            if now >= issued.expires_ms:
                return "expired"
            if self.sliding:
                issued.expires_ms = now + self.lifetime_s * 1000
            return "live"

    def revoke_access_tokens(self) -> int:
        """End every live access token now (a session revoked by an admin, a password reset); the
        refresh token still works. Returns how many were live."""
        now = self.clock.now_ms()
        with self._lock:
            live = [i for i in self._issued.values() if not i.revoked and i.expires_ms > now]
            for issued in live:
                issued.revoked = True
            return len(live)

    def revoke_refresh_token(self) -> None:
        """The user removed the app's access: the refresh token and its access tokens stop."""
        self.revoke_access_tokens()
        self.refresh_token_revoked = True

    def live_tokens(self) -> int:
        now = self.clock.now_ms()
        with self._lock:
            return sum(1 for i in self._issued.values() if not i.revoked and i.expires_ms > now)


__all__ = [
    "CLIENTS",
    "GOOGLE_ADS_CLIENT",
    "SALESFORCE_CLIENT",
    "GrantRefusal",
    "OAuthClient",
    "TokenIssuer",
]
