"""The nurture track: leads not ready for sales are enrolled, leave on an exit trigger, and are routed.

One step of the hourly sync, after scoring and before routing:

1. Exits. A lead in a track leaves it when its score crosses the MQL threshold (`mql`; a
   disqualified lead does not leave this way), when it shows a pricing intent after it entered
   (`pricing_visit`: an event of `nurture.pricing_events` in intermediate.int_lead_events_unioned),
   or when it answers the track's Lemlist campaign (`replied`: an emailsReplied activity). A lead
   that unsubscribed meanwhile leaves with `unsubscribed`, one a rep took meanwhile with `owned`. The membership is closed with the reason;
   routing reads the reason as `nurture_exit_reason`, so the route step of the same run assigns it.
2. Enrolment. A lead is enrolled when routing would not take it (`routing.eligible`), nobody owns
   it (no LeadFlow assignment, no CRM owner), it was never in nurture (a lead that left comes back
   only through recycling, routing/recycle.py), and it is below the MQL threshold or disqualified
   (HubSpot `hs_lead_status` in `nurture.disqualified_statuses`). The first track whose `when`
   matches takes it. An unsubscribed lead is never enrolled and is flagged in ops.nurture_exclusions.
3. Lemlist. Each membership with a campaign is added to it once and removed once when it ends; every
   call is recorded in ops.nurture_pushes, so a re-run sends nothing twice and a failed call is
   tried again on the next run.

The CRM learns the track through the reverse-ETL model (`leadflow_nurture_track` on the contact).

Where the facts come from: the lead profile is intermediate.int_leads_unified with ops.lead_scores;
`hs_lead_status`, and `hs_email_optout` when the profile has no `is_unsubscribed`, are read from the
newest version of the lead's HubSpot contacts in raw.hubspot__contacts.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb

from connectors.http import ApiClient, ConnectorError
from connectors.lemlist import add_lead, remove_lead, replies
from leadflow.config import NurtureConfig, NurtureTrack, RoutingConfig
from leadflow.warehouse import nulls_to_none, table_columns, transaction
from routing.conditions import is_eligible
from scoring.rules import matches

log = logging.getLogger("leadflow.nurture")

__all__ = [
    "EXIT_TRIGGERS",
    "NurtureResult",
    "choose_track",
    "enrolment_blocker",
    "lead_frame",
    "run_nurture",
    "sync_lemlist",
]

# Exit reasons that mean "ready for sales now": routing takes a lead whose nurture_exit_reason is one
# of these. Other reasons (unsubscribed, recycled, closed) end a membership without that meaning.
EXIT_TRIGGERS = ("mql", "pricing_visit", "replied")

# Each lead's newest nurture membership, and the exit reason routing reads from it: the reason of the
# latest membership, and only once it ended. A lead back in a track (recycled) has none, whatever an
# earlier membership ended with. routing/roster.py reads the same two definitions.
LATEST_MEMBERSHIP = """
    select *
    from ops.nurture_memberships
    qualify row_number() over (partition by lead_id order by entered_at desc) = 1
"""
NURTURE_EXIT_REASON = "case when {m}.exited_at is not null then {m}.exit_reason end"

# The newest version of every HubSpot contact, folded per lead: its lead status and opt-out.
_LEAD_FRAME = """
with hubspot_latest as (
    select record_id, payload
    from raw.hubspot__contacts
    qualify row_number() over (
        partition by record_id order by record_updated_at desc nulls last, _loaded_at desc
    ) = 1
),
crm as (
    select
        identity.lead_id,
        max(upper(json_extract_string(h.payload, '$.properties.hs_lead_status'))) as lead_status,
        bool_or(lower(json_extract_string(h.payload, '$.properties.hs_email_optout')) = 'true')
            as crm_unsubscribed
    from ops.lead_identity as identity
    inner join hubspot_latest as h on identity.record_key = 'hubspot:contacts:' || h.record_id
    group by identity.lead_id
),
latest_membership as ({latest_membership})
select
    leads.*,
    scores.score,
    scores.grade,
    scores.temperature,
    scores.is_mql,
    crm.lead_status,
    {unsubscribed} as is_unsubscribed,
    assignments.owner_id as assigned_owner_id,
    case when latest_membership.exited_at is null then latest_membership.track end as nurture_track,
    case when latest_membership.exited_at is null then latest_membership.entered_at end
        as nurture_entered_at,
    latest_membership.lemlist_campaign_id as nurture_campaign_id,
    latest_membership.lead_id is not null as was_nurtured,
    -- the reason routing reads: only while the lead is not back in a track
    {nurture_exit_reason} as nurture_exit_reason
