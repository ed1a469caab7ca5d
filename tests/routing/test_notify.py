"""Notifications: content, CRM link, exactly once, retries, waiting for the CRM, no secret in logs.

A real warehouse file (the `con` fixture and the routing test world) and the sandbox's Slack and SMTP
servers; routing/notify.py is called directly, without Prefect.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import duckdb
import pytest
from pydantic import SecretStr

from connectors.email import SmtpClient
from connectors.slack import WebhookClient
from leadflow.config import NotificationsConfig, SlaConfig
from leadflow.redact import RedactingFilter
from routing.notify import NotifyResult, deliver, enqueue
from sandbox import Sandbox
from tests.routing.world import T0, add_leads, build_world
from tests.sandbox.sandbox_helpers import NOW

PORTAL = 24681357
SLA = SlaConfig.model_validate(
    {
        "escalate_to": "manager@s.io",
        "policies": [{"name": "hot", "within_minutes": 5, "action": "escalate"}],
    }
)


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(leads=5, now=NOW) as sandbox:
        sandbox.set_rate_limit("slack", 0, 1)
        yield sandbox


@pytest.fixture
def world(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    build_world(con)
    con.execute("alter table intermediate.int_leads_unified add column first_name varchar")
    con.execute("alter table intermediate.int_leads_unified add column last_name varchar")
    con.execute("alter table intermediate.int_leads_unified add column company varchar")
    con.execute("alter table intermediate.int_leads_unified add column timezone varchar")
    add_leads(
        con,
        ["l1"],
        first_name="Ada",
        last_name="Lovelace",
        company="Analytical Engines",
        timezone="America/Los_Angeles",
    )
    add_leads(con, ["l2"], offset=5, first_name="Alan", company="Bletchley")
    for lead, score in (("l1", 82), ("l2", 45)):
        con.execute(
            """insert into ops.lead_scores values (?, ?, 50, 30, 0, 'A', 'hot', true, false, '[]',
               '+25 Job title: VP; +20 Business email; +15 Pricing page visit; +10 Country US',
               'rules-v1', ?, ?, 'r0', null)""",
            [lead, score, T0, T0],
        )
    return con


def assign(
    con: duckdb.DuckDBPyConnection,
    lead: str,
    owner: str = "1",
    email: str | None = "a@s.io",
    *,
    action: str = "pool",
    at: Any = T0,
) -> None:
    con.execute(
        """insert or replace into ops.lead_assignments values
           (?, ?, ?, 'na', 'na', 'region NA -> pool na, a@s.io by weighted turn', ?, 'r1', ?)""",
        [lead, owner, email, at, action],
    )


def ack(con: duckdb.DuckDBPyConnection, lead: str, contact: str, at: Any = T0) -> None:
    con.execute(
        "insert or replace into ops.push_state (destination, lead_id, payload_hash, destination_record_id, acknowledged_at, run_id) values ('hubspot', ?, 'h', ?, ?, 'r1')",
        [lead, contact, at],
    )


def assign_two(world: duckdb.DuckDBPyConnection) -> None:
    """l1 to owner 1 (a@s.io) and l2 to owner 2 (b@s.io), both acknowledged by the CRM."""
    assign(world, "l1")
    ack(world, "l1", "901")
    assign(world, "l2", "2", "b@s.io")
    ack(world, "l2", "902")


def config(sb: Sandbox, **overrides: Any) -> NotificationsConfig:
    host, port = sb.smtp_address
    base: dict[str, Any] = {
        "enabled": True,
        "slack": {"min_interval_s": 0},
        "email": {"host": host, "port": port, "from_address": "leadflow@s.io"},
        "hubspot_portal_id": PORTAL,
    }
    base.update(overrides)
    return NotificationsConfig.model_validate(base)


def run(
    con: duckdb.DuckDBPyConnection, sb: Sandbox, cfg: NotificationsConfig, *, hours: int = 0
) -> NotifyResult:
    as_of = T0 + timedelta(minutes=1, hours=hours)
    queued = enqueue(con, cfg, SLA, run_id=f"run{hours}", as_of=as_of)
    result = deliver(
        con,
        cfg,
        slack_client=lambda: WebhookClient(
            SecretStr(sb.slack_webhook_url), min_interval_s=0, sleep=lambda _s: None
        ),
        email_client=lambda: SmtpClient(*sb.smtp_address, from_address="leadflow@s.io"),
        portal_id=cfg.hubspot_portal_id,
        as_of=as_of,
    )
    result.queued = queued
    return result


def outbox(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    return con.execute(
        "select lead_id, kind, channel, status, attempts, last_error from ops.notifications "
        "order by lead_id, kind, channel"
    ).fetchall()


def test_nothing_is_sent_before_the_owner_is_in_the_crm(
    world: duckdb.DuckDBPyConnection, sb: Sandbox
) -> None:
    # GIVEN a lead assigned but not pushed yet (no acknowledged payload in ops.push_state)
    assign(world, "l1")
    # WHEN notifications run THEN nothing is queued or sent
    assert run(world, sb, config(sb)).queued == 0
    assert sb.slack_messages() == [] and sb.emails() == []
    # WHEN the push acknowledges an older payload (before the assignment) THEN still nothing
    ack(world, "l1", "901", at=T0 - timedelta(hours=1))
    assert run(world, sb, config(sb)).queued == 0
    # WHEN the push carried the assignment THEN one Slack message and one e-mail go out
    ack(world, "l1", "901")
    result = run(world, sb, config(sb))
    assert (result.queued, dict(result.sent), result.pending) == (2, {"slack": 1, "email": 1}, 0)


def test_the_messages_say_who_why_the_score_the_reasons_and_link_the_crm_record(
    world: duckdb.DuckDBPyConnection, sb: Sandbox
) -> None:
    assign(world, "l1")
    ack(world, "l1", "901")
    run(world, sb, config(sb))
    [slack] = sb.slack_messages()
    [mail] = sb.emails()
    link = f"https://app.hubspot.com/contacts/{PORTAL}/record/0-1/901"
    blocks = str(slack.payload["blocks"])
    assert (
        slack.payload["text"]
        == "New lead for a@s.io: Ada Lovelace (Analytical Engines), score 82 (A, hot)"
    )
    assert f"<{link}|Ada Lovelace (Analytical Engines)>" in blocks
    assert "region NA -&gt; pool na, a@s.io by weighted turn" in blocks  # why this rep, escaped
    # the top three reasons, not the fourth
    assert "+25 Job title: VP" in blocks and "+15 Pricing page visit" in blocks
    assert "+10 Country US" not in blocks
    assert mail.recipients == ("a@s.io",)
    assert mail.message["Subject"] == "New lead assigned: Ada Lovelace (Analytical Engines)"
    body = mail.message.get_content()
    for fact in ("Score: 82 (A, hot)", "Why this rep: region NA", "- +20 Business email", link):
        assert fact in body
    # queued at 14:01 UTC on a Wednesday: 07:01 in San Francisco, a call to make later
    assert "Lead's local time: 07:01 Wed, America/Los_Angeles" in body
    assert "07:01 Wed, America/Los_Angeles" in blocks


def test_each_message_is_sent_once_across_re_runs(
    world: duckdb.DuckDBPyConnection, sb: Sandbox
) -> None:
    assign(world, "l1")
    ack(world, "l1", "901")
    first = run(world, sb, config(sb))
    second = run(world, sb, config(sb), hours=1)
    assert sum(first.sent.values()) == 2
    assert (second.queued, sum(second.sent.values())) == (0, 0)
    assert len(sb.slack_messages()) == 1 and len(sb.emails()) == 1


@pytest.mark.parametrize("status", [429, 503])
def test_a_slack_outage_is_retried_on_the_next_run_and_never_doubled(
    world: duckdb.DuckDBPyConnection, sb: Sandbox, status: int
) -> None:
    # GIVEN Slack fails three times in a row (the client's in-run tries)
    assign(world, "l1")
    ack(world, "l1", "901")
    sb.inject_faults("slack", status, 3)
    first = run(world, sb, config(sb))
    # THEN the e-mail went, the Slack row waits with its attempt counted and a PII-free reason
    assert dict(first.sent) == {"email": 1} and first.pending == 1
    [(_, _, _, state, attempts, error)] = [r for r in outbox(world) if r[2] == "slack"]
    assert (state, attempts) == ("pending", 1)
    assert error.startswith(f"RetriableError {status}") and "@" not in error
    # WHEN the next run comes THEN it goes out, once
    second = run(world, sb, config(sb), hours=1)
    assert dict(second.sent) == {"slack": 1}
    assert len(sb.slack_messages()) == 1 and len(sb.emails()) == 1
    assert [r[3] for r in outbox(world)] == ["sent", "sent"]


def test_a_message_slack_refuses_fails_without_retry_and_others_still_go(
    world: duckdb.DuckDBPyConnection, sb: Sandbox
) -> None:
    assign_two(world)
    sb.inject_faults("slack", 400, 1)
    one_per_lead = {"min_interval_s": 0, "max_leads_per_message": 1}
    result = run(world, sb, config(sb, slack=one_per_lead))
    assert result.failed == 1 and dict(result.sent) == {"slack": 1, "email": 2}
    states = {(r[0], r[2]): r[3] for r in outbox(world)}
    assert sorted(states[(lead, "slack")] for lead in ("l1", "l2")) == ["failed", "sent"]


def test_a_message_that_keeps_failing_is_given_up_after_max_attempts(
    world: duckdb.DuckDBPyConnection, sb: Sandbox
) -> None:
    assign(world, "l1")
    ack(world, "l1", "901")
    cfg = config(sb, max_attempts=2, events={"assignment": ["slack"]})
    sb.inject_faults("slack", 500, 6)
    run(world, sb, cfg)
    last = run(world, sb, cfg, hours=1)
    assert last.failed == 1 and last.pending == 0
    assert [r[3:5] for r in outbox(world)] == [("failed", 2)]


def test_kept_crm_owners_are_not_announced_and_a_lead_re_routed_before_sending_is_cancelled(
    world: duckdb.DuckDBPyConnection, sb: Sandbox
) -> None:
    assign(world, "l1", action="sticky")
    ack(world, "l1", "901")
    assign(world, "l2", "2", "b@s.io")
    ack(world, "l2", "902")
    cfg = config(sb, events={"assignment": ["email"]})
    queued = enqueue(world, cfg, SLA, run_id="r", as_of=T0)
    assert queued == 1  # l2 only
    # the lead moves to another owner before the message goes out
    assign(world, "l2", "3", "c@s.io", at=T0 + timedelta(minutes=1))
    result = run(world, sb, cfg)
    assert result.cancelled == 1 and sb.emails() == []
    # ... and the new owner is announced once the push carries the move
    ack(world, "l2", "902", at=T0 + timedelta(minutes=1))
    run(world, sb, cfg)
    assert [m.recipients for m in sb.emails()] == [("c@s.io",)]


def test_old_assignments_are_not_announced_when_notifications_are_switched_on(
    world: duckdb.DuckDBPyConnection, sb: Sandbox
) -> None:
    assign(world, "l1", at=T0 - timedelta(days=3))
    ack(world, "l1", "901", at=T0 - timedelta(days=3))
    assert run(world, sb, config(sb)).queued == 0


def test_an_sla_breach_tells_the_owner_and_the_escalation_tells_the_manager(
    world: duckdb.DuckDBPyConnection, sb: Sandbox
) -> None:
    # GIVEN a breach recorded by the SLA check, with the escalate action
    world.execute(
        """insert into ops.sla_breaches values ('l1', '1', 'a@s.io', 'hot', ?, ?, null, ?,
           'escalate', null, 'r1')""",
        [T0, T0 + timedelta(minutes=5), T0 + timedelta(minutes=1)],
    )
    assign(world, "l1")
    cfg = config(sb, events={"sla_breach": ["slack", "email"], "escalation": ["email"]})
    result = run(world, sb, cfg)
    assert dict(result.sent) == {"slack": 1, "email": 2}
    to = sorted(m.recipients[0] for m in sb.emails())
    assert to == ["a@s.io", "manager@s.io"]
    [slack] = sb.slack_messages()
    assert slack.payload["text"].startswith("SLA breach: first touch missed: Ada Lovelace")
    assert "escalated to the sales manager" in str(slack.payload["blocks"])


def test_no_webhook_secret_or_address_reaches_the_logs(
    world: duckdb.DuckDBPyConnection, sb: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.handler.addFilter(RedactingFilter())
    assign(world, "l1")
    ack(world, "l1", "901")
    sb.inject_faults("slack", 503, 3)
    sb.inject_faults("smtp", 451, 1)
    with caplog.at_level(logging.DEBUG):
        result = run(world, sb, config(sb))
    assert result.errors  # both channels failed and said so
    text = "\n".join(r.getMessage() for r in caplog.records) + "\n".join(result.errors)
    assert "sandbox-slack-webhook-secret" not in text
    assert "a@s.io" not in text and "leadflow@s.io" not in text
    assert all("@" not in (r[5] or "") for r in outbox(world))


def test_assignments_waiting_together_go_out_as_one_slack_digest(
    world: duckdb.DuckDBPyConnection, sb: Sandbox
) -> None:
    # GIVEN two leads assigned in the same batch (a burst of webhooks)
    assign_two(world)
    # WHEN notified THEN Slack gets one message naming both, each linked to its record; each rep
    # still gets an e-mail of their own
    result = run(world, sb, config(sb))
    assert dict(result.sent) == {"slack": 2, "email": 2}
    (message,) = sb.slack_messages()
    assert message.payload["text"] == "2 new leads assigned"
    text = str(message.payload["blocks"])
    for contact, who in (("901", "Ada Lovelace (Analytical Engines)"), ("902", "Alan (Bletchley)")):
        assert f"https://app.hubspot.com/contacts/{PORTAL}/record/0-1/{contact}|{who}" in text
    assert "a@s.io" in text and "b@s.io" in text and "82 (A, hot)" in text
    assert sorted(m.recipients for m in sb.emails()) == [("a@s.io",), ("b@s.io",)]
    # AND a second run sends nothing again
    assert sum(run(world, sb, config(sb), hours=1).sent.values()) == 0


def test_a_digest_slack_refuses_is_sent_lead_by_lead(
    world: duckdb.DuckDBPyConnection, sb: Sandbox
) -> None:
    assign_two(world)
    sb.inject_faults("slack", 400, 1)  # the digest is refused as an invalid payload
    result = run(world, sb, config(sb))
    assert result.failed == 0 and dict(result.sent) == {"slack": 2, "email": 2}
    assert sorted(m.payload["text"].split(":")[0] for m in sb.slack_messages()) == [
        "New lead for a@s.io",
        "New lead for b@s.io",
    ]
