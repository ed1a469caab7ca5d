"""Typed configuration: `leadflow.yml` plus the environment, loaded in one place.

Nothing reads the config at import time. `load_settings()` is called by the CLI and by the flow; every
other module receives the pieces it needs as arguments. Secrets are never written in the file: each
connector names the environment variable holding its token (`access_token_env`), and the token is
read only when a client is built, as a `SecretStr`; where the variable is not set, the Prefect Secret
block of the same name in lower case with dashes (`hubspot-access-token`) is read instead.

A user mistake (a typo in a key, a value out of range, a missing file or variable) raises
`ConfigError` whose message is one line naming the key and the problem; the CLI prints it without a
traceback.
"""

from __future__ import annotations

import os
import re
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from leadflow.redact import register_secret

DEFAULT_CONFIG = Path("leadflow.yml")
CONFIG_ENV = "LEADFLOW_CONFIG"


class ConfigError(Exception):
    """A problem the user can fix in leadflow.yml or the environment; the message is one line."""


class _Model(BaseModel):
    # Unknown keys are errors, so a typo never silently falls back to a default.
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- warehouse / sandbox


class WarehouseConfig(_Model):
    """The DuckDB file LeadFlow owns (raw, ops, and the schemas dbt builds)."""

    path: Path = Path(".leadflow/warehouse.duckdb")
    # A run waits this long for another LeadFlow run on the same warehouse to finish, then exits
    # cleanly without touching anything (leadflow/run_lock.py). The hourly sync takes minutes.
    lock_wait_seconds: float = Field(600.0, ge=0)
    # dbt leaves a model (and its tests) as it is when nothing it reads changed since its last
    # passing build: the hourly run's dbt cost follows what changed (leadflow/dbt_state.py).
    # false: every run builds and tests every node, as plain `dbt build` does.
    skip_unchanged_models: bool = True


class SandboxPorts(_Model):
    hubspot: int = Field(8701, ge=0, le=65535)
    meta: int = Field(8702, ge=0, le=65535)
    typeform: int = Field(8703, ge=0, le=65535)
    lemlist: int = Field(8706, ge=0, le=65535)
    apollo: int = Field(8707, ge=0, le=65535)
    salesforce: int = Field(8708, ge=0, le=65535)
    linkedin: int = Field(8709, ge=0, le=65535)
    pipedrive: int = Field(8711, ge=0, le=65535)
    google_ads: int = Field(8712, ge=0, le=65535)
    slack: int = Field(8704, ge=0, le=65535)
    smtp: int = Field(8705, ge=0, le=65535)


class SandboxConfig(_Model):
    """Local stand-ins for the vendor APIs (the embedded default)."""

    # When true, `leadflow run` starts the sandbox in-process if nothing is listening on its ports yet.
    embedded: bool = True
    host: str = "127.0.0.1"
    ports: SandboxPorts = SandboxPorts()
    seed: int = 7
    leads: int = Field(300, ge=1)
    state_dir: Path = Path(".leadflow/sandbox")

    @model_validator(mode="after")
    def _loopback_only(self) -> SandboxConfig:
        if self.host not in {"127.0.0.1", "localhost", "::1"}:
            raise ValueError("the sandbox binds to loopback only (127.0.0.1, localhost or ::1)")
        return self


# --------------------------------------------------------------------------- sources


class HttpSettings(_Model):
    """Shared by every connector: a timeout on every request and bounded, jittered retries."""

    timeout_s: float = Field(30.0, gt=0)
    max_attempts: int = Field(6, ge=1, le=20)
    backoff_base_s: float = Field(1.0, ge=0)
    backoff_max_s: float = Field(60.0, ge=0)


class _Connector(_Model):
    enabled: bool = True
    base_url: str
    access_token_env: str
    http: HttpSettings = HttpSettings()

    def access_token(self) -> SecretStr:
        """The token from the environment; a clear error when it is missing."""
        return read_secret(self.access_token_env)


_TOKEN_URL = re.compile(r"^https?://[^/\s]+/\S*$")


