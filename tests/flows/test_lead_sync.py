"""The hourly sync end to end: Prefect's harness, the sandbox on free ports, a temporary DuckDB file.

One module-scoped world is synced three times (the first run, a re-run with nothing new, a run after
new arrivals); the tests read what each run left in the warehouse and in the sandbox CRM.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from flows.lead_sync import lead_sync
from intake.inbox import Inbox
from intake.webhooks import webform_arrivals
from leadflow.config import load_settings
from leadflow.warehouse import utcnow
from sandbox import Sandbox
from tests.reliability.leaks import capturing_logs, find_leaks, stored_texts

REPO = Path(__file__).resolve().parents[2]
TOKENS = {
    "hubspot": "e2e-hubspot-token",
    "meta": "e2e-meta-token",
    "typeform": "e2e-typeform-token",
    "lemlist": "e2e-lemlist-token",
    "apollo": "e2e-apollo-key",
}
TOKEN_ENV = {
    "hubspot": "HUBSPOT_ACCESS_TOKEN",
    "meta": "META_ACCESS_TOKEN",
    "typeform": "TYPEFORM_ACCESS_TOKEN",
    "lemlist": "LEMLIST_API_KEY",
    "apollo": "APOLLO_API_KEY",
}


def write_config(tmp: Path, urls: dict[str, str], smtp_port: int = 8705) -> Path:
    """The shipped leadflow.yml, pointed at this test's sandbox and warehouse."""
    config = yaml.safe_load((REPO / "leadflow.yml").read_text(encoding="utf-8"))
    config["warehouse"]["path"] = str(tmp / "warehouse.duckdb")
    config["sandbox"]["embedded"] = False
    for vendor in ("hubspot", "meta", "typeform"):
        config["sources"][vendor]["base_url"] = urls[vendor]
    config["destinations"]["hubspot"]["base_url"] = urls["hubspot"]
    config["destinations"]["lemlist"]["base_url"] = urls["lemlist"]
    config["enrichment"]["firmographics"]["base_url"] = urls["apollo"]
    # Notifications to the sandbox's Slack and SMTP, all of them in the run that assigns (no pacing;
    # the sandbox's 1/s webhook limit is lifted below), and SLA breaches only recorded, so that no
    # re-route changes what the later runs push.
    config["notifications"]["email"]["port"] = smtp_port
    config["notifications"]["slack"]["min_interval_s"] = 0
    config["notifications"]["max_per_run"] = 1000
    for policy in config["sla"]["policies"]:
        policy["action"] = "record"
    path = tmp / "leadflow.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


WEBFORM_SUBMISSION = {
    "form_id": "contact-us",  # the shipped config counts it as a demo request
    "submission_id": "web-0001",
    "submitted_at": "2026-05-04T09:31:12Z",
    "fields": {
        "email": "Wanda.Webform@Northwind-Webhooks.example",
        "first_name": "Wanda",
        "last_name": "Webform",
        "company": "Northwind",
        "job_title": "VP Marketing",
        "country": "US",
    },
}


def slack_notices(messages: list[Any]) -> Counter[tuple[str, ...]]:
    """("slack", kind, lead id) for every lead the Slack messages announce: a message names one
    lead, or several (a digest of assignments). Per lead, so a run that sent its digests cut
    differently (a 429, a kill) still compares equal."""
    found: Counter[tuple[str, ...]] = Counter()
    for message in messages:
        text = str(message.payload.get("text", ""))
        digest = text.endswith("new leads assigned")
        kind = "assignment" if digest or text.startswith("New lead") else text.split(":")[0]
        footer = str(message.payload.get("blocks", [{}])[-1])
        for lead in re.findall(r"`([^`]+)`", footer):
            found[("slack", kind, lead)] += 1
    return found


@dataclass
class Synced:
    sandbox: Sandbox
    config: Path
    warehouse: Path
    first: dict[str, Any]
    second: dict[str, Any]
    third: dict[str, Any]
    arrivals: list[str]
    log_lines: list[str]

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            return con.execute(sql).fetchall()


