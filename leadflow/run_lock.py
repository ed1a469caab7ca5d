"""One LeadFlow run at a time per warehouse: an exclusive lock file beside the DuckDB file.

Why: DuckDB has one writer per file and never waits, and the three deployments (hourly sync, daily
recycle, weekly training) each have a Prefect `concurrency_limit` of 1 for themselves only, so two
different flows could still meet on the same file, or a hand-started `leadflow run` could meet the
scheduled one. Every flow therefore holds this lock for its whole run; a second run waits up to
`warehouse.lock_wait_seconds`, then exits cleanly (`WarehouseBusy`), touching nothing.

The lock is `flock(2)` on `<warehouse>.lock`: the kernel drops it when the holding process ends,
however it ends (SIGKILL included), so a crashed run never leaves a stale lock behind. The file holds
the holder's pid, flow name and start time (no personal data) so the message can say who is running.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_POLL_SECONDS = 0.5


class WarehouseBusy(RuntimeError):
    """Another LeadFlow run held the warehouse for longer than we were willing to wait."""

    def __init__(self, path: Path, holder: dict[str, object] | None, waited: float) -> None:
        self.path = path
        self.holder = holder or {}
        who = (
            f"{self.holder.get('flow', 'a run')} (pid {self.holder.get('pid', '?')}, "
            f"since {self.holder.get('since', '?')})"
        )
        super().__init__(
            f"another LeadFlow run holds the warehouse {path}: {who}; waited {waited:.0f} s. "
            "It will be picked up by the next scheduled run; raise warehouse.lock_wait_seconds "
            "to wait longer."
        )


def lock_path(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.name + ".lock")


def read_holder(warehouse: Path) -> dict[str, object] | None:
    """Who holds (or last held) the lock, as written by them; None if unknown."""
    try:
        text = lock_path(warehouse).read_text(encoding="utf-8")
        holder = json.loads(text) if text.strip() else None
    except (OSError, ValueError):
        return None
    return holder if isinstance(holder, dict) else None


@contextmanager
def warehouse_lock(
    warehouse: Path,
    *,
    flow: str,
    wait_seconds: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[None]:
    """Hold the warehouse's run lock for the block, waiting up to `wait_seconds` for it."""
    path = lock_path(Path(warehouse))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        started = clock()
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                waited = clock() - started
                if waited >= wait_seconds:
                    holder_now = read_holder(Path(warehouse))
                    raise WarehouseBusy(Path(warehouse), holder_now, waited) from None
                sleep(min(_POLL_SECONDS, max(0.0, wait_seconds - waited)))
        holder = {
            "pid": os.getpid(),
            "flow": flow,
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def run_exclusively(
    warehouse: Path,
    *,
    flow: str,
    wait_seconds: float,
    run: Callable[[], dict[str, Any]],
    log: logging.Logger | logging.LoggerAdapter[Any],
) -> dict[str, Any]:
    """`run()` under the warehouse lock; if another run keeps it past `wait_seconds`, a summary
    with status "skipped" and the reason instead (logged as a warning): nothing was touched, and the
    next scheduled run catches up."""
    try:
        with warehouse_lock(warehouse, flow=flow, wait_seconds=wait_seconds):
            return run()
    except WarehouseBusy as busy:
        log.warning("%s", busy)
        return {"status": "skipped", "reason": str(busy)}