class OAuthRefreshConfig(_Model):
    """An OAuth 2.0 refresh token LeadFlow exchanges for access tokens itself (connectors/oauth.py),
    for the vendors whose access tokens expire within a run's schedule. Each `*_env` names the
    environment variable (or Prefect Secret block) holding the OAuth client's id, its secret and
    the refresh token; `token_url` is the vendor's token endpoint. With it set, the connector's
    `access_token_env` is not read."""

    client_id_env: str = Field(min_length=1)
    client_secret_env: str = Field(min_length=1)
    refresh_token_env: str = Field(min_length=1)
    token_url: str

    @field_validator("token_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not _TOKEN_URL.match(value.strip()):
            raise ValueError("token_url must be the token endpoint's full http(s) URL")
        return value.strip()

    @property
    def where(self) -> str:
        """This block's place in leadflow.yml, for error messages."""
        return "oauth"

    def credentials(self) -> tuple[SecretStr, SecretStr, SecretStr]:
        """(client id, client secret, refresh token) from the environment; one ConfigError naming
        every variable that is not set."""
        values: list[SecretStr] = []
        missing: list[str] = []
        for key in ("client_id_env", "client_secret_env", "refresh_token_env"):
            env_name = str(getattr(self, key))
            try:
                values.append(read_secret(env_name))
            except ConfigError:
                missing.append(f"{env_name} ({self.where}.{key})")
        if missing:
            raise ConfigError(
                f"{self.where} needs {', '.join(missing)} set: export each, or save it as the "
                "Prefect Secret block of the same name in lower case with dashes "
                f"('{secret_block_name(missing[0].split(' ')[0])}')"
            )
        return values[0], values[1], values[2]


class GoogleAdsOAuthConfig(OAuthRefreshConfig):
    """Google's token endpoint and the variables holding a Desktop or Web OAuth client's id and
    secret and a refresh token granted the `https://www.googleapis.com/auth/adwords` scope."""

    client_id_env: str = Field("GOOGLE_ADS_CLIENT_ID", min_length=1)
    client_secret_env: str = Field("GOOGLE_ADS_CLIENT_SECRET", min_length=1)
    refresh_token_env: str = Field("GOOGLE_ADS_REFRESH_TOKEN", min_length=1)
    token_url: str = "https://oauth2.googleapis.com/token"

    @property
    def where(self) -> str:
        return "sources.google_ads.oauth"


class SalesforceOAuthConfig(OAuthRefreshConfig):
    """A connected app's consumer key and secret and a refresh token (scopes `api refresh_token
    offline_access`). `token_url`: login.salesforce.com for a production org; a sandbox org signs
    in at `https://test.salesforce.com/services/oauth2/token`; the org's My Domain
    (`https://yourorg.my.salesforce.com/services/oauth2/token`) serves both."""

    client_id_env: str = Field("SALESFORCE_CLIENT_ID", min_length=1)
    client_secret_env: str = Field("SALESFORCE_CLIENT_SECRET", min_length=1)
    refresh_token_env: str = Field("SALESFORCE_REFRESH_TOKEN", min_length=1)
    token_url: str = "https://login.salesforce.com/services/oauth2/token"

    @property
    def where(self) -> str:
        return "sources.salesforce.oauth"


class FormConfig(_Model):
    """A lead form and the intent event a submission of it counts as."""

    id: str
    intent_event: str = "form_submission"


_POSTGRES_URL = re.compile(r"^postgres(ql)?://", re.IGNORECASE)


class FivetranTablesConfig(_Model):
    """Where Fivetran writes one connector's tables, read instead of the vendor's API when the
    source's `loader` is `fivetran` (connectors/fivetran/README.md).

    `schema`: the connector's destination schema; unset, the source's name (`hubspot`,
    `salesforce`). `database`: unset, the LeadFlow warehouse itself; else another DuckDB file (a
    path, relative to leadflow.yml) or a `postgresql://` URL, attached read-only. A URL never holds
    a password: libpq reads it from PGPASSWORD or ~/.pgpass.
    """

    schema_name: str | None = Field(None, alias="schema")
    database: str | None = None

    @field_validator("schema_name")
    @classmethod
    def _plain_name(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$]*", value):
            raise ValueError("a schema name is letters, digits and _ (e.g. hubspot, fivetran_sf)")
        return value

    @field_validator("database")
    @classmethod
    def _no_password(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if _POSTGRES_URL.match(value.strip()):
            from urllib.parse import urlsplit

            if urlsplit(value.strip()).password:
                raise ValueError(
                    "the URL holds a password: remove it and export PGPASSWORD (or use ~/.pgpass)"
                )
        return value.strip()

    def schema_for(self, source: str) -> str:
        return self.schema_name or source

    @property
    def is_postgres(self) -> bool:
        return self.database is not None and bool(_POSTGRES_URL.match(self.database))


Loader = Literal["api", "fivetran"]


class HubSpotSourceConfig(_Connector):
    """HubSpot CRM: contacts, owners, deals and companies, from the API (`loader: api`, with
    `base_url` and the token) or from the tables Fivetran loads (`loader: fivetran`, where
    `fivetran` says; no API call is made and no token is read)."""

    base_url: str = "https://api.hubapi.com"
    access_token_env: str = "HUBSPOT_ACCESS_TOKEN"
    page_size: int = Field(200, ge=1, le=200)
    lookback_minutes: int = Field(10, ge=0)
    # The contacts' lifecycle stage history and the deals' stage history (streams
    # contact_lifecycle_history, deal_stage_history): every change, regressions included, read
    # with propertiesWithHistory for the objects each run pulls. Off: neither is read.
    stage_history: bool = True
    loader: Loader = "api"
    fivetran: FivetranTablesConfig = FivetranTablesConfig()


class MetaSourceConfig(_Connector):
    base_url: str = "https://graph.facebook.com"
    access_token_env: str = "META_ACCESS_TOKEN"
    api_version: Annotated[str, Field(pattern=r"^v\d+\.\d+$")] = "v21.0"
    forms: list[FormConfig] = []
    page_size: int = Field(100, ge=1, le=1000)
    lookback_minutes: int = Field(10, ge=0)
    # Ad spend (the Marketing API's Insights): the ad account the lead ads run in, with or without
    # its act_ prefix; unset, the ad_insights stream is skipped. Meta restates a day's numbers for
    # up to 28 days, so each pull re-reads that many days before its cursor.
    ad_account_id: Annotated[str, Field(pattern=r"^(act_)?\d+$")] | None = None
    insights_lookback_days: int = Field(28, ge=0, le=90)
    # How far back the first pull reads (Meta keeps insights for 37 months).
    insights_backfill_days: int = Field(365, ge=1, le=1_100)

    @field_validator("ad_account_id")
    @classmethod
    def _strip_act_prefix(cls, value: str | None) -> str | None:
        return value.removeprefix("act_") if value else value


class TypeformSourceConfig(_Connector):
    base_url: str = "https://api.typeform.com"
    access_token_env: str = "TYPEFORM_ACCESS_TOKEN"
    forms: list[FormConfig] = []
    page_size: int = Field(1000, ge=1, le=1000)
    lookback_minutes: int = Field(10, ge=0)


class LinkedInSourceConfig(_Connector):
    """LinkedIn Lead Gen Forms (Marketing API lead sync): the responses of each listed form.

    `sponsored_account_id` is the ad account that owns the forms (digits, or its
    `urn:li:sponsoredAccount:` URN). `api_version` is the pinned `LinkedIn-Version` (YYYYMM):
    LinkedIn supports each monthly version for at least a year, then answers 426; move it forward
    before its sunset (https://learn.microsoft.com/en-us/linkedin/marketing/integrations/migrations).
    """

    base_url: str = "https://api.linkedin.com"
    access_token_env: str = "LINKEDIN_ACCESS_TOKEN"
    api_version: Annotated[str, Field(pattern=r"^\d{6}$")] = "202607"
    sponsored_account_id: Annotated[str, Field(pattern=r"^(urn:li:sponsoredAccount:)?\d+$")]
    forms: list[FormConfig] = []
    page_size: int = Field(100, ge=1, le=100)
    lookback_minutes: int = Field(10, ge=0)

    @field_validator("sponsored_account_id")
    @classmethod
    def _strip_urn_prefix(cls, value: str) -> str:
        return value.removeprefix("urn:li:sponsoredAccount:")


def _salesforce_instance_url(value: str) -> str:
    host = re.sub(r"^https?://", "", value.strip().lower()).split("/")[0]
    if host in ("login.salesforce.com", "test.salesforce.com"):
        raise ValueError(
            f"{host} only issues tokens; set base_url to the org's instance URL "
            "(https://yourorg.my.salesforce.com, the instance_url of the token response)"
        )
    return value.rstrip("/")


class SalesforceSourceConfig(_Connector):
    """Salesforce (REST API): leads, contacts, opportunities, their stage history and users.

    `base_url` is required with `loader: api` (the default): the org's instance URL, where its
    data lives, e.g. `https://yourorg.my.salesforce.com` (the `instance_url` returned with the
    access token), never `https://login.salesforce.com`, which only issues tokens. `page_size` is
    the query batch size asked for (Salesforce takes 200 to 2,000). `daily_request_budget`, when
    set, stops LeadFlow once the org's rolling 24-hour API usage reaches it, leaving the rest of
    the allowance to the org's other integrations. With `loader: fivetran` the objects are read
    from the tables Fivetran loads (`fivetran` says where): no API call, no base_url, no token.

    Credentials: `access_token_env` names the variable holding an access token, which lasts only
    the org's session timeout (2 hours by default); or `oauth` (SalesforceOAuthConfig: the
    connected app's consumer key and secret and a refresh token, by variable name), and LeadFlow
    gets access tokens itself whenever one expires, without reading `access_token_env`. A token
    answer whose `instance_url` is not `base_url` is logged as a warning, never followed.
    """

    # "" only with loader fivetran (_base_url_for_api); a str still, for the API client's sake.
    base_url: str = ""
    access_token_env: str = "SALESFORCE_ACCESS_TOKEN"
    oauth: SalesforceOAuthConfig | None = None
    api_version: Annotated[str, Field(pattern=r"^v\d+\.\d+$")] = "v62.0"
    page_size: int = Field(2000, ge=200, le=2000)
    lookback_minutes: int = Field(10, ge=0)
    daily_request_budget: int | None = Field(None, ge=1)
    loader: Loader = "api"
    fivetran: FivetranTablesConfig = FivetranTablesConfig()

    _instance_url = field_validator("base_url")(_salesforce_instance_url)

    @model_validator(mode="after")
    def _base_url_for_api(self) -> SalesforceSourceConfig:
        if self.loader == "api" and not self.base_url:
            raise ValueError(
                "base_url is required with loader api: the org's instance URL, e.g. "
                "https://yourorg.my.salesforce.com (or set loader: fivetran to read the tables "
                "Fivetran loads)"
            )
        return self


def _pipedrive_base_url(value: str) -> str:
    if not re.match(r"^https?://[^/\s]+", value.strip()):
        raise ValueError(
            "set base_url to the company domain, e.g. https://yourcompany.pipedrive.com "
            "(Settings > Company settings), or to the sandbox's URL"
        )
    return value.strip().rstrip("/")


class PipedriveSourceConfig(_Connector):
    """Pipedrive (REST API, v2 where it exists): persons, leads, deals and users.

    `base_url` is the company domain the API token belongs to, e.g.
    `https://yourcompany.pipedrive.com` (the client adds `/api/v1` and `/api/v2`). The token is
    a user's personal API token (Settings > Personal preferences > API). `burst_limit` is the
    plan's requests per 2 seconds per token (Essential 20, Advanced 40, Professional 80, Power
    100, Enterprise 120); the client paces itself at 80% of it. `page_size` is at most 500.
    """

    base_url: str
    access_token_env: str = "PIPEDRIVE_API_TOKEN"
    page_size: int = Field(500, ge=1, le=500)
    lookback_minutes: int = Field(10, ge=0)
    burst_limit: int = Field(20, ge=1, le=480)

    _company_url = field_validator("base_url")(_pipedrive_base_url)


def _google_ads_customer_id(value: str | None) -> str | None:
    return value.replace("-", "") if value else value


class GoogleAdsSourceConfig(_Connector):
    """Google Ads lead form submissions pulled from the Google Ads API (googleAds:search), the
    same leads the lead form webhook delivers to `leadflow serve` (connectors/google_ads/README.md).

    `customer_id` is the advertiser account (ten digits, dashes allowed); `login_customer_id` the
    manager account it is reached through, when the token's user reaches it that way.
    Credentials: `oauth` (GoogleAdsOAuthConfig: an OAuth client's id and secret and a refresh token
    granted the `https://www.googleapis.com/auth/adwords` scope, by variable name), and LeadFlow
    gets a new access token whenever the one it holds is about to expire (Google's last an hour);
    or, without `oauth`, `access_token_env` names the variable holding an access token with that
    scope, which whatever schedules the run must refresh before each run. Google sunset developer
    tokens on 9 September 2026 and ignores the header;
    `developer_token_env`, when set, still sends one. `api_version` is the pinned version; Google
    sunsets each about a year after release: move it forward before then
    (https://developers.google.com/google-ads/api/docs/sunset-dates). Google pages at a fixed
    10,000 rows, so there is no page size. `forms`: the lead form assets (their ids) with the
    intent event a submission of each counts as.
    """

    base_url: str = "https://googleads.googleapis.com"
    access_token_env: str = "GOOGLE_ADS_ACCESS_TOKEN"
    oauth: GoogleAdsOAuthConfig | None = None
    developer_token_env: str | None = None
    api_version: Annotated[str, Field(pattern=r"^v\d+$")] = "v26"
    customer_id: Annotated[str, Field(pattern=r"^\d{3}-?\d{3}-?\d{4}$")]
    login_customer_id: Annotated[str, Field(pattern=r"^\d{3}-?\d{3}-?\d{4}$")] | None = None
    forms: list[FormConfig] = []
    lookback_minutes: int = Field(10, ge=0)

    _customer_ids = field_validator("customer_id", "login_customer_id")(_google_ads_customer_id)


class FileDropIntentEvents(_Model):
    """The intent event (scoring.intent.events) each kind of dropped row counts as."""

    attended: str = "event_attended"
    registered: str = "event_registered"  # registered, or a no-show
    referral: str = "referral"


class FileDropSourceConfig(_Model):
    """CSV files dropped in a folder (connectors/file_drop/README.md): attendee lists in
    `<path>/events/`, referrals in `<path>/referrals/`; `path` is relative to leadflow.yml. Each
    file is loaded once, known by the sha256 of its bytes (renamed or copied again: not loaded
    again; edited: a new file); LeadFlow never moves or deletes one.

    `encoding` is how a file without a byte order mark is read (Excel's plain "CSV" on Windows is
    cp1252). `date_order` reads a date like 05/06/2026 as DMY (5 June) or MDY (May 6); unset,
    such a date makes its row unreadable rather than guessed. A file changed less than
    `settle_seconds` ago may still be being copied in, and waits for the next run.
    """

    enabled: bool = True
    path: Path
    encoding: str = "utf-8"
    date_order: Literal["DMY", "MDY"] | None = None
    settle_seconds: float = Field(60.0, ge=0)
    intent_events: FileDropIntentEvents = FileDropIntentEvents()

    @field_validator("encoding")
    @classmethod
    def _byte_encoding(cls, value: str) -> str:
        import codecs

        try:
            name = codecs.lookup(value).name
        except LookupError:
            raise ValueError(f"unknown encoding {value!r} (e.g. utf-8, cp1252, latin-1)") from None
        if name.startswith(("utf-16", "utf-32")):
            raise ValueError("UTF-16 and UTF-32 files are recognized by their byte order mark")
        return value

    @property
    def forms(self) -> list[FormConfig]:
        """The kinds of row as forms (a row's form_id is its kind), so that the staging step
        gives each the intent event configured for it, as it does for other sources' forms."""
        return [FormConfig(id=kind, intent_event=event) for kind, event in self.intent_events]


class SourcesConfig(_Model):
    hubspot: HubSpotSourceConfig | None = None
    meta: MetaSourceConfig | None = None
    typeform: TypeformSourceConfig | None = None
    salesforce: SalesforceSourceConfig | None = None
    linkedin: LinkedInSourceConfig | None = None
    pipedrive: PipedriveSourceConfig | None = None
    file_drop: FileDropSourceConfig | None = None
    google_ads: GoogleAdsSourceConfig | None = None

    def enabled(self) -> dict[str, _Connector | FileDropSourceConfig]:
        return {
            name: cfg
            for name, cfg in (
                ("hubspot", self.hubspot),
                ("meta", self.meta),
                ("typeform", self.typeform),
                ("salesforce", self.salesforce),
                ("linkedin", self.linkedin),
                ("pipedrive", self.pipedrive),
                ("file_drop", self.file_drop),
                ("google_ads", self.google_ads),
            )
            if cfg is not None and cfg.enabled
        }


class _Destination(_Connector):
    """What every reverse-ETL destination shares (connectors/reverse_etl.py).

    `mode`: `upsert` writes every scored lead, creating the records the CRM lacks; `update` only
    writes leads that already have a record there. A rejection that is not the payload's fault
    (rate limit, server fault) is retried on every run until it succeeds or has failed
    `max_attempts` times (72: three days of hourly runs); then it waits in ops.dead_letter until
    its payload changes or `leadflow dead-letters --requeue`."""

    mode: Literal["upsert", "update"] = "upsert"
    max_attempts: int = Field(72, ge=1)


class HubSpotDestinationConfig(_Destination):
    base_url: str = "https://api.hubapi.com"
    access_token_env: str = "HUBSPOT_ACCESS_TOKEN"
    batch_size: int = Field(100, ge=1, le=100)
    # Create LeadFlow's contact properties (leadflow_score, ...) through the properties API when
    # the portal lacks them; false: fail the push with a clear error naming the missing ones.
    create_properties: bool = True


class SalesforceDestinationConfig(_Destination):
    """Salesforce as a reverse-ETL destination: score and owner written onto Leads and Contacts
    with sObject Collections (at most 200 records a request); in `upsert` mode a lead Salesforce
    lacks becomes a Lead matched on LeadFlow_Lead_Id__c. `base_url` is the org's instance URL, and
    `access_token_env` or `oauth` the credentials, as for `SalesforceSourceConfig` (with `oauth`
    the push gets a new session when the org's session timeout ends the one it holds)."""

    base_url: str
    access_token_env: str = "SALESFORCE_ACCESS_TOKEN"
    oauth: SalesforceOAuthConfig | None = None
    api_version: Annotated[str, Field(pattern=r"^v\d+\.\d+$")] = "v62.0"
    batch_size: int = Field(200, ge=1, le=200)
    daily_request_budget: int | None = Field(None, ge=1)

    _instance_url = field_validator("base_url")(_salesforce_instance_url)


class PipedriveDestinationConfig(_Destination):
    """Pipedrive as a reverse-ETL destination: score fields and owner written onto the persons
    Pipedrive has, one PATCH per person (Pipedrive has no batch update); update only. `base_url`
    and `burst_limit` as for `PipedriveSourceConfig`."""

    base_url: str
    access_token_env: str = "PIPEDRIVE_API_TOKEN"
    burst_limit: int = Field(20, ge=1, le=480)
    mode: Literal["update"] = "update"

    _company_url = field_validator("base_url")(_pipedrive_base_url)


class LemlistDestinationConfig(_Connector):
    """Lemlist (sequencing): nurture tracks map to its campaigns. The API key is sent as the basic
    auth password; `access_token_env` names the variable holding it."""

    base_url: str = "https://api.lemlist.com"
    access_token_env: str = "LEMLIST_API_KEY"


class DestinationsConfig(_Model):
    hubspot: HubSpotDestinationConfig | None = None
    salesforce: SalesforceDestinationConfig | None = None
    pipedrive: PipedriveDestinationConfig | None = None
    lemlist: LemlistDestinationConfig | None = None

    def crms(self) -> dict[str, _Destination]:
        """The enabled CRM destinations the push writes scores and owners to, in push order."""
        return {
            name: cfg
            for name, cfg in (
                ("hubspot", self.hubspot),
                ("salesforce", self.salesforce),
                ("pipedrive", self.pipedrive),
            )
            if cfg is not None and cfg.enabled
        }


# --------------------------------------------------------------------------- enrichment


class FirmographicsConfig(_Connector):
    """The firmographics provider: Apollo's organization enrichment, one lookup per business email
    domain (connectors/apollo/README.md). Answers are kept in ops.company_enrichment for `ttl_days`;
    lookups are paced to `requests_per_minute` and capped at `daily_budget` a UTC day (counted in
    ops.enrichment_usage, so a restart does not reset it). When the provider is down the run goes on
    and the domains wait for a later run."""

    provider: Literal["apollo"] = "apollo"
    base_url: str = "https://api.apollo.io"
    access_token_env: str = "APOLLO_API_KEY"  # sent as the x-api-key header
    # An outage should cost a run seconds, not the hourly budget of retries a CRM push deserves.
    http: HttpSettings = HttpSettings(timeout_s=10.0, max_attempts=3, backoff_max_s=10.0)
    # How long an answer is trusted before the domain is looked up again; a "no such company"
    # answer is asked again sooner (the provider's database grows).
    ttl_days: float = Field(30.0, gt=0)
    not_found_ttl_days: float = Field(7.0, gt=0)
    # Client-side pace, under the plan's per-minute limit (Apollo's differ by plan); 0: no pacing.
    requests_per_minute: int = Field(45, ge=0)
    # Lookups a UTC day (each found organization costs an Apollo credit); 0 stops lookups.
    daily_budget: int = Field(500, ge=0)
    # The speed lane (intake/lane.py) looks up at most this many new domains a batch, each with one
    # attempt of at most lane_timeout_s; 0 keeps the lane on the cache. The hourly run does the rest.
    lane_lookups: int = Field(5, ge=0)
    lane_timeout_s: float = Field(2.0, gt=0)


class EnrichmentConfig(_Model):
    # Phone numbers written without a country code are read in the record's country, else here.
    default_region: str | None = Field(None, pattern=r"^[A-Z]{2}$")
    # Industry, employee band, revenue band and technologies per company domain; none: off.
    firmographics: FirmographicsConfig | None = None


# --------------------------------------------------------------------------- accounts


class AccountsConfig(_Model):
    """Lead-to-account matching (dedupe/accounts.py, docs/accounts.md): each lead to one CRM account
    (a HubSpot company) by domain, normalized company name, acronym or phone."""

    enabled: bool = True
    # Whether a domain alone matches a lead to an account (a domain with a matching name always
    # does): `always`, as the first rule; `fallback`, only when no name, acronym or phone matched;
    # `off`, never. Free-mail domains never match an account, whatever this says.
    domain_only: Literal["off", "fallback", "always"] = "always"


# --------------------------------------------------------------------------- scoring


class Condition(_Model):
    """A test on one lead field, or a group of tests.

    A leaf names a `field` and exactly one operator (`gte` and `lte` may go together):
    equals, in, not_in, contains (an item of a list-valued field such as technologies, or a substring
    of a text field; case-insensitive), matches (a regular expression), exists, gte, lte.
    A group is `all: [...]` (every test passes) or `any: [...]` (at least one passes), with no field.
    """

    field: str | None = None
    equals: str | int | float | bool | None = None
    in_: list[str] | None = Field(None, alias="in")
    not_in: list[str] | None = None
    contains: str | None = None
    matches: str | None = None
    exists: bool | None = None
    gte: float | None = None
    lte: float | None = None
    all_: list[Condition] | None = Field(None, alias="all")
    any_: list[Condition] | None = Field(None, alias="any")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _one_operator(self) -> Condition:
        groups = [k for k in ("all_", "any_") if getattr(self, k) is not None]
        ops = [
            k
            for k in ("equals", "in_", "not_in", "contains", "matches", "exists", "gte", "lte")
            if getattr(self, k) is not None
        ]
        if groups:
            if len(groups) > 1 or ops or self.field is not None:
                raise ValueError("a condition group is either all: [...] or any: [...], alone")
            if not getattr(self, groups[0]):
                raise ValueError(f"{groups[0].rstrip('_')}: needs at least one condition")
            return self
        if self.field is None:
            raise ValueError("a condition needs a field (or is an all: / any: group)")
        if not ops:
            raise ValueError(
                "a condition needs one of: equals, in, not_in, contains, matches, exists, gte, lte"
            )
        if len(ops) > 1 and set(ops) != {"gte", "lte"}:
            raise ValueError(f"a condition takes one operator, got {', '.join(ops)}")
        if self.matches is not None:
            try:
                re.compile(self.matches)
            except re.error as exc:
                raise ValueError(f"matches is not a valid regular expression: {exc}") from exc
        return self


class PointRule(_Model):
    name: str
    when: Condition
    points: int


class IntentEventRule(_Model):
    """Points per occurrence of an event, halving every `half_life_days` so old activity fades."""

    event: str
    points: float
    half_life_days: float = Field(gt=0)
    max_occurrences: int = Field(10, ge=1)


class RuleGroup(_Model):
    cap: int = Field(ge=0, le=100)
    rules: list[PointRule] = []


class IntentGroup(_Model):
    cap: int = Field(ge=0, le=100)
    events: list[IntentEventRule] = []


class Bands(_Model):
    """Lower bounds, highest first, e.g. {A: 80, B: 60, ...}."""

    grades: dict[str, int] = {"A": 80, "B": 60, "C": 40, "D": 20, "E": 0}
    temperature: dict[str, int] = {"hot": 70, "warm": 40, "cold": 0}


# dbt_project.yml's `funnel_stages`, in order (tests/scoring/test_outcomes.py keeps them equal), and
# HubSpot's lifecycle stage names accepted as synonyms for them.
FUNNEL_STAGES: tuple[str, ...] = ("lead", "mql", "sql", "opportunity", "won")
STAGE_ALIASES: dict[str, str] = {
    "marketingqualifiedlead": "mql",
    "salesqualifiedlead": "sql",
    "customer": "won",
}

# The fields a history export can map, per file (LeadFlow field -> the export's column name).
HISTORY_LEAD_FIELDS = (
    "lead_id",
    "created_at",
    "email",
    "email_domain",
    "is_free_email",
    "job_title",
    "company",
    "phone",
    "country_code",
    "source",
    "industry",
    "employee_count",
    "seniority",
    "department",
)
HISTORY_ACTIVITY_FIELDS = ("lead_id", "event", "occurred_at")
HISTORY_OUTCOME_FIELDS = ("lead_id", "converted_at", "won", "closed_at")


class HistoryColumns(_Model):
    """Which column of each export file holds each LeadFlow field; unmapped fields keep their name."""

    leads: dict[str, str] = {}
    activities: dict[str, str] = {}
    outcomes: dict[str, str] = {}

    @model_validator(mode="after")
    def _known_fields(self) -> HistoryColumns:
        for file, allowed in (
            ("leads", HISTORY_LEAD_FIELDS),
            ("activities", HISTORY_ACTIVITY_FIELDS),
            ("outcomes", HISTORY_OUTCOME_FIELDS),
        ):
            unknown = sorted(set(getattr(self, file)) - set(allowed))
            if unknown:
                raise ValueError(
                    f"{file}: unknown field {unknown[0]!r}; map one of: {', '.join(allowed)}"
                )
        return self


class HistoryExportConfig(_Model):
    """A CRM's past as CSV or Parquet files, to train the model before LeadFlow has history."""

    leads: Path
    activities: Path | None = None
    outcomes: Path
    columns: HistoryColumns = HistoryColumns()
    # Activity names in the export -> LeadFlow intent events (e.g. "Demo Requested": demo_request).
    events: dict[str, str] = {}


class ModelConfig(_Model):
    """The predictive model: what counts as converting, the data it needs, how it is regularized."""

    # Reaching this funnel stage (or a later one) within window_days of the scoring moment is a
    # conversion: lead | mql | sql | opportunity | won (HubSpot's names are accepted too).
    conversion_stage: str = "opportunity"
    window_days: int = Field(90, ge=1)
    # A lead is scored this long after it was created; features see only what was known by then.
    feature_delay_hours: float = Field(24, ge=0)
    min_leads: int = Field(1000, ge=1)  # matured leads in the training set
    min_conversions: int = Field(120, ge=1)  # conversions among them
    min_holdout_leads: int = Field(200, ge=1)
    min_holdout_conversions: int = Field(20, ge=1)
    holdout_fraction: float = Field(0.2, gt=0, lt=1)
    regularization_c: float = Field(1.0, gt=0)  # LogisticRegression's C (smaller = simpler)
    # Activate a new model only if its holdout AUC beats the rules score's on the same leads.
    require_beats_rules: bool = True
    history_export: HistoryExportConfig | None = None

    @model_validator(mode="after")
    def _known_stage(self) -> ModelConfig:
        name = self.conversion_stage.strip().lower()
        if STAGE_ALIASES.get(name, name) not in FUNNEL_STAGES:
            choices = ", ".join(FUNNEL_STAGES + tuple(STAGE_ALIASES))
            raise ValueError(
                f"unknown conversion_stage {self.conversion_stage!r}; use one of: {choices}"
            )
        return self


class ScoringConfig(_Model):
    model_version: str = "rules-v1"
    # Scores decay with time; recomputing them at a day's resolution means an unchanged lead keeps the
    # same score (and is not pushed again) for the rest of the day.
    decay_resolution: Literal["day", "hour"] = "day"
    fit: RuleGroup = RuleGroup(cap=60)
    intent: IntentGroup = IntentGroup(cap=40)
    negative: RuleGroup = RuleGroup(cap=50)
    bands: Bands = Bands()
    mql_threshold: int = Field(60, ge=0, le=100)
    # A score at or above it makes the lead an SQL (a lifecycle event); none means no SQL threshold.
    sql_threshold: int | None = Field(None, ge=0, le=100)
    # How many factors the CRM's reasons field names (every factor is stored in ops.lead_scores).
    top_factors: int = Field(5, ge=1, le=20)
    # Email domains of competitors (a subdomain matches too); rules test the derived
    # `is_competitor_domain` field, e.g. a negative rule {field: is_competitor_domain, equals: true}.
    competitor_domains: list[str] = []
    # rules | model | blend. The model is used only once one is trained and active (`leadflow
    # train`); until then every mode scores with the rules. blend = blend_weight * model +
    # (1 - blend_weight) * rules, both on 0-100.
    mode: Literal["rules", "model", "blend"] = "rules"
    blend_weight: float = Field(0.5, ge=0, le=1)
    model: ModelConfig = ModelConfig()

    @model_validator(mode="after")
    def _negative_points(self) -> ScoringConfig:
        for rule in self.negative.rules:
            if rule.points > 0:
                raise ValueError(f"negative rule {rule.name!r} must have points <= 0")
        if self.sql_threshold is not None and self.sql_threshold < self.mql_threshold:
            raise ValueError(
                f"sql_threshold ({self.sql_threshold}) must be >= mql_threshold ({self.mql_threshold})"
            )
        return self


# --------------------------------------------------------------------------- availability (rep calendar)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


class OutOfOffice(_Model):
    """An absence. Dates are whole days (both ends inclusive); datetimes without an offset are read
    in the rep's own time zone, like the working hours."""

    start: datetime | date
    end: datetime | date

    @field_validator("start", "end", mode="before")
    @classmethod
    def _date_text_is_a_date(cls, value: Any) -> Any:
        # "2026-12-01" (quoted in YAML, or from JSON) means the whole day, not midnight.
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
            return date.fromisoformat(value.strip())
        return value

    @model_validator(mode="after")
    def _ordered(self) -> OutOfOffice:
        if type(self.start) is not type(self.end):
            raise ValueError("out_of_office start and end must both be dates or both datetimes")
        if (
            isinstance(self.start, datetime)
            and isinstance(self.end, datetime)
            and (self.start.tzinfo is None) != (self.end.tzinfo is None)
        ):
            raise ValueError("out_of_office start and end must both have a UTC offset or neither")
        if self.end < self.start:
            raise ValueError("out_of_office end is before its start")
        return self


class Availability(_Model):
    """When a rep can take a lead: weekly working hours in the rep's time zone, absences, a pause.

    `working_hours` maps a weekday (mon..sun) to "HH:MM-HH:MM"; a day not listed is not worked. An end
    earlier than the start (e.g. "22:00-06:00") is an overnight shift that runs into the next day.
    """

    timezone: str = "UTC"
    working_hours: dict[str, str] = {d: "09:00-17:00" for d in WEEKDAYS[:5]}
    out_of_office: list[OutOfOffice] = []
    holidays: list[date] = []
    paused: bool = False

    @model_validator(mode="after")
    def _valid(self) -> Availability:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"timezone {self.timezone!r} is not an IANA time zone (e.g. Europe/Berlin)"
            ) from None
        if not self.working_hours:
            raise ValueError(
                "working_hours lists no day (to stop a rep taking leads, set paused: true)"
            )
        for day, hours in self.working_hours.items():
            if day not in WEEKDAYS:
                raise ValueError(f"working_hours: {day!r} is not a weekday ({', '.join(WEEKDAYS)})")
            m = _HOURS_RE.match(hours.strip())
            if not m or (m.group(3) == "24" and m.group(4) != "00"):
                raise ValueError(f"working_hours.{day}: {hours!r} is not HH:MM-HH:MM")
            if m.group(1, 2) == m.group(3, 4):
                raise ValueError(f"working_hours.{day}: {hours!r} is an empty range")
        return self


# --------------------------------------------------------------------------- routing


ROUTING_FIELD = r"^[a-z_][a-z0-9_]*$"
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class When(_Model):
    """A routing condition: one test on a lead field, or an `all` / `any` group of conditions.

    Operators: `equals`, `in`, `gte` / `lte` (a range; either end may be open), `regex` (searched,
    Python syntax), `exists`. Strings compare case-insensitively; a missing value (null) matches only
    `exists: false`. Groups nest: `{any: [{field: a, equals: 1}, {all: [...]}]}`.
    """

    field: Annotated[str, Field(pattern=ROUTING_FIELD)] | None = None
    equals: str | int | float | bool | None = None
    in_: list[str | int | float | bool] | None = Field(None, alias="in")
    gte: float | None = None
    lte: float | None = None
    regex: str | None = None
    exists: bool | None = None
    all: list[When] | None = None
    any: list[When] | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _shape(self) -> When:
        groups = [g for g in ("all", "any") if getattr(self, g) is not None]
        ops = [
            k
            for k in ("equals", "in_", "gte", "lte", "regex", "exists")
            if getattr(self, k) is not None
        ]
        if groups:
            if len(groups) > 1 or self.field is not None or ops:
                raise ValueError("a condition group takes exactly one of all / any, and no field")
            if not getattr(self, groups[0]):
                raise ValueError(f"the {groups[0]} group is empty")
            return self
        if self.field is None:
            raise ValueError("a condition needs a field (or is an all / any group)")
        if not ops:
            raise ValueError(
                f"condition on {self.field!r} needs one of: equals, in, gte, lte, regex, exists"
            )
        if len(ops) > 1 and set(ops) != {"gte", "lte"}:
            raise ValueError(
                f"condition on {self.field!r} takes one operator, got {', '.join(ops)}"
            )
        if self.regex is not None:
            try:
                re.compile(self.regex)
            except re.error as exc:
                raise ValueError(f"regex for {self.field!r} is not valid: {exc}") from exc
        return self

    def fields(self) -> set[str]:
        """Every lead field this condition reads."""
        if self.field is not None:
            return {self.field}
        return set().union(*(c.fields() for c in (self.all or self.any or [])))


class RoutingRule(_Model):
    """One routing rule: when `when` matches (no `when`: every lead), take exactly one action.

    Actions: `sticky: true` (keep the lead's CRM owner if active), `account_owner: true` (the owner
    of the lead's account), `pool: <name>`, `rep: <email>`, `queue: <name>`.
    """

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_:.-]*$")]
    when: When | None = None
    sticky: bool = False
    account_owner: bool = False
    pool: str | None = None
    rep: str | None = None
    queue: str | None = None

    @model_validator(mode="after")
    def _one_action(self) -> RoutingRule:
        actions = [
            a
            for a, on in (
                ("sticky", self.sticky),
                ("account_owner", self.account_owner),
                ("pool", self.pool is not None),
                ("rep", self.rep is not None),
                ("queue", self.queue is not None),
            )
            if on
        ]
        if len(actions) != 1:
            raise ValueError(
                f"rule {self.name!r} needs exactly one action (sticky, account_owner, pool, rep or "
                f"queue), got {', '.join(actions) or 'none'}"
            )
        if self.rep is not None and not _EMAIL_RE.match(self.rep):
            raise ValueError(f"rule {self.name!r}: rep must be a CRM owner's email")
        return self

    @property
    def action(self) -> str:
        if self.sticky:
            return "sticky"
        if self.account_owner:
            return "account_owner"
        return "pool" if self.pool is not None else "rep" if self.rep is not None else "queue"