@pytest.fixture(scope="module")
def synced(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synced]:
    tmp = tmp_path_factory.mktemp("e2e")
    patch = pytest.MonkeyPatch()
    for vendor, env in TOKEN_ENV.items():
        patch.setenv(env, TOKENS[vendor])
    try:
        with Sandbox(seed=11, leads=150, tokens=TOKENS) as sandbox:
            patch.setenv("LEADFLOW_SLACK_WEBHOOK_URL", sandbox.slack_webhook_url)
            sandbox.set_rate_limit("slack", 0, 1)
            config = write_config(tmp, sandbox.urls, smtp_port=sandbox.smtp_address[1])
            as_of = utcnow()
            if (as_of + timedelta(minutes=10)).date() != as_of.date():
                # The three runs share a UTC date: a new day decays every score, and the second
                # run would push the decayed ones (seen at 23:57 UTC). Start them at midnight.
                as_of = datetime.combine(as_of.date() + timedelta(days=1), datetime.min.time())
            # every log line of the three runs, for the planted-secret test
            with capturing_logs() as logs:
                first = lead_sync(config_path=str(config), as_of=as_of)
                # (with dbt's incremental models rebuilt from scratch: the same rows, so nothing
                # to push)
                second = lead_sync(
                    config_path=str(config), as_of=as_of + timedelta(minutes=5), full_refresh=True
                )
                arrivals = sandbox.add_arrivals(12)
                # and one lead submitted on the site's form, accepted by `leadflow serve`
                with Inbox(load_settings(config).inbox_path) as inbox:
                    inbox.store(webform_arrivals(WEBFORM_SUBMISSION))
                third = lead_sync(config_path=str(config), as_of=as_of + timedelta(minutes=10))
            yield Synced(
                sandbox,
                config,
                tmp / "warehouse.duckdb",
                first,
                second,
                third,
                arrivals,
                logs.lines,
            )
    finally:
        patch.undo()


def test_the_summary_has_the_documented_keys(synced: Synced) -> None:
    for key in (
        "records_pulled",
        "records_quarantined",
        "records_merged",
        "leads",
        "leads_scored",
        "leads_routed",
        "records_pushed",
    ):
        assert isinstance(synced.first[key], int), key
    assert synced.first["records_pulled"] > 150
    assert synced.first["records_quarantined"] > 0  # the world has invalid emails
    # every lead is routed or, not eligible for routing (routing.eligible), left to nurture
    assert synced.first["leads_unassigned"] == 0
    assert (
        synced.first["leads_routed"] + synced.first["leads_not_eligible"] == synced.first["leads"]
    )


def test_every_raw_record_is_a_lead_merged_or_quarantined_exactly_once(synced: Synced) -> None:
    # GIVEN every record the sandbox served
    truth = synced.sandbox.world.truth
    raw = set(
        synced.query(
            "select 'hubspot', record_id from raw.hubspot__contacts union select 'meta', record_id from raw.meta__leads"
            " union select 'typeform', record_id from raw.typeform__responses"
            " union select 'webform', record_id from raw.webform__submissions"
        )
    )
    created_by_last_push = set(
        synced.query(
            "select 'hubspot', destination_record_id from ops.push_log where operation = 'upsert' "
            f"and status = 'ok' and run_id = '{synced.third['run_id']}'"
        )
    )
    served = {(source, rid) for (source, rid) in truth} - created_by_last_push
    # THEN every served record was landed, except the contacts the last push itself created
    assert served <= raw
    accounting = synced.third["accounting"]
    assert accounting["unprocessed"] == 0
    assert accounting["total"] == len(raw)
    assert accounting["lead"] + accounting["merged"] + accounting["crm_copy"] + accounting[
        "quarantined"
    ] == len(raw)
    # AND no record is both a lead and quarantined
    both = synced.query(
        "select count(*) from ops.lead_identity i join ops.quarantine q "
        "on i.record_key = q.source || ':' || q.stream || ':' || q.record_id "
        "where q._raw_id in (select _raw_id from ops.lead_records)"
    )
    assert both == [(0,)]


def test_generated_duplicates_share_one_lead_id(synced: Synced) -> None:
    truth = synced.sandbox.world.truth
    rows = synced.query(
        "select r.source, r.record_id, r.email, r.phone_e164, i.lead_id from ops.lead_records r "
        "join ops.lead_identity i using (record_key)"
        " where i.rule <> 'crm_echo' and r.source <> 'webform'"  # the sandbox served the rest
    )
    by_person: dict[str, list[tuple[str | None, str | None, str]]] = defaultdict(list)
    people_by_lead: dict[str, set[str]] = defaultdict(set)
    for source, record_id, email, phone, lead_id in rows:
        person = truth[(source, record_id)]
        by_person[person].append((email, phone, lead_id))
        people_by_lead[lead_id].add(person)
    linkable = 0
    for records in by_person.values():
        for i, (email, phone, lead) in enumerate(records):
            for other_email, other_phone, other_lead in records[i + 1 :]:
                if (email and email == other_email) or (phone and phone == other_phone):
                    linkable += 1
                    assert lead == other_lead
    assert linkable > 20  # the world really has cross-source duplicates
    # AND no lead mixes two people
    assert all(len(people) == 1 for people in people_by_lead.values())


