"""Route every eligible unassigned lead; store assignments, audit and pool state together.

`route_new_leads` reads the leads nobody owns yet (routing/roster.py), keeps those the `eligible`
condition takes (the rest are the nurture path's), decides each one with the rules engine
(routing/engine.py) and writes, in one transaction: the assignments (ops.lead_assignments), the
queued leads (ops.routing_queue), one audit row per decision (ops.routing_audit) and the pools'
round-robin state (ops.routing_pools). A crash never leaves a pool state that moved for an
assignment that was not saved. One router writes at a time (routing/lease.py).

`reassign` re-routes one already-assigned lead away from some owners (an SLA breach), keeping the
previous owner and the reason in the audit.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb
import pandas as pd

from leadflow.config import RoutingConfig
from leadflow.faults import crash_point
from leadflow.warehouse import registered, stable_hash, to_utc_naive, transaction, utcnow
from routing.conditions import is_eligible
from routing.engine import Decision, Engine, Owner, Roster, RoutingState
from routing.lease import assert_holder, hold_lease, new_holder, retry_conflicts
from routing.roster import (
    check_config_against,
    lead_columns,
    load_leads,
    load_roster,
    load_state,
    load_unrouted,
)

# Bump when what is_eligible makes of the same condition and row changes (routing/conditions.py):
# every remembered not-eligible verdict is then reached again.
_ELIGIBILITY_SEMANTICS = 1

__all__ = [
    "Decision",
    "Owner",
    "Roster",
    "RouteResult",
    "condition_digest",
    "is_eligible",
    "load_roster",
    "plan",
    "reassign",
    "remember_not_eligible",
    "route_new_leads",
    "write_decisions",
]


@dataclass
class RouteResult:
    considered: int = 0  # unrouted leads read
    not_eligible: int = 0  # left to the nurture path
    routed: int = 0  # given an owner (kept, assigned)
    unassigned: int = 0  # eligible but no owner: queued, held or nobody
    held: int = 0
    queued: int = 0
    by_owner: Counter[str] = field(default_factory=Counter)
    by_rule: Counter[str] = field(default_factory=Counter)
    lease_busy: bool = False  # another router held the lease for the whole wait: nothing done
    decisions: list[Decision] = field(default_factory=list)
    # of not_eligible: left out unread, judged so before on the same row and condition
    not_eligible_unchanged: int = 0
    # (lead_id, input hash) of the leads read and judged not eligible this time
    judged_not_eligible: list[tuple[str, str]] = field(default_factory=list)


def condition_digest(config: RoutingConfig) -> str:
    """What a not-eligible verdict was reached under: routing.eligible, and the version of the code
    that evaluates it (a change to either judges every unrouted lead again)."""
    condition = None if config.eligible is None else config.eligible.model_dump(mode="json")
    return stable_hash([_ELIGIBILITY_SEMANTICS, condition])


def remember_not_eligible(
    con: duckdb.DuckDBPyConnection,
    judged: list[tuple[str, str]],
    digest: str,
    as_of: datetime,
) -> None:
    """Keep ops.routing_not_eligible to exactly the unrouted leads routing.eligible leaves out:
    those load_unrouted left unread (still unrouted, row and condition unchanged) plus `judged`,
    read and left out this time. A lead routed since, merged away or changed drops out of it."""
    frame = pd.DataFrame(judged, columns=["lead_id", "input_hash"], dtype="object")
    with transaction(con):
        con.execute(
            """
            delete from ops.routing_not_eligible e
            where not exists (select 1 from routing_read r where r.lead_id = e.lead_id and r.unchanged)
            """
        )
        with registered(con, "judged_not_eligible", frame):
            con.execute(
                """
                insert into ops.routing_not_eligible (lead_id, input_hash, condition_digest, judged_at)
                select lead_id, input_hash, ?, ? from judged_not_eligible
                """,
                [digest, to_utc_naive(as_of)],
            )


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, default=str)


def write_decisions(
    con: duckdb.DuckDBPyConnection,
    decisions: list[Decision],
    state: RoutingState,
    *,
    run_id: str,
    as_of: datetime,
    holder: str | None = None,
    replace_assignments: bool = False,
) -> None:
    """Assignments, queue rows, audit rows and pool state, in one transaction.

    `holder`: the lease this writer must still hold (checked inside the transaction).
    `replace_assignments`: a re-route updates the lead's existing assignment row.
    """
    assignments = [
        {
            "lead_id": d.lead_id,
            "owner_id": d.owner.id,
            "owner_email": d.owner.email or None,
            "pool": d.pool,
            "rule": d.rule,
            "reason": d.reason,
            "assigned_at": d.decided_at or as_of,
            "run_id": run_id,
            "action": d.action,
        }
        for d in decisions
        if d.owner is not None
    ]
    queued = [
        {
            "lead_id": d.lead_id,
            "queue": d.queue,
            "rule": d.rule,
            "reason": d.reason,
            "queued_at": d.decided_at or as_of,
            "run_id": run_id,
        }
        for d in decisions
        if d.outcome == "queued"
    ]
    touched = {d.pool for d in decisions if d.pool and d.strategy_after is not None}
    with transaction(con):
        if holder is not None:
            assert_holder(con, holder)
        first_seq = con.execute(
            "select coalesce(max(seq), 0) from ops.routing_audit where run_id = ?", [run_id]
        ).fetchone()
        seq0 = int(first_seq[0]) if first_seq else 0
        recorded_at = utcnow()
        audit = [
            {
                "decision_id": f"{run_id}:{seq0 + n:07d}",
                "lead_id": d.lead_id,
                "run_id": run_id,
                "seq": seq0 + n,
                "decided_at": d.decided_at or as_of,
                "outcome": d.outcome,
                "rule": d.rule,
                "action": d.action,
                "owner_id": d.owner.id if d.owner else None,
                "owner_email": (d.owner.email or None) if d.owner else None,
                "previous_owner_id": d.previous_owner_id,
                "pool": d.pool,
                "queue": d.queue,
                "reason": d.reason,
                "evaluated": json.dumps(d.evaluated, default=str),
                "candidates": _json(d.candidates or None),
                "skipped": _json(d.skipped or None),
                "strategy_before": _json(d.strategy_before),
                "strategy_after": _json(d.strategy_after),
                "recorded_at": recorded_at,
            }
            for n, d in enumerate(decisions, start=1)
        ]
        if assignments:
            frame = pd.DataFrame(assignments)
            with registered(con, "new_assignments", frame):
                if replace_assignments:
                    con.execute(
                        "delete from ops.lead_assignments where lead_id in "
                        "(select lead_id from new_assignments)"
                    )
                con.execute(
                    "insert into ops.lead_assignments by name select * from new_assignments"
                )
        if queued:
            with registered(con, "new_queued", pd.DataFrame(queued)):
                if replace_assignments:
                    con.execute(
                        "delete from ops.lead_assignments where lead_id in "
                        "(select lead_id from new_queued)"
                    )
                con.execute("insert into ops.routing_queue by name select * from new_queued")
        if audit:
            frame = pd.DataFrame(audit)
            for col in ("evaluated", "candidates", "skipped", "strategy_before", "strategy_after"):
                frame[col] = frame[col].astype(object)
            with registered(con, "new_audit", frame):
                con.execute("insert into ops.routing_audit by name select * from new_audit")
        for pool in sorted(touched):
            ps = state.pools[pool]
            con.execute(
                """insert into ops.routing_pools (pool, next_index, updated_at, state)
                   values (?, ?, ?, ?)
                   on conflict (pool) do update set next_index = excluded.next_index,
                       updated_at = excluded.updated_at, state = excluded.state""",
                [pool, ps.turns, as_of, json.dumps(ps.current)],
            )
        crash_point("route:written")


def _tally(result: RouteResult, decisions: Iterable[Decision]) -> None:
    for d in decisions:
        result.by_rule[d.rule] += 1
        if d.owner is not None:
            result.routed += 1
            result.by_owner[d.owner.email or d.owner.id] += 1
        else:
            result.unassigned += 1
            result.held += d.outcome == "held"
            result.queued += d.outcome == "queued"


def plan(
    con: duckdb.DuckDBPyConnection,
    config: RoutingConfig,
    *,
    as_of: datetime,
    leads: list[dict[str, Any]] | None = None,
    fields: list[str] | None = None,
) -> tuple[RouteResult, RoutingState]:
    """Read and decide, without writing: the shared first half of a route and of a dry run.

    `leads` (a sample) replaces the warehouse's unrouted leads; `fields` are the fields they have.
    """
    as_of = to_utc_naive(as_of)
    state = load_state(con, as_of)
    check_config_against(config, fields if fields is not None else lead_columns(con), state.roster)
    unchanged = 0
    if leads is None:
        rows, unchanged = load_unrouted(con, condition_digest(config))
    else:
        rows = leads
    result = RouteResult(
        considered=len(rows) + unchanged,
        not_eligible=unchanged,
        not_eligible_unchanged=unchanged,
    )
    engine = Engine(config)
    for lead in rows:
        input_hash = lead.pop("_input_hash", None)
        if not is_eligible(lead, config):
            result.not_eligible += 1
            if input_hash is not None:
                result.judged_not_eligible.append((lead["lead_id"], str(input_hash)))
            continue
        result.decisions.append(engine.decide(lead, state, as_of))
    _tally(result, result.decisions)
    return result, state


def route_new_leads(
    con: duckdb.DuckDBPyConnection, config: RoutingConfig, *, run_id: str, as_of: datetime
) -> RouteResult:
    """Route every eligible lead that has no owner and is not queued; safe against a second router."""
    holder = new_holder(run_id)
    with hold_lease(con, holder, wait_s=config.lease_wait_s, ttl_s=config.lease_ttl_s) as held:
        if not held:
            return RouteResult(lease_busy=True)

        def attempt() -> RouteResult:
            result, state = plan(con, config, as_of=as_of)
            remember_not_eligible(con, result.judged_not_eligible, condition_digest(config), as_of)
            if result.decisions:
                write_decisions(
                    con,
                    result.decisions,
                    state,
                    run_id=run_id,
                    as_of=to_utc_naive(as_of),
                    holder=holder,
                )
            return result

        return retry_conflicts(con, attempt)


def reassign(
    con: duckdb.DuckDBPyConnection,
    config: RoutingConfig,
    lead_id: str,
    *,
    exclude_owner_ids: set[str],
    reason: str,
    run_id: str,
    as_of: datetime,
) -> Decision:
    """Re-route one assigned lead away from `exclude_owner_ids` (an SLA breach re-route).

    The rules run again as for a new lead (a sticky rule keeps the CRM owner only if that owner is
    not excluded). A new owner replaces the assignment (outcome `reassigned`); a queue takes the
    lead out of ops.lead_assignments into ops.routing_queue; when nobody else can take it, the
    assignment stays as it is. Every case is audited with the previous owner and `reason`.
    Call it outside an open transaction: it takes the routing lease and commits by itself.
    """
    as_of = to_utc_naive(as_of)
    holder = new_holder(f"{run_id}:reassign")
    with hold_lease(con, holder, wait_s=config.lease_wait_s, ttl_s=config.lease_ttl_s) as held:
        if not held:
            raise TimeoutError("another router held the routing lease; re-route again later")

        def attempt() -> Decision:
            previous = con.execute(
                "select owner_id from ops.lead_assignments where lead_id = ?", [lead_id]
            ).fetchone()
            leads = load_leads(con, lead_ids=[lead_id])
            if not leads:
                raise KeyError(f"lead {lead_id} is not in intermediate.int_leads_unified")
            state = load_state(con, as_of)
            excluded = frozenset(str(o) for o in exclude_owner_ids)
            if previous is not None:
                # the lead's own assignment must not count against anyone's caps while re-deciding
                state.workload.open[str(previous[0])] = max(
                    0, state.workload.open.get(str(previous[0]), 0) - 1
                )
            decision = Engine(config).decide(leads[0], state, as_of, exclude_owner_ids=excluded)
            decision.previous_owner_id = str(previous[0]) if previous else None
            if decision.owner is not None:
                decision.outcome = "reassigned"
                decision.reason = f"re-routed ({reason}): {decision.reason}"
            elif decision.outcome == "queued":
                decision.reason = f"re-routed ({reason}): {decision.reason}"
            else:
                decision.reason = (
                    f"re-route ({reason}) found no other owner, the lead stays where it is: "
                    f"{decision.reason}"
                )
            write_decisions(
                con,
                [decision],
                state,
                run_id=run_id,
                as_of=as_of,
                holder=holder,
                replace_assignments=True,
            )
            return decision

        return retry_conflicts(con, attempt)
