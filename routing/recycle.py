"""Recycling: leads with no activity for `nurture.recycle_after_days` are recycled or closed, daily.

A lead's last activity is the newest of: when it was created, its intent events
(intermediate.int_lead_events_unioned: form submissions, the last web visit), its CRM lifecycle
dates (became lead / MQL / SQL / opportunity / customer), its assignment, and its own nurture and
recycling history (entering a track, being recycled). The CRM's `lastmodifieddate` is deliberately
not activity: LeadFlow's own pushes (a score that decays by a point) touch it every day.

- Recycled (the default): the LeadFlow assignment is released (and the CRM owner cleared by the
  next push), an open nurture membership is closed with `recycled`, and the lead goes back into a
  track (`nurture.recycle_track`, else the first track whose condition matches), with
  hs_lead_status `nurture.recycled_lead_status` (BAD_TIMING) in the CRM.
- Closed: leads matching `nurture.close_when`, and unsubscribed leads (nothing can nurture them),
  are disqualified: an open membership is closed with `closed`, hs_lead_status becomes
  `nurture.closed_lead_status` (UNQUALIFIED); the owner is kept as the record of who had it.

Leads that reached opportunity or customer are never touched, nor a lead already closed. Each
action is a row of ops.lead_recycling with its reason. Re-running is harmless: a recycled lead
re-entered a track at the run's time, which is activity, so it is not stale again for another
`recycle_after_days`.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import duckdb

from leadflow.config import NurtureConfig
from leadflow.warehouse import transaction
from routing.nurture import choose_track, lead_frame
from scoring.rules import matches

log = logging.getLogger("leadflow.recycle")

__all__ = ["RecycleResult", "last_activity", "recycle_stale_leads"]

_LAST_ACTIVITY = """
with activity as (
    select lead_id, created_at as activity_at from intermediate.int_leads_unified
    union all select lead_id, became_lead_at from intermediate.int_leads_unified
    union all select lead_id, became_mql_at from intermediate.int_leads_unified
    union all select lead_id, became_sql_at from intermediate.int_leads_unified
    union all select lead_id, became_opportunity_at from intermediate.int_leads_unified
    union all select lead_id, became_customer_at from intermediate.int_leads_unified
    union all select lead_id, occurred_at from intermediate.int_lead_events_unioned
    union all select lead_id, assigned_at from ops.lead_assignments
    union all select lead_id, entered_at from ops.nurture_memberships
    union all select lead_id, recycled_at from ops.lead_recycling
)
select lead_id, max(activity_at) as last_activity_at
from activity
group by lead_id
"""

_LATEST_ACTION = """
select lead_id, action
from ops.lead_recycling
qualify row_number() over (partition by lead_id order by recycled_at desc) = 1
"""


@dataclass
class RecycleResult:
    considered: int = 0
    recycled: int = 0
    closed: int = 0
    by_reason: Counter[str] = field(default_factory=Counter)
    lemlist_added: int = 0  # the Lemlist calls the recycle flow made after it (pipeline)
    lemlist_removed: int = 0
    lemlist_failed: int = 0


def last_activity(con: duckdb.DuckDBPyConnection) -> dict[str, datetime | None]:
    return {row[0]: row[1] for row in con.execute(_LAST_ACTIVITY).fetchall()}


def _is_deal(lead: dict[str, Any]) -> bool:
    stage = str(lead.get("lifecycle_stage") or "").lower()
    return (
        lead.get("became_opportunity_at") is not None
        or lead.get("became_customer_at") is not None
        or stage in {"opportunity", "customer", "evangelist"}
    )


def decide(lead: dict[str, Any], config: NurtureConfig, days_idle: int) -> tuple[str, str]:
    """('recycled' | 'closed', reason) for a stale lead."""
    idle = f"no activity for {days_idle} days"
    if lead.get("is_unsubscribed"):
        return "closed", f"{idle}; unsubscribed, so it cannot be nurtured"
    if config.close_when is not None and matches(config.close_when, lead):
        return "closed", f"{idle}; matches nurture.close_when"
    return "recycled", idle


def recycle_stale_leads(
    con: duckdb.DuckDBPyConnection, config: NurtureConfig, *, run_id: str, as_of: datetime
) -> RecycleResult:
    """Recycle or close every lead idle for `recycle_after_days` as of `as_of`."""
    result = RecycleResult()
    cutoff = as_of - timedelta(days=config.recycle_after_days)
    activity = last_activity(con)
    latest_action = dict(con.execute(_LATEST_ACTION).fetchall())
    leads = lead_frame(con)
    tracks = {t.name: t for t in config.tracks}
    actions: list[tuple[dict[str, Any], str, str, datetime | None, str | None]] = []
    for lead in leads:
        lead_id = lead["lead_id"]
        if _is_deal(lead) or latest_action.get(lead_id) == "closed":
            continue
        result.considered += 1
        last = activity.get(lead_id)
        if last is not None and last > cutoff:
            continue
        days_idle = (as_of - last).days if last is not None else config.recycle_after_days
        action, reason = decide(lead, config, days_idle)
        track = None
        if action == "recycled":
            chosen = (
                tracks.get(config.recycle_track)
                if config.recycle_track
                else choose_track(lead, config.tracks)
            )
            track = chosen.name if chosen is not None else None
        actions.append((lead, action, reason, last, track))

    with transaction(con):
        for lead, action, reason, last, track in actions:
            lead_id = lead["lead_id"]
            owner = lead.get("assigned_owner_id") or lead.get("crm_owner_id")
            con.execute(
                "update ops.nurture_memberships set exited_at = ?, exit_reason = ?, exited_run_id = ? "
                "where lead_id = ? and exited_at is null",
                [as_of, action, run_id, lead_id],
            )
            if action == "recycled":
                con.execute("delete from ops.lead_assignments where lead_id = ?", [lead_id])
                if track is not None:
                    con.execute(
                        "insert into ops.nurture_memberships "
                        "(lead_id, track, entered_at, run_id, lemlist_campaign_id) "
                        "values (?, ?, ?, ?, ?)",
                        [lead_id, track, as_of, run_id, tracks[track].lemlist_campaign_id],
                    )
            status = (
                config.recycled_lead_status if action == "recycled" else config.closed_lead_status
            )
            con.execute(
                "insert into ops.lead_recycling (lead_id, action, reason, last_activity_at, "
                "previous_owner_id, track, crm_lead_status, recycled_at, run_id) "
                "values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [lead_id, action, reason, last, owner, track, status, as_of, run_id],
            )
            if action == "recycled":
                result.recycled += 1
            else:
                result.closed += 1
            result.by_reason[reason.split(";")[-1].strip() if ";" in reason else "idle"] += 1
    log.info("recycle: %d recycled, %d closed", result.recycled, result.closed)
    return result
