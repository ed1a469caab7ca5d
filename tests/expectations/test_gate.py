"""The expectations gate: failing rows come out with reasons, passing rows go on, none are lost."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from expectations.gate import Gate, ValidationRunError

AS_OF = datetime(2026, 6, 1)


@pytest.fixture(scope="module")
def gate() -> Gate:
    return Gate()


def frame(**overrides: list) -> pd.DataFrame:
    base = {
        "record_id": ["a", "b", "c"],
        "record_created_at": [datetime(2026, 5, 1)] * 3,
        "email_is_valid": [True, None, True],
        "contact_point": ["a@x.io", "+14155550134", "c@x.io"],
        "form_id": ["f1", "f1", "f1"],
    }
    base.update(overrides)
    return pd.DataFrame(base)


def test_a_clean_batch_passes_whole(gate: Gate) -> None:
    result = gate.check("meta__leads", frame(), AS_OF)
    assert len(result.passed) == 3 and result.failed.empty


@pytest.mark.parametrize(
    ("overrides", "bad_row", "reason"),
    [
        pytest.param({"record_id": ["a", None, "c"]}, 1, "the record has no id", id="no-id"),
        pytest.param(
            {"email_is_valid": [True, None, False]},
            2,
            "the email is not a valid address",
            id="bad-email",
        ),
        pytest.param(
            {"contact_point": [None, "+1", "c@x.io"]}, 0, "no valid email or phone", id="no-contact"
        ),
        pytest.param(
            {
                "record_created_at": [
                    datetime(2026, 5, 1),
                    datetime(2031, 1, 1),
                    datetime(2026, 5, 1),
                ]
            },
            1,
            "in the future",
            id="future",
        ),
        pytest.param({"form_id": ["f1", "f1", None]}, 2, "names no form", id="no-form"),
    ],
)
def test_failing_rows_are_split_out_with_their_reason(
    gate: Gate, overrides: dict, bad_row: int, reason: str
) -> None:
    result = gate.check("meta__leads", frame(**overrides), AS_OF)
    assert list(result.failed.index) == [bad_row]
    assert any(reason in r for r in result.failures[bad_row].reasons)
    assert len(result.passed) + len(result.failed) == 3


def test_one_row_can_break_several_expectations(gate: Gate) -> None:
    result = gate.check(
        "typeform__responses", frame(record_id=[None, "b", "c"], form_id=[None, "f", "f"]), AS_OF
    )
    assert len(result.failures[0].expectations) == 2


def test_hubspot_contacts_need_no_form(gate: Gate) -> None:
    batch = frame(form_id=[None, None, None], deleted_at_source=[False] * 3)
    result = gate.check("hubspot__contacts", batch, AS_OF)
    assert result.failed.empty


@pytest.mark.parametrize(
    ("is_test", "quarantined"),
    [
        pytest.param([False, None, True], [2], id="the-test-lead-only"),
        pytest.param([None, None, None], [], id="a-source-that-does-not-say"),
        pytest.param([False, False, False], [], id="no-test-lead"),
    ],
)
def test_a_vendor_test_submission_is_quarantined(
    gate: Gate, is_test: list[bool | None], quarantined: list[int]
) -> None:
    # GIVEN Google Ads leads, one of them sent by the "Send test data" button
    result = gate.check("google_ads__lead_form_submissions", frame(is_test=is_test), AS_OF)
    # THEN only a lead flagged as a test is quarantined, with the reason
    assert list(result.failed.index) == quarantined
    for row in quarantined:
        assert result.failures[row].reasons == [
            "a test submission sent by the vendor, not a person"
        ]
    assert len(result.passed) + len(result.failed) == 3


def test_every_lead_stream_has_a_suite(gate: Gate) -> None:
    from connectors import LEAD_STREAMS

    for source, stream in LEAD_STREAMS:
        batch = frame(is_test=[False] * 3, deleted_at_source=[False] * 3, unreadable=[None] * 3)
        result = gate.check(f"{source}__{stream}", batch, AS_OF)
        assert len(result.passed) == 3, (source, stream)


@pytest.mark.parametrize(
    ("stream", "missing"),
    [
        pytest.param("google_ads__lead_form_submissions", "is_test", id="a-checked-column"),
        pytest.param("file_drop__events", "unreadable", id="a-row-condition-column"),
    ],
)
def test_a_suite_reading_a_column_the_batch_lacks_stops_the_batch(
    gate: Gate, stream: str, missing: str
) -> None:
    # GX reports the missing column inside exception_info, per metric; unread, every row of the
    # batch would pass unchecked, the one without a contact point too.
    batch = frame(contact_point=["a@x.io", None, "c@x.io"], is_test=[False] * 3)
    batch = batch.assign(unreadable=[None] * 3).drop(columns=[missing])
    with pytest.raises(ValidationRunError, match=f"{missing}.* does not exist"):
        gate.check(stream, batch, AS_OF)


def test_a_file_drop_row_says_why_it_is_unreadable_and_only_that(gate: Gate) -> None:
    # GIVEN a row the reader could not read: nothing of it was read, so no contact point either
    batch = frame(
        contact_point=["a@x.io", None, None],
        unreadable=[None, "the row has 11 values where the header has 10 columns", None],
    )
    result = gate.check("file_drop__events", batch, AS_OF)
    # THEN its reason is the parser's alone; a readable row without a contact point has its own
    assert {row: f.reasons for row, f in result.failures.items()} == {
        1: ["the row has 11 values where the header has 10 columns"],
        2: ["no valid email or phone number to reach the lead"],
    }


@pytest.mark.parametrize("stream", ["salesforce__leads", "salesforce__contacts"])
def test_a_record_the_crm_deleted_is_quarantined_with_why(gate: Gate, stream: str) -> None:
    result = gate.check(stream, frame(deleted_at_source=[False, True, False]), AS_OF)
    assert list(result.failed.index) == [1]
    assert result.failures[1].reasons == [
        "deleted in the CRM (its recycle bin, or merged into another record)"
    ]
