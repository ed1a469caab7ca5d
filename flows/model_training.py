"""The weekly model training: train the predictive score, compare it with the rules, publish the report.

Thin by design: one task calls scoring.model.train_and_evaluate (which labels, splits, checks the
minimum data, fits, evaluates and stores the model in ops.scoring_models); the flow then publishes
scoring/report.py's markdown as a Prefect artifact (key `scoring-model-report`, in the UI under the
flow run's Artifacts tab) and writes it to a file.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from leadflow.config import Settings, load_settings
from leadflow.redact import install_log_redaction, register_env_secrets
from leadflow.run_lock import run_exclusively
from leadflow.warehouse import to_utc_naive
from scoring.model import TrainingResult, train_and_evaluate
from scoring.report import render

REPORT_ARTIFACT_KEY = "scoring-model-report"


@task(name="train-and-evaluate", cache_policy=NO_CACHE)
def train_task(
    settings: Settings, as_of: datetime | None, from_history: bool, activate: bool
) -> TrainingResult:
    return train_and_evaluate(settings, as_of=as_of, from_history=from_history, activate=activate)


@flow(name="model-training")
def model_training(
    config_path: str = "leadflow.yml",
    from_history: bool = False,
    activate: bool = True,
    report_path: str = ".leadflow/reports/scoring-model.md",
    as_of: datetime | None = None,
) -> dict[str, Any]:
    """Train and evaluate once; returns the metrics, the status and where the report was written.

    `report_path` is relative to the config file's folder unless absolute.
    """
    install_log_redaction()
    settings = load_settings(config_path)
    register_env_secrets(settings.secret_env_names())
    logger = get_run_logger()
    return run_exclusively(
        settings.warehouse_path,
        flow="model-training",
        wait_seconds=settings.warehouse.lock_wait_seconds,
        run=lambda: _train(settings, as_of, from_history, activate, report_path, logger),
        log=logger,
    )


def _train(
    settings: Settings,
    as_of: datetime | None,
    from_history: bool,
    activate: bool,
    report_path: str,
    logger: Any,
) -> dict[str, Any]:
    result = train_task(settings, to_utc_naive(as_of) if as_of else None, from_history, activate)
    report = render(result)
    path = settings.resolve(Path(report_path))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report, encoding="utf-8")
    create_markdown_artifact(
        markdown=report,
        key=REPORT_ARTIFACT_KEY,
        description=f"Lead scoring model vs rules: {result.status}",
    )
    logger.info("%s (report: %s)", result.message, path)
    return {
        "status": result.status,
        "message": result.message,
        "model_version": result.version,
        "report_path": str(path),
        **result.metrics(),
    }
