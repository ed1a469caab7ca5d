"""First-touch SLAs: find owners who did not touch a lead in time, record it once, act on it.

For every current assignment LeadFlow made (ops.lead_assignments; owners kept from the CRM are left
out unless `sla.include_kept_owners`), the first policy whose `when` matches the lead sets a limit in
working minutes on the owner's calendar (routing.reps.<email>.availability; none: wall-clock time).

- The clock starts when the owner became visible in the CRM: HubSpot's `hubspot_owner_assigneddate`
  when the pulled contact shows this owner, else the assignment time once the push acknowledged it.
  An assignment the CRM has not shown yet is not on the clock (the rep cannot see the lead).
- The touch is HubSpot's `hs_sa_first_engagement_date`, which HubSpot keeps per current owner.
- Breached: touched after the due time, or not touched and the run's `as_of` is past it.

Each breach is written once to ops.sla_breaches (key: lead, owner, policy). Actions: `record` only
writes it; `escalate` also makes routing/notify.py tell `sla.escalate_to`; `reroute` hands the lead,
when still untouched, to another owner through `routing.reassign` (which audits the move with the
previous owner and the reason). Notifications for all three are queued by routing/notify.py.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb

from leadflow.config import Availability, RoutingConfig, SlaConfig, SlaPolicy
from leadflow.warehouse import has_table, nulls_to_none, to_utc_naive
from routing.calendar import add_working_minutes
from routing.roster import load_leads
from scoring.rules import matches

__all__ = ["Breach", "SlaResult", "check_slas", "find_breaches", "policy_for"]

log = logging.getLogger("leadflow.sla")


@dataclass(frozen=True)
class Breach:
    lead_id: str
    owner_id: str
    owner_email: str | None
    policy: str
    assigned_at: datetime
    due_at: datetime
    touched_at: datetime | None
    action: str  # what was done: record | escalate | reroute


@dataclass
class SlaResult:
    checked: int = 0  # assignments on an SLA clock
    on_time: int = 0  # touched within the limit
    waiting: int = 0  # not touched, not due yet
    breaches: Counter[str] = field(default_factory=Counter)  # new breaches per action
    rerouted: int = 0  # leads that found a new owner
    errors: list[str] = field(default_factory=list)

    def as_summary(self) -> dict[str, Any]:
        return {
            "sla_checked": self.checked,
            "sla_breaches": sum(self.breaches.values()),
            "sla_breaches_by_action": dict(self.breaches),
            "sla_rerouted": self.rerouted,
        }


def policy_for(config: SlaConfig, lead: dict[str, Any]) -> SlaPolicy | None:
    """The first policy whose condition matches the lead (a policy without one matches every lead)."""
    for policy in config.policies:
        if policy.when is None or matches(policy.when, lead):
            return policy
    return None


def _clocks(con: duckdb.DuckDBPyConnection, include_kept: bool) -> list[dict[str, Any]]:
    """Current assignments with when their clock started and the owner's first touch, if any."""
    crm = has_table(con, "staging", "stg_hubspot__contacts")
    contact = (
        """left join staging.stg_hubspot__contacts c on c.contact_id = p.destination_record_id"""
        if crm
        else "left join (select null::varchar as contact_id, null::varchar as owner_id, "
        "null::timestamp as owner_assigned_at, null::timestamp as first_engagement_at) c on false"
    )
    frame = con.execute(
        f"""
        select a.lead_id, a.owner_id, a.owner_email, a.assigned_at,
               case when c.owner_id = a.owner_id and c.owner_assigned_at is not null
                    then greatest(c.owner_assigned_at, a.assigned_at)
                    when p.acknowledged_at >= a.assigned_at then a.assigned_at
               end as clock_started_at,
               case when c.owner_id = a.owner_id then c.first_engagement_at end as touched_at
        from ops.lead_assignments a
        left join ops.push_state p on p.destination = 'hubspot' and p.lead_id = a.lead_id
        {contact}
        where (? or coalesce(a.action, '') <> 'sticky')
        order by a.assigned_at, a.lead_id
        """,  # the interpolated join is fixed text chosen above
        [include_kept],
    ).df()
    return list(nulls_to_none(frame).to_dict("records"))


def _dt(value: Any) -> datetime:
    """A pandas Timestamp or datetime from a query, as the naive UTC datetime the warehouse uses."""
    as_datetime: datetime = value.to_pydatetime() if hasattr(value, "to_pydatetime") else value
    return to_utc_naive(as_datetime)


