"""The sync engine every CRM destination shares (connectors/reverse_etl.py), against the sandbox's
HubSpot: dry run, the push log per run, update mode, dead letters that become permanent after the
destination's max_attempts and are requeued, and the custom properties a fresh portal lacks."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest
from pydantic import SecretStr

from connectors import hubspot
from connectors.http import ApiClient, FatalError
from connectors.hubspot import client as hubspot_client
from connectors.hubspot import settings as hubspot_settings
from connectors.reverse_etl import (
    PushResult,
    dead_letter_summary,
    push_changed,
    requeue_dead_letters,
)
from connectors.sync import PushOutcome, SyncRow
from leadflow.config import HttpSettings
from leadflow.warehouse import utcnow
from sandbox import Sandbox

TOKENS = {"hubspot": "engine-hubspot-token"}
# One attempt: a server fault comes back as a retriable outcome at once.
ONE_TRY = HttpSettings(timeout_s=5, max_attempts=1, backoff_base_s=0.01, backoff_max_s=0.05)


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(seed=5, leads=60, tokens=TOKENS) as sandbox:
        for bucket in ("hubspot", "hubspot_search"):
            sandbox.set_rate_limit(bucket, 0, 1)
        yield sandbox


def client_for(sb: Sandbox) -> ApiClient:
    client = hubspot_client.make_client(sb.urls["hubspot"], SecretStr(TOKENS["hubspot"]), ONE_TRY)
    client.limiters = {}
    return client


def new_contacts(n: int, score: int = 10, prefix: str = "eng") -> list[SyncRow]:
    return [
        SyncRow(
            f"{prefix}-{i}",
            "upsert",
            None,
            "leadflow_lead_id",
            f"{prefix}-{i}",
            {"leadflow_lead_id": f"{prefix}-{i}", "leadflow_score": str(score)},
        )
        for i in range(n)
    ]


def push(
    con: duckdb.DuckDBPyConnection,
    rows: list[SyncRow],
    client: ApiClient,
    run_id: str,
    **options: object,
) -> PushResult:
    def send(batch: list[SyncRow]) -> list[PushOutcome]:
        return hubspot.push_contacts(client, batch, 100)

    return push_changed(
        con,
        "hubspot",
        rows,
        send,  # type: ignore[arg-type]
        owned_properties=hubspot_settings.OWNED_PROPERTIES,
        batch_size=100,
        run_id=run_id,
        as_of=utcnow(),
        **options,  # type: ignore[arg-type]
    )


def counts(con: duckdb.DuckDBPyConnection) -> tuple[int, ...]:
    return tuple(
        con.execute(f"select count(*) from ops.{table}").fetchone()[0]  # type: ignore[index]
        for table in ("push_log", "push_state", "push_runs", "dead_letter")
    )


def test_dry_run_reports_the_plan_and_sends_and_writes_nothing(
    sb: Sandbox, con: duckdb.DuckDBPyConnection
) -> None:
    # GIVEN 5 leads pushed before, 2 of them changed since, and 3 new ones
    client = client_for(sb)
    first = new_contacts(5, prefix="dry")
    push(con, first, client, "r1")
    created = {r.lead_id: r for r in first}
    ids = dict(con.execute("select lead_id, destination_record_id from ops.push_state").fetchall())
    changed = [
        SyncRow(
            lead,
            "update",
            ids[lead],
            None,
            None,
            {**created[lead].properties, "leadflow_score": "99"},
        )
        for lead in ("dry-0", "dry-1")
    ]
    rows = [*changed, *first[2:], *new_contacts(3, prefix="dry-new")]
    before = counts(con)
    sb.clear_request_log()
    # WHEN the push is previewed
    plan = push(con, rows, client, "preview", dry_run=True)
    # THEN it counts 3 creates, 2 updates and 3 unchanged, and nothing left or was written
    assert plan.as_plan() == {
        "candidates": 8,
        "creates": 3,
        "updates": 2,
        "unchanged": 3,
        "invalid": 0,
        "not_in_destination": 0,
    }
    assert sb.request_log == []
    assert counts(con) == before


def test_each_push_leaves_one_push_runs_row_and_update_mode_creates_nothing(
    sb: Sandbox, con: duckdb.DuckDBPyConnection
) -> None:
    client = client_for(sb)
    rows = new_contacts(4, prefix="mode")
    # WHEN a destination in update mode gets leads it has no record of
    skipped = push(con, rows, client, "u1", mode="update")
    # THEN none is sent, and the run's row says why
    assert (skipped.pushed, skipped.not_in_destination) == (0, 4)
    # WHEN upsert mode pushes them
    done = push(con, rows, client, "u2")
    assert done.pushed == 4
    runs = con.execute(
        """
        select run_id, mode, candidates, changed, processed, creates, updates, succeeded,
               rejected, skipped_not_in_destination
        from ops.push_runs order by started_at, run_id
        """
    ).fetchall()
    assert runs == [
        ("u1", "update", 4, 4, 0, 0, 0, 0, 0, 4),
        ("u2", "upsert", 4, 4, 4, 4, 0, 4, 0, 0),
    ]


def test_interleaved_updates_and_creates_leave_as_full_requests_of_one_kind(
    sb: Sandbox, con: duckdb.DuckDBPyConnection
) -> None:
    # GIVEN 100 leads HubSpot has (updates) and 100 it lacks (upserts), interleaved, as the sync
    # model's order mixes them
    client = client_for(sb)
    known = new_contacts(100, prefix="mix-known")
    push(con, known, client, "m1")
    ids = dict(con.execute("select lead_id, destination_record_id from ops.push_state").fetchall())
    updates = [
        SyncRow(
            r.lead_id, "update", ids[r.lead_id], None, None, {**r.properties, "leadflow_score": "7"}
        )
        for r in known
    ]
    creates = new_contacts(100, prefix="mix-new")
    rows = [row for pair in zip(updates, creates, strict=True) for row in pair]
    sb.clear_request_log()
    # WHEN they are pushed in batches of 100
    result = push(con, rows, client, "m2")
    # THEN two requests carry them, one batch/update and one batch/upsert of 100 each, not four
    # half-full ones
    assert result.pushed == 200
    writes = [path for _, method, path, _ in sb.request_log if method == "POST"]
    assert sorted(writes) == sorted(
        [hubspot_settings.BATCH_UPDATE_CONTACTS, hubspot_settings.BATCH_UPSERT_CONTACTS]
    )


def test_a_failure_that_outlasts_max_attempts_turns_permanent_until_requeued(
    sb: Sandbox, con: duckdb.DuckDBPyConnection
) -> None:
    client = client_for(sb)
    rows = new_contacts(2, prefix="perm")
    # GIVEN HubSpot failing with a server error on the next three writes
    for run in range(3):
        sb.inject_faults("hubspot", 503, 1, path_prefix=hubspot_settings.BATCH_UPSERT_CONTACTS)
        result = push(con, rows, client, f"p{run}", max_attempts=3)
        assert (result.failed, result.skipped_rejected) == (2, 0)
    # THEN after the third failure the dead letters are permanent and the next run skips them
    summary = dead_letter_summary(con, "hubspot")
    assert [(s["permanent"], s["leads"], s["max_attempts"]) for s in summary] == [(True, 2, 3)]
    sb.clear_request_log()
    idle = push(con, rows, client, "p3", max_attempts=3)
    assert (idle.pushed, idle.failed, idle.skipped_rejected) == (0, 0, 2)
    assert sb.request_log == []
    # WHEN someone requeues them, the next run sends them and they leave the table
    assert requeue_dead_letters(con, "hubspot") == 2
    healed = push(con, rows, client, "p4", max_attempts=3)
    assert healed.pushed == 2
    assert dead_letter_summary(con, "hubspot") == []


def test_a_changed_payload_is_retried_even_when_its_old_one_was_permanent(
    sb: Sandbox, con: duckdb.DuckDBPyConnection
) -> None:
    client = client_for(sb)
    bad = [
        SyncRow(
            "owner-1", "upsert", None, "leadflow_lead_id", "owner-1",
            {"leadflow_lead_id": "owner-1", "leadflow_score": "5", "hubspot_owner_id": "99999999"},
        )
    ]  # fmt: skip
    # GIVEN a rejection HubSpot gives for the payload itself (an unknown owner): permanent at once
    assert push(con, bad, client, "o1").failed == 1
    assert con.execute("select permanent, attempts from ops.dead_letter").fetchall() == [(True, 1)]
    # WHEN the owner is fixed upstream, the new payload goes out
    fixed = [
        SyncRow(
            **{
                **bad[0].__dict__,
                "properties": {**bad[0].properties, "hubspot_owner_id": "51000001"},
            }
        )
    ]
    assert push(con, fixed, client, "o2").pushed == 1
    assert dead_letter_summary(con) == []


def test_a_fresh_portal_gets_leadflows_properties_created_once() -> None:
    with Sandbox(seed=6, leads=20, tokens=TOKENS) as sb:
        sb.knobs.hubspot_fresh_portal = True
        client = client_for(sb)
        # GIVEN a portal without the leadflow_* properties, a write naming them fails
        rows = new_contacts(1, prefix="fresh")
        outcome = hubspot.push_contacts(client, rows, 100)
        assert (
            not outcome[0].ok
            and "PROPERTY_DOESNT_EXIST" in outcome[0].category + outcome[0].message
        )
        # AND a push told not to create them stops with an error naming them
        with pytest.raises(FatalError, match=r"leadflow_score, .*leadflow_model_version"):
            hubspot.ensure_properties(client, create=False)
        # WHEN LeadFlow makes sure of them
        created = hubspot.ensure_properties(client)
        # THEN each custom property was created through the properties API, once
        assert sorted(created) == sorted(str(d["name"]) for d in hubspot_settings.CUSTOM_PROPERTIES)
        posts = [
            e for e in sb.request_log if e[1] == "POST" and e[2].endswith("/properties/contacts")
        ]
        assert len(posts) == len(created)
        assert hubspot.ensure_properties(client) == []
        # AND the write now goes through
        assert hubspot.push_contacts(client, rows, 100)[0].ok
