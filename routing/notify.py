"""Tell reps about their new leads and SLA breaches, on Slack and by e-mail, exactly once.

ops.notifications is a durable outbox. `enqueue` adds one row per (lead, owner, kind, channel) —
the primary key is a hash of those four, so a re-run cannot add a second — and `deliver` sends the
pending rows, marking each sent or failed as soon as its answer is in:

- an assignment is queued only once the owner is visible in the CRM: the HubSpot push acknowledged
  the lead's payload at or after the assignment (ops.push_state). A lead the push did not carry
  (failed, dead-lettered) waits, and is announced on the run that gets it through;
- owners kept from the CRM (a sticky rule) are not announced: nothing changed for them;
- assignments and breaches older than `max_age_hours` are not announced when notifications are
  switched on over an existing warehouse;
- a 429 / 5xx / dropped connection leaves the row pending (attempts + 1) for the next run, up to
  `max_attempts`; a refused payload fails it at once; a refused webhook or login stops that channel
  for the run (the rows wait, the error says what to fix);
- the one gap left: a crash between the vendor's "ok" and the status update re-sends that message on
  the next run. Marking rows before sending would lose them instead; a duplicate is the lesser harm.

Kinds: `assignment` (to the new owner), `sla_breach` (to the owner who missed a first touch) and
`escalation` (to sla.escalate_to). Recipients' addresses live only in the table; errors and logs
carry lead ids, categories and status codes.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb
import pandas as pd

from connectors.email import Email, SmtpClient, send_email
from connectors.http import AuthError, ConnectorError, FatalError, RetriableError
from connectors.slack import SlackMessage, WebhookClient, post_message
from connectors.slack import models as blocks
from leadflow.config import NotificationsConfig, NotifyChannel, SlaConfig
from leadflow.faults import crash_point
from leadflow.warehouse import nulls_to_none, registered, table_columns

__all__ = [
    "NotifyResult",
    "compose",
    "crm_record_url",
    "deliver",
    "digest",
    "enqueue",
]

log = logging.getLogger("leadflow.notify")

Kind = Literal["assignment", "sla_breach", "escalation"]
TOP_REASONS = 3
HUBSPOT_UI = "app.hubspot.com"


@dataclass
class NotifyResult:
    queued: int = 0
    sent: Counter[str] = field(default_factory=Counter)  # per channel
    failed: int = 0
    retried: int = 0  # sends that failed this run and stay pending
    cancelled: int = 0
    pending: int = 0  # left for the next run
    errors: list[str] = field(default_factory=list)  # one line per channel problem, no PII

    def as_summary(self) -> dict[str, Any]:
        return {
            "notifications_queued": self.queued,
            "notifications_sent": sum(self.sent.values()),
            "notifications_sent_by_channel": dict(self.sent),
            "notifications_failed": self.failed,
            "notifications_pending": self.pending,
        }


# --------------------------------------------------------------------------- queueing


def _channels(config: NotificationsConfig, kind: Kind) -> list[NotifyChannel]:
    enabled = {"slack": config.slack.enabled, "email": config.email.enabled}
    return [c for c in config.events.get(kind, []) if enabled[c]]


_INSERT = """
insert or ignore into ops.notifications
    (notification_id, lead_id, owner_id, kind, channel, recipient, status, attempts,
     created_at, run_id)
select md5(concat_ws('|', e.lead_id, e.owner_id, ?, ch.channel)), e.lead_id, e.owner_id, ?,
       ch.channel, case when ch.channel = 'email' then e.recipient end, 'pending', 0, ?, ?
