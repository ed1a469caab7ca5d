"""Crash points: where the kill harness (tests/reliability/kill_harness.py) ends a run with SIGKILL.

A run reaches a named point at every step boundary of the sync and inside its long steps (after a
page lands, after HubSpot answered a batch and before the answer is recorded, ...). With
`LEADFLOW_KILL_AT=<point>` set, the process kills itself the first time it reaches that point;
`<point>#<n>` waits for the n-th time. Without the variable a crash point costs a dictionary
lookup and an environment read. SIGKILL, not an exception: no `finally`, no atexit, no flush, exactly as an OOM kill or a
pulled plug ends a run.

Every point is declared in POINTS, so a harness can check that it covers them all and a typo in a
call site fails loudly instead of never firing.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

ENV = "LEADFLOW_KILL_AT"

POINTS: dict[str, str] = {
    # step boundaries of flows/lead_sync.py (the run is recorded as running, nothing more)
    "run:started": "ops.sync_runs holds the run; nothing pulled yet",
    "pull:done": "one source's streams have landed (once per source)",
    "stage:done": "raw versions validated and enriched, or quarantined",
    "resolve:done": "identities resolved",
    "dbt-prepare:done": "the prepare models are built",
    "score:done": "leads scored",
    "nurture:done": "nurture enrolments and exits written",
    "sla:done": "first-touch SLAs checked",
    "route:done": "new leads routed",
    "dbt-publish:done": "the marts are built and tested",
    "push:done": "the CRM has every changed lead",
    "notify:done": "reps told",
    "run:summarized": "the run's numbers computed, the run not yet marked completed",
    # inside long steps
    "land:page-written": "a page's rows are inserted, its transaction (and cursor) not committed",
    "land:page-committed": "a page and its cursor are committed",
    "stage:stream-written": "one stream's clean rows and quarantine written, not committed",
    "resolve:links-written": "identity links written, not committed",
    "dbt:node-done": "one dbt node (model, seed or test) has finished",
    "score:written": "scores written, not committed",
    "route:written": "assignments written, not committed",
    "push:answered": "HubSpot applied a batch; the answer is not yet recorded",
    "push:recorded": "a pushed batch's acknowledgements are committed",
    "notify:sent": "a notification went out; it is not yet marked sent",
}

_seen: Counter[str] = Counter()


def crash_point(name: str) -> None:
    """End the process with SIGKILL if `LEADFLOW_KILL_AT` names this point (and occurrence)."""
    if name not in POINTS:
        raise ValueError(f"unknown crash point {name!r}: declare it in leadflow.faults.POINTS")
    wanted = os.environ.get(ENV)
    if not wanted:
        return
    point, _, occurrence = wanted.partition("#")
    if point != name:
        return
    _seen[name] += 1
    if _seen[name] == int(occurrence or 1):
        os.kill(os.getpid(), signal.SIGKILL)
