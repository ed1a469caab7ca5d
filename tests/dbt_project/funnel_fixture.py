"""Rows the funnel marts need beyond test_dbt_build's fixture: outcomes, recycling, nurture, and
a later batch of activity for the incremental build.

On top of load_fixture's five leads:
- lead-ann: her open HubSpot deal (9002) closed lost on 2026-05-08 12:00; with her other deal
  lost before, every deal of hers is lost -> lost at 05-08 12:00.
- lead-bob: the recycle flow closed him (UNQUALIFIED) on 2026-05-09 09:00 -> disqualified.
- lead-dee: in the 'general' nurture track from 2026-05-01, recycled on 2026-05-08 10:00 and
  back in the track.
- lead-cy: in 'general' from 2026-05-05 until she became an MQL on 2026-05-06 (requalified).
- lead-eve: a company of 1000+ employees -> segment enterprise.

Later activity (add_later_activity): a new lead, lead-fay, created 2026-05-11 09:00, and lead-cy
assigned to rep 51000001 on 2026-05-11 10:00.
"""

from __future__ import annotations

import json
from datetime import datetime

import duckdb

from tests.dbt_project.test_dbt_build import hubspot_deal

RUN = "run-funnel"
LOADED = datetime(2026, 5, 10, 12, 0)


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


def add_funnel_rows(con: duckdb.DuckDBPyConnection) -> None:
    """Write the outcome, recycling and nurture rows described in the module docstring."""
    # a newer version of ann's open deal 9002: closed lost, so now all her deals are lost
    deal = hubspot_deal(
        "9002",
        "2026-05-08T12:00:00.000Z",
        [101],
        dealname="Acme expansion",
        amount="5000",
        dealstage="closedlost",
        deal_currency_code="EUR",
        hubspot_owner_id="51000001",
        createdate="2026-05-03T10:00:00.000Z",
        closedate="2026-05-08T12:00:00.000Z",
    )
    con.execute(
        """
        insert into raw.hubspot__deals
            (_raw_id, record_id, _partition, record_updated_at, payload, payload_hash, _run_id,
             _loaded_at)
        values ('hubspot__deals-9002-v2', '9002', null, ?, ?, 'hd-9002-v2', ?, ?)
        """,
        [_ts("2026-05-08 12:00:00"), json.dumps(deal), RUN, LOADED],
    )
    recycling = [
        ("lead-bob", "closed", "stale", "51000002", None, "UNQUALIFIED", "2026-05-09 09:00:00"),
        ("lead-dee", "recycled", "stale", None, "general", "BAD_TIMING", "2026-05-08 10:00:00"),
    ]
    for lead_id, action, reason, owner, track, status, at in recycling:
        con.execute(
            """
            insert into ops.lead_recycling
                (lead_id, action, reason, last_activity_at, previous_owner_id, track,
                 crm_lead_status, recycled_at, run_id)
            values (?, ?, ?, null, ?, ?, ?, ?, ?)
            """,
            [lead_id, action, reason, owner, track, status, _ts(at), RUN],
        )
    memberships: list[tuple[str, str, str | None, str | None]] = [
        ("lead-dee", "2026-05-01 09:00:00", "2026-05-08 10:00:00", "recycled"),
        ("lead-dee", "2026-05-08 10:00:00", None, None),
        ("lead-cy", "2026-05-05 10:00:00", "2026-05-06 09:00:00", "mql"),
    ]
    for lead_id, entered, exited, exit_reason in memberships:
        con.execute(
            """
            insert into ops.nurture_memberships
                (lead_id, track, lemlist_campaign_id, entered_at, exited_at, exit_reason, run_id,
                 exited_run_id)
            values (?, 'general', 'cam_general', ?, ?, ?, ?, ?)
            """,
            [lead_id, _ts(entered), _ts(exited) if exited else None, exit_reason, RUN,
             RUN if exited else None],
        )  # fmt: skip
    con.execute(
        "update ops.lead_records set employee_band = '1000+' where record_key = 'hubspot:contacts:102'"
    )


def add_later_activity(con: duckdb.DuckDBPyConnection) -> None:
    """A new lead (lead-fay, 2026-05-11 09:00) and lead-cy's assignment (2026-05-11 10:00)."""
    con.execute(
        """
        insert into ops.lead_records (
            record_key, source, stream, record_id, _raw_id, email, email_domain, is_free_email,
            first_name, country_code, form_id, intent_event, record_created_at, record_updated_at,
            first_seen_at, run_id
        )
        values ('typeform:responses:tf_r3', 'typeform', 'responses', 'tf_r3', 'raw-tf_r3',
                'fay@fabrik.de', 'fabrik.de', false, 'Fay', 'DE', 'tfform1', 'demo_request',
                ?, ?, ?, ?)
        """,
        [_ts("2026-05-11 09:00:00"), _ts("2026-05-11 09:00:00"), _ts("2026-05-11 09:05:00"), RUN],
    )
    con.execute(
        """
        insert into ops.lead_identity
            (record_key, lead_id, rule, matched_record_key, resolved_at, run_id)
        values ('typeform:responses:tf_r3', 'lead-fay', 'new_lead', null, ?, ?)
        """,
        [_ts("2026-05-11 09:05:00"), RUN],
    )
    con.execute(
        """
        insert into ops.lead_assignments
            (lead_id, owner_id, owner_email, pool, rule, reason, assigned_at, run_id)
        values ('lead-cy', '51000001', 'rita@ourco.com', null, 'territory:emea', 'test', ?, ?)
        """,
        [_ts("2026-05-11 10:00:00"), RUN],
    )