from ({events}) e
cross join (select unnest(?::varchar[]) as channel) ch
"""


def enqueue(
    con: duckdb.DuckDBPyConnection,
    config: NotificationsConfig,
    sla: SlaConfig,
    *,
    run_id: str,
    as_of: datetime,
) -> int:
    """Queue what there is to say; returns how many new rows the outbox got."""
    if not config.enabled:
        return 0
    since = as_of - timedelta(hours=config.max_age_hours)
    before = _count(con)
    events: dict[Kind, tuple[str, list[Any]]] = {
        "assignment": (
            """select a.lead_id, a.owner_id, a.owner_email as recipient
               from ops.lead_assignments a
               join ops.push_state p
                 on p.destination = 'hubspot' and p.lead_id = a.lead_id
                and p.acknowledged_at >= a.assigned_at
               where coalesce(a.action, '') <> 'sticky' and a.assigned_at >= ?""",
            [since],
        ),
        "sla_breach": (
            """select lead_id, owner_id, owner_email as recipient from ops.sla_breaches
               where breached_at >= ?""",
            [since],
        ),
        "escalation": (
            """select lead_id, owner_id, ?::varchar as recipient from ops.sla_breaches
               where action = 'escalate' and breached_at >= ?""",
            [sla.escalate_to, since],
        ),
    }
    for kind, (select, params) in events.items():
        channels = _channels(config, kind)
        if not channels:
            continue
        con.execute(
            _INSERT.format(events=select),
            [kind, kind, as_of, run_id, *params, channels],
        )
    return _count(con) - before


def _count(con: duckdb.DuckDBPyConnection) -> int:
    row = con.execute("select count(*) from ops.notifications").fetchone()
    return int(row[0]) if row else 0


# --------------------------------------------------------------------------- messages


def crm_record_url(
    portal_id: int | None, contact_id: str | None, ui_domain: str = HUBSPOT_UI
) -> str | None:
    """The HubSpot contact record a rep opens: https://app.hubspot.com/contacts/<portal>/record/0-1/<id>."""
    if portal_id is None or not contact_id:
        return None
    return f"https://{ui_domain}/contacts/{portal_id}/record/0-1/{contact_id}"


