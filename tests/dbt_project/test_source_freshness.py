"""`dbt source freshness` on a freshly synced sandbox world passes; a source left behind warns or
errors at the thresholds its _<source>__sources.yml declares."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from leadflow.dbt import DbtError, run_dbt
from leadflow.warehouse import utcnow
from tests.conftest import SyncedWorld

FRESHNESS = ["source", "freshness"]


def freshness_statuses(target: Path) -> dict[str, str]:
    """source name (`<source>.<table>`) -> pass | warn | error, from dbt's sources.json."""
    results = json.loads((target / "sources.json").read_text(encoding="utf-8"))["results"]
    return {r["unique_id"].removeprefix("source.leadflow."): r["status"] for r in results}


def copy_of(world: SyncedWorld, tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    shutil.copyfile(world.warehouse, path)
    return path


def test_freshness_passes_right_after_a_sync(synced_world: SyncedWorld, tmp_path: Path) -> None:
    # GIVEN a world synced moments ago
    path = copy_of(synced_world, tmp_path)

    # WHEN dbt checks source freshness
    result = run_dbt(FRESHNESS, warehouse_path=path, target_path=tmp_path / "target")

    # THEN every source with a freshness rule passes, the sync's heartbeat among them
    statuses = freshness_statuses(tmp_path / "target")
    assert result.success
    assert {name for name, status in statuses.items() if status != "pass"} == set()
    assert {"leadflow.sync_runs", "leadflow.lead_scores", "typeform.responses"} <= set(statuses)
    # AND the tables that only grow on exceptions are not checked
    assert "leadflow.quarantine" not in statuses
    assert "leadflow.sla_breaches" not in statuses
    assert "hubspot.owners" not in statuses


@pytest.mark.parametrize(
    ("table", "column", "age", "source", "expected"),
    [
        ("raw.typeform__responses", "_loaded_at", timedelta(days=4), "typeform.responses", "warn"),
        ("ops.sync_runs", "finished_at", timedelta(hours=5), "leadflow.sync_runs", "warn"),
        ("ops.lead_scores", "scored_at", timedelta(hours=30), "leadflow.lead_scores", "error"),
        ("raw.typeform__responses", "_loaded_at", timedelta(days=8), "typeform.responses", "error"),
    ],
    ids=[
        "no-form-response-for-4-days-warns",
        "no-finished-run-for-5-hours-warns",
        "no-scoring-for-30-hours-errors",
        "no-form-response-for-8-days-errors",
    ],
)
def test_a_stale_source_warns_then_errors(
    synced_world: SyncedWorld,
    tmp_path: Path,
    table: str,
    column: str,
    age: timedelta,
    source: str,
    expected: str,
) -> None:
    # GIVEN a synced world in which one table's newest row is `age` old
    path = copy_of(synced_world, tmp_path)
    with duckdb.connect(str(path)) as con:
        con.execute(f"update {table} set {column} = ? where {column} is not null", [utcnow() - age])

    # WHEN dbt checks source freshness
    target = tmp_path / "target"
    if expected == "error":
        with pytest.raises(DbtError, match=source.split(".")[1]):
            run_dbt(FRESHNESS, warehouse_path=path, target_path=target)
    else:
        assert run_dbt(FRESHNESS, warehouse_path=path, target_path=target).success

    # THEN that source, and only it, is reported
    statuses = freshness_statuses(target)
    assert statuses[source] == expected
    assert {name for name, status in statuses.items() if status != "pass"} == {source}