from intermediate.int_leads_unified as leads
inner join ops.lead_scores as scores on scores.lead_id = leads.lead_id
left join crm on crm.lead_id = leads.lead_id
left join ops.lead_assignments as assignments on assignments.lead_id = leads.lead_id
left join latest_membership on latest_membership.lead_id = leads.lead_id
order by leads.lead_id
"""


@dataclass
class NurtureResult:
    enrolled: int = 0
    exited: int = 0
    in_nurture: int = 0  # open memberships after the step
    flagged_unsubscribed: int = 0  # newly flagged in this run
    no_track: int = 0  # would be enrolled, but no track's condition matched
    enrolled_by_track: Counter[str] = field(default_factory=Counter)
    exits_by_reason: Counter[str] = field(default_factory=Counter)
    lemlist_added: int = 0
    lemlist_removed: int = 0
    lemlist_failed: int = 0


def lead_frame(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Every scored lead with what enrolment, exits and track conditions look at."""
    has_flag = "is_unsubscribed" in table_columns(con, "intermediate", "int_leads_unified")
    unsubscribed = (
        "coalesce(leads.is_unsubscribed, crm.crm_unsubscribed, false)"
        if has_flag
        else "coalesce(crm.crm_unsubscribed, false)"
    )
    sql = _LEAD_FRAME.format(
        unsubscribed=unsubscribed,
        latest_membership=LATEST_MEMBERSHIP,
        nurture_exit_reason=NURTURE_EXIT_REASON.format(m="latest_membership"),
    )
    if has_flag:
        sql = sql.replace("leads.*,", "leads.* exclude (is_unsubscribed),", 1)
    frame = nulls_to_none(con.execute(sql).df())
    return frame.to_dict("records")


def is_disqualified(lead: dict[str, Any], config: NurtureConfig) -> bool:
    status = lead.get("lead_status")
    return bool(status) and str(status).upper() in {s.upper() for s in config.disqualified_statuses}


def enrolment_blocker(
    lead: dict[str, Any], config: NurtureConfig, routing: RoutingConfig
) -> str | None:
    """Why this lead is not enrolled, or None when it is (the unsubscribed case is flagged)."""
    if lead.get("nurture_track") is not None:
        return "already in a track"
    if lead.get("was_nurtured"):
        return "was in nurture before (only recycling puts it back)"
    if lead.get("assigned_owner_id") or lead.get("crm_owner_id"):
        return "has an owner"
    if not (is_disqualified(lead, config) or not lead.get("is_mql")):
        return "is an MQL and not disqualified"
    if is_eligible(lead, routing):
        return "routing takes it (routing.eligible)"
    if lead.get("is_unsubscribed"):
        return "unsubscribed"
    return None


def choose_track(lead: dict[str, Any], tracks: Iterable[NurtureTrack]) -> NurtureTrack | None:
    """The first track whose condition matches (a track without `when` matches every lead)."""
    for track in tracks:
        if track.when is None or matches(track.when, lead):
            return track
    return None


def _pricing_visits(
    con: duckdb.DuckDBPyConnection, config: NurtureConfig, open_since: dict[str, datetime]
) -> set[str]:
    """Leads in a track with a pricing event at or after they entered it."""
    if not config.pricing_events or not open_since:
        return set()
    placeholders = ", ".join("?" for _ in config.pricing_events)
    rows = con.execute(
        f"""
        select distinct events.lead_id
        from intermediate.int_lead_events_unioned as events
        inner join ops.nurture_memberships as m
            on m.lead_id = events.lead_id and m.exited_at is null
        where events.event in ({placeholders}) and events.occurred_at >= m.entered_at
        """,
        list(config.pricing_events),
    ).fetchall()
    return {row[0] for row in rows}


