"""A Google Ads lead form webhook delivery (`WebhookLead`, landed by `leadflow serve`) parsed to
SourceRecord.

The raw payload is the body Google POSTed, minus `google_key` (the shared secret: the intake checks
and removes it before landing) plus `_received_at` (when the intake accepted it). Answers are
`user_column_data: [{column_id, column_name, string_value}]`; ids are JSON numbers (int64) except
lead_id, a string. A value of the wrong type reads as None (connectors/records.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from connectors.google_ads.settings import COLUMN_MAP, FULL_NAME, RECEIVED_AT
from connectors.records import SourceRecord, flag, scalar_text, split_full_name
from connectors.streams import parse_timestamp


def lead_id(payload: dict[str, Any]) -> str | None:
    return scalar_text(payload.get("lead_id"))


def lead_cursor(payload: dict[str, Any]) -> datetime | None:
    """lead_submit_time (ISO 8601, e.g. 2024-09-26T12:30:00Z); deliveries without it (older
    schema versions) are dated by when the intake received them."""
    return parse_timestamp(payload.get("lead_submit_time")) or parse_timestamp(
        payload.get(RECEIVED_AT)
    )


def column_values(payload: dict[str, Any]) -> dict[str, str]:
    """user_column_data as {COLUMN_ID: first non-empty string_value}."""
    values: dict[str, str] = {}
    columns = payload.get("user_column_data")
    for column in columns if isinstance(columns, list) else []:
        if not isinstance(column, dict):
            continue
        column_id = scalar_text(column.get("column_id"))
        value = scalar_text(column.get("string_value"))
        if column_id and value is not None:
            values.setdefault(column_id.strip().upper(), value)
    return values


def parse_lead(payload: dict[str, Any], form_id: str | None = None) -> SourceRecord:
    """`form_id` is what the raw row was landed under, used when the body names no form."""
    submitted = lead_cursor(payload)
    record = SourceRecord(
        source="google_ads",
        stream="lead_form_submissions",
        record_id=lead_id(payload),
        created_at=submitted,
        updated_at=submitted,  # a lead is never edited after submission
        form_id=scalar_text(payload.get("form_id")) or form_id,
        is_test=flag(payload.get("is_test")),
    )
    values = column_values(payload)
    for column_id, attr in COLUMN_MAP.items():
        if column_id in values and getattr(record, attr) is None:
            setattr(record, attr, values[column_id])
    first, last = split_full_name(values.get(FULL_NAME))
    record.first_name = record.first_name or first
    record.last_name = record.last_name or last
    return record
