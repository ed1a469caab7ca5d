"""The hourly lead sync: land intake -> pull -> validate -> resolve -> firmographics -> dbt prepare -> score
-> nurture -> SLA check -> route -> dbt publish -> push -> notify.

The flow orchestrates; each task is one call into leadflow.pipeline, which calls the packages that do
the work. Tasks run one after another: DuckDB has a single writer, and each step needs the previous
one's output. dbt's `publish` build runs the marts' tests; if any fails the task raises and nothing
is pushed to the CRM.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from connectors.reverse_etl import PushResult
from dedupe.deterministic import ResolveResult
from enrichment.firmographics import FirmographicsResult
from enrichment.pipeline import StageResult
from intake.land import IntakeLandResult
from leadflow import pipeline
from leadflow.config import Settings, load_settings
from leadflow.embedded import embedded_sandbox
from leadflow.faults import crash_point
from leadflow.landing import LandResult
from leadflow.redact import install_log_redaction, register_env_secrets
from leadflow.run_lock import run_exclusively
from leadflow.warehouse import to_utc_naive, utcnow
from routing import RouteResult
from routing.notify import NotifyResult
from routing.nurture import NurtureResult
from routing.sla import SlaResult
from scoring import ScoreResult

# Every step writes to the warehouse or an API: never serve one from a cache (NO_CACHE), and no
# task-level retries (the HTTP client retries what is safe to retry; a re-run resumes the rest).


@task(name="land-intake", cache_policy=NO_CACHE)
def intake_task(settings: Settings, run_id: str) -> IntakeLandResult:
    return pipeline.land_intake(settings, run_id)


@task(name="pull", cache_policy=NO_CACHE)
def pull_task(settings: Settings, source: str, run_id: str, as_of: datetime) -> list[LandResult]:
    return pipeline.pull_source(settings, source, run_id, as_of)


@task(name="validate-and-enrich", cache_policy=NO_CACHE)
def stage_task(settings: Settings, run_id: str, as_of: datetime) -> StageResult:
    return pipeline.stage_records(settings, run_id, as_of)


@task(name="resolve-identities", cache_policy=NO_CACHE)
def resolve_task(settings: Settings, run_id: str, as_of: datetime) -> ResolveResult:
    return pipeline.resolve_identities(settings, run_id, as_of)


@task(name="enrich-firmographics", cache_policy=NO_CACHE)
def firmographics_task(settings: Settings, run_id: str, as_of: datetime) -> FirmographicsResult:
    return pipeline.enrich_firmographics(settings, run_id, as_of)


@task(name="dbt-build", cache_policy=NO_CACHE)
def dbt_task(settings: Settings, selector: str, full_refresh: bool = False) -> dict[str, Any]:
    return pipeline.build_models(settings, selector, full_refresh=full_refresh)


@task(name="score", cache_policy=NO_CACHE)
def score_task(settings: Settings, run_id: str, as_of: datetime) -> ScoreResult:
    return pipeline.score_leads(settings, run_id, as_of)


@task(name="nurture", cache_policy=NO_CACHE)
def nurture_task(settings: Settings, run_id: str, as_of: datetime) -> NurtureResult:
    return pipeline.nurture_leads(settings, run_id, as_of)


@task(name="sla-check", cache_policy=NO_CACHE)
def sla_task(settings: Settings, run_id: str, as_of: datetime) -> SlaResult:
    return pipeline.check_slas(settings, run_id, as_of)


@task(name="notify", cache_policy=NO_CACHE)
def notify_task(settings: Settings, run_id: str, as_of: datetime) -> NotifyResult:
    return pipeline.notify_reps(settings, run_id, as_of)


@task(name="route", cache_policy=NO_CACHE)
def route_task(settings: Settings, run_id: str, as_of: datetime) -> RouteResult:
    return pipeline.route_leads(settings, run_id, as_of)


@task(name="push", cache_policy=NO_CACHE)
def push_task(settings: Settings, run_id: str, as_of: datetime) -> PushResult:
    return pipeline.push_crms(settings, run_id, as_of)


@flow(name="lead-sync")
def lead_sync(
    config_path: str = "leadflow.yml", as_of: datetime | None = None, full_refresh: bool = False
) -> dict[str, Any]:
    """One sync run. `as_of` pins the run's clock (scoring decay, routing times); default: now.
    `full_refresh` rebuilds dbt's incremental models from scratch (after an upgrade or a seed edit).

    With the embedded default (connectors pointed at the sandbox's address and nothing serving it
    yet), the sandbox is started for the duration of the run; see leadflow/embedded.py.
    """
    install_log_redaction()
    settings = load_settings(config_path)
    register_env_secrets(settings.secret_env_names())
    run_as_of = to_utc_naive(as_of) if as_of is not None else utcnow()
    run_id = uuid.uuid4().hex
    logger = get_run_logger()
    return run_exclusively(
        settings.warehouse_path,
        flow="lead-sync",
        wait_seconds=settings.warehouse.lock_wait_seconds,
        run=lambda: _sync(settings, run_id, run_as_of, logger, full_refresh),
        log=logger,
    )


def _sync(
    settings: Settings, run_id: str, run_as_of: datetime, logger: Any, full_refresh: bool
) -> dict[str, Any]:
    pipeline.start_run(settings, run_id, run_as_of)
    crash_point("run:started")
    try:
        with embedded_sandbox(settings):
            intake = intake_task(settings, run_id)  # what `leadflow serve` accepted, if anything
            pulls = []
            for source in settings.sources.enabled():
                pulls.extend(pull_task(settings, source, run_id, run_as_of))
                crash_point("pull:done")
            staged = stage_task(settings, run_id, run_as_of)
            crash_point("stage:done")
            identity = resolve_task(settings, run_id, run_as_of)
            crash_point("resolve:done")
            # A provider down or a spent budget leaves leads unenriched until a later run.
            firmographics = firmographics_task(settings, run_id, run_as_of)
            prepared = dbt_task(settings, "prepare", full_refresh)
            crash_point("dbt-prepare:done")
            scores = score_task(settings, run_id, run_as_of)
            crash_point("score:done")
            nurtured = nurture_task(settings, run_id, run_as_of)  # before routing: exits route now
            crash_point("nurture:done")
            slas = sla_task(settings, run_id, run_as_of)  # before routing: a re-route is audited
            crash_point("sla:done")
            routes = route_task(settings, run_id, run_as_of)
            crash_point("route:done")
            published = dbt_task(settings, "publish", full_refresh)
            crash_point("dbt-publish:done")
            pushed = push_task(settings, run_id, run_as_of)
            crash_point("push:done")
            notified = notify_task(settings, run_id, run_as_of)  # the owner is in the CRM now
            crash_point("notify:done")
        summary = pipeline.summarize(
            settings,
            run_id,
            run_as_of,
            pulls,
            staged,
            identity,
            scores,
            routes,
            pushed,
            nurture=nurtured,
            sla=slas,
            notified=notified,
            intake=intake,
            firmographics=firmographics,
            dbt_builds=(prepared, published),
        )
        crash_point("run:summarized")
    except BaseException as exc:
        pipeline.record_failure(settings, run_id, exc)
        raise
    pipeline.finish_run(settings, run_id, "completed", summary)
    logger.info(
        "run %s: %d pulled, %d quarantined, %d merged, %d leads, %d routed, %d pushed",
        run_id,
        summary["records_pulled"],
        summary["records_quarantined"],
        summary["records_merged"],
        summary["leads"],
        summary["leads_routed"],
        summary["records_pushed"],
    )
    return summary
