"""The speed-to-lead lane: every lead `leadflow serve` accepts, owned in the CRM seconds later.

A worker thread in the service. Each request the intake stores wakes it; it then runs the hourly
sync's own steps over whatever the inbox holds (a micro-batch: everything that arrived while the
previous batch ran), under the warehouse's run lock:

    land intake -> validate and enrich -> resolve -> firmographics -> dbt lane_prepare -> score
    -> nurture -> route -> dbt lane_publish -> push to the CRM -> notify the rep

Why the same steps, and not a per-lead shortcut: the hourly run must find these leads handled and
change nothing (same lead_id, same owner, no second push). Running its code guarantees that; a second
implementation of matching, scoring and routing would drift from it. What makes the lane fast is
what stays warm in a long-lived process (the parsed dbt project, imported Great Expectations) and
the narrower dbt selectors: only the tables between the staging views and the push payload, with
the payload's tests (dbt_project/selectors.yml). The hourly run rebuilds the rest and runs every
test. Why a worker in the service and not a Prefect deployment per arrival: a flow run in a new
process parses dbt and imports GX before it starts (measured in bench/speed_to_lead.py), which alone
exceeds the ten-second budget. docs/intake.md has the figures.

Crash safety: the inbox is the queue. An entry is pending until it is in raw; every later step is
the hourly run's, each safe to re-run. The lane runs a batch when it starts, so whatever a crashed
service left half-done (landed but not routed, routed but not pushed, pushed but not announced) is
finished on restart; the next hourly run does the same if the service stays down.

The lock: one run at a time per warehouse (leadflow/run_lock.py). While the hourly run holds it, the
lane waits; the hourly run lands what the inbox holds, so those leads are handled there.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from leadflow import pipeline
from leadflow.config import Settings
from leadflow.dbt import PROJECT_DIR
from leadflow.faults import crash_point
from leadflow.redact import redact
from leadflow.run_lock import WarehouseBusy, warehouse_lock
from leadflow.warehouse import utcnow

log = logging.getLogger("leadflow.lane")

FLOW = "speed-lane"
# The lane's dbt artifacts and logs, apart from the hourly run's (dbt_project/target).
LANE_DBT_TARGET = PROJECT_DIR / "target" / "speed_lane"
# The lane's dbt builds skip what only costs time here (bench/results/speed_to_lead.json has the
# figures): writing manifest.json and run_results.json (nobody reads them; dbt.log still has
# the run), listing every relation of the warehouse first (the selection is a handful of tables),
# and one thread (the payload's tests run side by side).
# After each step, the crash point the hourly flow has after the same step.
CRASH_POINTS = {
    "stage": "stage:done",
    "resolve": "resolve:done",
    "dbt_prepare": "dbt-prepare:done",
    "score": "score:done",
    "nurture": "nurture:done",
    "route": "route:done",
    "dbt_publish": "dbt-publish:done",
    "push": "push:done",
    "notify": "notify:done",
}
LANE_DBT_ARGS = ("--no-write-json", "--no-populate-cache", "--threads", "4")


@dataclass
class LaneBatch:
    """One micro-batch: what it did and how long each step took."""

    run_id: str
    summary: dict[str, Any] = field(default_factory=dict)
    stages_s: dict[str, float] = field(default_factory=dict)


class SpeedLane:
    """The lane's worker thread. `wake()` after every stored request; `start()` runs a batch at
    once (what a previous process left pending), then one per wake-up, and one every `poll_s` in
    case a wake-up was missed."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.config = settings.intake.speed_lane
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._manifest: Any = None
        self._force = True  # the first batch, and the one after a failure, run whatever is left
        self.batches = 0  # batches run
        self.idle_batches = 0  # woken with nothing to do
        self.failures = 0
        self._failing = 0  # failures in a row
        self.last_batch_at: str | None = None

    def start(self) -> SpeedLane:
        self._wake.set()  # the first batch: whatever a previous process left
        self._thread = threading.Thread(target=self._loop, name="leadflow-lane", daemon=True)
        self._thread.start()
        return self

    def wake(self) -> None:
        self._wake.set()

    def health(self) -> dict[str, Any]:
        """For /healthz: warm once dbt is parsed and a first batch ran; batches and failures."""
        return {
            "lane": {
                "warm": self.batches + self.idle_batches > 0,
                "batches": self.batches,
                "failures": self.failures,
                "last_batch_at": self.last_batch_at,
            }
        }

    def stop(self, timeout: float | None = None) -> None:
        """Let the current batch finish, then end the thread."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.config.poll_s)
            if self._stop.is_set():
                return
            self._wake.clear()
            try:
                self.run_batch()
                self._failing = 0
            except WarehouseBusy:
                # Another run holds the warehouse (the hourly sync lands the inbox itself): try
                # again shortly, without a wake-up.
                self._stop.wait(self.config.busy_retry_s)
                self._wake.set()
                continue
            except Exception as exc:  # the service must outlive a failed batch; the next retries
                self.failures += 1
                self._failing += 1
                self._force = True
                # Retried after busy_retry_s, doubling while it keeps failing (a CRM outage), up
                # to poll_s; new arrivals still wake it sooner.
                pause = min(self.config.busy_retry_s * 2 ** (self._failing - 1), self.config.poll_s)
                log.error(
                    "speed lane: batch failed (retry in %.0f s): %s", pause, redact(str(exc))[:500]
                )
                self._wake.wait(pause)
                self._wake.set()

    def run_batch(self) -> LaneBatch | None:
        """One micro-batch under the warehouse lock; None when there was nothing to do."""
        with warehouse_lock(
            self.settings.warehouse_path, flow=FLOW, wait_seconds=self.config.lock_wait_s
        ):
            return self._batch()

    def _batch(self) -> LaneBatch | None:
        settings = self.settings
        if not self._force and pipeline.intake_pending(settings) == 0:
            self.idle_batches += 1  # the warehouse is not even opened
            return None
        pipeline.warehouse(settings).ensure_schema()
        if not pipeline.has_published(settings):
            # The lane narrows the hourly run's dbt build; with no first build there is nothing to
            # narrow. The first `leadflow run` builds everything (and lands the inbox).
            log.warning("speed lane: waiting for a first `leadflow run` to build the warehouse")
            self.idle_batches += 1
            return None
        run_id, as_of = uuid.uuid4().hex, utcnow()
        batch = LaneBatch(run_id)

        def step(name: str, fn: Callable[..., Any], *args: Any) -> Any:
            started = time.perf_counter()
            out = fn(*args)
            batch.stages_s[name] = round(time.perf_counter() - started, 3)
            if name in CRASH_POINTS:
                crash_point(CRASH_POINTS[name])  # the hourly flow's points (leadflow/faults.py)
            return out

        if self._manifest is None:
            self._manifest = step("dbt_parse", self._parse)
        pipeline.start_run(settings, run_id, as_of)
        try:
            intake = step("land", pipeline.land_intake, settings, run_id)
            staged = step("stage", pipeline.stage_records, settings, run_id, as_of)
            identity = step("resolve", pipeline.resolve_identities, settings, run_id, as_of)
            # Cached domains cost no request; a few new ones one short attempt each (lane_lookups).
            firmographics = step(
                "firmographics",
                lambda: pipeline.enrich_firmographics(settings, run_id, as_of, lane=True),
            )
            step("dbt_prepare", self._build, "lane_prepare")
            scores = step("score", pipeline.score_leads, settings, run_id, as_of)
            nurtured = step("nurture", pipeline.nurture_leads, settings, run_id, as_of)
            routes = step("route", pipeline.route_leads, settings, run_id, as_of)
            step("dbt_publish", self._build, "lane_publish")
            pushed = step("push", pipeline.push_crms, settings, run_id, as_of)
            notified = step("notify", pipeline.notify_reps, settings, run_id, as_of)
        except BaseException as exc:
            pipeline.record_failure(settings, run_id, exc)
            raise
        # Notifications past notifications.max_per_run wait: another batch at once sends them,
        # unless a channel is failing (its rows wait for the next hourly run or arrival).
        self._force = notified.pending > 0 and not notified.errors
        if self._force:
            self._wake.set()
        elif pushed.failed:
            self._force = True  # dead-lettered leads go again at the next poll_s or arrival
        batch.summary = {
            "run_id": run_id,
            "flow": FLOW,
            "as_of": as_of.isoformat(),
            **intake.as_summary(),
            "records_processed": staged.processed,
            "records_quarantined": staged.quarantined,
            "leads_new": identity.new_leads,
            "firmographics_looked_up": firmographics.looked_up,
            "firmographics_waiting": firmographics.waiting,
            "scores_changed": scores.changed,
            "nurture_enrolled": nurtured.enrolled,
            "leads_routed": routes.routed,
            "records_pushed": pushed.pushed,
            "push_failed": pushed.failed,
            **notified.as_summary(),
            "stages_s": batch.stages_s,
        }
        pipeline.finish_run(settings, run_id, "completed", batch.summary)
        self.batches += 1
        self.last_batch_at = utcnow().isoformat(timespec="seconds")
        log.info(
            "speed lane: %d landed, %d routed, %d pushed, %d notified in %.1f s",
            intake.landed,
            routes.routed,
            pushed.pushed,
            sum(notified.sent.values()),
            sum(batch.stages_s.values()),
        )
        return batch

    def _parse(self) -> Any:
        from leadflow.dbt import parse

        return parse(
            self.settings.warehouse_path,
            dbt_vars=pipeline.dbt_vars(self.settings),
            target_path=LANE_DBT_TARGET,
        )

    def _build(self, selector: str) -> None:
        from leadflow.dbt import build

        build(
            selector,
            self.settings.warehouse_path,
            dbt_vars=pipeline.dbt_vars(self.settings),
            target_path=LANE_DBT_TARGET,
            unit_tests=False,
            manifest=self._manifest,
            extra_args=LANE_DBT_ARGS,
        )
