"""Overlapping runs: a flow started while another LeadFlow run holds the warehouse waits, then
exits cleanly without touching the warehouse or any API (leadflow/run_lock.py)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from flows.lead_recycle import lead_recycle
from flows.lead_sync import lead_sync
from flows.model_training import model_training
from tests.flows.test_lead_sync import write_config

# Nothing listens here: a skipped run must not even try to reach an API.
UNREACHABLE = {
    name: "http://127.0.0.1:9" for name in ("hubspot", "meta", "typeform", "lemlist", "apollo")
}

HOLD = """
import sys, time
from pathlib import Path
from leadflow.run_lock import warehouse_lock
with warehouse_lock(Path(sys.argv[1]), flow="lead-sync", wait_seconds=0):
    print("held", flush=True)
    time.sleep(120)
"""


@pytest.fixture
def busy_warehouse(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """A config whose warehouse another process (a running sync) holds; runs wait 1 s for it."""
    config = write_config(tmp_path, UNREACHABLE)
    settings = yaml.safe_load(config.read_text(encoding="utf-8"))
    settings["warehouse"]["lock_wait_seconds"] = 1
    config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    warehouse = Path(settings["warehouse"]["path"])
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(warehouse)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    try:
        yield config, warehouse
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize(
    "run",
    [
        pytest.param(lambda c: lead_sync(config_path=str(c)), id="lead-sync"),
        pytest.param(lambda c: lead_recycle(config_path=str(c)), id="lead-recycle"),
        pytest.param(lambda c: model_training(config_path=str(c)), id="model-training"),
    ],
)
def test_a_flow_started_during_another_run_is_skipped_untouched(
    prefect_harness: None,
    busy_warehouse: tuple[Path, Path],
    run: Callable[[Path], dict[str, Any]],
) -> None:
    config, warehouse = busy_warehouse
    # WHEN a flow starts while the sync holds the warehouse
    summary = run(config)
    # THEN it is skipped, says who holds the warehouse, and never opened the warehouse file
    assert summary["status"] == "skipped"
    assert "lead-sync" in summary["reason"]
    assert not warehouse.exists()