def find_breaches(
    con: duckdb.DuckDBPyConnection,
    config: SlaConfig,
    calendars: dict[str, Availability | None],
    *,
    as_of: datetime,
    result: SlaResult | None = None,
) -> list[Breach]:
    """Breaches not recorded yet, as of `as_of`. `calendars`: owner email (lower case) -> calendar."""
    result = result if result is not None else SlaResult()
    clocks = [c for c in _clocks(con, config.include_kept_owners) if c["clock_started_at"]]
    if not clocks or not config.policies:
        return []
    leads = {
        lead["lead_id"]: lead for lead in load_leads(con, lead_ids=[c["lead_id"] for c in clocks])
    }
    recorded = set(con.execute("select lead_id, owner_id, policy from ops.sla_breaches").fetchall())
    found: list[Breach] = []
    for clock in clocks:
        lead = leads.get(clock["lead_id"])
        policy = policy_for(config, lead) if lead is not None else None
        if policy is None:
            continue
        result.checked += 1
        email = (clock["owner_email"] or "").lower()
        started = _dt(clock["clock_started_at"])
        try:
            due = add_working_minutes(calendars.get(email), started, policy.within_minutes)
        except ValueError:
            continue  # no working time left on this calendar: never due
        touched = _dt(clock["touched_at"]) if clock["touched_at"] is not None else None
        if touched is not None and touched <= due:
            result.on_time += 1
            continue
        if touched is None and as_of <= due:
            result.waiting += 1
            continue
        if (clock["lead_id"], clock["owner_id"], policy.name) in recorded:
            continue
        # A lead already touched (late) stays with its owner: re-routing it would undo the contact.
        action = "record" if policy.action == "reroute" and touched is not None else policy.action
        found.append(
            Breach(
                lead_id=clock["lead_id"],
                owner_id=str(clock["owner_id"]),
                owner_email=clock["owner_email"],
                policy=policy.name,
                assigned_at=started,
                due_at=due,
                touched_at=touched,
                action=action,
            )
        )
    return found


def check_slas(
    con: duckdb.DuckDBPyConnection,
    config: SlaConfig,
    routing: RoutingConfig,
    *,
    run_id: str,
    as_of: datetime,
) -> SlaResult:
    """Find, record and act on new breaches (a step of the hourly flow, before routing)."""
    result = SlaResult()
    if not config.enabled or not config.policies:
        return result
    as_of = to_utc_naive(as_of)
    calendars = {email.lower(): rep.availability for email, rep in routing.reps.items()}
    for breach in find_breaches(con, config, calendars, as_of=as_of, result=result):
        new_owner: str | None = None
        if breach.action == "reroute":
            new_owner = _reroute(con, routing, breach, run_id=run_id, as_of=as_of, result=result)
        con.execute(
            """insert or ignore into ops.sla_breaches
               (lead_id, owner_id, owner_email, policy, assigned_at, due_at, touched_at,
                breached_at, action, new_owner, run_id)
               values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [
                breach.lead_id,
                breach.owner_id,
                breach.owner_email,
                breach.policy,
                breach.assigned_at,
                breach.due_at,
                breach.touched_at,
                as_of,
                breach.action,
                new_owner,
                run_id,
            ],
        )
        result.breaches[breach.action] += 1
    if result.breaches:
        log.info(
            "SLA: %d new breaches (%s)",
            sum(result.breaches.values()),
            ", ".join(f"{k} {v}" for k, v in sorted(result.breaches.items())),
        )
    return result


def _reroute(
    con: duckdb.DuckDBPyConnection,
    routing: RoutingConfig,
    breach: Breach,
    *,
    run_id: str,
    as_of: datetime,
    result: SlaResult,
) -> str | None:
    from routing import reassign  # routing/__init__ imports the engine; only re-routes need it

    try:
        decision = reassign(
            con,
            routing,
            breach.lead_id,
            exclude_owner_ids={breach.owner_id},
            reason=f"SLA {breach.policy} missed",
            run_id=run_id,
            as_of=as_of,
        )
    except (TimeoutError, KeyError) as exc:
        message = f"lead {breach.lead_id}: re-route after SLA breach failed: {exc}"
        log.warning("%s", message)
        result.errors.append(message)
        return None
    if decision.owner is None or decision.owner.id == breach.owner_id:
        return None
    result.rerouted += 1
    return decision.owner.id
