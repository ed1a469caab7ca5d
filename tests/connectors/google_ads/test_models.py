"""The Google Ads lead form parser (connectors/google_ads/models.py): what a landed delivery becomes.

`recorded/lead_form_submission.landed.json` is a `WebhookLead` body in the documented schema
(https://developers.google.com/google-ads/webhook/docs/implementation) as `leadflow serve` lands it:
without `google_key`, with `_received_at`.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from connectors.google_ads import STREAMS, parse_lead

HERE = Path(__file__).parent
LANDED: dict[str, Any] = json.loads(
    (HERE / "recorded" / "lead_form_submission.landed.json").read_text(encoding="utf-8")
)
SUBMITTED = datetime(2026, 5, 4, 9, 30, 55)
RECEIVED = datetime(2026, 5, 4, 9, 30, 57, 118000)


def landed(**changes: Any) -> dict[str, Any]:
    """The landed delivery with top-level keys replaced (a value of ... removes the key)."""
    payload = json.loads(json.dumps(LANDED))
    for key, value in changes.items():
        if value is ...:
            payload.pop(key, None)
        else:
            payload[key] = value
    return payload


def columns(*pairs: tuple[str, Any]) -> list[dict[str, Any]]:
    """user_column_data from (column_id, string_value) pairs."""
    return [{"column_id": column_id, "string_value": value} for column_id, value in pairs]


def test_a_landed_delivery_yields_its_person_form_and_times() -> None:
    record = parse_lead(LANDED)
    assert (record.source, record.stream) == ("google_ads", "lead_form_submissions")
    assert record.record_id == "AHd8xJ3kT0uP-rq2YwFz9Lm4Vb7n"
    assert record.form_id == "40001234567"  # an int64 in the body, text in LeadFlow
    assert record.created_at == record.updated_at == SUBMITTED
    # FULL_NAME split: everything but the last word is the first name
    assert (record.first_name, record.last_name) == ("María José García", "López")
    assert (record.email, record.phone) == ("MJ.Garcia@Clinica-Sol.es", "+34 912 345 678")
    assert (record.company, record.job_title, record.country) == (
        "Clínica Sol",
        "Directora Médica",
        "ES",
    )
    assert record.is_test is False
    assert record.unsubscribed is None  # the webhook says nothing about email consent


def test_the_stream_declares_the_id_and_cursor_landing_stores() -> None:
    stream = STREAMS["lead_form_submissions"]
    assert stream.record_id(LANDED) == "AHd8xJ3kT0uP-rq2YwFz9Lm4Vb7n"
    assert stream.record_cursor(LANDED) == SUBMITTED
    assert stream.record_cursor(landed(lead_submit_time=...)) == RECEIVED


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({"lead_submit_time": ...}, RECEIVED, id="older-schema-uses-received"),
        pytest.param({"lead_submit_time": ""}, RECEIVED, id="empty-uses-received"),
        pytest.param({"lead_submit_time": "soon"}, RECEIVED, id="unreadable-uses-received"),
        pytest.param({"lead_submit_time": {"seconds": 1}}, RECEIVED, id="object-uses-received"),
        pytest.param({"lead_submit_time": ..., "_received_at": ...}, None, id="no-time-at-all"),
    ],
)  # fmt: skip
def test_creation_time_is_lead_submit_time_else_received_at(
    changes: dict[str, Any], expected: datetime | None
) -> None:
    assert parse_lead(landed(**changes)).created_at == expected


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        pytest.param(
            [("FULL_NAME", "Cher")],
            ("Cher", None, None, None),
            id="one-word-full-name-is-a-first-name",
        ),
        pytest.param(
            [("FULL_NAME", "  Ana   Silva ")],
            ("Ana", "Silva", None, None),
            id="full-name-whitespace",
        ),
        pytest.param(
            [("FIRST_NAME", "Ana"), ("LAST_NAME", "Souza"), ("FULL_NAME", "Ana Maria Silva")],
            ("Ana", "Souza", None, None),
            id="first-and-last-beat-full-name",
        ),
        pytest.param(
            [("FIRST_NAME", "Ana"), ("FULL_NAME", "Ana Maria Silva")],
            ("Ana", "Silva", None, None),
            id="full-name-fills-the-missing-last-name",
        ),
        pytest.param(
            [("WORK_EMAIL", "ana@work.example"), ("EMAIL", "ana@home.example")],
            (None, None, "ana@home.example", None),
            id="email-beats-work-email-whatever-the-order",
        ),
        pytest.param(
            [("WORK_EMAIL", "ana@work.example")],
            (None, None, "ana@work.example", None),
            id="work-email-without-email",
        ),
        pytest.param(
            [("WORK_PHONE", "+1 415 555 0100"), ("PHONE_NUMBER", "+1 415 555 0199")],
            (None, None, None, "+1 415 555 0199"),
            id="phone-number-beats-work-phone",
        ),
        pytest.param(
            [("WORK_PHONE", "+1 415 555 0100")],
            (None, None, None, "+1 415 555 0100"),
            id="work-phone-without-phone-number",
        ),
        pytest.param(
            [("email", "lower@case.example")],
            (None, None, "lower@case.example", None),
            id="column-id-case-is-ignored",
        ),
        pytest.param(
            [("EMAIL", ""), ("WORK_EMAIL", "ana@work.example")],
            (None, None, "ana@work.example", None),
            id="an-empty-answer-is-no-answer",
        ),
        pytest.param(
            [("FULL_NAME", "\u674e\u5c0f\u9f99"), ("EMAIL", "\u674e@\u4f8b\u3048.jp")],
            ("\u674e\u5c0f\u9f99", None, "\u674e@\u4f8b\u3048.jp", None),
            id="unicode",
        ),
        pytest.param(
            [("FULL_NAME", "\u0645\u062d\u0645\u062f \u0639\u0644\u064a")],
            ("\u0645\u062d\u0645\u062f", "\u0639\u0644\u064a", None, None),
            id="right-to-left-full-name",
        ),
    ],
)
def test_answers_are_read_by_column_id(
    answers: list[tuple[str, Any]], expected: tuple[str | None, ...]
) -> None:
    record = parse_lead(landed(user_column_data=columns(*answers)))
    assert (record.first_name, record.last_name, record.email, record.phone) == expected


@pytest.mark.parametrize(
    ("changes", "field", "expected"),
    [
        pytest.param({"user_column_data": ...}, "email", None, id="no-answers"),
        pytest.param({"user_column_data": "EMAIL=a@b.co"}, "email", None, id="answers-not-a-list"),
        pytest.param({"user_column_data": {"column_id": "EMAIL", "string_value": "a@b.co"}}, "email", None, id="answers-an-object"),
        pytest.param({"user_column_data": [None, 1, "x", ["EMAIL"]]}, "email", None, id="answers-not-objects"),
        pytest.param({"user_column_data": [{"column_id": ["EMAIL"], "string_value": "a@b.co"}]}, "email", None, id="list-column-id"),
        pytest.param({"user_column_data": [{"column_id": "EMAIL", "string_value": {"v": "a@b.co"}}]}, "email", None, id="object-value"),
        pytest.param({"user_column_data": [{"column_name": "User Email", "string_value": "a@b.co"}]}, "email", None, id="no-column-id"),
        pytest.param({"user_column_data": columns(("PHONE_NUMBER", 14155550100))}, "phone", "14155550100", id="numeric-value"),
        pytest.param({"user_column_data": columns(("COUNTRY", "DE"), ("CITY", "Berlin"), ("QUESTION_9", "x"))}, "country", "DE", id="unmapped-columns-ignored"),
        pytest.param({"lead_id": ...}, "record_id", None, id="no-lead-id"),
        pytest.param({"lead_id": 123}, "record_id", "123", id="numeric-lead-id"),
        pytest.param({"lead_id": {"id": "x"}}, "record_id", None, id="object-lead-id"),
        pytest.param({"form_id": ...}, "form_id", None, id="no-form"),
        pytest.param({"form_id": "40001234567"}, "form_id", "40001234567", id="string-form-id"),
        pytest.param({"form_id": [4000]}, "form_id", None, id="list-form-id"),
        pytest.param({"is_test": True}, "is_test", True, id="test-lead"),
        pytest.param({"is_test": "true"}, "is_test", True, id="string-test-flag"),
        pytest.param({"is_test": ...}, "is_test", None, id="no-test-flag"),
        pytest.param({"is_test": [True]}, "is_test", None, id="unreadable-test-flag"),
        pytest.param({"google_key": "leaked", "lead_stage": "new", "future_field": {"a": 1}}, "record_id", "AHd8xJ3kT0uP-rq2YwFz9Lm4Vb7n", id="extra-keys-ignored"),
    ],
)  # fmt: skip
def test_missing_and_wrong_typed_values(changes: dict[str, Any], field: str, expected: Any) -> None:
    assert getattr(parse_lead(landed(**changes)), field) == expected


def test_the_form_it_was_landed_under_names_a_delivery_without_one() -> None:
    assert parse_lead(landed(form_id=...), "40009999999").form_id == "40009999999"
    assert parse_lead(LANDED, "40009999999").form_id == "40001234567"


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param({}, id="empty"),
        pytest.param({"user_column_data": None, "lead_submit_time": None, "is_test": None}, id="nulls"),
        pytest.param({"user_column_data": [{"column_id": "FULL_NAME", "string_value": float("inf")}]}, id="infinite-value"),
        pytest.param({"lead_id": 10**400, "form_id": 10**400, "lead_submit_time": 10**400}, id="huge-numbers"),
        pytest.param({"lead_submit_time": "0001-01-01T00:00:00+01:00"}, id="out-of-range-time"),
    ],
)  # fmt: skip
def test_the_parser_never_raises(payload: dict[str, Any]) -> None:
    assert parse_lead(payload).source == "google_ads"