def test_every_routed_lead_has_its_owner_and_score_in_the_crm(synced: Synced) -> None:
    expected = {
        lead: (owner, str(score))
        for lead, owner, score in synced.query(
            "select a.lead_id, a.owner_id, s.score from ops.lead_assignments a join ops.lead_scores s using (lead_id)"
        )
    }
    in_crm: dict[str, tuple[str, str]] = {}
    for contact in synced.sandbox.hubspot_contacts():
        props = contact["properties"]
        if props.get("leadflow_lead_id"):
            in_crm[props["leadflow_lead_id"]] = (
                props.get("hubspot_owner_id"),
                props.get("leadflow_score"),
            )
    assert len(expected) > 20
    missing = {lead: want for lead, want in expected.items() if in_crm.get(lead) != want}
    assert not missing


def test_a_second_run_with_nothing_new_pushes_nothing(synced: Synced) -> None:
    # the second run rebuilt the incremental models from scratch (full_refresh): same payloads
    assert synced.first["records_pushed"] == synced.first["leads"]
    assert synced.second["records_pushed"] == 0
    assert synced.second["leads_new"] == 0 and synced.second["leads_routed"] == 0
    assert (
        synced.second["records_merged"] == 0
    )  # the CRM copies of created leads are not duplicates


def test_new_arrivals_are_pulled_routed_and_pushed_incrementally(synced: Synced) -> None:
    third = synced.third
    assert third["leads_new"] >= 1
    assert 1 <= third["records_pushed"] <= len(synced.arrivals) + 1  # + the web form's lead
    # every lead eligible for routing (the shipped `eligible`: an MQL, owned in the CRM, or out of
    # nurture), old or new, has an owner
    unrouted_eligible = synced.query(
        """select count(*) from intermediate.int_leads_unified l
           left join ops.lead_scores s using (lead_id)
           where (coalesce(s.is_mql, false) or l.crm_owner_id is not null
                  or l.lead_id in (select lead_id from ops.nurture_memberships where exited_at is not null))
             and l.lead_id not in (select lead_id from ops.lead_assignments)"""
    )
    assert unrouted_eligible == [(0,)]
    pulled = third["records_pulled_by_stream"]
    # incremental: only what changed since the cursor (plus the lookback window) is read again
    assert pulled["meta.leads"] + pulled["typeform.responses"] < synced.first["records_pulled"] / 4


def test_a_lead_accepted_by_the_intake_is_landed_scored_and_pushed_by_the_next_run(
    synced: Synced,
) -> None:
    assert synced.third["intake_landed"] == 1
    assert synced.third["intake_landed_by_source"] == {"webform": 1}
    ((source, intent),) = synced.query(
        "select d.first_touch_source, r.intent_event from marts.dim_leads d"
        " join ops.lead_records r on r.email = d.email"
        " where d.email = 'wanda.webform@northwind-webhooks.example'"
    )
    assert (source, intent) == ("webform", "demo_request")
    emails = {c["properties"].get("email") for c in synced.sandbox.hubspot_contacts()}
    assert "wanda.webform@northwind-webhooks.example" in emails
    with Inbox(load_settings(synced.config).inbox_path) as inbox:
        assert inbox.counts() == {"landed": 1}


def test_firmographics_are_looked_up_once_and_reach_the_marts_and_the_scores(
    synced: Synced,
) -> None:
    # GIVEN the first run looked up every business domain of the world's leads once
    first, second, third = synced.first, synced.second, synced.third
    assert first["firmographics_looked_up"] == first["firmographics_domains"] > 0
    assert first["firmographics_known"] > 0 and first["firmographics_stopped"] == ""
    # THEN a re-run with nothing new asks nothing (the cache), a later run only the new domains
    assert second["firmographics_looked_up"] == 0
    assert third["firmographics_looked_up"] == (
        third["firmographics_domains"] - first["firmographics_domains"]
    )
    # AND leads none of whose records name an industry have the provider's, in the profile that
    # scoring and routing read and in dim_leads
    no_industry_sent = (
        "not exists (select 1 from ops.lead_identity i join ops.lead_records r using (record_key)"
        " where i.lead_id = u.lead_id and r.industry is not null)"
    )
    filled = synced.query(
        "select count(*) from intermediate.int_leads_unified u join marts.dim_leads d"
        f" using (lead_id) where {no_industry_sent} and u.industry is not null"
        " and d.industry = u.industry and u.is_company_enriched"
    )[0][0]
    assert filled > 0
    # AND scoring counted it: such leads score on the ICP industry rule
    scored = synced.query(
        "select count(*) from ops.lead_scores s join intermediate.int_leads_unified u"
        f" using (lead_id) where {no_industry_sent} and cast(s.factors as varchar) like"
        " '%\"icp_industry\"%'"
    )[0][0]
    assert scored > 0


def test_the_runs_are_recorded(synced: Synced) -> None:
    statuses = synced.query("select status, count(*) from ops.sync_runs group by status")
    assert statuses == [("completed", 3)]


