"""Meta Lead Ads lead shape (`Lead` node; see shared/ext/meta/Lead.json) parsed to SourceRecord.

The same parser serves the pull (the leads edge) and a lead fetched by id after a `leadgen` webhook:
both return the Lead node with `field_data: [{name, values: [string]}]`.
"""

from __future__ import annotations

from typing import Any

from connectors.meta.settings import FIELD_MAP
from connectors.records import SourceRecord, split_full_name, text
from connectors.streams import parse_timestamp


def lead_id(payload: dict[str, Any]) -> str | None:
    return text(payload.get("id"))


def lead_cursor(payload: dict[str, Any]) -> Any:
    return parse_timestamp(payload.get("created_time"))


def insight_id(payload: dict[str, Any]) -> str | None:
    """An insights row has no id: '<campaign_id>:<date_start>' names one campaign's day."""
    campaign, day = text(payload.get("campaign_id")), text(payload.get("date_start"))
    return f"{campaign}:{day}" if campaign and day else None


def insight_cursor(payload: dict[str, Any]) -> Any:
    """The day the row covers (midnight of date_start)."""
    return parse_timestamp(payload.get("date_start"))


def field_values(payload: dict[str, Any]) -> dict[str, str]:
    """field_data as {name: first non-empty value}; custom questions keep their own names."""
    values: dict[str, str] = {}
    items = payload.get("field_data")
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        name = text(item.get("name"))
        given = item.get("values")
        if not name or not isinstance(given, list):
            continue
        first = next((text(v) for v in given if text(v)), None)
        if first is not None:
            values.setdefault(name.lower(), first)
    return values


def parse_lead(payload: dict[str, Any], form_id: str | None = None) -> SourceRecord:
    fields = field_values(payload)
    record = SourceRecord(
        source="meta",
        stream="leads",
        record_id=lead_id(payload),
        created_at=lead_cursor(payload),
        updated_at=lead_cursor(payload),  # a lead is never edited after submission
        form_id=text(payload.get("form_id")) or form_id,
    )
    for key, attr in FIELD_MAP.items():
        if key in fields and getattr(record, attr) is None:
            setattr(record, attr, fields[key])
    if record.first_name is None and record.last_name is None:
        record.first_name, record.last_name = split_full_name(fields.get("full_name"))
    return record
