"""Reading what routing needs from the warehouse: the leads, the roster and the routing state.

- Leads: intermediate.int_leads_unified joined with ops.lead_scores (score, grade, temperature,
  is_mql) and `nurture_exit_reason` (the exit reason of the lead's latest nurture membership, once it ended).
- Roster: the newest version of each HubSpot owner in raw.hubspot__owners; archived owners are
  inactive. The per-rep overlay (weight, caps, availability, skills) comes from config.
- Workload: counted from ops.lead_assignments itself. A lead is *open* while it is assigned and not
  converted or closed, which is what the warehouse can tell: no opportunity or customer date and no
  such lifecycle stage on its CRM record, and no recycle/close by the nurture path (ops.lead_recycling)
  since it was assigned.
- Accounts: each lead carries the CRM account dedupe/accounts.py matched it to (ops.lead_accounts:
  `account_id`, `account_owner_id`, `account_match_rule`). For leads without an owned account, the
  fallback map: a non-free email domain -> the CRM owners of the most recently updated leads there.
- Pool state: ops.routing_pools (the smooth round-robin current weights).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import duckdb
import pandas as pd

from enrichment.firmographics import technology_lists
from leadflow.config import ConfigError, RoutingConfig
from leadflow.warehouse import nulls_to_none, table_columns
from routing.engine import Owner, Roster, RoutingState, Workload
from routing.nurture import LATEST_MEMBERSHIP, NURTURE_EXIT_REASON
from routing.pools import PoolState

__all__ = [
    "check_config_against",
    "config_fields",
    "load_leads",
    "load_roster",
    "load_state",
    "load_unrouted",
]

SCORE_FIELDS = ("score", "grade", "temperature", "is_mql")
# From ops.lead_accounts (dedupe/accounts.py): the lead's matched account and that account's owner.
ACCOUNT_FIELDS = ("account_id", "account_owner_id", "account_match_rule")
CLOSED_STAGES = ("opportunity", "customer", "evangelist")
# Period caps and `fewest` look back at most a month (plus a day for time zones).
_LOOKBACK = timedelta(days=32)


def load_roster(con: duckdb.DuckDBPyConnection) -> Roster:
    rows = con.execute(
        """
        select payload->>'$.id', payload->>'$.email', coalesce(try_cast(payload->>'$.archived' as boolean), false)
        from raw.hubspot__owners
        qualify row_number() over (partition by record_id order by record_updated_at desc nulls last, _loaded_at desc) = 1
        """
    ).fetchall()
    return Roster([Owner(str(i), str(e or ""), active=not archived) for i, e, archived in rows])


def lead_columns(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The fields a routing condition may read (what load_leads returns)."""
    cols = table_columns(con, "intermediate", "int_leads_unified")
    return [
        *cols,
        *(f for f in SCORE_FIELDS if f not in cols),
        "nurture_exit_reason",
        *(f for f in ACCOUNT_FIELDS if f not in cols),
    ]


