"""Pushing scores and owners to Salesforce over real HTTP: batches of 200, per-record outcomes,
the Sforce-Auto-Assign header, upserts by external id, describe, and the request limit."""

from __future__ import annotations

import json

import pytest

from connectors import salesforce
from connectors.salesforce import client as sf_client
from sandbox.salesforce import RULE_OWNER_ID, make_id
from tests.connectors.salesforce.conftest import Org


def _leads(sfo: Org, n: int) -> list[str]:
    return [r["Id"] for r in sfo.org.records("Lead")[:n]]


def test_updates_go_in_batches_of_at_most_200_in_input_order(sfo: Org) -> None:
    # GIVEN 450 score updates (more leads than the org holds are added first)
    for i in range(450 - len(sfo.org.records("Lead"))):
        sfo.org.add("Lead", LastName=f"Bulk{i}", Company="Bulk")
    ids = _leads(sfo, 450)
    rows = [
        {"Id": i, "LeadFlow_Score__c": n % 100, "LeadFlow_Grade__c": "B"} for n, i in enumerate(ids)
    ]
    # WHEN they are pushed
    with salesforce.open_client(sfo.destination()) as client:
        outcomes = salesforce.update_records(client, rows, sobject="Lead")
    # THEN three requests of 200, 200 and 50 went out, and every record succeeded, in order
    assert [w.records for w in sfo.app.write_log()] == [200, 200, 50]
    assert [o.key for o in outcomes] == ids
    assert all(o.success and o.id == o.key for o in outcomes)
    assert [sfo.org.get(i)["LeadFlow_Score__c"] for i in ids[:3]] == [0.0, 1.0, 2.0]


def test_a_smaller_configured_batch_size_is_honoured(sfo: Org) -> None:
    ids = _leads(sfo, 5)
    with salesforce.open_client(sfo.destination(batch_size=2)) as client:
        salesforce.update_records(
            client, [{"Id": i, "LeadFlow_Grade__c": "A"} for i in ids], sobject="Lead", batch_size=2
        )
    assert [w.records for w in sfo.app.write_log()] == [2, 2, 1]


def test_partial_failures_map_to_outcomes_with_retriable_flags(sfo: Org) -> None:
    # GIVEN updates where one record is locked by another transaction, one is deleted, one
    # carries a grade too long for its field and one names a record that does not exist
    good, locked, deleted, too_long = _leads(sfo, 4)
    sfo.org.locked.add(locked)
    sfo.org.delete(deleted)
    missing = make_id("00Q", 987_654)
    rows = [
        {"Id": good, "LeadFlow_Grade__c": "A"},
        {"Id": locked, "LeadFlow_Grade__c": "A"},
        {"Id": deleted, "LeadFlow_Grade__c": "A"},
        {"Id": too_long, "LeadFlow_Grade__c": "Ana Silva at Acme"},
        {"Id": missing, "LeadFlow_Grade__c": "A"},
    ]
    with salesforce.open_client(sfo.destination()) as client:
        outcomes = salesforce.update_records(client, rows, sobject="Lead")
    # THEN one outcome per record, in order, with Salesforce's codes
    assert [(o.key, o.success, o.error_code, o.retriable) for o in outcomes] == [
        (good, True, "", False),
        (locked, False, "UNABLE_TO_LOCK_ROW", True),
        (deleted, False, "ENTITY_IS_DELETED", False),
        (too_long, False, "STRING_TOO_LONG", False),
        (missing, False, "INVALID_CROSS_REFERENCE_KEY", False),
    ]
    assert outcomes[3].fields == ("LeadFlow_Grade__c",)
    # AND the messages never quote the rejected value (it may be a name)
    assert outcomes[3].message == "STRING_TOO_LONG on LeadFlow_Grade__c (max length=2)"
    assert all("Ana Silva" not in o.message for o in outcomes)
    # AND the good one was written, the others were not
    assert sfo.org.get(good)["LeadFlow_Grade__c"] == "A"
    assert sfo.org.get(locked)["LeadFlow_Grade__c"] is None