def _replied(client: ApiClient | None, leads: list[dict[str, Any]]) -> set[str]:
    """Leads in a track whose Lemlist campaign recorded a reply from them after they entered."""
    if client is None:
        return set()
    by_campaign: dict[str, dict[str, dict[str, Any]]] = {}
    for lead in leads:
        if lead.get("nurture_track") and lead.get("nurture_campaign_id") and lead.get("email"):
            by_campaign.setdefault(lead["nurture_campaign_id"], {})[str(lead["email"]).lower()] = (
                lead
            )
    found: set[str] = set()
    for campaign_id, members in by_campaign.items():
        since = min(m["nurture_entered_at"] for m in members.values())
        try:
            for activity in replies(client, campaign_id, since):
                member = members.get(activity.lead_email or "")
                if member is None or activity.created_at is None:
                    continue
                if activity.created_at >= member["nurture_entered_at"]:
                    found.add(member["lead_id"])
        except ConnectorError as exc:
            # Replies are read again next run; the other triggers still work now.
            log.warning("nurture: could not read Lemlist replies: %s", exc)
    return found


def exit_reason(
    lead: dict[str, Any], config: NurtureConfig, pricing: set[str], replied: set[str]
) -> str | None:
    """Why a lead in a track leaves it now, or None. The first trigger that fires names the exit."""
    if lead.get("is_unsubscribed"):
        return "unsubscribed"
    if lead.get("assigned_owner_id") or lead.get("crm_owner_id"):
        return "owned"  # a rep took it (in the CRM, or routing did): it is not nurture's any more
    if lead.get("is_mql") and not is_disqualified(lead, config):
        return "mql"
    if lead["lead_id"] in pricing:
        return "pricing_visit"
    if lead["lead_id"] in replied:
        return "replied"
    return None


def run_nurture(
    con: duckdb.DuckDBPyConnection,
    config: NurtureConfig,
    routing: RoutingConfig,
    *,
    lemlist_client: ApiClient | None,
    run_id: str,
    as_of: datetime,
) -> NurtureResult:
    """Exits, then enrolments, then the Lemlist calls they need. Safe to re-run at any time."""
    result = NurtureResult()
    if not config.enabled:
        return result
    leads = lead_frame(con)
    in_track = [lead for lead in leads if lead.get("nurture_track") is not None]
    open_since = {lead["lead_id"]: lead["nurture_entered_at"] for lead in in_track}
    pricing = _pricing_visits(con, config, open_since)
    replied = _replied(lemlist_client, in_track)

    exits: list[tuple[str, str]] = []
    flags: list[str] = []
    for lead in in_track:
        reason = exit_reason(lead, config, pricing, replied)
        if reason is not None:
            exits.append((lead["lead_id"], reason))
            if reason == "unsubscribed":
                flags.append(lead["lead_id"])
            result.exits_by_reason[reason] += 1
    exited_ids = {lead_id for lead_id, _ in exits}

    enrolments: list[tuple[str, NurtureTrack]] = []
    for lead in leads:
        if lead["lead_id"] in exited_ids:
            continue
        blocker = enrolment_blocker(lead, config, routing)
        if blocker == "unsubscribed":
            flags.append(lead["lead_id"])
        if blocker is not None:
            continue
        track = choose_track(lead, config.tracks)
        if track is None:
            result.no_track += 1
            continue
        enrolments.append((lead["lead_id"], track))
        result.enrolled_by_track[track.name] += 1

    with transaction(con):
        for lead_id, reason in exits:
            con.execute(
                "update ops.nurture_memberships set exited_at = ?, exit_reason = ?, exited_run_id = ? "
                "where lead_id = ? and exited_at is null",
                [as_of, reason, run_id, lead_id],
            )
        for lead_id, track in enrolments:
            con.execute(
                "insert into ops.nurture_memberships "
                "(lead_id, track, entered_at, run_id, lemlist_campaign_id) values (?, ?, ?, ?, ?)",
                [lead_id, track.name, as_of, run_id, track.lemlist_campaign_id],
            )
        already = {
            row[0] for row in con.execute("select lead_id from ops.nurture_exclusions").fetchall()
        }
        for lead_id in flags:
            if lead_id not in already:
                con.execute(
                    "insert into ops.nurture_exclusions values (?, 'unsubscribed', ?, ?)",
                    [lead_id, as_of, run_id],
                )
                result.flagged_unsubscribed += 1
    result.exited = len(exits)
    result.enrolled = len(enrolments)

    if lemlist_client is not None:
        added, removed, failed = sync_lemlist(con, lemlist_client, run_id=run_id, as_of=as_of)
        result.lemlist_added, result.lemlist_removed, result.lemlist_failed = added, removed, failed
    open_count = con.execute(
        "select count(*) from ops.nurture_memberships where exited_at is null"
    ).fetchone()
    result.in_nurture = int(open_count[0]) if open_count else 0
    log.info(
        "nurture: %d enrolled, %d exited (%s), %d in nurture",
        result.enrolled,
        result.exited,
        ", ".join(f"{k} {v}" for k, v in sorted(result.exits_by_reason.items())) or "none",
        result.in_nurture,
    )
    return result