def _facts(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Everything the messages say about these queued notifications, by notification id: read in
    one query when the delivery starts (a burst of leads must not cost a query each)."""
    if not rows:
        return {}
    present = set(table_columns(con, "intermediate", "int_leads_unified"))
    lead_cols = ", ".join(
        f"l.{c}" if c in present else f"null as {c}"
        for c in ("first_name", "last_name", "company", "timezone")
    )
    lead_join = (
        "left join intermediate.int_leads_unified l on l.lead_id = k.lead_id"
        if "lead_id" in present
        else ""
    )
    keys = pd.DataFrame(
        {
            "notification_id": [str(r["notification_id"]) for r in rows],
            "lead_id": [str(r["lead_id"]) for r in rows],
            "owner_id": [None if r["owner_id"] is None else str(r["owner_id"]) for r in rows],
        },
        dtype="object",
    )
    with registered(con, "notify_keys", keys):
        found = con.execute(
            f"""
            select k.notification_id, {lead_cols}, s.score, s.grade, s.temperature, s.reasons,
                   a.owner_id as current_owner_id, a.owner_email as current_owner_email,
                   a.reason as routing_reason, p.destination_record_id as crm_contact_id,
                   b.policy, b.due_at, b.touched_at, b.action as sla_action, b.new_owner,
                   b.owner_email as breached_owner_email
            from notify_keys k
            {lead_join}
            left join ops.lead_scores s on s.lead_id = k.lead_id
            left join ops.lead_assignments a on a.lead_id = k.lead_id
            left join ops.push_state p on p.destination = 'hubspot' and p.lead_id = k.lead_id
            left join ops.sla_breaches b on b.lead_id = k.lead_id and b.owner_id = k.owner_id
            qualify row_number() over (
                partition by k.notification_id order by b.breached_at desc nulls last
            ) = 1
            """,  # the interpolated pieces are fixed text chosen above
        ).df()
    by_id = {str(f.pop("notification_id")): f for f in nulls_to_none(found).to_dict("records")}
    return {
        str(r["notification_id"]): {**r, **by_id.get(str(r["notification_id"]), {})} for r in rows
    }


def _name(facts: dict[str, Any]) -> str:
    name = " ".join(str(p) for p in (facts.get("first_name"), facts.get("last_name")) if p)
    return name or f"Lead {facts['lead_id']}"


def _reasons(facts: dict[str, Any]) -> list[str]:
    text = str(facts.get("reasons") or "")
    return [r.strip() for r in text.split(";") if r.strip()][:TOP_REASONS]


def _score(facts: dict[str, Any]) -> str:
    if facts.get("score") is None:
        return "not scored yet"
    extra = ", ".join(str(v) for v in (facts.get("grade"), facts.get("temperature")) if v)
    return f"{int(facts['score'])} ({extra})" if extra else str(int(facts["score"]))


def _who(facts: dict[str, Any]) -> str:
    """ "Name (Company)", or the name alone."""
    name, company = _name(facts), str(facts.get("company") or "")
    return f"{name} ({company})" if company else name


def _linked(who: str, url: str | None) -> str:
    """Slack mrkdwn: `who` linked to the CRM record when there is one, escaped either way."""
    return blocks.link(url, who) if url else blocks.escape(who)


def _when(value: Any) -> str:
    return f"{value:%Y-%m-%d %H:%M} UTC" if isinstance(value, datetime) else "—"


def _lead_local_time(facts: dict[str, Any]) -> str | None:
    """The lead's clock when the notification was queued ("10:01 Wed, America/Los_Angeles"): a rep
    calls at a sensible hour. None when the lead's time zone is unknown."""
    zone, at = facts.get("timezone"), facts.get("created_at")
    if not zone or not isinstance(at, datetime):
        return None
    try:
        local = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(ZoneInfo(str(zone)))
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return f"{local:%H:%M %a}, {zone}"


def compose(
    kind: Kind, facts: dict[str, Any], *, portal_id: int | None, ui_domain: str = HUBSPOT_UI
) -> tuple[SlackMessage, Email | None]:
    """The Slack message and the e-mail for one notification (the e-mail is None without a recipient)."""
    who = _who(facts)
    url = crm_record_url(portal_id, facts.get("crm_contact_id"), ui_domain)
    score = _score(facts)
    reasons = _reasons(facts)
    owner = str(facts.get("breached_owner_email") or facts.get("current_owner_email") or "")
    if kind == "assignment":
        title = "New lead assigned"
        line = f"New lead for {owner or 'you'}: {who}, score {score}"
        why = str(facts.get("routing_reason") or "—")
        detail = [("Why this rep", why)]
        local_time = _lead_local_time(facts)
        if local_time:
            detail.append(("Lead's local time", local_time))
    else:
        title = (
            "SLA breach: first touch missed" if kind == "sla_breach" else "Escalation: SLA breach"
        )
        touched = (
            f"touched {_when(facts.get('touched_at'))}"
            if facts.get("touched_at")
            else "not touched"
        )
        line = f"{title}: {who} — due {_when(facts.get('due_at'))}, {touched}"
        outcome = {
            "reroute": f"re-routed to owner {facts.get('new_owner')}"
            if facts.get("new_owner")
            else "re-route found no other owner",
            "escalate": "escalated to the sales manager",
        }.get(str(facts.get("sla_action")), "recorded")
        detail = [
            ("Policy", str(facts.get("policy") or "—")),
            ("Owner", owner or "—"),
            ("Due", _when(facts.get("due_at"))),
            (
                "First touch",
                _when(facts.get("touched_at")) if facts.get("touched_at") else "none yet",
            ),
            ("Action", outcome),
        ]
    headline = _linked(who, url)
    slack_blocks = [
        blocks.header(title),
        blocks.section(f"*{headline}*"),
        blocks.fields(("Score", blocks.escape(score)), *((k, blocks.escape(v)) for k, v in detail)),
    ]
    if reasons:
        slack_blocks.append(
            blocks.section("*Top reasons*\n" + "\n".join(f"• {blocks.escape(r)}" for r in reasons))
        )
    slack_blocks.append(blocks.context(f"lead `{blocks.escape(str(facts['lead_id']))}` · LeadFlow"))
    slack = SlackMessage(text=line, blocks=slack_blocks)

    recipient = facts.get("recipient")
    if not recipient:
        return slack, None
    body = [f"{title}", "", f"Lead: {who}", f"Score: {score}"]
    body += [f"{k}: {v}" for k, v in detail]
    if reasons:
        body += ["", "Top reasons:", *(f"- {r}" for r in reasons)]
    if url:
        body += ["", f"Open in HubSpot: {url}"]
    body += ["", f"Lead id: {facts['lead_id']}", "-- LeadFlow"]
    return slack, Email(to=str(recipient), subject=f"{title}: {who}", text="\n".join(body))


def digest(
    facts: list[dict[str, Any]], portal_id: int | None, ui_domain: str = HUBSPOT_UI
) -> SlackMessage:
    """One Slack message announcing several assignments: a line per lead (who, owner, score, why),
    each linked to its CRM record."""
    lines = []
    for lead in facts:
        headline = _linked(
            _who(lead), crm_record_url(portal_id, lead.get("crm_contact_id"), ui_domain)
        )
        owner = blocks.escape(str(lead.get("current_owner_email") or "unassigned"))
        why = blocks.escape(str(lead.get("routing_reason") or "—"))
        score = blocks.escape(_score(lead))
        lines.append(blocks.section(f"*{headline}* → {owner}\nScore {score} · {why}"))
    ids = ", ".join(f"`{blocks.escape(str(lead['lead_id']))}`" for lead in facts)
    title = f"{len(facts)} new leads assigned"
    return SlackMessage(
        text=title,
        blocks=[blocks.header(title), *lines, blocks.context(f"leads {ids} · LeadFlow")],
    )


# --------------------------------------------------------------------------- delivery


def _still_relevant(kind: str, facts: dict[str, Any]) -> str | None:
    """Why a queued message should not go out any more (None: send it)."""
    if kind == "assignment" and facts.get("current_owner_id") != facts.get("owner_id"):
        return "the lead changed owner before the message went out"
    return None


def _error_line(exc: ConnectorError) -> str:
    parts = [type(exc).__name__, str(exc.status or ""), exc.category]
    return " ".join(p for p in parts if p)


def deliver(
    con: duckdb.DuckDBPyConnection,
    config: NotificationsConfig,
    *,
    slack_client: Callable[[], WebhookClient],
    email_client: Callable[[], SmtpClient],
    portal_id: int | None,
    as_of: datetime,
    ui_domain: str = HUBSPOT_UI,
) -> NotifyResult:
    """Send the pending rows, oldest first, at most `max_per_run` per channel."""
    result = NotifyResult()
    if not config.enabled:
        return result
    # E-mail first: it is per rep and unpaced; Slack takes about a message a second.
    for channel in ("email", "slack"):
        rows = con.execute(
            """select notification_id, lead_id, owner_id, kind, channel, recipient, attempts,
                      created_at
               from ops.notifications
               where status = 'pending' and channel = ?
               order by created_at, notification_id
               limit ?""",
            [channel, config.max_per_run],
        ).df()
        if rows.empty:
            continue
        client: WebhookClient | SmtpClient = (
            slack_client() if channel == "slack" else email_client()
        )
        records = nulls_to_none(rows).to_dict("records")
        facts = _facts(con, records)
        groups = (
            _digests(records, config.slack.max_leads_per_message)
            if channel == "slack"
            else [[row] for row in records]
        )
        try:
            for group in groups:
                if not _send(
                    con, config, client, group, facts, result, portal_id, as_of, ui_domain
                ):
                    break
        finally:
            client.close()
    left = con.execute("select count(*) from ops.notifications where status = 'pending'").fetchone()
    result.pending = int(left[0]) if left else 0
    return result


def _digests(rows: list[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    """Slack rows in posting order: assignments in runs of up to `size` leads (one message each:
    a burst of leads must not queue behind Slack's one-message-a-second), anything else alone."""
    groups: list[list[dict[str, Any]]] = []
    for row in rows:
        last = groups[-1] if groups else None
        if (
            row["kind"] == "assignment"
            and last is not None
            and last[0]["kind"] == "assignment"
            and len(last) < size
        ):
            last.append(row)
        else:
            groups.append([row])
    return groups


def _send(
    con: duckdb.DuckDBPyConnection,
    config: NotificationsConfig,
    client: WebhookClient | SmtpClient,
    group: list[dict[str, Any]],
    facts_by_id: dict[str, dict[str, Any]],
    result: NotifyResult,
    portal_id: int | None,
    as_of: datetime,
    ui_domain: str,
) -> bool:
    """Send one message for the group's rows (one row, or a Slack digest of assignments) and
    record the outcome of each; False when the channel should stop for this run."""
    ready: list[tuple[dict[str, Any], dict[str, Any], SlackMessage, Email | None]] = []
    for row in group:
        facts = facts_by_id[str(row["notification_id"])]
        stale = _still_relevant(row["kind"], facts)
        slack, email = compose(row["kind"], facts, portal_id=portal_id, ui_domain=ui_domain)
        if stale is None and row["channel"] == "email" and email is None:
            stale = "no e-mail address for the recipient"
        if stale is not None:
            con.execute(
                "update ops.notifications set status = 'cancelled', last_error = ?"
                " where notification_id = ?",
                [stale, row["notification_id"]],
            )
            result.cancelled += 1
        else:
            ready.append((row, facts, slack, email))
    if not ready:
        return True
    first = ready[0][0]
    lead_ids = ", ".join(str(row["lead_id"]) for row, *_ in ready[:3])
    lead_ids += f" and {len(ready) - 3} more" if len(ready) > 3 else ""
    try:
        if isinstance(client, WebhookClient):
            post_message(
                client,
                ready[0][2]
                if len(ready) == 1
                else digest([facts for _, facts, *_ in ready], portal_id, ui_domain),
            )
        else:
            email = ready[0][3]
            assert email is not None
            send_email(client, email)
    except (RetriableError, AuthError) as exc:
        for row, *_ in ready:  # each row keeps its own count of attempts
            attempts = int(row["attempts"]) + 1
            status = "failed" if attempts >= config.max_attempts else "pending"
            _mark(con, row["notification_id"], status, attempts, _error_line(exc), None)
            if status == "failed":
                result.failed += 1
            else:
                result.retried += 1
        line = f"{exc} (lead {lead_ids}; {status}, attempt {attempts})"
        log.warning("%s", line)
        result.errors.append(line)
        # A rate limit, an outage or a refused credential will answer the next message the same.
        return False
    except FatalError as exc:
        if len(ready) > 1:  # Slack refused the digest: one lead's text, most likely. Each alone.
            log.warning("%s (a digest of %d leads; sending each alone)", exc, len(ready))
            return all(
                _send(con, config, client, [row], facts_by_id, result, portal_id, as_of, ui_domain)
                for row, *_ in ready
            )
        _mark(
            con,
            first["notification_id"],
            "failed",
            int(first["attempts"]) + 1,
            _error_line(exc),
            None,
        )
        result.failed += 1
        line = f"{exc} (lead {lead_ids}; failed)"
        log.warning("%s", line)
        result.errors.append(line)
        return True
    crash_point("notify:sent")
    for row, *_ in ready:
        _mark(con, row["notification_id"], "sent", int(row["attempts"]) + 1, None, as_of)
        result.sent[row["channel"]] += 1
    return True


def _mark(
    con: duckdb.DuckDBPyConnection,
    nid: str,
    status: str,
    attempts: int,
    error: str | None,
    sent_at: datetime | None,
) -> None:
    # Committed at once (autocommit): a crash right after a send must not forget that it was sent.
    con.execute(
        """update ops.notifications set status = ?, attempts = ?, last_error = ?, sent_at = ?
           where notification_id = ?""",
        [status, attempts, error, sent_at, nid],
    )
