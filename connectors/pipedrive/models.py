"""Pipedrive record shapes: persons and leads parsed to SourceRecord, and the outcome of one
pushed record.

A v2 person: `{"id", "name", "first_name", "last_name", "owner_id", "org_id", "emails": [{"value",
"primary", "label"}], "phones": [...], "add_time", "update_time", "custom_fields": {<key>: value}}`
with RFC 3339 times (`2026-05-01T09:30:00Z`). A v1 lead: `{"id": <uuid>, "title", "person_id",
"organization_id", "owner_id", "label_ids", "source_name", "value": {"amount", "currency"},
"is_archived", "add_time", "update_time"}`; its person and organization are ids only, so a lead
parses to the ids it has and None elsewhere (dbt joins the person stream for the rest). v1
endpoints may give an owner or an organization as an object `{"id"|"value", "name", ...}`; the
parsers accept either.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connectors.records import SourceRecord, flag, scalar_text, split_full_name
from connectors.streams import parse_timestamp

SOURCE = "pipedrive"


def record_id(payload: dict[str, Any]) -> str | None:
    return _id(payload.get("id"))


def record_cursor(payload: dict[str, Any]) -> datetime | None:
    """update_time: moved by every change to the record, from the UI, the API or a merge."""
    return parse_timestamp(payload.get("update_time"))


def user_cursor(payload: dict[str, Any]) -> datetime | None:
    return parse_timestamp(payload.get("modified"))


def _id(value: Any) -> str | None:
    """An id as text: 42, 42.0, "42" and a v1 object {"id": 42} or {"value": 42} alike."""
    if isinstance(value, dict):
        value = value.get("id", value.get("value"))
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return scalar_text(value)


def _primary(entries: Any) -> str | None:
    """The primary value of a v2 `emails`/`phones` list (the first readable one otherwise). v1
    calls them `email`/`phone` with the same shape; a bare string is taken as is."""
    if isinstance(entries, str | int):
        return scalar_text(entries)
    if not isinstance(entries, list):
        return None
    values = [
        (flag(e.get("primary")) is True, scalar_text(e.get("value")))
        for e in entries
        if isinstance(e, dict)
    ]
    readable = [(primary, value) for primary, value in values if value is not None]
    for primary, value in readable:
        if primary:
            return value
    return readable[0][1] if readable else None


def parse_person(
    payload: dict[str, Any], partition: str | None = None, *, lead_id_key: str | None = None
) -> SourceRecord:
    """A person -> SourceRecord. `lead_id_key` is the company's key of the "LeadFlow Lead Id"
    custom field (see `custom_field_keys`); without it `leadflow_lead_id` stays None. Never
    raises: an unreadable value is None."""
    first = scalar_text(payload.get("first_name"))
    last = scalar_text(payload.get("last_name"))
    if first is None and last is None:
        first, last = split_full_name(scalar_text(payload.get("name")))
    custom = payload.get("custom_fields")
    lead_id = None
    if lead_id_key:
        # v2 nests custom fields under custom_fields; v1 puts them at the top level.
        source = custom if isinstance(custom, dict) else payload
        lead_id = scalar_text(source.get(lead_id_key))
    return SourceRecord(
        source=SOURCE,
        stream="persons",
        record_id=record_id(payload),
        created_at=parse_timestamp(payload.get("add_time")),
        updated_at=record_cursor(payload),
        email=_primary(payload.get("emails", payload.get("email"))),
        phone=_primary(payload.get("phones", payload.get("phone"))),
        first_name=first,
        last_name=last,
        company=_org_name(payload),
        crm_contact_id=record_id(payload),
        crm_owner_id=_id(payload.get("owner_id")),
        leadflow_lead_id=lead_id,
    )


def _org_name(payload: dict[str, Any]) -> str | None:
    """The organization's name where the payload carries it (v1's `org_name` or an `org_id`
    object); v2 gives only the id, so None."""
    org = payload.get("org_id")
    if isinstance(org, dict):
        return scalar_text(org.get("name"))
    return scalar_text(payload.get("org_name"))


def parse_lead(payload: dict[str, Any], partition: str | None = None) -> SourceRecord:
    """A lead -> SourceRecord: its person id as `crm_contact_id`, its owner as `crm_owner_id`;
    names, email and company are not on a lead (None). Never raises."""
    return SourceRecord(
        source=SOURCE,
        stream="leads",
        record_id=record_id(payload),
        created_at=parse_timestamp(payload.get("add_time")),
        updated_at=record_cursor(payload),
        crm_contact_id=_id(payload.get("person_id")),
        crm_owner_id=_id(payload.get("owner_id")),
    )


def is_archived(payload: dict[str, Any]) -> bool:
    """An archived lead (Leads Inbox > Archive): still listed, out of the working inbox."""
    return flag(payload.get("is_archived")) is True


@dataclass(frozen=True)
class WriteOutcome:
    """What became of one pushed record, in the order the records were given."""

    id: str | None  # the person id or lead id written
    success: bool
    error: str = ""  # safe to log: Pipedrive's error text or the client's, no personal values
    retriable: bool = False  # worth sending again on the next run (429, 5xx, timeouts)
    http_status: int | None = None
