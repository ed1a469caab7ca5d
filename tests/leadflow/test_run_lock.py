"""The warehouse run lock: one LeadFlow run at a time per warehouse file."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from leadflow.run_lock import WarehouseBusy, lock_path, read_holder, warehouse_lock

HOLD = """
import sys, time
from pathlib import Path
from leadflow.run_lock import warehouse_lock
with warehouse_lock(Path(sys.argv[1]), flow="lead-sync", wait_seconds=0):
    print("held", flush=True)
    time.sleep(60)
"""


def hold_in_child(warehouse: Path) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(warehouse)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "held"
    return child


def test_a_second_run_gives_up_after_waiting_and_names_the_holder(tmp_path: Path) -> None:
    # GIVEN a run holding the warehouse in another process
    warehouse = tmp_path / "w.duckdb"
    child = hold_in_child(warehouse)
    try:
        # WHEN a second run asks for it, willing to wait 1 s
        started = time.monotonic()
        with (
            pytest.raises(WarehouseBusy) as busy,
            warehouse_lock(warehouse, flow="model-training", wait_seconds=1.0),
        ):
            pytest.fail("the second run must not get the lock")
        # THEN it waited, then stopped with who holds it
        assert time.monotonic() - started >= 1.0
        assert "lead-sync" in str(busy.value)
        assert f"pid {child.pid}" in str(busy.value)
    finally:
        child.kill()
        child.wait()


def test_a_killed_holder_leaves_no_stale_lock(tmp_path: Path) -> None:
    # GIVEN a run holding the warehouse, killed with SIGKILL mid-run
    warehouse = tmp_path / "w.duckdb"
    child = hold_in_child(warehouse)
    child.send_signal(signal.SIGKILL)
    child.wait()

    # WHEN the next run asks for the lock without waiting
    with warehouse_lock(warehouse, flow="lead-sync", wait_seconds=0):
        # THEN it gets it at once, and the lock file names the new holder
        holder = read_holder(warehouse)
        assert holder is not None and holder["flow"] == "lead-sync"
    assert lock_path(warehouse).name == "w.duckdb.lock"


def test_a_waiting_run_proceeds_once_the_holder_is_done(tmp_path: Path) -> None:
    # GIVEN the lock held in this process by an earlier block
    warehouse = tmp_path / "w.duckdb"
    ticks = iter(range(100))
    released = []

    def sleep(_: float) -> None:
        released.append(True)  # the holder finishes while the second run waits
        first.__exit__(None, None, None)

    first = warehouse_lock(warehouse, flow="lead-recycle", wait_seconds=0)
    first.__enter__()
    # WHEN a second run waits for it (a fake clock: no real waiting)
    with warehouse_lock(
        warehouse, flow="lead-sync", wait_seconds=30, clock=lambda: float(next(ticks)), sleep=sleep
    ):
        # THEN it got the lock after one wait
        assert released == [True]
        holder = read_holder(warehouse)
        assert holder is not None and holder["flow"] == "lead-sync"
