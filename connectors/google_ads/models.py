"""A Google Ads lead form submission parsed to SourceRecord, whichever route brought it: one raw
shape, one parser, one record id.

The webhook's raw payload is the body Google POSTed, minus `google_key` (the shared secret: the
intake checks and removes it before landing) plus `_received_at` (when the intake accepted it).
Answers are `user_column_data: [{column_id, column_name, string_value}]`; ids are JSON numbers
(int64) except lead_id, a string. A value of the wrong type reads as None (connectors/records.py).

A pulled row (`GoogleAdsRow.leadFormSubmissionData` from googleAds:search) is landed in that same
shape (`from_search_row`): its `id` is the `lead_id`, its answers `user_column_data`, the ids in its
resource names `form_id` (the lead form asset), `campaign_id`, `adgroup_id` and `creative_id` (the
ad), its `submission_date_time` `lead_submit_time` in UTC, and its resource name `_resource_name`.
So staging, validation and this parser read both routes alike, and a lead delivered by the webhook
and later pulled again is one raw record (the stream is immutable: the first copy landed stays).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from connectors.google_ads.settings import COLUMN_MAP, FULL_NAME, RECEIVED_AT, RESOURCE_NAME
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


# --------------------------------------------------------------------------- pulled rows

_RESOURCE_ID = re.compile(r"^customers/\d+/(\w+)/([^/]+)$")


def resource_id(name: Any, collection: str) -> int | None:
    """The numeric id at the end of a resource name of `collection`: customers/1/campaigns/42 ->
    42; an ad group ad (`adGroupAds/<ad group>~<ad>`) gives its ad's id. Anything else is None."""
    if not isinstance(name, str):
        return None
    match = _RESOURCE_ID.match(name.strip())
    if match is None or match.group(1) != collection:
        return None
    key = match.group(2).rsplit("~", 1)[-1]
    return int(key) if key.isdigit() else None


def _objects(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def from_search_row(row: Any) -> dict[str, Any]:
    """A googleAds:search row as the payload the webhook lands (see the module docstring). Keys
    Google left out (proto3 JSON drops empty values) stay out; a row without readable ids still
    lands and is quarantined for what it lacks."""
    data = row.get("leadFormSubmissionData") if isinstance(row, dict) else None
    data = data if isinstance(data, dict) else {}
    columns: list[dict[str, Any]] = [
        {"column_id": item.get("fieldType"), "string_value": item.get("fieldValue")}
        for item in _objects(data.get("leadFormSubmissionFields"))
    ]
    columns += [
        {"column_name": item.get("questionText"), "string_value": item.get("fieldValue")}
        for item in _objects(data.get("customLeadFormSubmissionFields"))
    ]
    written = data.get("submissionDateTime")
    submitted = parse_timestamp(written)
    payload: dict[str, Any] = {
        "lead_id": data.get("id"),
        "user_column_data": columns,
        "form_id": resource_id(data.get("asset"), "assets"),
        "campaign_id": resource_id(data.get("campaign"), "campaigns"),
        "adgroup_id": resource_id(data.get("adGroup"), "adGroups"),
        "creative_id": resource_id(data.get("adGroupAd"), "adGroupAds"),
        "gcl_id": data.get("gclid"),
        # UTC, as the webhook writes it; text Google wrote but no parser reads is kept as it was
        "lead_submit_time": submitted.strftime("%Y-%m-%dT%H:%M:%SZ") if submitted else written,
        RESOURCE_NAME: data.get("resourceName"),
    }
    return {key: value for key, value in payload.items() if value is not None}
