"""The daily recycle flow end to end: Prefect's harness, the sandbox, a temporary DuckDB file.

One hourly sync builds the warehouse (and nurtures the leads routing does not take); the recycle
flow then runs 120 days later, when every lead is idle, and once more the same day.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from flows.lead_recycle import lead_recycle
from flows.lead_sync import lead_sync
from leadflow.warehouse import utcnow
from sandbox import Sandbox
from tests.flows.test_lead_sync import TOKEN_ENV, TOKENS, write_config


@dataclass
class Recycled:
    sandbox: Sandbox
    warehouse: Path
    sync: dict[str, Any]
    first: dict[str, Any]
    second: dict[str, Any]

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            return con.execute(sql).fetchall()


@pytest.fixture(scope="module")
def recycled(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recycled]:
    tmp = tmp_path_factory.mktemp("recycle")
    patch = pytest.MonkeyPatch()
    for vendor, env in TOKEN_ENV.items():
        patch.setenv(env, TOKENS[vendor])
    with Sandbox(seed=13, leads=30, tokens=TOKENS) as sandbox:
        config_path = write_config(tmp, sandbox.urls)
        # Rep notifications are another flow step's business; they are off here.
        settings = yaml.safe_load(config_path.read_text(encoding="utf-8"))
        settings.setdefault("notifications", {})["enabled"] = False
        config_path.write_text(yaml.safe_dump(settings), encoding="utf-8")
        config = str(config_path)
        as_of = utcnow()
        sync = lead_sync(config_path=config, as_of=as_of)
        later = as_of + timedelta(days=120)
        first = lead_recycle(config_path=config, as_of=later)
        second = lead_recycle(config_path=config, as_of=later + timedelta(hours=2))
        yield Recycled(sandbox, tmp / "warehouse.duckdb", sync, first, second)
    patch.undo()


def test_the_sync_nurtured_leads_and_told_the_crm_and_lemlist(recycled: Recycled) -> None:
    nurtured = recycled.sync["in_nurture"]
    assert nurtured > 0 and recycled.sync["nurture_enrolled"] == nurtured
    tracks = {
        c["properties"].get("leadflow_nurture_track")
        for c in recycled.sandbox.hubspot_contacts()
        if c["properties"].get("leadflow_nurture_track")
    }
    assert tracks <= {"general", "small-business", "recycled"} and tracks
    # every open membership with an address and a campaign is in that Lemlist campaign, no other
    expected = set(
        recycled.query(
            "select m.lemlist_campaign_id, l.email from ops.nurture_memberships m "
            "join intermediate.int_leads_unified l using (lead_id) "
            "where m.exited_at is null and l.email is not null and m.lemlist_campaign_id is not null"
        )
    )
    in_lemlist = {(lead["campaign_id"], lead["email"]) for lead in recycled.sandbox.lemlist_leads()}
    assert in_lemlist == expected and expected


def test_idle_leads_are_recycled_or_closed_with_reasons(recycled: Recycled) -> None:
    first = recycled.first
    assert first["leads_recycled"] + first["leads_closed"] == first["leads_considered"] > 0
    rows = recycled.query("select action, reason, crm_lead_status from ops.lead_recycling")
    assert len(rows) == first["leads_considered"]
    for action, reason, status in rows:
        assert reason.startswith("no activity for ")
        assert status == ("BAD_TIMING" if action == "recycled" else "UNQUALIFIED")


def test_the_crm_learns_the_recycle_in_the_same_flow(recycled: Recycled) -> None:
    # GIVEN the recycled leads' HubSpot contacts after the flow's push
    recycled_ids = {
        row[0]
        for row in recycled.query(
            "select leadflow_lead_id from marts.sync_hubspot__contacts where hs_lead_status = 'BAD_TIMING'"
        )
    }
    contacts = {
        c["properties"].get("leadflow_lead_id"): c["properties"]
        for c in recycled.sandbox.hubspot_contacts()
    }
    assert recycled_ids and recycled.first["records_pushed"] >= len(recycled_ids)
    for lead_id in recycled_ids:
        props = contacts[lead_id]
        # THEN each is BAD_TIMING, back in the recycled track, and owned by nobody
        assert props["hs_lead_status"] == "BAD_TIMING"
        assert props["leadflow_nurture_track"] == "recycled"
        assert not props.get("hubspot_owner_id")


def test_a_second_run_the_same_day_changes_and_pushes_nothing(recycled: Recycled) -> None:
    second = recycled.second
    assert (second["leads_recycled"], second["leads_closed"], second["records_pushed"]) == (0, 0, 0)
    assert (second["lemlist_added"], second["lemlist_removed"]) == (0, 0)