def load_leads(
    con: duckdb.DuckDBPyConnection,
    *,
    lead_ids: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Leads with their scores, nurture exit reason and matched account: the unrouted ones, or
    exactly `lead_ids`.

    Unrouted = no assignment and not waiting in a routing queue. Oldest first, so that when capacity
    runs short the lead that waited longest gets the rep.
    """
    if not table_columns(con, "intermediate", "int_leads_unified"):
        return []
    select, order = _lead_select(con)
    where = _UNROUTED if lead_ids is None else "l.lead_id in (select unnest(?::varchar[]))"
    params = [] if lead_ids is None else [lead_ids]
    return _records(
        con.execute(
            f"{select} where {where} order by {', '.join(f'l.{c}' for c in order)}", params
        ).df()
    )


def load_unrouted(
    con: duckdb.DuckDBPyConnection, condition_digest: str
) -> tuple[list[dict[str, Any]], int]:
    """The unrouted leads routing has to judge, oldest first, and how many it need not.

    A lead routing.eligible left out before (ops.routing_not_eligible) is left out again without
    being read while its row (the lead, its score, nurture exit and account: everything a condition
    can see) and the condition (`condition_digest`) are what they were: the verdict is a function
    of the two. Each row read carries `_input_hash`, the hash to remember it by. The temporary
    table routing_read (lead_id, input_hash, unchanged) stays for remember_not_eligible.
    """
    if not table_columns(con, "intermediate", "int_leads_unified"):
        con.execute(
            "create or replace temp table routing_read "
            "(lead_id varchar, input_hash varchar, unchanged boolean)"
        )
        return [], 0
    select, order = _lead_select(con)
    judged = (
        "ops.routing_not_eligible"
        if table_columns(con, "ops", "routing_not_eligible")
        else "(select null::varchar as lead_id, null::varchar as input_hash, "
        "null::varchar as condition_digest where false)"
    )
    con.execute(
        f"""
        create or replace temp table routing_read as
        select q.lead_id, hash(q)::varchar as input_hash, e.lead_id is not null as unchanged
        from ({select} where {_UNROUTED}) as q
        left join {judged} e
            on e.lead_id = q.lead_id and e.input_hash = hash(q)::varchar
            and e.condition_digest = ?
        """,
        [condition_digest],
    )
    unchanged = con.execute("select count(*) from routing_read where unchanged").fetchone()
    rows = _records(
        con.execute(
            f"""
            select q.*, r.input_hash as _input_hash
            from ({select} where {_UNROUTED}) as q
            inner join routing_read r on r.lead_id = q.lead_id and not r.unchanged
            order by {", ".join(f"q.{c}" for c in order)}
            """
        ).df()
    )
    return rows, int(unchanged[0]) if unchanged else 0


_UNROUTED = """not exists (select 1 from ops.lead_assignments a where a.lead_id = l.lead_id)
    and not exists (select 1 from ops.routing_queue q where q.lead_id = l.lead_id)"""


def _lead_select(con: duckdb.DuckDBPyConnection) -> tuple[str, tuple[str, ...]]:
    """(select ... from the leads `l` and what joins them, without a where; the columns to order
    by) of load_leads: one row per lead, every field a routing condition may read (lead_columns)."""
    nurture = (
        f"""(select m.lead_id, {NURTURE_EXIT_REASON.format(m="m")} as nurture_exit_reason
            from ({LATEST_MEMBERSHIP}) as m)"""
        if table_columns(con, "ops", "nurture_memberships")
        else "(select null::varchar as lead_id, null::varchar as nurture_exit_reason where false)"
    )
    own = set(table_columns(con, "intermediate", "int_leads_unified"))
    scores = ", ".join(f"s.{f}" for f in SCORE_FIELDS if f not in own)
    accounts = (
        "ops.lead_accounts"
        if table_columns(con, "ops", "lead_accounts")
        else "(select null::varchar as lead_id, null::varchar as account_id, "
        "null::varchar as account_owner_id, null::varchar as match_rule where false)"
    )
    account_fields = ", ".join(
        f"la.{'match_rule as account_match_rule' if f == 'account_match_rule' else f}"
        for f in ACCOUNT_FIELDS
        if f not in own
    )
    order = ("created_at", "lead_id") if "created_at" in own else ("lead_id",)
    select = f"""
        select l.*{", " + scores if scores else ""}, n.nurture_exit_reason
            {", " + account_fields if account_fields else ""}
        from intermediate.int_leads_unified l
        left join ops.lead_scores s on s.lead_id = l.lead_id
        left join {nurture} n on n.lead_id = l.lead_id
        left join {accounts} la on la.lead_id = l.lead_id"""
    return select, order


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return list(nulls_to_none(technology_lists(frame)).to_dict("records"))


def _workload(con: duckdb.DuckDBPyConnection, as_of: datetime) -> Workload:
    lead_cols = set(table_columns(con, "intermediate", "int_leads_unified"))
    closed = []
    if "became_opportunity_at" in lead_cols:
        closed.append("l.became_opportunity_at is not null")
    if "became_customer_at" in lead_cols:
        closed.append("l.became_customer_at is not null")
    if "lifecycle_stage" in lead_cols:
        stages = ", ".join(f"'{s}'" for s in CLOSED_STAGES)
        closed.append(f"lower(coalesce(l.lifecycle_stage, '')) in ({stages})")
    if table_columns(con, "ops", "lead_recycling"):
        closed.append(
            "exists (select 1 from ops.lead_recycling r where r.lead_id = a.lead_id "
            "and r.recycled_at >= a.assigned_at)"
        )
    join = (
        "left join intermediate.int_leads_unified l on l.lead_id = a.lead_id" if lead_cols else ""
    )
    is_open = f"not ({' or '.join(closed)})" if closed else "true"
    rows = con.execute(
        f"""
        select a.owner_id, a.assigned_at,
               coalesce(a.action, '') <> 'sticky' and a.rule <> 'existing_owner' as counted,
               coalesce({is_open}, true) as is_open
        from ops.lead_assignments a {join}
        order by a.assigned_at
        """
    ).fetchall()
    workload = Workload()
    since = as_of - _LOOKBACK
    for owner_id, assigned_at, counted, is_open in rows:
        if counted and assigned_at >= since:
            workload.times[owner_id].append(assigned_at)
        if is_open:
            workload.open[owner_id] += 1
    return workload


def _accounts(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[str, str]]]:
    cols = set(table_columns(con, "intermediate", "int_leads_unified"))
    if not {"email_domain", "crm_owner_id"} <= cols:
        return {}
    free = "and not coalesce(is_free_email, false)" if "is_free_email" in cols else ""
    recency = "updated_at desc nulls last, " if "updated_at" in cols else ""
    rows = con.execute(
        f"""
        select lower(email_domain), lead_id, crm_owner_id
        from intermediate.int_leads_unified
        where email_domain is not null and crm_owner_id is not null {free}
        qualify row_number() over (partition by lower(email_domain) order by {recency}lead_id) <= 2
        order by lower(email_domain), row_number() over (partition by lower(email_domain) order by {recency}lead_id)
        """
    ).fetchall()
    accounts: dict[str, list[tuple[str, str]]] = {}
    for domain, lead_id, owner_id in rows:
        accounts.setdefault(domain, []).append((str(lead_id), str(owner_id)))
    return accounts


def load_state(con: duckdb.DuckDBPyConnection, as_of: datetime) -> RoutingState:
    pools: dict[str, PoolState] = {}
    for pool, turns, state in con.execute(
        "select pool, next_index, state from ops.routing_pools"
    ).fetchall():
        # A pointer-only row from before weighted round robin starts a fresh rotation.
        current = json.loads(state) if state else {}
        pools[pool] = PoolState({k: float(v) for k, v in current.items()}, int(turns or 0))
    return RoutingState(
        roster=load_roster(con),
        pools=pools,
        workload=_workload(con, as_of),
        accounts=_accounts(con),
    )


def config_fields(config: RoutingConfig) -> dict[str, set[str]]:
    """Where in the config each lead field is read -> the fields (for the unknown-field check)."""
    where: dict[str, set[str]] = {}
    if config.eligible is not None:
        where["routing.eligible"] = config.eligible.fields()
    for rule in config.rules:
        if rule.when is not None:
            where[f"routing.rules.{rule.name}.when"] = rule.when.fields()
    for name, pool in config.pools.items():
        if pool.skills:
            where[f"routing.pools.{name}.skills"] = set(pool.skills)
    return where


def check_config_against(
    config: RoutingConfig, fields: list[str] | set[str], roster: Roster | None
) -> None:
    """A rule reading a field leads do not have, or naming a rep the CRM does not know, is a
    config error (one line), not a silent never-match."""
    known = set(fields)
    for where, used in config_fields(config).items():
        unknown = sorted(used - known)
        if unknown:
            raise ConfigError(
                f"{where}: unknown lead field {unknown[0]!r} "
                "(see docs/routing.md for the fields a rule can read)"
            )
    if roster is not None and len(roster):
        for email, where in config.named_reps().items():
            if email not in roster.by_email:
                raise ConfigError(
                    f"routing.{where}: a rep is not a CRM owner (check the email's spelling; "
                    "an archived owner is kept as inactive)"
                )