class PoolConfig(_Model):
    """Reps (CRM owner emails) that take turns.

    `round_robin`: by turn, weighted (smooth weighted round robin: realized shares converge to the
    weights). `fewest`: the rep with the fewest assignments in the `period` (per unit of weight).
    `skills` maps a lead field to a rep skill (e.g. {language: language}): a lead with a value there
    only goes to reps whose skill lists it. `when_unavailable`: nobody in the pool can take the lead
    -> `next_rule` (keep evaluating) or `hold` (leave it unassigned; the next run routes it again).
    """

    reps: list[str]
    strategy: Literal["round_robin", "fewest"] = "round_robin"
    period: Literal["day", "week", "month"] = "day"
    skills: dict[str, str] = {}
    when_unavailable: Literal["next_rule", "hold"] = "next_rule"

    @model_validator(mode="before")
    @classmethod
    def _list_shorthand(cls, data: Any) -> Any:
        return {"reps": data} if isinstance(data, list) else data

    @model_validator(mode="after")
    def _reps_valid(self) -> PoolConfig:
        if not self.reps:
            raise ValueError("a pool needs at least one rep")
        lowered = [r.lower() for r in self.reps]
        if len(set(lowered)) != len(lowered):
            raise ValueError("a rep is listed twice in the pool")
        for rep in self.reps:
            if not _EMAIL_RE.match(rep):
                raise ValueError("pool reps must be CRM owner emails")
        for lead_field in self.skills:
            if not re.match(ROUTING_FIELD, lead_field):
                raise ValueError(f"skills: {lead_field!r} is not a lead field name")
        return self


