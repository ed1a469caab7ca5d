"""`Sandbox`: the three vendor servers over one generated world, and `serve` for the CLI.

LeadFlow's connectors talk to these servers exactly as they talk to HubSpot, Meta and Typeform:
only the base URL and the token differ. Tests drive the same servers over real HTTP and use the
Python side (`world`, `request_log`, `add_arrivals`, `set_rate_limit`, `inject_faults`, `set_chaos`) to set up
a situation and check what the connector did.

Each server also answers control requests under `/_sandbox/` (a prefix no vendor uses), so a
sandbox running in another process (`leadflow sandbox serve`) can be steered over HTTP too.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import threading
import time
from collections import deque
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from sandbox.apollo import ApolloApp
from sandbox.chaos import KINDS, Chaos, ChaosSettings
from sandbox.clock import Clock, from_ms, hubspot_time, parse_iso_ms, to_ms
from sandbox.google_ads import GoogleAdsAccount, GoogleAdsApp
from sandbox.hubspot import HubSpotApp, contact_object
from sandbox.lemlist import LemlistApp
from sandbox.limits import FaultInjector, RateLimiter
from sandbox.linkedin import LeadSyncAccount, LinkedInApp
from sandbox.meta import MetaApp
from sandbox.oauth import TokenIssuer
from sandbox.pipedrive import PipedriveApp, PipedriveCompany
from sandbox.salesforce import SalesforceApp, SalesforceOrg
from sandbox.server import Context, Knobs, Request, Response, VendorApp, VendorServer, base_url
from sandbox.slack import SlackApp, SlackMessage
from sandbox.smtp import SmtpMessage, SmtpServer
from sandbox.store import Store
from sandbox.typeform import TypeformApp
from sandbox.world import World

log = logging.getLogger("sandbox")

VENDORS = (
    "hubspot",
    "meta",
    "typeform",
    "lemlist",
    "apollo",
    "salesforce",
    "linkedin",
    "pipedrive",
    "google_ads",
    "slack",
)
# The vendors whose stand-in also serves an OAuth refresh-token grant (sandbox/oauth.py).
OAUTH_VENDORS = ("google_ads", "salesforce")
# Not HTTP: the SMTP stand-in runs beside the HTTP servers (ports and faults use this name).
SMTP = "smtp"
DEFAULT_HOST = "127.0.0.1"
# The ports leadflow.yml points the connectors at by default (leadflow.config.SandboxPorts).
DEFAULT_PORTS: dict[str, int] = {
    "hubspot": 8701,
    "meta": 8702,
    "typeform": 8703,
    "lemlist": 8706,
    "apollo": 8707,
    "salesforce": 8708,
    "linkedin": 8709,
    "pipedrive": 8711,  # (8710 is leadflow serve's)
    "google_ads": 8712,
    "slack": 8704,
    SMTP: 8705,
}
DEFAULT_TOKENS: dict[str, str] = {
    "hubspot": "sandbox-hubspot-token",
    "meta": "sandbox-meta-token",
    "typeform": "sandbox-typeform-token",
    "lemlist": "sandbox-lemlist-token",
    "apollo": "sandbox-apollo-token",  # the x-api-key header
    "salesforce": "sandbox-salesforce-token",
    "linkedin": "sandbox-linkedin-token",
    "pipedrive": "sandbox-pipedrive-token",
    "google_ads": "sandbox-google_ads-token",
    # Slack's credential is the webhook path itself: /services/<this>.
    "slack": "T00SANDBOX/B00SANDBOX/sandbox-slack-webhook-secret",
}
RATE_LIMIT_BUCKETS = (
    "hubspot",
    "hubspot_search",
    "meta",
    "typeform",
    "lemlist",
    "apollo",
    "apollo_hourly",
    "apollo_daily",
    "slack",
)
CONTROL_PREFIX = "/_sandbox/"
REQUEST_LOG_MAX = 200_000


def check_loopback(host: str) -> None:
    """Refuse to bind anywhere but loopback: the sandbox has fixed tokens and fake personal data."""
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(
            f"the sandbox binds to loopback only, not {host!r}: use 127.0.0.1, localhost or ::1"
        )


class Sandbox:
    """HubSpot, Meta and Typeform stand-ins over one deterministic world.

    `seed` and `leads` (the number of people) make the world; `state_path` keeps it, and every
    vendor's writes, in a SQLite file across restarts (None: in memory); `tokens` are the bearer
    tokens each server accepts; `now` fixes the clock's start (default: the real UTC now).
    """

    def __init__(
        self,
        seed: int = 7,
        leads: int = 300,
        state_path: Path | str | None = None,
        tokens: Mapping[str, str] | None = None,
        now: datetime | None = None,
    ) -> None:
        if leads < 1:
            raise ValueError(f"leads must be at least 1, got {leads}")
        merged = {**DEFAULT_TOKENS, **(tokens or {})}
        unknown = set(merged) - set(VENDORS)
        if unknown:
            raise ValueError(f"tokens for unknown vendors {sorted(unknown)}; known: {VENDORS}")
        self.seed = seed
        self.leads = leads
        self.state_path = None if state_path is None else Path(state_path)
        self.tokens: dict[str, str] = merged
        self._fixed_now = now
        self.clock = Clock(now)
        self.limiter = RateLimiter()
        self.faults = FaultInjector()
        self.chaos = Chaos()
        self.knobs = Knobs()
        self._user_limits: set[str] = set()
        self._store: Store | None = None
        self._apps: dict[str, VendorApp] = {}
        self._servers: dict[str, VendorServer] = {}
        self._smtp: SmtpServer | None = None
        self._emails: list[SmtpMessage] = []
        self._emails_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._log: deque[tuple[str, str, str, int]] = deque(maxlen=REQUEST_LOG_MAX)
        self._log_lock = threading.Lock()
        self._setup_lock = threading.Lock()

    # ------------------------------------------------------------------ lifecycle

    def _ensure(self) -> Store:
        with self._setup_lock:
            if self._store is None:
                store = Store(self.state_path)
                # The world is made at exactly the given `now`, not the running clock, so the
                # same seed and `now` always make the same world.
                made_at = self.clock.now_ms() if self._fixed_now is None else to_ms(self._fixed_now)
                store.ensure_world(self.seed, self.leads, made_at)
                if self._fixed_now is not None:
                    # A fixed clock restarted over a kept state must not run behind the writes
                    # it already made (HubSpot's, and the other vendors' kept in the store), or
                    # an incremental pull would miss the next ones.
                    with store.read() as conn:
                        newest = conn.execute(
                            "SELECT MAX(lastmodifieddate) FROM hs_contacts"
                        ).fetchone()[0]
                    if newest and parse_iso_ms(newest) > self.clock.now_ms():
                        self.clock = Clock(datetime.fromisoformat(newest.replace("Z", "+00:00")))
                    written = store.vendor_written_ms()
                    if written and written > self.clock.now_ms():
                        self.clock = Clock(from_ms(written))
                if "meta" not in self._user_limits:
                    self.limiter.configure("meta", self._meta_daily_limit(store), 86_400)
                ctx = Context(store, self.clock, self.limiter, self.tokens, self.knobs)
                self._apps = {
                    "hubspot": HubSpotApp(ctx),
                    "meta": MetaApp(ctx),
                    "typeform": TypeformApp(ctx),
                    "lemlist": LemlistApp(ctx),
                    "apollo": ApolloApp(ctx),
                    "salesforce": SalesforceApp(ctx, self._salesforce_org),
                    "linkedin": LinkedInApp(ctx, self._linkedin_account),
                    "pipedrive": PipedriveApp(ctx, self._pipedrive_company),
                    "google_ads": GoogleAdsApp(ctx, self._google_ads_account),
                    "slack": SlackApp(ctx),
                }
                self._store = store
            return self._store

    def _salesforce_org(self) -> SalesforceOrg:
        """The Salesforce org: a quarter of the world's people (drawn from the seed) as Leads and
        Contacts, so a world with Salesforce and the other sources enabled holds the same people
        twice, as a team that moved CRMs does. Made on the first Salesforce request, dated from
        the world's creation; with a state file it is saved there then, with every later write,
        and a restart restores it instead of calling this (store.kept)."""
        world = self.world
        chosen = [
            person
            for person in world.people
            if hashlib.sha256(f"{self.seed}:salesforce:{person.person_id}".encode()).digest()[0]
            < 64
        ]
        return SalesforceOrg.from_people(
            chosen,
            seed=self.seed,
            now=world.params.generated_at,
            companies={company.id: company for company in world.companies},
            clock=self.clock.now,
        )

    def _linkedin_account(self) -> LeadSyncAccount:
        """The LinkedIn ad account's two lead gen forms, answered by a seventh of the world's
        people (drawn from the seed) in the 30 days before the world was made. With a state file
        it is saved there when made, so people who arrive later never answer it after a
        restart (store.kept)."""
        world = self.world
        chosen = [
            person
            for person in world.people
            if hashlib.sha256(f"{self.seed}:linkedin:{person.person_id}".encode()).digest()[0] < 37
        ]
        return LeadSyncAccount.from_people(
            chosen,
            seed=self.seed,
            now=world.params.generated_at,
            companies={company.id: company for company in world.companies},
        )

    def _google_ads_account(self) -> GoogleAdsAccount:
        """The Google Ads account's two lead forms, submitted by an eighth of the world's people
        (drawn from the seed) in the 30 days before the world was made. With a state file it is
        saved there when made, so people who arrive later never submit them after a restart
        (store.kept)."""
        world = self.world
        chosen = [
            person
            for person in world.people
            if hashlib.sha256(f"{self.seed}:google_ads:{person.person_id}".encode()).digest()[0]
            < 32
        ]
        return GoogleAdsAccount.from_people(
            chosen,
            seed=self.seed,
            now=world.params.generated_at,
            companies={company.id: company for company in world.companies},
        )

    def _pipedrive_company(self) -> PipedriveCompany:
        """The Pipedrive company: its own people (about a sixth as many as the world's, not the
        world's), dated from the world's creation; with a state file it is saved there, with
        LeadFlow's writes, and restored on a restart (store.kept)."""
        return PipedriveCompany.generate(
            self.seed,
            max(10, self.leads // 6),
            self.world.params.generated_at,
            clock=self.clock.now,
        )

    def _meta_daily_limit(self, store: Store) -> int:
        # Meta: 200 x 24 x the number of leads created in the past 90 days, per Page per 24 hours.
        since = (self.clock.now_ms() - 90 * 86_400_000) // 1000
        with store.read() as conn:
            recent = conn.execute(
                "SELECT COUNT(*) FROM meta_leads WHERE created_s >= ?", (since,)
            ).fetchone()[0]
        return 200 * 24 * max(1, int(recent))

    def start(self, host: str = DEFAULT_HOST, ports: Mapping[str, int] | None = None) -> Sandbox:
        """Bind the three servers (port 0: a free one) and serve each in a daemon thread."""
        check_loopback(host)
        if self._servers:
            raise RuntimeError("the sandbox is already running; stop() it first")
        wanted = {vendor: 0 for vendor in (*VENDORS, SMTP)}
        if ports:
            unknown = set(ports) - set(wanted)
            if unknown:
                raise ValueError(
                    f"ports for unknown vendors {sorted(unknown)}; known: {(*VENDORS, SMTP)}"
                )
            wanted.update(ports)
        self._ensure()
        try:
            for vendor in VENDORS:
                try:
                    server = VendorServer(host, wanted[vendor], vendor, self._dispatch)
                except OSError as exc:
                    raise OSError(
                        f"the {vendor} sandbox cannot listen on {host}:{wanted[vendor]} "
                        f"({exc.strerror}); free the port or choose another"
                    ) from exc
                self._servers[vendor] = server
            try:
                self._smtp = SmtpServer(
                    host, wanted[SMTP], self.clock, self.faults, self._record_email
                )
            except OSError as exc:
                raise OSError(
                    f"the smtp sandbox cannot listen on {host}:{wanted[SMTP]} "
                    f"({exc.strerror}); free the port or choose another"
                ) from exc
        except OSError:
            # Nothing is serving yet: close the sockets already bound (shutdown() would wait
            # forever for loops that never started).
            for server in self._servers.values():
                server.server_close()
            self._servers.clear()
            raise
        serving: list[tuple[str, VendorServer | SmtpServer]] = list(self._servers.items())
        if self._smtp is not None:
            serving.append((SMTP, self._smtp))
        for vendor, listener in serving:
            # A short poll interval: stop() waits for each loop to notice, and tests stop often.
            thread = threading.Thread(
                target=listener.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"sandbox-{vendor}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)
        log.info("sandbox: serving %s", ", ".join(f"{v} at {u}" for v, u in self.urls.items()))
        return self

    def stop(self) -> None:
        """Stop serving. A file state is closed (complete on disk); an in-memory one is kept, so
        start() again serves the same world with its writes."""
        # shutdown() blocks until that server's loop notices; ask all three at once.
        running: list[VendorServer | SmtpServer] = list(self._servers.values())
        if self._smtp is not None:
            running.append(self._smtp)
        stoppers = [threading.Thread(target=s.shutdown) for s in running]
        for stopper in stoppers:
            stopper.start()
        for stopper in stoppers:
            stopper.join()
        for server in running:
            server.server_close()
        self._smtp = None
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers.clear()
        self._threads.clear()
        with self._setup_lock:
            if self._store is not None and self.state_path is not None:
                self._store.close()
                self._store = None
                self._apps = {}

    def __enter__(self) -> Sandbox:
        if not self._servers:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ Python-side API

    @property
    def urls(self) -> dict[str, str]:
        """Base URL per vendor, e.g. {"hubspot": "http://127.0.0.1:8701", ...}."""
        return {vendor: base_url(server) for vendor, server in self._servers.items()}

    @property
    def smtp_address(self) -> tuple[str, int]:
        """(host, port) of the SMTP stand-in while it serves."""
        if self._smtp is None:
            raise RuntimeError("the sandbox is not serving; start() it first")
        host, port = self._smtp.server_address[:2]
        return str(host), int(port)

    @property
    def slack_webhook_url(self) -> str:
        """The incoming-webhook URL the Slack stand-in accepts (its path is the secret)."""
        return f"{self.urls['slack']}/services/{self.tokens['slack']}"

    def slack_messages(self) -> list[SlackMessage]:
        """Every message a Slack webhook accepted, oldest first."""
        self._ensure()
        app = self._apps["slack"]
        assert isinstance(app, SlackApp)
        return app.messages()

    def oauth(self, vendor: str) -> TokenIssuer:
        """The OAuth token endpoint of `vendor` (`google_ads`: POST /token; `salesforce`: POST
        /services/oauth2/token): its `grants` and `refusals`, `revoke_access_tokens()` (a 401 for
        every token issued so far) and `revoke_refresh_token()` (invalid_grant from now on)."""
        self._ensure()
        app = self._apps.get(vendor)
        if not isinstance(app, GoogleAdsApp | SalesforceApp):
            raise ValueError(f"{vendor!r} has no OAuth token endpoint; one of {OAUTH_VENDORS}")
        return app.oauth

    def emails(self) -> list[SmtpMessage]:
        """Every message the SMTP stand-in accepted, oldest first."""
        with self._emails_lock:
            return list(self._emails)

    def _record_email(self, message: SmtpMessage) -> None:
        with self._emails_lock:
            self._emails.append(message)

    @property
    def world(self) -> World:
        """The generated ground truth (people, truth, companies, owners, forms, params)."""
        return self._ensure().world()

    @property
    def request_log(self) -> list[tuple[str, str, str, int]]:
        """(vendor, method, path, status) per request served, oldest first; paths w/o query."""
        with self._log_lock:
            return list(self._log)

    def clear_request_log(self) -> None:
        with self._log_lock:
            self._log.clear()

    def hubspot_contacts(self) -> list[dict[str, Any]]:
        """Every HubSpot contact as the API returns it with all properties named."""
        with self._ensure().read() as conn:
            rows = conn.execute("SELECT * FROM hs_contacts ORDER BY id").fetchall()
        return [contact_object(row) for row in rows]

    def hubspot_merge(self, primary_id: str, merged_id: str) -> str:
        """Merge two HubSpot contacts as `POST /crm/v3/objects/contacts/merge` does (a new contact
        with a new id; sandbox/hubspot.py); returns the new contact's id."""
        resp = self._hubspot().merge(primary_id, merged_id)
        if resp.status != 200:
            raise ValueError(f"merge refused ({resp.status}): {resp.body.get('message')}")
        return str(resp.body["id"])

    def hubspot_archive(self, *contact_ids: str) -> int:
        """Archive HubSpot contacts (`DELETE /crm/v3/objects/contacts/{id}`): out of search, into
        the list `archived=true` reads. Returns how many were live and moved."""
        return self._hubspot().archive(list(contact_ids))

    def hubspot_restore(self, contact_id: str) -> None:
        """Restore an archived HubSpot contact, as HubSpot's "Restore records" tool does (no API):
        back under its id, modified now. Raises ValueError when HubSpot would refuse it."""
        self._hubspot().restore(contact_id)

    def _hubspot(self) -> HubSpotApp:
        self._ensure()
        app = self._apps["hubspot"]
        assert isinstance(app, HubSpotApp)
        return app

    def company_truth(self) -> dict[str, int | None]:
        """HubSpot company id -> the world company it stands for (None for a namesake or a sole
        trader): the truth lead-to-account matching is scored against."""
        return self._ensure().company_truth()

    def lemlist_reply(self, campaign_id: str, email: str) -> str:
        """The lead with `email` replied to Lemlist campaign `campaign_id`; the activity's id."""
        self._ensure()
        app = self._apps["lemlist"]
        assert isinstance(app, LemlistApp)
        return app.reply(campaign_id, email)

    def lemlist_leads(self) -> list[dict[str, Any]]:
        """Every lead in every Lemlist campaign: {campaign_id, email, lead_id, unsubscribed}."""
        self._ensure()
        app = self._apps["lemlist"]
        assert isinstance(app, LemlistApp)
        return app.leads()

    def add_arrivals(self, n: int, at: datetime | None = None) -> list[str]:
        """`n` new people arrive now (or at `at`) with new records on the sources; their ids."""
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        at_ms = self.clock.now_ms() if at is None else to_ms(at)
        return self._ensure().add_arrivals(n, at_ms)

    def advance_clock(self, delta: timedelta) -> None:
        """Move the sandbox clock forward: events scheduled before then (first touches) come due."""
        self.clock.advance(delta.total_seconds())

    def set_rate_limit(self, vendor: str, requests: int, per_seconds: float) -> None:
        """Change a limit; `requests=0` disables it.

        Vendors: hubspot, hubspot_search (HubSpot's separate search limit), meta, typeform, lemlist,
        apollo, apollo_hourly, apollo_daily (Apollo's per-minute, hourly and daily windows), slack.
        """
        if vendor not in RATE_LIMIT_BUCKETS:
            raise ValueError(f"unknown rate-limit vendor {vendor!r}; one of {RATE_LIMIT_BUCKETS}")
        self.limiter.configure(vendor, requests, per_seconds)
        self._user_limits.add(vendor)

    def inject_faults(self, vendor: str, status: int, count: int, path_prefix: str = "") -> None:
        """The next `count` requests to `vendor` under `path_prefix` fail with `status`.

        The body is the vendor's error body for that status; a 429 carries Retry-After: 1.
        """
        if vendor not in (*VENDORS, SMTP):
            raise ValueError(f"unknown vendor {vendor!r}; one of {(*VENDORS, SMTP)}")
        self.faults.add(vendor, status, count, path_prefix)

    def set_chaos(
        self,
        rate: float,
        *,
        seed: int = 0,
        kinds: tuple[str, ...] | None = None,
        timeout_delay_s: float = 2.0,
        vendors: tuple[str, ...] = (),
        latency_s: float = 0.5,
    ) -> None:
        """From now on each request fails with probability `rate` in one of `kinds` (sandbox/chaos.py:
        latency, rate_limited, server_error, timeout, truncated, partial), reproducibly from
        `seed`; `rate=0` turns chaos off. `sandbox.chaos.counts` tells how many of each were
        served."""
        chosen = KINDS if kinds is None else tuple(kinds)
        self.chaos.configure(ChaosSettings(rate, chosen, timeout_delay_s, vendors, latency_s), seed)

    # ------------------------------------------------------------------ serving

    def _dispatch(self, vendor: str, req: Request) -> Response:
        app = self._apps.get(vendor)
        try:
            if req.path.startswith(CONTROL_PREFIX):
                resp = self._control(vendor, req)
            elif app is None:
                resp = Response(503, {"error": "the sandbox is stopping"})
            else:
                status = self.faults.take(vendor, req.path)
                resp = (
                    app.fault(status, req)
                    if status is not None
                    else self.chaos.serve(vendor, app, req)
                )
        except Exception:
            log.exception("sandbox: %s %s %s failed", vendor, req.method, req.path)
            resp = app.fault(500, req) if app is not None else Response(500, {"error": "internal"})
        with self._log_lock:
            self._log.append((vendor, req.method, req.path, resp.status))
        return resp

    def _control(self, vendor: str, req: Request) -> Response:
        action = req.path[len(CONTROL_PREFIX) :].strip("/")
        if action == "health" and req.method == "GET":
            store = self._ensure()
            return Response(
                200,
                {
                    "status": "ok",
                    "vendor": vendor,
                    "seed": self.seed,
                    "leads": self.leads,
                    "now": hubspot_time(self.clock.now_ms()),
                    "counts": store.counts(),
                },
            )
        if action == "slack/messages" and req.method == "GET":
            return Response(
                200,
                [
                    {"webhook_id": m.webhook_id, "payload": m.payload, "received_at": m.received_at}
                    for m in self.slack_messages()
                ],
            )
        if action == "smtp/messages" and req.method == "GET":
            return Response(
                200,
                [
                    {
                        "mail_from": m.mail_from,
                        "recipients": list(m.recipients),
                        "message": m.message.as_string(),
                        "received_at": m.received_at,
                    }
                    for m in self.emails()
                ],
            )
        if action == "lemlist/replies" and req.method == "POST":
            try:
                body = req.json() or {}
                activity_id = self.lemlist_reply(str(body["campaign_id"]), str(body["email"]))
            except (ValueError, KeyError, TypeError) as exc:
                return Response(400, {"error": f"bad control request: {exc}"})
            return Response(201, {"activity_id": activity_id})
        if action == "chaos" and req.method == "POST":
            try:
                body = req.json() or {}
                self.set_chaos(
                    float(body.get("rate", 0.0)),
                    seed=int(body.get("seed", 0)),
                    kinds=tuple(body["kinds"]) if body.get("kinds") else None,
                    timeout_delay_s=float(body.get("timeout_delay_s", 2.0)),
                    vendors=tuple(body.get("vendors") or ()),
                    latency_s=float(body.get("latency_s", 0.5)),
                )
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                return Response(400, {"error": f"bad control request: {exc}"})
            return Response(200, {**self.chaos.settings.__dict__, "served": self.chaos.counts})
        if action == "oauth/revoke" and req.method == "POST":
            try:
                body = req.json() or {}
                issuer = self.oauth(str(body.get("vendor", vendor)))
            except (ValueError, TypeError, AttributeError) as exc:
                return Response(400, {"error": f"bad control request: {exc}"})
            if body.get("refresh_token") is True:
                issuer.revoke_refresh_token()
                return Response(200, {"revoked_access_tokens": None, "refresh_token": "revoked"})
            return Response(200, {"revoked_access_tokens": issuer.revoke_access_tokens()})
        if req.method != "POST" or action not in ("arrivals", "faults", "rate_limit"):
            return Response(404, {"error": f"no control endpoint {req.method} {req.path}"})
        try:
            body = req.json() or {}
            if not isinstance(body, dict):
                raise ValueError("the body must be a JSON object")
            if action == "arrivals":
                at = body.get("at")
                at_dt = (
                    None if at is None else datetime.fromisoformat(str(at).replace("Z", "+00:00"))
                )
                ids = self.add_arrivals(int(body.get("count", 1)), at_dt)
                return Response(201, {"person_ids": ids})
            if action == "faults":
                target = str(body.get("vendor", vendor))
                self.inject_faults(
                    target,
                    int(body["status"]),
                    int(body.get("count", 1)),
                    str(body.get("path_prefix", "")),
                )
                return Response(201, {"queued": [f.__dict__ for f in self.faults.pending()]})
            bucket = str(body.get("vendor", vendor))
            self.set_rate_limit(bucket, int(body["requests"]), float(body["per_seconds"]))
            return Response(
                200,
                {
                    "vendor": bucket,
                    "requests": body["requests"],
                    "per_seconds": body["per_seconds"],
                },
            )
        except (ValueError, KeyError, TypeError) as exc:
            return Response(400, {"error": f"bad control request: {exc}"})


def serve(
    host: str = DEFAULT_HOST,
    ports: Mapping[str, int] | None = None,
    seed: int = 7,
    leads: int = 300,
    state_path: Path | str | None = None,
    tokens: Mapping[str, str] | None = None,
    chaos: ChaosSettings | None = None,
    chaos_seed: int = 0,
) -> None:
    """Run the sandbox in the foreground until Ctrl-C (`leadflow sandbox serve`), with `chaos`
    on from the start when given (`--chaos-rate`)."""
    sandbox = Sandbox(seed=seed, leads=leads, state_path=state_path, tokens=tokens)
    if chaos is not None:
        sandbox.chaos.configure(chaos, chaos_seed)
    sandbox.start(host, {**DEFAULT_PORTS, **(ports or {})})
    for vendor, url in sandbox.urls.items():
        print(f"{vendor:9} {url}", flush=True)
    smtp_host, smtp_port = sandbox.smtp_address
    print(f"{SMTP:9} smtp://{smtp_host}:{smtp_port}", flush=True)
    if chaos is not None and chaos.rate > 0:
        print(
            f"chaos     {chaos.rate:.0%} of requests meet one of {', '.join(chaos.kinds)}"
            f" (seed {chaos_seed}; POST /_sandbox/chaos with rate 0 turns it off)",
            flush=True,
        )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
