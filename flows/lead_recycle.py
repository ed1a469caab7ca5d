"""The daily recycle: stale leads are recycled into nurture or closed, then the CRM is told at once.

recycle (routing/recycle.py, plus the Lemlist calls it owes) -> dbt `publish` -> push to HubSpot.
The push runs in this flow, not at the next hourly sync, so the released owner is cleared in the CRM
before the next sync pulls the contact back (else routing would keep the stale owner). When nothing
is stale, nothing is built or pushed.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from connectors.reverse_etl import PushResult
from flows.lead_sync import dbt_task, push_task
from leadflow import pipeline
from leadflow.config import Settings, load_settings
from leadflow.embedded import embedded_sandbox
from leadflow.redact import install_log_redaction, register_env_secrets
from leadflow.run_lock import run_exclusively
from leadflow.warehouse import to_utc_naive, utcnow
from routing.recycle import RecycleResult


@task(name="recycle", cache_policy=NO_CACHE)
def recycle_task(settings: Settings, run_id: str, as_of: datetime) -> RecycleResult:
    return pipeline.recycle_leads(settings, run_id, as_of)


@flow(name="lead-recycle")
def lead_recycle(
    config_path: str = "leadflow.yml", as_of: datetime | None = None
) -> dict[str, Any]:
    """One recycle run. `as_of` pins the clock idleness is measured against; default: now."""
    install_log_redaction()
    settings = load_settings(config_path)
    register_env_secrets(settings.secret_env_names())
    run_as_of = to_utc_naive(as_of) if as_of is not None else utcnow()
    run_id = uuid.uuid4().hex
    logger = get_run_logger()
    return run_exclusively(
        settings.warehouse_path,
        flow="lead-recycle",
        wait_seconds=settings.warehouse.lock_wait_seconds,
        run=lambda: _recycle(settings, run_id, run_as_of, logger),
        log=logger,
    )


def _recycle(settings: Settings, run_id: str, run_as_of: datetime, logger: Any) -> dict[str, Any]:
    pipeline.warehouse(settings).ensure_schema()
    with embedded_sandbox(settings):
        result = recycle_task(settings, run_id, run_as_of)
        pushed = PushResult()
        if result.recycled or result.closed:
            dbt_task(settings, "publish")
            pushed = push_task(settings, run_id, run_as_of)
    summary = pipeline.recycle_summary(settings, run_id, run_as_of, result, pushed)
    logger.info(
        "recycle run %s: %d considered, %d recycled, %d closed, %d pushed",
        run_id,
        result.considered,
        result.recycled,
        result.closed,
        pushed.pushed,
    )
    return summary