# The Lemlist calls still owed: an add for every open membership with a campaign and no acknowledged
# add; a remove for every closed membership whose add was acknowledged and whose remove was not.
# A call Lemlist rejected as invalid (status 'rejected') is not sent again: it would fail the same way.
_PENDING = """
select m.lead_id, m.entered_at, m.lemlist_campaign_id, profile.email,
       profile.first_name, profile.last_name, profile.company,
       case when m.exited_at is null then 'add' else 'remove' end as operation
from ops.nurture_memberships as m
inner join intermediate.int_leads_unified as profile on profile.lead_id = m.lead_id
left join ops.nurture_pushes as added
    on added.lead_id = m.lead_id and added.entered_at = m.entered_at and added.operation = 'add'
left join ops.nurture_pushes as removed
    on removed.lead_id = m.lead_id and removed.entered_at = m.entered_at
   and removed.operation = 'remove'
where m.lemlist_campaign_id is not null
  and profile.email is not null
  and (
      (m.exited_at is null and coalesce(added.status, 'error') = 'error')
      or (
          m.exited_at is not null and added.status = 'ok'
          and coalesce(removed.status, 'error') = 'error'
      )
  )
order by m.entered_at, m.lead_id
"""


def sync_lemlist(
    con: duckdb.DuckDBPyConnection, client: ApiClient, *, run_id: str, as_of: datetime
) -> tuple[int, int, int]:
    """Send the owed adds and removes, recording each answer; (added, removed, failed)."""
    pending = con.execute(_PENDING).fetchall()
    added = removed = failed = 0
    for lead_id, entered_at, campaign_id, email, first, last, company, operation in pending:
        if operation == "add":
            variables = {
                "firstName": first,
                "lastName": last,
                "companyName": company,
                "leadflowLeadId": lead_id,
            }
            outcome = add_lead(client, campaign_id, email, variables)
        else:
            outcome = remove_lead(client, campaign_id, email)
        con.execute(
            """
            insert or replace into ops.nurture_pushes
                (lead_id, campaign_id, operation, entered_at, status, http_status, error, sent_at, run_id)
            values (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                lead_id,
                campaign_id,
                operation,
                entered_at,
                "ok" if outcome.ok else ("error" if outcome.retriable else "rejected"),
                outcome.http_status,
                outcome.error or None,
                as_of,
                run_id,
            ],
        )
        if not outcome.ok:
            failed += 1
            if outcome.retriable:
                # Lemlist is down or throttling past the client's retries: stop here, the rest
                # stays owed and is sent next run, instead of waiting out every call's backoff.
                break
        elif operation == "add":
            added += 1
        else:
            removed += 1
    if failed:
        log.warning("nurture: %d Lemlist calls failed; they are tried again next run", failed)
    return added, removed, failed