def test_every_write_says_sforce_auto_assign_false_so_owners_stick(sfo: Org) -> None:
    # GIVEN a lead routed to a rep
    lead = _leads(sfo, 1)[0]
    rep = sfo.org.owner_ids()[2]
    # WHEN the owner is pushed with LeadFlow's client
    with salesforce.open_client(sfo.destination()) as client:
        [outcome] = salesforce.update_records(
            client, [{"Id": lead, "OwnerId": rep}], sobject="Lead"
        )
    # THEN the request carried the header, and the org's assignment rule left the rep in place
    assert outcome.success
    assert [w.headers.get("Sforce-Auto-Assign") for w in sfo.app.write_log()] == ["FALSE"]
    assert sfo.org.get(lead)["OwnerId"] == rep


def test_without_the_header_the_assignment_rule_overwrites_the_owner(sfo: Org) -> None:
    # GIVEN a client whose session lost the header (what a naive client sends)
    lead = _leads(sfo, 1)[0]
    rep = sfo.org.owner_ids()[2]
    with salesforce.open_client(sfo.destination()) as client:
        del client.session.headers["Sforce-Auto-Assign"]
        body = {"records": [{"attributes": {"type": "Lead"}, "id": lead, "OwnerId": rep}]}
        status, results = client.request(
            "PATCH", "/services/data/v62.0/composite/sobjects", json=body
        )
    # THEN Salesforce reports success yet the lead went to the rule's queue: the header matters
    assert status == 200 and results[0]["success"] is True
    assert sfo.org.get(lead)["OwnerId"] == RULE_OWNER_ID


def test_upsert_by_leadflow_lead_id_creates_then_updates(sfo: Org) -> None:
    rows = [
        {
            "LeadFlow_Lead_Id__c": "lf-100",
            "LastName": "Ames",
            "Company": "Acme",
            "LeadFlow_Score__c": 40,
        },
        {"LeadFlow_Lead_Id__c": "lf-101", "LastName": "Nocompany"},
    ]
    with salesforce.open_client(sfo.destination()) as client:
        first = salesforce.upsert_records(client, rows, sobject="Lead")
        again = salesforce.upsert_records(
            client, [{"LeadFlow_Lead_Id__c": "lf-100", "LeadFlow_Score__c": 90}], sobject="Lead"
        )
    assert (first[0].key, first[0].success, first[0].created) == ("lf-100", True, True)
    assert (first[1].success, first[1].error_code, first[1].retriable) == (
        False,
        "REQUIRED_FIELD_MISSING",
        False,
    )
    assert (again[0].id, again[0].created) == (first[0].id, False)
    assert first[0].id is not None
    assert sfo.org.get(first[0].id)["LeadFlow_Score__c"] == 90.0
    assert sfo.app.write_log()[0].path.endswith("/composite/sobjects/Lead/LeadFlow_Lead_Id__c")


def test_a_bad_value_type_is_isolated_by_halving_the_batch(sfo: Org) -> None:
    # GIVEN 8 updates of which one sends text where Salesforce wants a number
    ids = _leads(sfo, 8)
    rows = [{"Id": i, "LeadFlow_Score__c": 50} for i in ids]
    rows[5] = {"Id": ids[5], "LeadFlow_Score__c": "high"}
    with salesforce.open_client(sfo.destination()) as client:
        outcomes = salesforce.update_records(client, rows, sobject="Lead")
    # THEN only that record fails (JSON_PARSER_ERROR rejects a request whole); the rest landed
    assert [o.success for o in outcomes] == [True] * 5 + [False] + [True] * 2
    assert outcomes[5].error_code == "JSON_PARSER_ERROR" and not outcomes[5].retriable
    assert len(sfo.app.write_log()) == 1 + 2 + 2 + 2  # 8, then 4+4, 2+2, 1+1


def test_an_unknown_field_fails_the_batch_without_splitting(sfo: Org) -> None:
    ids = _leads(sfo, 4)
    rows = [{"Id": i, "LeadFlow_Segment__c": "x"} for i in ids]
    with salesforce.open_client(sfo.destination()) as client:
        outcomes = salesforce.update_records(client, rows, sobject="Lead")
    assert {o.error_code for o in outcomes} == {"INVALID_FIELD"}
    assert all(not o.retriable and "LeadFlow_Segment__c" in o.message for o in outcomes)
    assert len(sfo.app.write_log()) == 1


