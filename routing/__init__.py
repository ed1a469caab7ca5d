"""Route every unassigned lead and store the assignment, the audit and the pool pointers together.

Reads intermediate.int_leads_unified (leads), ops.lead_assignments (who is already assigned) and the
newest version of each HubSpot owner in raw.hubspot__owners (the roster). An assigned lead is not
routed again. Assignments, audit rows and pool pointers commit in one transaction, so a crash
never leaves a pointer that moved for an assignment that was not saved.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import pandas as pd

from leadflow.config import RoutingConfig
from leadflow.warehouse import nulls_to_none, registered, transaction
from routing.engine import Decision, Owner, Roster, decide

__all__ = ["RouteResult", "load_roster", "route_new_leads"]


@dataclass
class RouteResult:
    considered: int = 0
    routed: int = 0
    unassigned: int = 0
    by_owner: Counter[str] = field(default_factory=Counter)


def load_roster(con: duckdb.DuckDBPyConnection) -> Roster:
    rows = con.execute(
        """
        select payload->>'$.id', payload->>'$.email', coalesce(try_cast(payload->>'$.archived' as boolean), false)
        from raw.hubspot__owners
        qualify row_number() over (partition by record_id order by record_updated_at desc nulls last, _loaded_at desc) = 1
        """
    ).fetchall()
    return Roster([Owner(str(i), str(e or ""), active=not archived) for i, e, archived in rows])


def route_new_leads(
    con: duckdb.DuckDBPyConnection, config: RoutingConfig, *, run_id: str, as_of: datetime
) -> RouteResult:
    leads = con.execute(
        """
        select l.lead_id, l.crm_owner_id, l.country_code, l.region
        from intermediate.int_leads_unified l
        where not exists (select 1 from ops.lead_assignments a where a.lead_id = l.lead_id)
        order by l.created_at, l.lead_id
        """
    ).df()
    result = RouteResult(considered=len(leads))
    if leads.empty:
        return result
    roster = load_roster(con)
    pointers = dict(con.execute("select pool, next_index from ops.routing_pools").fetchall())
    decisions: list[Decision] = [
        decide(lead, config, roster, pointers) for lead in nulls_to_none(leads).to_dict("records")
    ]
    assignments = [
        {
            "lead_id": d.lead_id,
            "owner_id": d.owner.id,
            "owner_email": d.owner.email,
            "pool": d.pool,
            "rule": d.rule,
            "reason": d.reason,
            "assigned_at": as_of,
            "run_id": run_id,
        }
        for d in decisions
        if d.owner is not None
    ]
    audit = [
        {
            "lead_id": d.lead_id,
            "run_id": run_id,
            "decided_at": as_of,
            "rule": d.rule,
            "owner_id": d.owner.id if d.owner else None,
            "reason": d.reason,
            "evaluated": json.dumps(d.evaluated),
        }
        for d in decisions
    ]
    with transaction(con):
        if assignments:
            with registered(con, "new_assignments", pd.DataFrame(assignments)):
                con.execute(
                    "insert or ignore into ops.lead_assignments by name select * from new_assignments"
                )
        with registered(con, "new_audit", pd.DataFrame(audit)):
            con.execute("insert or replace into ops.routing_audit by name select * from new_audit")
        for pool, index in pointers.items():
            con.execute(
                """insert into ops.routing_pools values (?, ?, ?)
                   on conflict (pool) do update set next_index = excluded.next_index, updated_at = excluded.updated_at""",
                [pool, index, as_of],
            )
    for d in decisions:
        if d.owner is not None:
            result.routed += 1
            result.by_owner[d.owner.email or d.owner.id] += 1
        else:
            result.unassigned += 1
    return result
