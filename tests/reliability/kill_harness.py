"""The kill harness (issue 9 point 1): end a sync with SIGKILL at a crash point, run again, and
compare the warehouse and the sandbox CRM with the same world synced without a kill.

A world is one sandbox (seeded, fixed clock start) served from this process, a warehouse file and
the shipped leadflow.yml pointed at both, as tests/flows/test_lead_sync.py writes it, with small
pages and CRM batches (a kill lands between pages and between batches; chaos has many requests to
pick from) and fast HTTP retries. The killed run is a child process (`leadflow run` with
LEADFLOW_KILL_AT, see leadflow/faults.py) talking to this process's Prefect server and sandbox, so
the kill takes the run's process and nothing else. Then the same hour is run again (an operator's
or Prefect's retry), then a later hour, in this process. The uninterrupted world runs the first and
the later hour; it is also the calm world the chaos runs are compared with
(tests/flows/test_chaos_runs.py).

Used by tests/reliability/test_kill_points.py, tests/flows/test_chaos_runs.py and
bench/reliability.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from leadflow.accounting import record_accounting, record_status_sql
from leadflow.warehouse import raw_table
from sandbox import Sandbox
from tests.flows.test_lead_sync import TOKEN_ENV, TOKENS, slack_notices, write_config

WORLD_START = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
AS_OF = datetime(2026, 5, 4, 9, 30)
LATER = AS_OF + timedelta(hours=2)  # pulls back the contacts the earlier runs' pushes created
SEED = 29
LEADS = 40
# (Meta's page size also pages a year of daily ad insights: kept larger)
PAGE_SIZES = {"hubspot": 2, "meta": 25, "typeform": 2}
BATCH_SIZE = 5
# Timeouts: the client gives up after 0.5 s (chaos answers 1 s late, the write already applied).
FAST_HTTP = {"timeout_s": 0.5, "max_attempts": 8, "backoff_base_s": 0.05, "backoff_max_s": 0.5}
CHILD_TIMEOUT_S = 600
SetEnv = Callable[[str, str], None]  # monkeypatch.setenv in tests, os.environ in the bench

# Each entry: a crash point of leadflow.faults.POINTS, with "#n" for its n-th occurrence in the run.
# Every declared point is here at least once (a test checks it); the n-th occurrences put kills
# between pages, between CRM batches and in the middle of each dbt build.
KILL_POINTS: tuple[str, ...] = (
    "run:started",
    "land:page-written",
    "land:page-committed#2",
    "land:page-written#7",
    "pull:done",
    "pull:done#3",
    "stage:stream-written",
    "stage:stream-written#3",
    "stage:done",
    "resolve:links-written",
    "resolve:done",
    "dbt:node-done#10",
    "dbt-prepare:done",
    "score:written",
    "score:done",
    "nurture:done",
    "sla:done",
    "route:written",
    "route:done",
    "dbt:node-done#240",  # the prepare build has ~155 nodes: this is inside publish
    "dbt-publish:done",
    "push:answered",
    "push:recorded",
    "push:answered#3",
    "push:done",
    "notify:sent",
    "notify:sent#4",
    "notify:done",
    "run:summarized",
)


@dataclass
class KillOutcome:
    """What one kill point did, and how the world it left compares with the uninterrupted one."""

    point: str
    reached: bool
    recovered: bool = False
    differences: list[str] = field(default_factory=list)
    lost_records: int = 0
    duplicate_crm_writes: int = 0
    double_assignments: int = 0
    duplicate_notifications: int = 0
    child_error: str = ""
    child_output: str = field(default="", repr=False)  # searched for leaks, never reported

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "child_output"}


def _configure(tmp: Path, sandbox: Sandbox) -> Path:
    import yaml

    config = write_config(tmp, sandbox.urls, smtp_port=sandbox.smtp_address[1])
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    for name, size in PAGE_SIZES.items():
        data["sources"][name]["page_size"] = size
        data["sources"][name]["http"] = dict(FAST_HTTP)
    # The stage histories read every contact again (a search and a batch read per page of 2
    # here): they would double the harness's requests, and move the seeded chaos draws
    # (test_chaos_runs) off the batch writes; tests/flows/test_all_sources.py runs them under chaos.
    data["sources"]["hubspot"]["stage_history"] = False
    data["destinations"]["hubspot"]["http"] = dict(FAST_HTTP)
    data["destinations"]["hubspot"]["batch_size"] = BATCH_SIZE
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    return config


def _environment(sandbox: Sandbox) -> dict[str, str]:
    return {
        **{env: TOKENS[vendor] for vendor, env in TOKEN_ENV.items()},
        "LEADFLOW_SLACK_WEBHOOK_URL": sandbox.slack_webhook_url,
    }


def open_world(tmp: Path, setenv: SetEnv) -> tuple[Sandbox, Path]:
    """A started sandbox (stop it) and a config pointed at it; the tokens are set with `setenv`."""
    tmp.mkdir(parents=True, exist_ok=True)
    sandbox = Sandbox(seed=SEED, leads=LEADS, tokens=TOKENS, now=WORLD_START).start()
    for bucket in ("slack", "hubspot", "hubspot_search", "meta", "typeform"):
        sandbox.set_rate_limit(bucket, 0, 1)  # the vendors' limits only add waiting here
    for name, value in _environment(sandbox).items():
        setenv(name, value)
    return sandbox, _configure(tmp, sandbox)


def run_here(config: Path, as_of: datetime) -> dict[str, Any]:
    """One lead_sync in this process (its Prefect server must be running)."""
    from flows.lead_sync import lead_sync

    summary: dict[str, Any] = lead_sync(config_path=str(config), as_of=as_of)
    return summary


def _run_child(config: Path, as_of: datetime, kill_at: str) -> subprocess.CompletedProcess[str]:
    """`leadflow run` in a child process that kills itself at `kill_at`."""
    from prefect.settings import get_current_settings

    api = get_current_settings().api.url
    if not api:
        raise RuntimeError("the kill harness needs a Prefect server (prefect_test_harness)")
    env = {**os.environ, "PREFECT_API_URL": str(api), "LEADFLOW_KILL_AT": kill_at}
    code = "from leadflow.cli import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, "run", "--config", str(config), "--as-of", AS_OF.isoformat()],
        env=env,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_S,
        check=False,
    )


def snapshot(sandbox: Sandbox, warehouse: Path) -> dict[str, Any]:
    """Everything that must be the same after a killed-and-recovered run as after a clean one."""
    contacts = sandbox.hubspot_contacts()
    emails = [str(c["properties"].get("email") or "").lower() for c in contacts]
    crm = sorted(
        (
            str(c["properties"].get("email") or ""),
            *(
                str(c["properties"].get(p) or "")
                for p in (
                    "hubspot_owner_id",
                    "leadflow_lead_id",
                    "leadflow_score",
                    "leadflow_grade",
                    "leadflow_score_reasons",
                )
            ),
        )
        for c in contacts
    )
    with duckdb.connect(str(warehouse), read_only=True) as con:

        def rows(sql: str) -> list[tuple[Any, ...]]:
            return con.execute(sql).fetchall()

        snap = {
            "crm_contacts": len(contacts),
            "crm": crm,
            # A CRM copy is named by its lead, not by the id HubSpot gave it: ids follow the
            # order the contacts were created in, which a retried or late push changes.
            "records": rows(
                f"""select source, stream,
                       case when status = 'crm_copy' then 'crm copy of ' || lead_id
                            else record_id end,
                       status, lead_id
                    from ({record_status_sql()}) order by all"""
            ),
            "accounting": record_accounting(con),
            "identity": rows(
                "select case when rule = 'crm_echo' then 'crm copy of ' || lead_id"
                " else record_key end, lead_id, rule from ops.lead_identity order by all"
            ),
            "quarantine": rows(
                "select source, stream, record_id, reasons from ops.quarantine order by all"
            ),
            "assignments": rows("select lead_id, owner_id from ops.lead_assignments order by all"),
            "routing_queue": rows("select lead_id, queue from ops.routing_queue order by all"),
            "scores": rows("select lead_id, score, grade from ops.lead_scores order by all"),
            "lifecycle": rows("select lead_id, event from ops.lead_lifecycle_events order by all"),
            "leads": rows("select lead_id, lifecycle_stage from marts.dim_leads order by all"),
            "push_state": rows(
                "select destination, lead_id, payload_hash from ops.push_state order by all"
            ),
            "dead_letters": rows("select destination, lead_id from ops.dead_letter order by all"),
            "cursors_past_rows": _cursors_past_rows(con),
            "assign_decisions": rows(
                "select lead_id, count(*) from ops.routing_audit where outcome = 'assigned' "
                "group by lead_id order by all"
            ),
        }
    snap["duplicate_emails"] = sum(n - 1 for n in Counter(e for e in emails if e).values() if n > 1)
    snap["notifications"] = slack_notices(sandbox.slack_messages()) + Counter(
        ("email", f"{m.recipients} {m.message['Subject']}") for m in sandbox.emails()
    )
    return snap


def _cursors_past_rows(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Cursors saved beyond the newest record landed for their stream and partition: the rows in
    between would never be pulled again."""
    past = []
    for source, key, cursor in con.execute(
        "select source, stream, cursor_value from ops.sync_state order by all"
    ).fetchall():
        stream, _, partition = key.partition(":")
        newest = con.execute(
            f"select max(record_updated_at) from {raw_table(source, stream)} "
            "where _partition is not distinct from ?",
            [partition or None],
        ).fetchone()
        newest_at = newest[0] if newest else None
        if cursor is not None and (newest_at is None or datetime.fromisoformat(cursor) > newest_at):
            past.append(f"{source}.{key}")
    return past


