"""The web form parser (connectors/webform/models.py): what a landed submission becomes.

`recorded/submission.landed.json` is a body in the documented shape (connectors/webform/README.md)
as `leadflow serve` lands it, with `_received_at` added.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from connectors.webform import STREAMS, parse_submission

HERE = Path(__file__).parent
LANDED: dict[str, Any] = json.loads(
    (HERE / "recorded" / "submission.landed.json").read_text(encoding="utf-8")
)
RECEIVED = "2026-05-04T09:31:13.402Z"


def landed(**changes: Any) -> dict[str, Any]:
    """The landed submission with top-level keys replaced (a value of ... removes the key)."""
    payload = json.loads(json.dumps(LANDED))
    for key, value in changes.items():
        if value is ...:
            payload.pop(key, None)
        else:
            payload[key] = value
    return payload


def test_a_landed_submission_yields_its_person_form_and_times() -> None:
    record = parse_submission(LANDED)
    assert (record.source, record.stream) == ("webform", "submissions")
    assert record.record_id == "5f2c9e0a-3b7d-4c1e-9a52-0d6f1b8e7c41"
    assert record.form_id == "contact-us"
    assert record.created_at == record.updated_at == datetime(2026, 5, 4, 9, 31, 12)
    # values as given: normalizing is enrichment's job
    assert record.email == "  Jürgen.Müller@Beispiel-GmbH.de "
    assert (record.first_name, record.last_name) == ("Jürgen", "Müller")
    assert (record.phone, record.company, record.job_title, record.country) == (
        "030 901820",
        "Beispiel GmbH",
        "Head of Sales",
        "DE",
    )
    assert record.unsubscribed is True  # consent.marketing: false


def test_the_stream_declares_the_id_and_cursor_landing_stores() -> None:
    stream = STREAMS["submissions"]
    assert stream.record_id(LANDED) == "5f2c9e0a-3b7d-4c1e-9a52-0d6f1b8e7c41"
    assert stream.record_cursor(LANDED) == datetime(2026, 5, 4, 9, 31, 12)
    assert stream.record_cursor(landed(submitted_at=...)) == datetime(2026, 5, 4, 9, 31, 13, 402000)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({"submitted_at": ...}, datetime(2026, 5, 4, 9, 31, 13, 402000), id="no-submitted_at-uses-received"),
        pytest.param({"submitted_at": "yesterday"}, datetime(2026, 5, 4, 9, 31, 13, 402000), id="unreadable-submitted_at-uses-received"),
        pytest.param({"submitted_at": ["2026-05-04"]}, datetime(2026, 5, 4, 9, 31, 13, 402000), id="list-submitted_at-uses-received"),
        pytest.param({"submitted_at": "2026-05-04T11:31:12+02:00"}, datetime(2026, 5, 4, 9, 31, 12), id="offset-is-converted-to-utc"),
        pytest.param({"submitted_at": ..., "_received_at": ...}, None, id="no-time-at-all"),
    ],
)  # fmt: skip
def test_creation_time_is_submitted_at_else_received_at(
    changes: dict[str, Any], expected: datetime | None
) -> None:
    assert parse_submission(landed(**changes)).created_at == expected


@pytest.mark.parametrize(
    ("consent", "unsubscribed"),
    [
        pytest.param({"marketing": False}, True, id="declined-is-unsubscribed"),
        pytest.param({"marketing": True}, False, id="accepted"),
        pytest.param({"marketing": "false"}, True, id="string-false"),
        pytest.param({}, None, id="no-checkbox-says-nothing"),
        pytest.param({"marketing": "maybe"}, None, id="unreadable"),
        pytest.param({"marketing": None}, None, id="null"),
        pytest.param(["marketing"], None, id="consent-not-an-object"),
        pytest.param(..., None, id="no-consent"),
    ],
)
def test_declined_marketing_consent_is_an_opt_out(consent: Any, unsubscribed: bool | None) -> None:
    assert parse_submission(landed(consent=consent)).unsubscribed is unsubscribed


@pytest.mark.parametrize(
    ("changes", "field", "expected"),
    [
        pytest.param({"form_id": ...}, "form_id", None, id="no-form"),
        pytest.param({"form_id": 42}, "form_id", "42", id="numeric-form-id"),
        pytest.param({"form_id": {"id": "x"}}, "form_id", None, id="object-form-id"),
        pytest.param({"submission_id": ...}, "record_id", None, id="no-id"),
        pytest.param({"submission_id": " "}, "record_id", None, id="blank-id"),
        pytest.param({"submission_id": 9001}, "record_id", "9001", id="numeric-id"),
        pytest.param({"submission_id": ["a"]}, "record_id", None, id="list-id"),
        pytest.param({"fields": "email=a@b.co"}, "email", None, id="fields-not-an-object"),
        pytest.param({"fields": {"email": {"value": "a@b.co"}}}, "email", None, id="object-email"),
        pytest.param({"fields": {"email": True}}, "email", None, id="boolean-email"),
        pytest.param({"fields": {"phone": 4930901820}}, "phone", "4930901820", id="numeric-phone"),
        pytest.param({"fields": {"phone": float("nan")}}, "phone", None, id="nan-phone"),
        pytest.param({"fields": {"first_name": ""}}, "first_name", None, id="empty-name"),
        pytest.param({"fields": {"first_name": "Zoë", "last_name": "O\u2019Brien-Ñúñez"}}, "last_name", "O\u2019Brien-Ñúñez", id="unicode-name"),
        pytest.param({"fields": {"company": "株式会社テスト"}}, "company", "株式会社テスト", id="cjk-company"),
        pytest.param({"fields": {"company": "\u05e9\u05dc\u05d5\u05dd"}}, "company", "\u05e9\u05dc\u05d5\u05dd", id="rtl-company"),
        pytest.param({"fields": {"full_name": "Ana Silva"}}, "first_name", None, id="unknown-field-ignored"),
        pytest.param({"honeypot": "x", "utm": "not-an-object"}, "email", "  Jürgen.Müller@Beispiel-GmbH.de ", id="extra-keys-ignored"),
    ],
)  # fmt: skip
def test_missing_wrong_typed_and_unicode_values(
    changes: dict[str, Any], field: str, expected: str | None
) -> None:
    assert getattr(parse_submission(landed(**changes)), field) == expected


def test_the_form_it_was_landed_under_names_a_submission_without_one() -> None:
    assert parse_submission(landed(form_id=...), "site-footer").form_id == "site-footer"
    assert parse_submission(LANDED, "site-footer").form_id == "contact-us"


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param({}, id="empty"),
        pytest.param({"fields": None, "consent": None, "submitted_at": None}, id="nulls"),
        pytest.param({"fields": [1, 2], "consent": "yes", "submitted_at": {"t": 1}}, id="wrong-types"),
        pytest.param({"submission_id": 10**400, "submitted_at": 10**400}, id="huge-numbers"),
        pytest.param({"submitted_at": "9999-12-31T23:59:59-05:00"}, id="out-of-range-time"),
    ],
)  # fmt: skip
def test_the_parser_never_raises(payload: dict[str, Any]) -> None:
    record = parse_submission(payload)
    assert record.source == "webform"
