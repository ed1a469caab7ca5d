"""Parsing dropped rows into lead records: attendance words, dates in the forms people write them,
referral columns, and rows that read as something other than a person."""

from __future__ import annotations

from datetime import datetime

import pytest

from connectors import LEAD_STREAMS
from connectors.file_drop.models import AMBIGUOUS_DATE, NOT_A_DATE, parse_date
from tests.connectors.file_drop.helpers import LOADED_AT, dropped, only, records


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        pytest.param("attended", "attended", id="attended"),
        pytest.param("Yes", "attended", id="yes"),
        pytest.param("Checked-In", "attended", id="checked-in"),
        pytest.param(" checked_in ", "attended", id="checked_in"),
        pytest.param("", "attended", id="empty-means-on-the-attendee-list"),
        pytest.param("No", "registered", id="no"),
        pytest.param("No-Show", "registered", id="no-show"),
        pytest.param("Registered", "registered", id="registered"),
        pytest.param("Attending", "registered", id="eventbrite-attending"),
        pytest.param("did not attend", "registered", id="did-not-attend"),
        pytest.param("Cancelled", None, id="cancelled-is-not-guessed"),
        pytest.param("maybe", None, id="unknown-word"),
    ],
)
def test_the_status_says_whether_the_person_attended_or_only_registered(
    status: str, kind: str | None
) -> None:
    record = only(f"Email,Attended\r\na@acme.example,{status}\r\n")
    assert record.form_id == kind
    if kind is None:
        assert record.unreadable == (
            "column 'Attended' says neither attended nor registered "
            "(connectors/file_drop/README.md lists the words LeadFlow reads)"
        )
    else:
        assert record.unreadable is None


def test_a_list_without_a_status_column_is_a_list_of_attendees() -> None:
    assert only("Email\r\na@acme.example\r\n").form_id == "attended"


@pytest.mark.parametrize(
    ("text", "order", "expected"),
    [
        pytest.param("2026-05-14", None, datetime(2026, 5, 14), id="iso-date"),
        pytest.param("2026-05-14T16:02:00Z", None, datetime(2026, 5, 14, 16, 2), id="iso-z"),
        pytest.param(
            "2026-05-14 18:02:00+02:00", None, datetime(2026, 5, 14, 16, 2), id="iso-offset"
        ),
        pytest.param("2026-05-14 9:05", None, datetime(2026, 5, 14, 9, 5), id="one-digit-hour"),
        pytest.param("2026/05/14", None, datetime(2026, 5, 14), id="slashes-year-first"),
        pytest.param("14.05.2026", None, datetime(2026, 5, 14), id="dotted-day-first"),
        pytest.param("14 May 2026", None, datetime(2026, 5, 14), id="day-month-name"),
        pytest.param("14-May-2026", None, datetime(2026, 5, 14), id="day-mon-year"),
        pytest.param("May 14, 2026 04:02 PM", None, datetime(2026, 5, 14, 16, 2), id="zoom-style"),
        pytest.param("Thursday, May 14, 2026", None, datetime(2026, 5, 14), id="with-weekday"),
        pytest.param("Sept. 3rd, 2026", None, datetime(2026, 9, 3), id="sept-ordinal"),
        pytest.param("12:30 am", None, None, id="a-time-alone"),
        pytest.param("05/06/2026", "DMY", datetime(2026, 6, 5), id="dmy"),
        pytest.param("05/06/2026", "MDY", datetime(2026, 5, 6), id="mdy"),
        pytest.param("05/14/2026 04:02 PM", "MDY", datetime(2026, 5, 14, 16, 2), id="mdy-time"),
        pytest.param("05/14/2026", "DMY", None, id="month-14"),
        pytest.param("31.06.2026", None, None, id="june-31"),
        pytest.param("2026-02-30", None, None, id="february-30"),
        pytest.param("2026-05-14 25:00", None, None, id="hour-25"),
        pytest.param("46156", None, None, id="excel-serial-number"),
        pytest.param("next week", None, None, id="words"),
        pytest.param("14 Smarch 2026", None, None, id="no-such-month"),
    ],
)
def test_dates_are_read_as_written_or_not_at_all(
    text: str, order: str | None, expected: datetime | None
) -> None:
    moment, problem = parse_date(text, order)
    assert moment == expected
    assert problem == (None if expected else NOT_A_DATE)


