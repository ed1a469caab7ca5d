"""The weekly model-training flow under Prefect's harness: trains, stores, publishes the report."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import yaml
from prefect.artifacts import Artifact

from flows.model_training import REPORT_ARTIFACT_KEY, model_training
from scoring.history_export import EXAMPLE_COLUMNS, EXAMPLE_EVENTS, write_example_export

REPO = Path(__file__).resolve().parents[2]
AS_OF = datetime(2026, 11, 1)


def test_the_flow_trains_stores_the_model_and_publishes_the_report(
    prefect_harness: None, tmp_path: Path
) -> None:
    # GIVEN the shipped config pointed at a temporary warehouse and a generated history export
    paths = write_example_export(tmp_path / "export", leads=3000, seed=8, as_of=AS_OF)
    config = yaml.safe_load((REPO / "leadflow.yml").read_text(encoding="utf-8"))
    config["warehouse"]["path"] = str(tmp_path / "warehouse.duckdb")
    config["scoring"].setdefault("model", {})["history_export"] = {
        **{name: f"export/{path.name}" for name, path in paths.items()},
        "columns": EXAMPLE_COLUMNS,
        "events": EXAMPLE_EVENTS,
    }
    config_path = tmp_path / "leadflow.yml"
    config_path.write_text(yaml.safe_dump(config), encoding="utf-8")

    # WHEN the flow runs
    out = model_training(
        config_path=str(config_path), from_history=True, report_path="reports/model.md", as_of=AS_OF
    )

    # THEN the model is active in the warehouse with the metrics the flow returned
    assert out["status"] == "active" and out["model_auc"] > out["rules_auc"]
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute(
            "select model_version, status, source from ops.scoring_models"
        ).fetchall()
    assert rows == [(out["model_version"], "active", "history_export")]
    # AND the report is both a file beside the config and a Prefect markdown artifact
    report = (tmp_path / "reports" / "model.md").read_text(encoding="utf-8")
    assert out["report_path"] == str(tmp_path / "reports" / "model.md")
    assert f"`{out['model_version']}`" in report and "## Calibration" in report
    # Artifact.get is sync-compatible: called outside an event loop it returns the artifact itself.
    artifact: Any = Artifact.get(REPORT_ARTIFACT_KEY)
    assert artifact is not None and artifact.type == "markdown"
    assert artifact.data == report
