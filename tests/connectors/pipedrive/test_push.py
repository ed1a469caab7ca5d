"""Pushing to Pipedrive over real HTTP: owner and LeadFlow's custom fields onto persons, owner
onto leads (and onto a person's open Leads Inbox items), per-record failures as outcomes, and the custom field key lookup."""

from __future__ import annotations

from typing import Any

import pytest

from connectors import pipedrive
from connectors.http import AuthError
from connectors.pipedrive import settings
from connectors.sync import SyncRow
from tests.connectors.pipedrive.conftest import TOKEN, Pd


def _keys(pd: Pd) -> dict[str, str]:
    with pipedrive.open_client(pd.destination()) as client:
        return pipedrive.custom_field_keys(client)


def _push(
    pd: Pd, rows: list[dict[str, Any]], keys: dict[str, str] | None = None, **config: Any
) -> list[pipedrive.WriteOutcome]:
    keys = keys or _keys(pd)
    with pipedrive.open_client(pd.destination(**config)) as client:
        return pipedrive.update_persons(client, rows, keys)


def _owners(pd: Pd) -> list[int]:
    return [u["id"] for u in pd.company.records("user") if u["active_flag"]]


def test_custom_field_keys_maps_leadflow_names_to_the_companys_keys(pd: Pd) -> None:
    keys = _keys(pd)
    assert set(keys) == set(settings.LEADFLOW_FIELDS)
    assert keys[settings.SCORE_FIELD] == pd.company.field_key(settings.SCORE_FIELD)
    assert all(len(k) == 40 and int(k, 16) >= 0 for k in keys.values())


def test_a_missing_custom_field_is_a_clear_error_naming_it(pd: Pd) -> None:
    pd.company.remove_field(settings.TEMPERATURE_FIELD)
    with pytest.raises(pipedrive.MissingCustomFields) as caught:
        _keys(pd)
    assert "'LeadFlow Temperature'" in str(caught.value)
    assert "LeadFlow Score" not in str(caught.value)


def test_owner_and_custom_fields_are_written_one_patch_per_person(pd: Pd) -> None:
    # GIVEN two persons and a new owner for each
    a, b = (p["id"] for p in pd.company.records("person")[:2])
    owner = _owners(pd)[-1]
    rows = [
        {
            "id": a,
            "owner_id": owner,
            settings.SCORE_FIELD: 87.5,
            settings.GRADE_FIELD: "A",
            settings.TEMPERATURE_FIELD: "hot",
            settings.REASONS_FIELD: "pricing page; demo request",
            settings.LEAD_ID_FIELD: "lf-a",
        },
        {"id": str(b), settings.SCORE_FIELD: 12},
    ]
    # WHEN they are pushed
    outcomes = _push(pd, rows)
    # THEN both succeed and Pipedrive holds the values
    assert [(o.id, o.success) for o in outcomes] == [(str(a), True), (str(b), True)]
    person = pd.company.get("person", a)
    assert person["owner_id"] == owner
    assert pd.company.custom_value(a, settings.SCORE_FIELD) == 87.5
    assert pd.company.custom_value(a, settings.TEMPERATURE_FIELD) == "hot"
    assert pd.company.custom_value(b, settings.SCORE_FIELD) == 12.0
    # AND one PATCH per person, custom fields by key, the token never logged in the headers
    writes = pd.app.write_log()
    assert [(w.method, w.path) for w in writes] == [
        ("PATCH", f"/api/v2/persons/{a}"),
        ("PATCH", f"/api/v2/persons/{b}"),
    ]
    assert writes[1].body == {"custom_fields": {pd.company.field_key(settings.SCORE_FIELD): 12}}
    assert all(TOKEN not in str(w.headers) for w in writes)


def test_per_record_failures_become_outcomes(pd: Pd) -> None:
    # GIVEN a good row, an unknown owner, an unknown person and a deleted person
    good, bad_owner, deleted = (p["id"] for p in pd.company.records("person")[:3])
    pd.company.delete("person", deleted)
    rows = [
        {"id": good, settings.GRADE_FIELD: "B"},
        {"id": bad_owner, "owner_id": 999},
        {"id": 987654, settings.GRADE_FIELD: "C"},
        {"id": deleted, settings.GRADE_FIELD: "C"},
        {"id": None, settings.GRADE_FIELD: "C"},
    ]
    outcomes = _push(pd, rows)
    # THEN the good one is written and the others fail, none worth retrying
    assert [o.success for o in outcomes] == [True, False, False, False, False]
    assert [o.http_status for o in outcomes] == [200, 400, 404, 404, None]
    assert not any(o.retriable for o in outcomes)
    assert "Owner not found" in outcomes[1].error
    assert pd.company.get("person", bad_owner)["owner_id"] != 999


