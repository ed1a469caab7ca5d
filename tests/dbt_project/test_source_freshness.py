"""`dbt source freshness` on a freshly synced sandbox world passes; a source left behind warns or
errors at the thresholds its _<source>__sources.yml declares; a source the installation does not
pull (its raw tables empty) is not late until it has landed something."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from leadflow.dbt import DbtError, run_dbt
from leadflow.warehouse import Warehouse, utcnow
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


def _land_row(con: duckdb.DuckDBPyConnection, table: str, loaded_at: datetime) -> None:
    con.execute(
        f"insert into raw.{table} values ('r1', 'id-1', null, ?, '{{}}', 'h1', 'run-1', ?)",
        [loaded_at, loaded_at],
    )


def test_a_source_not_in_use_passes_until_it_lands(tmp_path: Path) -> None:
    # GIVEN a warehouse whose Salesforce, LinkedIn and Pipedrive tables exist but are empty (the
    # sources are not in leadflow.yml)
    path = tmp_path / "warehouse.duckdb"
    Warehouse(path).ensure_schema()
    command = [*FRESHNESS, "--select", "source:salesforce source:linkedin source:pipedrive"]
    target = tmp_path / "target"

    # WHEN dbt checks their freshness THEN nothing is late: a source not in use has no rule to break
    assert run_dbt(command, warehouse_path=path, target_path=target).success
    statuses = freshness_statuses(target)
    assert statuses == {
        "salesforce.leads": "pass",
        "salesforce.contacts": "pass",
        "salesforce.opportunities": "pass",
        "linkedin.lead_form_responses": "pass",
        "pipedrive.persons": "pass",
        "pipedrive.leads": "pass",
        "pipedrive.deals": "pass",
    }

    # WHEN Salesforce leads last landed 4 days ago and Pipedrive persons 8 days ago
    with duckdb.connect(str(path)) as con:
        _land_row(con, "salesforce__leads", utcnow() - timedelta(days=4))
        _land_row(con, "pipedrive__persons", utcnow() - timedelta(days=8))

    # THEN the sources in use are held to the same thresholds as every other: warn, then error
    with pytest.raises(DbtError, match="persons"):
        run_dbt(command, warehouse_path=path, target_path=target)
    statuses = freshness_statuses(target)
    assert {name for name, status in statuses.items() if status != "pass"} == {
        "salesforce.leads",
        "pipedrive.persons",
    }
    assert (statuses["salesforce.leads"], statuses["pipedrive.persons"]) == ("warn", "error")
