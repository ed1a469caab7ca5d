"""Typed configuration: `leadflow.yml` plus the environment, loaded in one place.

Nothing reads the config at import time. `load_settings()` is called by the CLI and by the flow; every
other module receives the pieces it needs as arguments. Secrets are never written in the file: each
connector names the environment variable holding its token (`access_token_env`), and the token is
read only when a client is built, as a `SecretStr`.

A user mistake (a typo in a key, a value out of range, a missing file or variable) raises
`ConfigError` whose message is one line naming the key and the problem; the CLI prints it without a
traceback.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

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


class SandboxPorts(_Model):
    hubspot: int = Field(8701, ge=0, le=65535)
    meta: int = Field(8702, ge=0, le=65535)
    typeform: int = Field(8703, ge=0, le=65535)


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


class FormConfig(_Model):
    """A lead form and the intent event a submission of it counts as."""

    id: str
    intent_event: str = "form_submission"


class HubSpotSourceConfig(_Connector):
    base_url: str = "https://api.hubapi.com"
    access_token_env: str = "HUBSPOT_ACCESS_TOKEN"
    page_size: int = Field(200, ge=1, le=200)
    lookback_minutes: int = Field(10, ge=0)


class MetaSourceConfig(_Connector):
    base_url: str = "https://graph.facebook.com"
    access_token_env: str = "META_ACCESS_TOKEN"
    api_version: Annotated[str, Field(pattern=r"^v\d+\.\d+$")] = "v21.0"
    forms: list[FormConfig] = []
    page_size: int = Field(100, ge=1, le=1000)
    lookback_minutes: int = Field(10, ge=0)


class TypeformSourceConfig(_Connector):
    base_url: str = "https://api.typeform.com"
    access_token_env: str = "TYPEFORM_ACCESS_TOKEN"
    forms: list[FormConfig] = []
    page_size: int = Field(1000, ge=1, le=1000)
    lookback_minutes: int = Field(10, ge=0)


class SourcesConfig(_Model):
    hubspot: HubSpotSourceConfig | None = None
    meta: MetaSourceConfig | None = None
    typeform: TypeformSourceConfig | None = None

    def enabled(self) -> dict[str, _Connector]:
        return {
            name: cfg
            for name, cfg in (
                ("hubspot", self.hubspot),
                ("meta", self.meta),
                ("typeform", self.typeform),
            )
            if cfg is not None and cfg.enabled
        }


class HubSpotDestinationConfig(_Connector):
    base_url: str = "https://api.hubapi.com"
    access_token_env: str = "HUBSPOT_ACCESS_TOKEN"
    batch_size: int = Field(100, ge=1, le=100)


class DestinationsConfig(_Model):
    hubspot: HubSpotDestinationConfig | None = None


# --------------------------------------------------------------------------- enrichment


class EnrichmentConfig(_Model):
    # Phone numbers written without a country code are read in the record's country, else here.
    default_region: str | None = Field(None, pattern=r"^[A-Z]{2}$")


# --------------------------------------------------------------------------- scoring


class Condition(_Model):
    """A test on one lead field. Exactly one operator is set."""

    field: str
    equals: str | int | float | bool | None = None
    in_: list[str] | None = Field(None, alias="in")
    matches: str | None = None
    exists: bool | None = None
    gte: float | None = None
    lte: float | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _one_operator(self) -> Condition:
        ops = [
            k
            for k in ("equals", "in_", "matches", "exists", "gte", "lte")
            if getattr(self, k) is not None
        ]
        if not ops:
            raise ValueError("a condition needs one of: equals, in, matches, exists, gte, lte")
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
    top_factors: int = Field(5, ge=1, le=20)

    @model_validator(mode="after")
    def _negative_points(self) -> ScoringConfig:
        for rule in self.negative.rules:
            if rule.points > 0:
                raise ValueError(f"negative rule {rule.name!r} must have points <= 0")
        return self


# --------------------------------------------------------------------------- routing


class Territory(_Model):
    """Leads whose country (ISO 3166 alpha-2) or region matches go to `pool`."""

    name: str
    countries: list[str] = []
    regions: list[str] = []
    pool: str

    @model_validator(mode="after")
    def _has_scope(self) -> Territory:
        if not self.countries and not self.regions:
            raise ValueError(f"territory {self.name!r} needs countries or regions")
        return self


class RoutingConfig(_Model):
    keep_existing_owner: bool = True
    territories: list[Territory] = []
    pools: dict[str, list[str]] = {}  # pool name -> rep emails (CRM owners), in rotation order
    fallback_owner: str | None = None  # a rep email

    @model_validator(mode="after")
    def _pools_exist(self) -> RoutingConfig:
        for t in self.territories:
            if t.pool not in self.pools:
                raise ValueError(
                    f"territory {t.name!r} names pool {t.pool!r}, which is not under pools"
                )
        for name, reps in self.pools.items():
            if not reps:
                raise ValueError(f"pool {name!r} has no reps")
        return self


# --------------------------------------------------------------------------- root


class Settings(_Model):
    warehouse: WarehouseConfig = WarehouseConfig()
    sandbox: SandboxConfig = SandboxConfig()
    sources: SourcesConfig = SourcesConfig()
    destinations: DestinationsConfig = DestinationsConfig()
    enrichment: EnrichmentConfig = EnrichmentConfig()
    scoring: ScoringConfig = ScoringConfig()
    routing: RoutingConfig = RoutingConfig()

    # Where the file was read from; relative paths in it are resolved against its folder.
    root: Path = Field(default=Path("."), exclude=True)

    def resolve(self, path: Path) -> Path:
        return path if path.is_absolute() else (self.root / path).resolve()

    @property
    def warehouse_path(self) -> Path:
        return self.resolve(self.warehouse.path)


def read_secret(env_name: str) -> SecretStr:
    value = os.environ.get(env_name, "")
    if not value:
        raise ConfigError(f"{env_name} is not set: export it with the token for this connector")
    return SecretStr(value)


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
