"""Shared fixtures: one Prefect test harness per session, a fresh warehouse, a synced sandbox world,
offline settings."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked slow belong to the benchmarks: skipped unless `-m` names them."""
    if "slow" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="benchmark-sized: `make bench-reliability` or `pytest -m slow`")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """A temporary Prefect server (SQLite) for the whole session: ~10 s once, not per test."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield


@pytest.fixture(scope="session")
def calm_world(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The kill harness's world (tests/reliability/kill_harness.py) synced for two hours with no
    kill and no fault: what the kill-point and chaos tests must end as (a snapshot)."""
    from tests.reliability.kill_harness import uninterrupted

    patch = pytest.MonkeyPatch()
    try:
        return uninterrupted(tmp_path_factory.mktemp("calm_world"), patch.setenv)
    finally:
        patch.undo()


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """An open connection to a fresh warehouse file with the raw and ops tables created."""
    from leadflow.warehouse import Warehouse

    wh = Warehouse(tmp_path / "w.duckdb")
    wh.ensure_schema()
    with wh.connect() as connection:
        yield connection


@dataclass(frozen=True)
class SyncedWorld:
    """A warehouse after one real sync of a sandbox world. Read-only: copy it before writing."""

    warehouse: Path
    config: Path
    as_of: datetime
    summary: dict[str, Any]


@pytest.fixture(scope="session")
def synced_world(
    prefect_harness: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SyncedWorld]:
    """One lead_sync run on sandbox.Sandbox(seed=23, leads=150), as tests/flows/test_lead_sync.py
    runs it (the shipped leadflow.yml pointed at the sandbox), for tests that need a realistic
    warehouse: every source, scored, routed, nurtured and pushed leads, and every mart built."""
    from flows.lead_sync import lead_sync
    from leadflow.warehouse import utcnow
    from sandbox import Sandbox
    from tests.flows.test_lead_sync import TOKEN_ENV, TOKENS, write_config

    tmp = tmp_path_factory.mktemp("synced_world")
    patch = pytest.MonkeyPatch()
    for vendor, env in TOKEN_ENV.items():
        patch.setenv(env, TOKENS[vendor])
    try:
        with Sandbox(seed=23, leads=150, tokens=TOKENS) as sandbox:
            patch.setenv("LEADFLOW_SLACK_WEBHOOK_URL", sandbox.slack_webhook_url)
            sandbox.set_rate_limit("slack", 0, 1)
            config = write_config(tmp, sandbox.urls, smtp_port=sandbox.smtp_address[1])
            as_of = utcnow()
            summary = lead_sync(config_path=str(config), as_of=as_of)
    finally:
        patch.undo()
    yield SyncedWorld(tmp / "warehouse.duckdb", config, as_of, summary)