class RepCaps(_Model):
    """Most leads a rep takes per period (calendar periods in the rep's time zone) and open at once."""

    per_hour: int | None = Field(None, ge=0)
    per_day: int | None = Field(None, ge=0)
    per_week: int | None = Field(None, ge=0)
    per_month: int | None = Field(None, ge=0)
    open: int | None = Field(None, ge=0)


class RepConfig(_Model):
    """The per-rep overlay on the CRM owner roster (keyed by the rep's email)."""

    weight: float = Field(1.0, gt=0)
    caps: RepCaps = RepCaps()
    availability: Availability | None = None  # none: always available
    skills: dict[str, list[str]] = {}  # skill -> values, e.g. {language: [en, de]}


class RoutingConfig(_Model):
    """Ordered first-match rules, pools, the rep overlay and a catch-all owner. See docs/routing.md."""

    eligible: When | None = None  # which leads are routed at all; none: every lead
    rules: list[RoutingRule] = []
    pools: dict[str, PoolConfig] = {}
    reps: dict[str, RepConfig] = {}
    fallback_owner: str | None = None  # a rep email
    lease_wait_s: float = Field(30.0, ge=0)  # how long a second router waits for the first
    # a lease of a stuck thread of this process expires after this; another process's at once
    lease_ttl_s: float = Field(600.0, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _old_keys(cls, data: Any) -> Any:
        if isinstance(data, dict) and ("territories" in data or "keep_existing_owner" in data):
            raise ValueError(
                "territories / keep_existing_owner were replaced by rules "
                "(a sticky rule, then one rule per territory); see docs/routing.md"
            )
        return data

    @model_validator(mode="after")
    def _references_exist(self) -> RoutingConfig:
        names = [r.name for r in self.rules]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"rule names must be unique: {', '.join(duplicates)}")
        for rule in self.rules:
            if rule.pool is not None and rule.pool not in self.pools:
                raise ValueError(
                    f"rule {rule.name!r} names pool {rule.pool!r}, which is not under pools"
                )
        for email in self.reps:
            if not _EMAIL_RE.match(email):
                raise ValueError(f"reps: {email!r} is not an email (reps are keyed by email)")
        if self.fallback_owner is not None and not _EMAIL_RE.match(self.fallback_owner):
            raise ValueError("fallback_owner must be a CRM owner's email")
        return self

    def named_reps(self) -> dict[str, str]:
        """Every rep email the config names -> where (for the roster check at route time)."""
        named: dict[str, str] = {}
        for pool, cfg in self.pools.items():
            for n, rep in enumerate(cfg.reps):
                named.setdefault(rep.lower(), f"pools.{pool}.reps[{n}]")
        for rule in self.rules:
            if rule.rep is not None:
                named.setdefault(rule.rep.lower(), f"rules.{rule.name}.rep")
        if self.fallback_owner:
            named.setdefault(self.fallback_owner.lower(), "fallback_owner")
        return named