def test_a_failing_dbt_test_stops_the_run_before_anything_is_pushed(
    prefect_harness: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a run whose publish build has a real failing dbt test: the accepted grades given to dbt
    # (var score_grades) do not include the grades scoring writes
    from leadflow import dbt as leadflow_dbt
    from leadflow import dbt_state

    real_build = dbt_state.build_changed

    def build_with_wrong_grades(selector: str, warehouse_path: Path, **kwargs: Any) -> Any:
        if selector == "publish":
            kwargs["dbt_vars"] = {**(kwargs.get("dbt_vars") or {}), "score_grades": ["Z"]}
        return real_build(selector, warehouse_path, **kwargs)

    monkeypatch.setattr(dbt_state, "build_changed", build_with_wrong_grades)
    for vendor, env in TOKEN_ENV.items():
        monkeypatch.setenv(env, TOKENS[vendor])
    with Sandbox(seed=5, leads=25, tokens=TOKENS) as sandbox:
        config = write_config(tmp_path, sandbox.urls)
        # WHEN the flow runs
        with pytest.raises(leadflow_dbt.DbtError, match="accepted_values"):
            lead_sync(config_path=str(config))
        # THEN no write reached the CRM and the run is recorded as failed
        writes = [
            e for e in sandbox.request_log if "/batch/" in e[2] and not e[2].endswith("/read")
        ]
        assert writes == []
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("select status from ops.sync_runs").fetchall() == [("failed",)]
        assert con.execute("select count(*) from ops.push_log").fetchone() == (0,)


def test_an_assigned_lead_gets_one_slack_message_and_one_email_in_the_same_run(
    synced: Synced,
) -> None:
    # GIVEN the leads the first run assigned (not kept from the CRM) and pushed
    assigned = dict(
        synced.query(
            "select lead_id, owner_email from ops.lead_assignments "
            f"where run_id = '{synced.first['run_id']}' and coalesce(action, '') <> 'sticky'"
        )
    )
    assert len(assigned) >= 3
    # THEN the first run announced every one of them on both channels
    sent_in_first = synced.query(
        "select channel, count(*) from ops.notifications where kind = 'assignment' "
        f"and run_id = '{synced.first['run_id']}' and status = 'sent' group by channel order by 1"
    )
    assert sent_in_first == [("email", len(assigned)), ("slack", len(assigned))]
    assert synced.first["notifications_sent"] >= 2 * len(assigned)
    # AND after three runs each lead was announced exactly once per channel, to its owner
    slack_by_lead = Counter(
        lead
        for (_, kind, lead), n in slack_notices(synced.sandbox.slack_messages()).items()
        if kind == "assignment" and lead in assigned
        for _ in range(n)
    )
    emails_by_lead = Counter(
        (lead, e.recipients)
        for e in synced.sandbox.emails()
        if str(e.message["Subject"]).startswith("New lead assigned")
        for lead in assigned
        if f"Lead id: {lead}\n" in e.message.get_content()
    )
    seen = (len(synced.sandbox.slack_messages()), len(synced.sandbox.emails()))
    assert len(slack_by_lead) == len(assigned), (slack_by_lead, seen)
    assert set(slack_by_lead.values()) == {1}
    assert len(emails_by_lead) == len(assigned), (emails_by_lead, seen)
    assert set(emails_by_lead.values()) == {1}
    assert {lead: to for (lead, to) in emails_by_lead} == {
        lead: (email,) for lead, email in assigned.items()
    }
    # AND the messages carry the CRM link of the lead's contact
    some_lead = next(iter(assigned))
    contact_id = synced.query(
        f"select destination_record_id from ops.push_state where lead_id = '{some_lead}'"
    )[0][0]
    link = f"https://app.hubspot.com/contacts/24681357/record/0-1/{contact_id}"
    assert any(link in str(m.payload["blocks"]) for m in synced.sandbox.slack_messages())


def test_no_token_webhook_or_prospect_data_reaches_a_log_line_or_a_stored_message(
    synced: Synced,
) -> None:
    # GIVEN the secrets the runs used (the connectors' tokens, the Slack webhook URL) and the e-mail
    # address and phone number of every person in the world
    people = list(synced.sandbox.world.people)
    secrets = [*TOKENS.values(), synced.sandbox.slack_webhook_url.split("/services/", 1)[1]]
    personal = [p.email for p in people] + [p.phone for p in people if p.phone]
    assert len(synced.log_lines) > 50  # the capture saw the runs
    # WHEN we look at every log line of the three runs, the run summaries, and every message the
    # warehouse keeps about calls that failed
    texts = [
        *(("log", line) for line in synced.log_lines),
        *(
            ("summary", json.dumps(r, default=str))
            for r in (synced.first, synced.second, synced.third)
        ),
        *(("warehouse", text) for text in stored_texts(synced.warehouse)),
    ]
    # THEN none of them holds a secret, an e-mail address or a phone number of a prospect
    assert find_leaks(texts, [*secrets, *personal]) == []