def test_server_errors_outlasting_retries_are_retriable_outcomes(sfo: Org) -> None:
    ids = _leads(sfo, 2)
    sfo.app.faults.extend([503, 503, 503])  # the test client tries 3 times
    with salesforce.open_client(sfo.destination()) as client:
        outcomes = salesforce.update_records(
            client, [{"Id": i, "LeadFlow_Grade__c": "A"} for i in ids], sobject="Lead"
        )
    assert [(o.success, o.error_code, o.retriable) for o in outcomes] == [
        (False, "SERVER_UNAVAILABLE", True)
    ] * 2


def test_the_request_limit_leaves_the_rest_for_the_next_run(sfo: Org) -> None:
    # GIVEN 3 batches to send and one request left today
    for i in range(500 - len(sfo.org.records("Lead"))):
        sfo.org.add("Lead", LastName=f"Bulk{i}", Company="Bulk")
    ids = _leads(sfo, 500)
    sfo.org.set_api_limit(50)
    sfo.org.set_api_usage(49)
    with salesforce.open_client(sfo.destination()) as client:
        outcomes = salesforce.update_records(
            client, [{"Id": i, "LeadFlow_Grade__c": "A"} for i in ids], sobject="Lead"
        )
    # THEN the first batch was written, the other 300 come back retriable, unsent
    assert [o.success for o in outcomes[:200]] == [True] * 200
    assert all(o.error_code == "REQUEST_LIMIT_EXCEEDED" and o.retriable for o in outcomes[200:])
    assert len(sfo.app.write_log()) == 1


def test_missing_custom_fields_are_found_with_describe(sfo: Org) -> None:
    with salesforce.open_client(sfo.destination()) as client:
        assert salesforce.missing_custom_fields(client, "Lead") == []
        assert salesforce.missing_custom_fields(client, "Contact") == []
        assert salesforce.missing_custom_fields(
            client, "Lead", ["LeadFlow_Score__c", "LeadFlow_Segment__c", "SystemModstamp"]
        ) == ["LeadFlow_Segment__c", "SystemModstamp"]  # absent, and read-only


@pytest.mark.parametrize(
    ("code", "message", "fields", "expected"),
    [
        (
            "STRING_TOO_LONG",
            "Last Name: data value too large: Ana Silva (max length=2)",
            ("LastName",),
            "STRING_TOO_LONG on LastName (max length=2)",
        ),
        (
            "INVALID_EMAIL_ADDRESS",
            "Email: invalid email address: ana@",
            ("Email",),
            "INVALID_EMAIL_ADDRESS on Email",
        ),
        (
            "FIELD_CUSTOM_VALIDATION_EXCEPTION",
            "Phone +1 415 555 0100 is blocked",
            (),
            "FIELD_CUSTOM_VALIDATION_EXCEPTION on a field",
        ),
        (
            "UNABLE_TO_LOCK_ROW",
            "unable to obtain exclusive access to ana@acme.example",
            (),
            "unable to obtain exclusive access to [email]",
        ),
    ],
)
def test_safe_message_keeps_personal_values_out(
    code: str, message: str, fields: tuple[str, ...], expected: str
) -> None:
    assert sf_client.safe_message(code, message, fields) == expected


def test_the_write_body_is_the_documented_collection_shape(sfo: Org) -> None:
    lead = _leads(sfo, 1)[0]
    seen: list[object] = []
    with salesforce.open_client(sfo.destination()) as client:
        original = client.session.request

        def spy(method: str, url: str, **kwargs: object) -> object:
            seen.append(kwargs.get("json"))
            return original(method, url, **kwargs)  # type: ignore[arg-type]

        client.session.request = spy  # type: ignore[method-assign]
        salesforce.update_records(client, [{"Id": lead, "LeadFlow_Grade__c": "A"}], sobject="Lead")
    assert json.loads(json.dumps(seen[0])) == {
        "allOrNone": False,
        "records": [{"attributes": {"type": "Lead"}, "id": lead, "LeadFlow_Grade__c": "A"}],
    }