# --------------------------------------------------------------------------- nurture and recycle


class NurtureTrack(_Model):
    """A nurture track: the first track whose `when` matches a lead takes it (no `when`: any lead)."""

    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")]
    when: Condition | None = None
    lemlist_campaign_id: str | None = None  # the Lemlist campaign that runs the track, if any


class NurtureConfig(_Model):
    """Leads not ready for sales go to a nurture track and leave it on an exit trigger; leads with
    no activity for `recycle_after_days` are recycled (back to nurture) or closed by a daily flow.
    See docs/nurture.md."""

    enabled: bool = True
    tracks: list[NurtureTrack] = []
    # HubSpot hs_lead_status values that count as disqualified (enrolled even when not below the
    # MQL threshold).
    disqualified_statuses: list[str] = ["UNQUALIFIED"]
    # Intent events (int_lead_events_unioned.event) that count as a pricing visit: an exit trigger.
    pricing_events: list[str] = ["pricing_request"]
    recycle_after_days: int = Field(60, ge=1)
    # Stale leads matching this are closed (disqualified); the others are recycled.
    close_when: Condition | None = None
    # The track recycled leads go back to; default: the first track whose condition matches.
    recycle_track: str | None = None
    recycled_lead_status: str = "BAD_TIMING"  # hs_lead_status set on a recycled lead
    closed_lead_status: str = "UNQUALIFIED"  # hs_lead_status set on a closed lead

    @model_validator(mode="after")
    def _tracks_valid(self) -> NurtureConfig:
        names = [t.name for t in self.tracks]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"nurture track names must be unique: {', '.join(duplicates)}")
        if self.recycle_track is not None and self.recycle_track not in names:
            raise ValueError(
                f"recycle_track {self.recycle_track!r} is not one of the tracks ({', '.join(names)})"
            )
        return self