def uninterrupted(tmp: Path, setenv: SetEnv) -> dict[str, Any]:
    """The reference: the world synced for the first and the later hour, with no kill."""
    sandbox, config = open_world(tmp, setenv)
    try:
        run_here(config, AS_OF)
        run_here(config, LATER)
        return snapshot(sandbox, tmp / "warehouse.duckdb")
    finally:
        sandbox.stop()


def killed_and_recovered(
    tmp: Path, point: str, reference: dict[str, Any], setenv: SetEnv
) -> KillOutcome:
    """Kill the first hour's run at `point`, run that hour again and the later one, compare."""
    sandbox, config = open_world(tmp, setenv)
    try:
        child = _run_child(config, AS_OF, point)
        output = f"{child.stdout}\n{child.stderr}"
        if child.returncode != -signal.SIGKILL:
            tail = " | ".join(output.strip().splitlines()[-3:])
            return KillOutcome(point, reached=False, child_error=tail, child_output=output)
        run_here(config, AS_OF)
        run_here(config, LATER)
        outcome = compare(point, reference, snapshot(sandbox, tmp / "warehouse.duckdb"))
        outcome.child_output = output
        return outcome
    finally:
        sandbox.stop()


def differences(reference: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The snapshot keys that differ, notifications aside (at-least-once: counted, not compared)."""
    return [key for key in reference if key != "notifications" and reference[key] != after[key]]


def compare(point: str, reference: dict[str, Any], after: dict[str, Any]) -> KillOutcome:
    outcome = KillOutcome(point, reached=True)
    outcome.differences = differences(reference, after)
    lost = {r[:3] for r in reference["records"]} - {r[:3] for r in after["records"]}
    outcome.lost_records = len(lost) + after["accounting"]["unprocessed"]
    outcome.duplicate_crm_writes = after["duplicate_emails"] + max(
        0, after["crm_contacts"] - reference["crm_contacts"]
    )
    outcome.double_assignments = sum(n - 1 for _lead, n in after["assign_decisions"] if n > 1)
    outcome.duplicate_notifications = sum(
        (after["notifications"] - reference["notifications"]).values()
    )
    outcome.recovered = not outcome.differences
    return outcome