def test_server_errors_that_outlast_the_retries_are_retriable_outcomes(pd: Pd) -> None:
    a, b = (p["id"] for p in pd.company.records("person")[:2])
    keys = _keys(pd)
    pd.app.faults = [503, 503, 503]  # the client's 3 attempts at the first row
    rows = [{"id": a, settings.GRADE_FIELD: "A"}, {"id": b, settings.GRADE_FIELD: "A"}]
    outcomes = _push(pd, rows, keys)
    assert [(o.success, o.retriable, o.http_status) for o in outcomes] == [
        (False, True, 503),
        (True, False, 200),
    ]
    assert pd.company.custom_value(b, settings.GRADE_FIELD) == "A"


def test_a_429_during_a_push_is_waited_out(pd: Pd) -> None:
    pd.app.burst_limit = 2
    people = [p["id"] for p in pd.company.records("person")[:5]]
    rows = [{"id": p, settings.GRADE_FIELD: "B"} for p in people]
    outcomes = _push(pd, rows, burst_limit=120)
    assert all(o.success for o in outcomes)
    assert 429 in [s for _, _, s in pd.requests("/api/v2/persons/")]


def test_a_field_without_a_key_fails_before_anything_is_sent(pd: Pd) -> None:
    with (
        pipedrive.open_client(pd.destination()) as client,
        pytest.raises(ValueError, match="'LeadFlow Mood'"),
    ):
        pipedrive.update_persons(client, [{"id": 1, "LeadFlow Mood": "x"}], {})
    assert pd.app.write_log() == []


def test_a_wrong_token_stops_the_push(pd: Pd, monkeypatch: pytest.MonkeyPatch) -> None:
    keys = _keys(pd)
    monkeypatch.setenv("LEADFLOW_TEST_PIPEDRIVE_TOKEN", "nope-nope-nope")
    person = pd.company.records("person")[0]["id"]
    with pipedrive.open_client(pd.destination()) as client, pytest.raises(AuthError):
        pipedrive.update_persons(client, [{"id": person, settings.GRADE_FIELD: "A"}], keys)


def test_lead_owners_are_written_and_unknown_leads_fail(pd: Pd) -> None:
    lead = pd.company.records("lead")[0]["id"]
    owner = _owners(pd)[-2]
    rows = [
        {"id": lead, "owner_id": owner},
        {"id": "00000000-0000-4000-8000-000000000000", "owner_id": owner},
        {"id": lead, "owner_id": 1},
    ]
    with pipedrive.open_client(pd.destination()) as client:
        outcomes = pipedrive.update_leads(client, rows)
    assert [(o.success, o.http_status, o.retriable) for o in outcomes] == [
        (True, 200, False),
        (False, 404, False),
        (False, 400, False),
    ]
    assert pd.company.get("lead", lead)["owner_id"] == owner
    assert pd.app.write_log()[0].body == {"owner_id": owner}


def test_a_persons_open_inbox_leads_get_its_owner_and_a_failed_one_fails_the_row(pd: Pd) -> None:
    # GIVEN a person's sync row naming two of its Leads Inbox items, and another whose inbox item
    # Pipedrive does not know
    a, b = (p["id"] for p in pd.company.records("person")[:2])
    first, second = (lead["id"] for lead in pd.company.records("lead")[:2])
    owner = _owners(pd)[-1]
    rows = [
        SyncRow(
            "lead-a",
            "update",
            str(a),
            None,
            None,
            {"owner_id": str(owner), "leadflow_score": "80", "inbox_lead_ids": f"{first};{second}"},
        ),
        SyncRow(
            "lead-b",
            "update",
            str(b),
            None,
            None,
            {
                "owner_id": str(owner),
                "leadflow_score": "40",
                "inbox_lead_ids": "00000000-0000-4000-8000-000000000000",
            },
        ),
    ]
    # WHEN they are pushed
    with pipedrive.open_client(pd.destination()) as client:
        outcomes = pipedrive.push_persons(client, rows, _keys(pd))
    # THEN the first person and both its inbox items have the owner, and the row succeeded
    assert outcomes[0].ok
    assert pd.company.get("person", a)["owner_id"] == owner
    assert [pd.company.get("lead", i)["owner_id"] for i in (first, second)] == [owner, owner]
    # AND the second row failed on its inbox item, saying so, though its person was written
    assert (outcomes[1].ok, outcomes[1].http_status, outcomes[1].retriable) == (False, 404, False)
    assert "Leads Inbox item" in outcomes[1].message
    assert pd.company.custom_value(b, settings.SCORE_FIELD) == 40.0
    writes = [(w.method, w.path) for w in pd.app.write_log()]
    assert writes[:3] == [
        ("PATCH", f"/api/v2/persons/{a}"),
        ("PATCH", f"/api/v2/persons/{b}"),
        ("PATCH", f"/api/v1/leads/{first}"),
    ]