def test_a_date_with_day_and_month_both_numbers_is_never_guessed() -> None:
    # 05/06/2026: 5 June in Europe, May 6 in the US. Even 13/05/2026, which only reads one way,
    # needs the setting: a file must not switch readings row by row.
    for text in ("05/06/2026", "13/05/2026"):
        assert parse_date(text) == (None, AMBIGUOUS_DATE)


def test_the_source_setting_reads_the_files_numeric_dates() -> None:
    content = "Email,Event Date\r\na@acme.example,05/06/2026\r\n"
    assert only(content).unreadable == (f"the date in column 'Event Date' {AMBIGUOUS_DATE}")
    assert only(content, date_order="DMY").created_at == datetime(2026, 6, 5)
    assert only(content, date_order="MDY").created_at == datetime(2026, 5, 6)


@pytest.mark.parametrize(
    ("status", "date", "created"),
    [
        pytest.param("attended", "2026-04-22", datetime(2026, 4, 22), id="own-date"),
        pytest.param("attended", "", LOADED_AT, id="no-date-counts-from-the-load"),
        pytest.param("registered", "2026-09-01", LOADED_AT, id="registered-for-a-future-event"),
        pytest.param(
            "attended", "2026-09-01", datetime(2026, 9, 1), id="attended-in-the-future-stays"
        ),
    ],
)
def test_a_row_is_dated_by_its_event_or_else_by_the_load(
    status: str, date: str, created: datetime
) -> None:
    record = only(f"Email,Status,Event Date\r\na@acme.example,{status},{date}\r\n")
    assert (record.created_at, record.updated_at) == (created, created)


def test_the_first_non_empty_date_column_in_the_documented_order_dates_the_row() -> None:
    # A webinar report: Join Time for attendees, only Registration Time for no-shows.
    content = (
        "Email,Registration Time,Join Time,Attended\r\n"
        "a@acme.example,2026-05-02 10:14,2026-05-14 16:02,Yes\r\n"
        "b@acme.example,2026-05-09 13:12,,No\r\n"
    )
    assert [(r.created_at, r.form_id) for r in records(content)] == [
        (datetime(2026, 5, 14, 16, 2), "attended"),
        (datetime(2026, 5, 9, 13, 12), "registered"),
    ]


def test_a_referral_is_the_referred_person_never_the_referrer() -> None:
    record = only(
        "Referrer Email,Referred By,Referred Name,Referred Email,Company,Phone,Referral Date,Note\r\n"
        "elena@rossi.example,Elena Rossi,Nadia Rahman,nadia@copperline.example,Copperline,"
        "+1 212 555 0187,2026-05-20,wants a demo\r\n",
        "referrals",
    )
    assert (record.source, record.stream, record.form_id) == ("file_drop", "referrals", "referral")
    assert (record.email, record.first_name, record.last_name, record.company, record.phone) == (
        "nadia@copperline.example",
        "Nadia",
        "Rahman",
        "Copperline",
        "+1 212 555 0187",
    )
    assert record.created_at == datetime(2026, 5, 20)


def test_the_referrers_email_is_never_read_as_the_referred_persons() -> None:
    # A referrals file whose only email column is the referrer's names no one to reach...
    file = dropped("Name,Referrer Email\r\nDaniel Osei,elena@rossi.example\r\n", "referrals")
    assert file.rejected is not None
    assert file.rejected.startswith("the header (row 1) names no email or phone column")
    # ...and beside a phone column, the row has no email of its own.
    record = only("Name,Phone,Referrer Email\r\nDaniel Osei,,elena@rossi.example\r\n", "referrals")
    assert (record.email, record.phone, record.first_name) == (None, None, "Daniel")


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param({}, id="empty"),
        pytest.param({"values": ["not", "a", "dict"], "row_number": "7"}, id="wrong-types"),
        pytest.param(
            {"file_sha256": 5, "row_number": True, "values": {"Email": 3}, "loaded_at": 17},
            id="numbers-everywhere",
        ),
        pytest.param({"values": {"Date": "2026-13-45", "Status": None}}, id="bad-date"),
    ],
)
def test_the_parsers_never_raise_on_a_payload_they_did_not_write(payload: dict) -> None:
    for stream in ("events", "referrals"):
        record = LEAD_STREAMS[("file_drop", stream)](payload, None)
        assert record.record_id is None
