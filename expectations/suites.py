"""One Great Expectations suite per source stream.

Every suite runs on the parsed and normalized records of one batch (a pandas DataFrame: GX on a
DuckDB table through SQLAlchemy fails silently, see docs/stack.md). Each expectation carries, in its
`meta`, the one-line reason a quarantined row shows for it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import great_expectations as gx
from great_expectations.expectations import Expectation

EARLIEST = datetime(2000, 1, 1)


def _common(as_of: datetime) -> list[Expectation]:
    return [
        gx.expectations.ExpectColumnValuesToNotBeNull(
            column="record_id",
            meta={"reason": "the record has no id"},
        ),
        gx.expectations.ExpectColumnValuesToNotBeNull(
            column="record_created_at",
            meta={"reason": "the record has no readable creation time"},
        ),
        gx.expectations.ExpectColumnValuesToBeBetween(
            column="record_created_at",
            min_value=EARLIEST,
            max_value=as_of + timedelta(days=1),
            meta={"reason": "the creation time is before 2000 or in the future"},
        ),
        gx.expectations.ExpectColumnValuesToBeInSet(
            column="email_is_valid",
            value_set=[True],
            meta={"reason": "the email is not a valid address"},
        ),
        gx.expectations.ExpectColumnValuesToNotBeNull(
            column="contact_point",
            meta={"reason": "no valid email or phone number to reach the lead"},
        ),
    ]


def _form_submission() -> list[Expectation]:
    return [
        gx.expectations.ExpectColumnValuesToNotBeNull(
            column="form_id",
            meta={"reason": "the submission names no form"},
        ),
    ]


def _not_a_test() -> list[Expectation]:
    """For sources that flag their own test submissions (SourceRecord.is_test): a test lead is not
    a person, and must not be scored, routed, pushed or notified."""
    return [
        gx.expectations.ExpectColumnValuesToBeInSet(
            column="is_test",
            value_set=[False],
            meta={"reason": "a test submission sent by the vendor, not a person"},
        ),
    ]


def _not_deleted() -> list[Expectation]:
    """For sources that keep deleted records readable (Salesforce's queryAll: the recycle bin and
    the losers of merges; HubSpot's recycle bin, archived=true): the deletion is a version of its
    own, quarantined with this reason; the record's last live version stays what the lead is
    built from."""
    return [
        gx.expectations.ExpectColumnValuesToBeInSet(
            column="deleted_at_source",
            value_set=[False],
            meta={"reason": "deleted in the CRM (its recycle bin, or merged into another record)"},
        ),
    ]


def _readable_rows(as_of: datetime) -> list[Expectation]:
    """For sources whose parser can say a row is unreadable (SourceRecord.unreadable: a file
    drop's row with the wrong number of values, or a date in no known form): that is the row's
    reason, in the parser's words. The common checks run on the other rows only, because an
    unreadable row would also fail them (no email read, no date) and bury the cause."""
    readable = {"row_condition": "unreadable.isnull()", "condition_parser": "pandas"}
    return [
        gx.expectations.ExpectColumnValuesToBeNull(
            column="unreadable",
            meta={"reason": "the row could not be read", "reason_column": "unreadable"},
        ),
        *(expectation.copy(update=readable) for expectation in _common(as_of)),
    ]


SUITES = {
    "hubspot__contacts": lambda as_of: [*_common(as_of), *_not_deleted()],
    "meta__leads": lambda as_of: [*_common(as_of), *_form_submission()],
    "typeform__responses": lambda as_of: [*_common(as_of), *_form_submission()],
    "webform__submissions": lambda as_of: [*_common(as_of), *_form_submission()],
    "google_ads__lead_form_submissions": lambda as_of: [
        *_common(as_of),
        *_form_submission(),
        *_not_a_test(),
    ],
    "salesforce__leads": lambda as_of: [*_common(as_of), *_not_deleted()],
    "salesforce__contacts": lambda as_of: [*_common(as_of), *_not_deleted()],
    "pipedrive__persons": lambda as_of: _common(as_of),
    "linkedin__lead_form_responses": lambda as_of: [
        *_common(as_of),
        *_form_submission(),
        *_not_a_test(),
    ],
    "file_drop__events": _readable_rows,
    "file_drop__referrals": _readable_rows,
}


def expectations_for(stream_key: str, as_of: datetime) -> list[Expectation]:
    try:
        return SUITES[stream_key](as_of)
    except KeyError:
        raise ValueError(f"no expectation suite for {stream_key}") from None