# --------------------------------------------------------------------------- SLAs and notifications


class SlaPolicy(_Model):
    """First-touch SLA: leads matching `when` (none: every lead) must be touched by their owner within
    `within_minutes` working minutes of the owner's calendar. The first matching policy applies."""

    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")]
    when: Condition | None = None
    within_minutes: float = Field(gt=0)
    action: Literal["record", "escalate", "reroute"] = "record"


class SlaConfig(_Model):
    """First-touch SLAs, checked each run before routing (routing/sla.py; docs/notifications.md)."""

    enabled: bool = True
    policies: list[SlaPolicy] = []
    # Who hears of an `escalate` breach: a manager's email (and the Slack webhook, if enabled).
    escalate_to: str | None = None
    # Leads whose owner was kept from the CRM (a sticky rule) are not on LeadFlow's clock.
    include_kept_owners: bool = False

    @model_validator(mode="after")
    def _valid(self) -> SlaConfig:
        names = [p.name for p in self.policies]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"sla policy names must be unique: {', '.join(duplicates)}")
        if self.escalate_to is not None and not _EMAIL_RE.match(self.escalate_to):
            raise ValueError("escalate_to must be an email address")
        if any(p.action == "escalate" for p in self.policies) and self.escalate_to is None:
            raise ValueError("a policy escalates, so sla.escalate_to needs a manager's email")
        return self


class SlackNotifyConfig(_Model):
    """A Slack incoming webhook. The URL is a secret: it is read from `webhook_url_env`, never the file."""

    enabled: bool = True
    webhook_url_env: str = "LEADFLOW_SLACK_WEBHOOK_URL"
    # Slack accepts about one message per second per webhook; the client keeps this gap between posts.
    min_interval_s: float = Field(1.1, ge=0)  # 1 s plus a margin for arrival jitter
    timeout_s: float = Field(10.0, gt=0)
    # Assignments waiting together go out as one message listing up to this many leads (a digest),
    # so a burst is announced in seconds, not a message a second; 1 sends one message per lead.
    # Slack allows 50 blocks a message: a header, a line per lead and a footer.
    max_leads_per_message: int = Field(40, ge=1, le=48)

    def webhook_url(self) -> SecretStr:
        return read_secret(self.webhook_url_env)


