"""Each source's parser, on recorded vendor payloads: the fields LeadFlow reads, and no crash on gaps."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from connectors import LEAD_STREAMS
from connectors.hubspot import parse_contact
from connectors.meta import parse_lead
from connectors.typeform import parse_response

HERE = Path(__file__).parent


def recorded(name: str) -> dict:
    return json.loads((HERE / name).read_text(encoding="utf-8"))


def test_hubspot_contact_reads_identity_owner_and_echoed_lead_id() -> None:
    first, second = recorded("hubspot/recorded/contacts_search.200.page-1.json")["results"]
    a = parse_contact(first)
    assert (a.record_id, a.crm_contact_id, a.email) == (
        "10451",
        "10451",
        "  Ana.Silva@Acme-Robotics.io ",
    )
    assert a.created_at == datetime(2026, 3, 2, 9, 15, 2, 311000)
    assert a.updated_at == datetime(2026, 3, 5, 11, 0)
    assert a.crm_owner_id is None  # "" means no owner
    b = parse_contact(second)
    assert b.phone == "+44 20 7946 0958"  # falls back to mobilephone
    assert (b.crm_owner_id, b.leadflow_lead_id) == ("51000003", "lf_0123456789abcdef")


def test_meta_lead_splits_full_name_and_ignores_custom_questions() -> None:
    first, second = recorded("meta/recorded/form_leads.200.page-1.json")["data"]
    a = parse_lead(first)
    assert (a.first_name, a.last_name) == ("Chen Wei", "Ling")
    assert (a.email, a.phone, a.company, a.form_id) == (
        "chen.wl@example-corp.com",
        "+65 6123 4567",
        "Example Corp",
        "810000000000001",
    )
    assert a.created_at == datetime(2026, 4, 10, 8, 30)
    b = parse_lead(second, form_id="810000000000002")
    assert b.email is None and b.first_name == "Lu" and b.form_id == "810000000000002"


def test_typeform_answers_are_read_by_ref_and_by_type() -> None:
    item = recorded("typeform/recorded/form_responses.200.page-1.json")["items"][0]
    record = parse_response(item, form_id="dEm0rQ")
    assert record.email == "j.mueller@beispiel-gmbh.de"  # by type: its ref is not 'email'
    assert (record.first_name, record.country, record.form_id) == ("jürgen", "Germany", "dEm0rQ")
    assert record.created_at == datetime(2026, 4, 1, 10, 0, 10)


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param({}, id="empty"),
        pytest.param(
            {"id": 5, "properties": None, "field_data": "nope", "answers": [1, None, "x"]},
            id="wrong-types",
        ),
        pytest.param(
            {
                "id": "1",
                "created_time": "yesterday",
                "submitted_at": 17,
                "properties": {"createdate": "x"},
            },
            id="bad-timestamps",
        ),
    ],
)
def test_parsers_never_raise_on_malformed_payloads(payload: dict) -> None:
    for parse in LEAD_STREAMS.values():
        parse(payload, None)
