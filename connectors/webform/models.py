"""A web form submission (LeadFlow's own signed form POST, landed by `leadflow serve`) parsed to
SourceRecord.

The body is ours: `{form_id, submission_id, submitted_at, fields{email, phone, first_name,
last_name, company, job_title, country}, consent{marketing}, page_url, utm{source, medium,
campaign}}`, plus `_received_at`, which the intake adds when it accepts the request. Unknown keys
are ignored; a value of the wrong type reads as None (connectors/records.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from connectors.records import SourceRecord, flag, scalar_text
from connectors.streams import parse_timestamp
from connectors.webform.settings import FIELD_MAP, RECEIVED_AT


def submission_id(payload: dict[str, Any]) -> str | None:
    return scalar_text(payload.get("submission_id"))


def submission_cursor(payload: dict[str, Any]) -> datetime | None:
    """When the form was submitted; when the site did not say (or said nonsense), when the intake
    received it."""
    return parse_timestamp(payload.get("submitted_at")) or parse_timestamp(payload.get(RECEIVED_AT))


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def parse_submission(payload: dict[str, Any], form_id: str | None = None) -> SourceRecord:
    """`form_id` is what the raw row was landed under, used when the body names no form."""
    submitted = submission_cursor(payload)
    record = SourceRecord(
        source="webform",
        stream="submissions",
        record_id=submission_id(payload),
        created_at=submitted,
        updated_at=submitted,  # a submission is never edited: a new one has its own id
        form_id=scalar_text(payload.get("form_id")) or form_id,
    )
    fields = _object(payload.get("fields"))
    for key, attr in FIELD_MAP.items():
        setattr(record, attr, scalar_text(fields.get(key)))
    marketing = flag(_object(payload.get("consent")).get("marketing"))
    # Declining marketing is an opt-out; a form without the checkbox says nothing (None). One
    # opt-out among a lead's records is enough (int_leads_unified), so a later yes does not undo it.
    record.unsubscribed = None if marketing is None else not marketing
    return record