class EmailNotifyConfig(_Model):
    """SMTP delivery (smtplib). Credentials, when the server wants them, come from the environment."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(8705, ge=1, le=65535)
    from_address: str = "leadflow@localhost.localdomain"
    username_env: str | None = None
    password_env: str | None = None
    starttls: bool = False
    timeout_s: float = Field(10.0, gt=0)

    @model_validator(mode="after")
    def _valid(self) -> EmailNotifyConfig:
        if not _EMAIL_RE.match(self.from_address):
            raise ValueError("from_address must be an email address")
        if (self.username_env is None) != (self.password_env is None):
            raise ValueError("set both username_env and password_env, or neither")
        return self


NotifyChannel = Literal["slack", "email"]


class NotificationsConfig(_Model):
    """Who hears what: per event, the channels used. See docs/notifications.md.

    Off unless switched on: a run must not fail for want of a Slack webhook nobody asked for."""

    enabled: bool = False
    slack: SlackNotifyConfig = SlackNotifyConfig()
    email: EmailNotifyConfig = EmailNotifyConfig()
    events: dict[Literal["assignment", "sla_breach", "escalation"], list[NotifyChannel]] = {
        "assignment": ["slack", "email"],
        "sla_breach": ["slack", "email"],
        "escalation": ["slack", "email"],
    }
    # The CRM account id in record links; none: asked from HubSpot's /account-info/v3/details.
    hubspot_portal_id: int | None = None
    max_per_run: int = Field(100, ge=1)  # per channel; the rest waits for the next run
    max_attempts: int = Field(5, ge=1)  # a message failing this often is given up (status failed)
    # Switched on over an existing warehouse, older assignments and breaches are not announced.
    max_age_hours: float = Field(24.0, gt=0)


# --------------------------------------------------------------------------- intake (leadflow serve)


class IntakeSourceConfig(_Model):
    """One webhook source of `leadflow serve`: the variable holding its signing secret, its rate
    limit (requests a second, with a burst) and, for the sources that only arrive by webhook, the
    intent event each of its forms counts as."""

    enabled: bool = True
    secret_env: str
    rate_per_second: float = Field(50.0, gt=0)
    burst: int = Field(200, ge=1)
    forms: list[FormConfig] = []

    def secret(self) -> SecretStr:
        return read_secret(self.secret_env)


class MetaIntakeConfig(IntakeSourceConfig):
    secret_env: str = "META_APP_SECRET"  # X-Hub-Signature-256 is keyed with the app secret
    verify_token_env: str = "META_WEBHOOK_VERIFY_TOKEN"  # echoed by the GET subscription check


class TypeformIntakeConfig(IntakeSourceConfig):
    secret_env: str = "TYPEFORM_WEBHOOK_SECRET"


class HubSpotIntakeConfig(IntakeSourceConfig):
    secret_env: str = "HUBSPOT_CLIENT_SECRET"  # the app's client secret signs v3 requests


class GoogleAdsIntakeConfig(IntakeSourceConfig):
    secret_env: str = "GOOGLE_ADS_WEBHOOK_KEY"  # the google_key set on the lead form's webhook


class WebformIntakeConfig(IntakeSourceConfig):
    secret_env: str = "LEADFLOW_WEBFORM_SECRET"


class SpeedLaneConfig(_Model):
    """The speed-to-lead lane of `leadflow serve` (intake/lane.py): accepted leads scored, routed,
    pushed and announced at once, in micro-batches, instead of at the next hourly run."""

    enabled: bool = True
    # A batch runs on every stored request; this often regardless (a missed wake-up, a retry).
    poll_s: float = Field(30.0, gt=0)
    # How long a batch waits for the warehouse's run lock before it steps aside for this long.
    lock_wait_s: float = Field(2.0, ge=0)
    busy_retry_s: float = Field(5.0, gt=0)


class IntakeConfig(_Model):
    """`leadflow serve`: the webhook intake (intake/). Every request is verified, then stored in a
    SQLite inbox before it is answered; the hourly run lands whatever the inbox holds."""

    host: str = "127.0.0.1"
    port: int = Field(8710, ge=1, le=65535)
    # The address vendors call, when it differs from host:port (a proxy): HubSpot signs it.
    public_url: str | None = None
    inbox: Path = Path(".leadflow/inbox.sqlite")
    max_body_bytes: int = Field(262_144, ge=1_024)
    # Signed timestamps older (or further ahead) than this are replays: HubSpot's own rule is 5 min.
    replay_window_s: int = Field(300, ge=1)
    meta: MetaIntakeConfig | None = None
    typeform: TypeformIntakeConfig | None = None
    hubspot: HubSpotIntakeConfig | None = None
    google_ads: GoogleAdsIntakeConfig | None = None
    webform: WebformIntakeConfig | None = None
    speed_lane: SpeedLaneConfig = SpeedLaneConfig()

    def enabled(self) -> dict[str, IntakeSourceConfig]:
        return {
            name: cfg
            for name in ("meta", "typeform", "hubspot", "google_ads", "webform")
            if (cfg := getattr(self, name)) is not None and cfg.enabled
        }


# --------------------------------------------------------------------------- identity resolution

# The columns the probabilistic stage compares and blocks on (dedupe/probabilistic.py builds them
# from ops.lead_records): names folded to lower-case ASCII letters, first_canon the first name with a
# known nickname replaced by its canonical form, email_local the address before the @ (no +tag),
# company the name folded with legal suffixes removed, phone the E.164 number.
IDENTITY_FEATURES = (
    "first_name",
    "last_name",
    "first_canon",
    "email",
    "email_local",
    "email_name",
    "full_name",
    "email_domain",
    "is_free_email",
    "phone",
    "company",
)
# Pairs of records are only scored when one of these holds (Splink's blocking rules, SQL on l./r.):
# each is an equality on fairly selective keys, so the work grows about linearly with the records.
DEFAULT_BLOCKING_RULES = (
    "l.first_canon = r.first_canon and l.last_name = r.last_name",
    "l.first_name = r.last_name and l.last_name = r.first_name",
    "l.phone = r.phone and l.first_canon = r.first_canon",
    "l.phone = r.phone and l.last_name = r.last_name",
    "l.last_name = r.last_name and l.company = r.company",
    "l.company = r.company and left(l.first_name, 2) = left(r.first_name, 2)"
    " and left(l.last_name, 1) = left(r.last_name, 1)",
    "l.first_canon = r.first_canon and l.email_domain = r.email_domain and not l.is_free_email"
    " and left(l.last_name, 1) = left(r.last_name, 1)",
    # A last name missing or mistyped on one record: the company and the first name (about 5
    # million more pairs at a million records).
    "l.company = r.company and l.first_canon = r.first_canon",
)
_BLOCKING_COLUMN = re.compile(r"\b[lr]\.([A-Za-z_][A-Za-z0-9_]*)")


class NameComparisonConfig(_Model):
    """A first- or last-name comparison: its Jaro-Winkler similarity levels, high then low."""

    enabled: bool = True
    similarity: tuple[float, float] = (0.92, 0.85)

    @field_validator("similarity")
    @classmethod
    def _descending(cls, value: tuple[float, float]) -> tuple[float, float]:
        if not (1 > value[0] > value[1] > 0):
            raise ValueError("two Jaro-Winkler thresholds between 0 and 1, the higher first")
        return value


class FuzzyComparisonConfig(_Model):
    """A comparison with one Jaro-Winkler similarity level below exact (email local part, company)."""

    enabled: bool = True
    similarity: float = Field(0.9, gt=0, lt=1)


class ToggleComparisonConfig(_Model):
    enabled: bool = True


class IdentityComparisons(_Model):
    first_name: NameComparisonConfig = NameComparisonConfig()
    last_name: NameComparisonConfig = NameComparisonConfig()
    email_local: FuzzyComparisonConfig = FuzzyComparisonConfig(similarity=0.88)
    phone: ToggleComparisonConfig = ToggleComparisonConfig()
    company: FuzzyComparisonConfig = FuzzyComparisonConfig()
    email_domain: ToggleComparisonConfig = ToggleComparisonConfig()


# The golden record's fields a survivorship rule may be set for (int_leads_unified).
SURVIVOR_FIELDS = (
    "email",
    "phone_e164",
    "first_name",
    "last_name",
    "company",
    "job_title",
    "industry",
    "employee_band",
    "country_code",
)
SurvivorshipRule = Literal["source_priority", "most_recent", "most_complete"]


class SurvivorshipConfig(_Model):
    """Which record's value a lead's golden record keeps when its records disagree (dbt's
    int_leads_unified): per field, `source_priority` (the first source in `source_priority` that
    has a value, then the newest record), `most_recent` (the newest record with a value) or
    `most_complete` (the record with the most identity fields filled)."""

    source_priority: list[str] = ["hubspot", "typeform", "webform", "meta", "google_ads"]
    default: SurvivorshipRule = "source_priority"
    fields: dict[str, SurvivorshipRule] = {}

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, fields: dict[str, SurvivorshipRule]) -> dict[str, SurvivorshipRule]:
        unknown = sorted(set(fields) - set(SURVIVOR_FIELDS))
        if unknown:
            raise ValueError(f"{', '.join(unknown)}: the fields are {', '.join(SURVIVOR_FIELDS)}")
        return fields

    @field_validator("source_priority")
    @classmethod
    def _distinct(cls, sources: list[str]) -> list[str]:
        if not sources or len(set(sources)) != len(sources):
            raise ValueError("a list of source names, each once")
        return sources

    def dbt_vars(self) -> dict[str, Any]:
        return {
            "source_priority": {name: rank for rank, name in enumerate(self.source_priority, 1)},
            "survivorship": {"default": self.default, "fields": dict(self.fields)},
        }


class IdentityConfig(_Model):
    """Identity resolution (dedupe/, docs/identity.md): deterministic rules, then a probabilistic
    stage (Splink on DuckDB) that matches records with no lead yet against the existing ones."""

    probabilistic: bool = True
    # A pair is linked at or above this match probability (and only when the guards allow it).
    threshold: float = Field(0.8, ge=0.5, lt=1)
    # m/u parameters (JSON written by `python -m dedupe.train`); unset: the ones shipped in dedupe/.
    model: Path | None = None
    # A cap on the probabilistic stage's own DuckDB (MB): past it, its joins spill to a temporary
    # directory instead of growing. Unset: DuckDB's default, 80 % of the machine's memory.
    memory_limit_mb: int | None = Field(None, ge=256)
    blocking_rules: list[str] = list(DEFAULT_BLOCKING_RULES)
    comparisons: IdentityComparisons = IdentityComparisons()
    # The golden record's survivorship (dbt's int_leads_unified).
    survivorship: SurvivorshipConfig = SurvivorshipConfig()

    @field_validator("blocking_rules")
    @classmethod
    def _known_columns(cls, rules: list[str]) -> list[str]:
        if not rules:
            raise ValueError("at least one blocking rule (an SQL condition on l. and r. columns)")
        for rule in rules:
            columns = set(_BLOCKING_COLUMN.findall(rule))
            if not columns:
                raise ValueError(f"'{rule}' compares no l./r. column")
            unknown = sorted(columns - set(IDENTITY_FEATURES))
            if unknown:
                raise ValueError(
                    f"'{rule}' uses {', '.join(unknown)}; the columns are {', '.join(IDENTITY_FEATURES)}"
                )
        return rules


# --------------------------------------------------------------------------- root


class Settings(_Model):
    warehouse: WarehouseConfig = WarehouseConfig()
    sandbox: SandboxConfig = SandboxConfig()
    sources: SourcesConfig = SourcesConfig()
    destinations: DestinationsConfig = DestinationsConfig()
    enrichment: EnrichmentConfig = EnrichmentConfig()
    accounts: AccountsConfig = AccountsConfig()
    scoring: ScoringConfig = ScoringConfig()
    routing: RoutingConfig = RoutingConfig()
    nurture: NurtureConfig = NurtureConfig()
    sla: SlaConfig = SlaConfig()
    notifications: NotificationsConfig = NotificationsConfig()
    intake: IntakeConfig = IntakeConfig()
    identity: IdentityConfig = IdentityConfig()

    # Where the file was read from; relative paths in it are resolved against its folder.
    root: Path = Field(default=Path("."), exclude=True)

    def secret_env_names(self) -> list[str]:
        """Every environment variable the config names for a secret (fields ending in `_env`)."""
        names: list[str] = []

        def walk(value: Any) -> None:
            if isinstance(value, BaseModel):
                for name in type(value).model_fields:
                    item = getattr(value, name)
                    if name.endswith("_env") and isinstance(item, str):
                        names.append(item)
                    else:
                        walk(item)
            elif isinstance(value, dict):
                for item in value.values():
                    walk(item)
            elif isinstance(value, list | tuple):
                for item in value:
                    walk(item)

        walk(self)
        return sorted(set(names))

    def resolve(self, path: Path) -> Path:
        return path if path.is_absolute() else (self.root / path).resolve()

    @property
    def warehouse_path(self) -> Path:
        return self.resolve(self.warehouse.path)

    @property
    def inbox_path(self) -> Path:
        return self.resolve(self.intake.inbox)


def secret_block_name(env_name: str) -> str:
    """The Prefect Secret block read when `env_name` is not set: HUBSPOT_ACCESS_TOKEN is looked up
    as the block `hubspot-access-token` (block names are lower case with dashes)."""
    return env_name.strip().lower().replace("_", "-")


def read_secret(env_name: str) -> SecretStr:
    """A secret from the environment variable `env_name`, else from the Prefect Secret block of the
    same name (`secret_block_name`). Whatever is read is masked in every log line from then on."""
    value = os.environ.get(env_name, "")
    if not value:
        block = secret_block_name(env_name)
        value, problem = _prefect_secret(block)
        if not value:
            raise ConfigError(
                f"{env_name} is not set and {problem}: export it with the token for this connector,"
                f" or save the token as the Prefect Secret block '{block}'"
            )
    register_secret(value)
    return SecretStr(value)


def _prefect_secret(block: str) -> tuple[str, str]:
    """(the value, "") of the Prefect Secret block `block`, or ("", why it could not be read).

    Only tried when Prefect's API is configured (PREFECT_API_URL: every worker and deployment run,
    the test harness): without one, Prefect would start a temporary server just to find nothing.
    """
    from prefect.settings import get_current_settings

    if not get_current_settings().api.url:
        return (
            "",
            f"no Prefect API is configured (PREFECT_API_URL) to read the Secret block '{block}'",
        )
    from prefect.blocks.system import Secret
    from prefect.exceptions import ObjectNotFound

    try:
        secret = cast(Secret, Secret.load(block))  # sync here: aload is the async form
    except (ValueError, ObjectNotFound):
        return "", f"there is no Prefect Secret block '{block}'"
    except Exception as exc:  # the API unreachable or refusing: say so, without its message
        return "", f"the Prefect Secret block '{block}' could not be read ({type(exc).__name__})"
    value = secret.get()
    if not isinstance(value, str) or not value:
        return "", f"the Prefect Secret block '{block}' does not hold a non-empty string"
    return value, ""


def _format_error(source: str, err: ValidationError) -> str:
    first = err.errors()[0]
    loc = ".".join(str(p) for p in first["loc"] if p != "__root__") or "(top level)"
    msg = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        msg = "unknown key (check its spelling and indentation)"
    more = len(err.errors()) - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"{source}: {loc}: {msg}{suffix}"


def parse_settings(
    data: Any, *, source: str = "leadflow.yml", root: Path | None = None
) -> Settings:
    """Validate an already-parsed mapping; raise ConfigError with one line on the first problem."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{source}: the file must hold a mapping of sections (warehouse, sources, ...)"
        )
    try:
        settings = Settings.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_format_error(source, err)) from None
    return settings.model_copy(update={"root": (root or Path.cwd()).resolve()})


def load_settings(path: Path | str | None = None) -> Settings:
    """Read leadflow.yml (or $LEADFLOW_CONFIG, or `path`) and validate it."""
    cfg_path = Path(path or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)
    if not cfg_path.is_file():
        raise ConfigError(f"{cfg_path}: no such config file (pass --config or set {CONFIG_ENV})")
    try:
        data = yaml.safe_load(cfg_path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise ConfigError(f"{cfg_path}:{where}: {problem}") from None
    return parse_settings(data, source=str(cfg_path), root=cfg_path.parent)
