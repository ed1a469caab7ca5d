"""HubSpot merges and archives through the pipeline's own steps (pull, validate, resolve) against
the Sandbox's portal: a merge makes one lead of the contacts merged, an archived contact is
quarantined with the reason while its last live version keeps its lead, and nothing is lost."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from leadflow import pipeline
from leadflow.accounting import record_accounting
from leadflow.config import Settings, load_settings
from leadflow.warehouse import utcnow
from sandbox import Sandbox
from tests.sandbox.sandbox_helpers import NOW

TOKEN = "hs-pipeline-token"
DELETED_REASON = "deleted in the CRM (its recycle bin, or merged into another record)"


@pytest.fixture
def sb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", TOKEN)
    with Sandbox(seed=11, leads=80, tokens={"hubspot": TOKEN}, now=NOW) as sandbox:
        sandbox.set_rate_limit("hubspot", 0, 1)
        sandbox.set_rate_limit("hubspot_search", 0, 1)
        yield sandbox


def settings_for(sb: Sandbox, tmp_path: Path) -> Settings:
    """A config with HubSpot as its only source, pointed at the sandbox."""
    config = {
        "warehouse": {"path": str(tmp_path / "warehouse.duckdb")},
        "sandbox": {"embedded": False},
        "sources": {"hubspot": {"base_url": sb.urls["hubspot"]}},
    }
    path = tmp_path / "leadflow.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return load_settings(path)


def sync(settings: Settings, run_id: str) -> dict[str, Any]:
    """One run's pull, validation and identity resolution; what the warehouse then holds."""
    as_of = utcnow()
    pipeline.start_run(settings, run_id, as_of)
    pulls = pipeline.pull_source(settings, "hubspot", run_id, as_of)
    staged = pipeline.stage_records(settings, run_id, as_of)
    resolved = pipeline.resolve_identities(settings, run_id, as_of)
    with pipeline.warehouse(settings).connect() as con:
        identity = {
            record_id: (lead_id, rule)
            for record_id, lead_id, rule in con.execute(
                "select r.record_id, i.lead_id, i.rule from ops.lead_records r "
                "join ops.lead_identity i using (record_key) where r.source = 'hubspot'"
            ).fetchall()
        }
        records = {
            row[0]: row[1:]
            for row in con.execute(
                "select record_id, email, phone_e164, _raw_id from ops.lead_records "
                "where source = 'hubspot'"
            ).fetchall()
        }
        return {
            "pulls": pulls,
            "staged": staged,
            "resolved": resolved,
            "identity": identity,
            "records": records,
            "quarantined": con.execute(
                "select record_id, reasons from ops.quarantine where source = 'hubspot'"
            ).fetchall(),
            "merges": con.execute(
                "select from_lead_id, into_lead_id from ops.lead_merges"
            ).fetchall(),
            "raw_contacts": con.execute(
                "select count(distinct record_id) from raw.hubspot__contacts"
            ).fetchall()[0][0],
            "cursors": dict(
                con.execute(
                    "select stream, cursor_value from ops.sync_state where source = 'hubspot'"
                ).fetchall()
            ),
            "accounting": record_accounting(con),
        }


def test_merged_contacts_are_one_lead_and_an_archived_one_is_quarantined_with_the_reason(
    sb: Sandbox, tmp_path: Path
) -> None:
    settings = settings_for(sb, tmp_path)
    # GIVEN a portal already synced once: every contact a record, none archived yet
    first = sync(settings, "hs-1")
    assert "contacts:archived" not in first["cursors"]
    contacts_before = first["raw_contacts"]
    # ... two contacts who are two leads, with emails and phones that share nothing
    records, identity = first["records"], first["identity"]
    a, b = sorted((i for i in records if records[i][0] and identity[i][1] == "new_lead"), key=int)[
        :2
    ]
    assert records[a][0] != records[b][0] and records[a][1] != records[b][1]
    lead_a, lead_b = identity[a][0], identity[b][0]
    # ... and a third, in a lead of its own
    archived = next(i for i in sorted(records, key=int) if i not in (a, b))
    live_raw_id = records[archived][2]

    # WHEN HubSpot merges the two (into a new contact) and archives the third, and a run follows
    sb.advance_clock(timedelta(minutes=5))
    merged = sb.hubspot_merge(a, b)
    sb.hubspot_archive(archived)
    second = sync(settings, "hs-2")

    # THEN the merged contacts and the contact the merge made are one lead, the one seen first,
    # linked by the CRM's merge, and the absorbed lead is recorded as merged into it
    identity = second["identity"]
    assert {identity[i][0] for i in (a, b, merged)} == {lead_a}
    assert "crm_merge" in {identity[i][1] for i in (b, merged)}
    assert (lead_b, lead_a) in second["merges"]
    # AND the archived contact's deletion is quarantined with the reason, while its record keeps
    # the last live version and its lead
    reasons = [r for record_id, r in second["quarantined"] if record_id == archived]
    assert len(reasons) == 1 and DELETED_REASON in reasons[0]
    assert second["records"][archived][2] == live_raw_id
    assert identity[archived] == first["identity"][archived]
    # AND the recycle bin was read under a cursor of its own
    assert second["cursors"]["contacts:archived"] is not None
    # AND every contact raw holds is counted once, in exactly one place, none left unprocessed
    accounting = second["accounting"]
    assert second["raw_contacts"] == contacts_before + 1  # the contact the merge made
    assert accounting["total"] == second["raw_contacts"]
    assert accounting["unprocessed"] == 0
    assert accounting["lead"] == len({lead for lead, _ in identity.values()})

    # WHEN a run follows with nothing new in HubSpot
    third = sync(settings, "hs-3")
    # THEN nothing new lands and nothing changes
    assert sum(p.new_versions for p in third["pulls"]) == 0
    assert third["identity"] == identity and third["accounting"] == accounting


def test_a_contact_restored_from_the_recycle_bin_is_live_again(sb: Sandbox, tmp_path: Path) -> None:
    settings = settings_for(sb, tmp_path)
    # GIVEN a contact archived and synced as deleted
    first = sync(settings, "hs-1")
    contact = sorted(first["records"], key=int)[0]
    sb.advance_clock(timedelta(minutes=5))
    sb.hubspot_archive(contact)
    sync(settings, "hs-2")
    # WHEN it is restored in HubSpot and the next run pulls
    sb.advance_clock(timedelta(minutes=5))
    sb.hubspot_restore(contact)
    third = sync(settings, "hs-3")
    # THEN its restored (live) version is the record's current one, in the same lead as before,
    # and only the archived version stays quarantined
    current = third["records"][contact][2]
    with pipeline.warehouse(settings).connect() as con:
        versions = dict(
            con.execute(
                "select _raw_id, json_extract(payload, '$.archived')::boolean "
                "from raw.hubspot__contacts where record_id = ?",
                [contact],
            ).fetchall()
        )
    assert current != first["records"][contact][2] and versions[current] is False
    assert sorted(versions.values()) == [False, False, True]
    assert third["identity"][contact] == first["identity"][contact]
    assert [r for r, _ in third["quarantined"] if r == contact] == [contact]
