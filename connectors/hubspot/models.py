"""HubSpot record shapes: contacts, owners, deals and companies as the API returns them, and the
contacts' and deals' stage histories; contacts parse to SourceRecord (deals, owners and the
histories are read by dbt straight from raw, companies by dbt and by lead-to-account matching,
dedupe/accounts.py)."""

from __future__ import annotations

from typing import Any

from connectors.records import SourceRecord, flag, scalar_text, text
from connectors.streams import parse_timestamp


def _properties(payload: dict[str, Any]) -> dict[str, Any]:
    """The properties object; anything else (a list, a string: a broken payload) reads as empty."""
    props = payload.get("properties")
    return props if isinstance(props, dict) else {}


def contact_id(payload: dict[str, Any]) -> str | None:
    return text(payload.get("id"))


def contact_cursor(payload: dict[str, Any]) -> Any:
    """lastmodifieddate; for a contact in the recycle bin, when it was archived if that is later
    (archiving does not move lastmodifieddate), so the archived version ranks as the newest one."""
    props = _properties(payload)
    modified = parse_timestamp(props.get("lastmodifieddate") or payload.get("updatedAt"))
    archived_at = parse_timestamp(payload.get("archivedAt")) if is_archived(payload) else None
    if archived_at is None or (modified is not None and modified > archived_at):
        return modified
    return archived_at


def is_archived(payload: dict[str, Any]) -> bool:
    """In HubSpot's recycle bin (deleted, restorable for 90 days): read only with archived=true."""
    return flag(payload.get("archived")) is True


def merged_ids(payload: dict[str, Any]) -> tuple[str, ...]:
    """The contacts merged into this one (hs_merged_object_ids: `1;2`), oldest merges' included;
    never the contact's own id. A merge makes a new contact, so both old ids are listed."""
    own = contact_id(payload)
    value = scalar_text(_properties(payload).get("hs_merged_object_ids"))
    ids = (part.strip() for part in (value or "").split(";"))
    return tuple(dict.fromkeys(i for i in ids if i and i != own))


def owner_id(payload: dict[str, Any]) -> str | None:
    return text(payload.get("id"))


def owner_cursor(payload: dict[str, Any]) -> Any:
    return parse_timestamp(payload.get("updatedAt"))


def deal_id(payload: dict[str, Any]) -> str | None:
    return text(payload.get("id"))


def deal_cursor(payload: dict[str, Any]) -> Any:
    props = _properties(payload)
    return parse_timestamp(props.get("hs_lastmodifieddate") or payload.get("updatedAt"))


def company_id(payload: dict[str, Any]) -> str | None:
    return text(payload.get("id"))


def company_cursor(payload: dict[str, Any]) -> Any:
    props = _properties(payload)
    return parse_timestamp(props.get("hs_lastmodifieddate") or payload.get("updatedAt"))


def contact_history_cursor(payload: dict[str, Any]) -> Any:
    """A contact's lifecycle history record: the contact's lastmodifieddate as the search saw it."""
    return parse_timestamp(_properties(payload).get("lastmodifieddate"))


def deal_history_cursor(payload: dict[str, Any]) -> Any:
    """A deal's stage history record: the deal's hs_lastmodifieddate as the search saw it."""
    return parse_timestamp(_properties(payload).get("hs_lastmodifieddate"))


def parse_contact(payload: dict[str, Any]) -> SourceRecord:
    """A CRM v3 contact -> SourceRecord. Every property value is a string or null."""
    props = _properties(payload)
    return SourceRecord(
        source="hubspot",
        stream="contacts",
        record_id=contact_id(payload),
        created_at=parse_timestamp(props.get("createdate") or payload.get("createdAt")),
        updated_at=contact_cursor(payload),
        email=text(props.get("email")),
        phone=text(props.get("phone")) or text(props.get("mobilephone")),
        first_name=text(props.get("firstname")),
        last_name=text(props.get("lastname")),
        company=text(props.get("company")),
        job_title=text(props.get("jobtitle")),
        country=text(props.get("country")),
        crm_contact_id=contact_id(payload),
        crm_owner_id=text(props.get("hubspot_owner_id")),
        leadflow_lead_id=text(props.get("leadflow_lead_id")),
        industry=text(props.get("industry")),
        employees=text(props.get("numemployees")),
        unsubscribed=_email_status(props, "hs_email_optout", flag(props.get("hs_email_optout"))),
        bounced=_email_status(
            props,
            "hs_email_hard_bounce_reason_enum",
            text(props.get("hs_email_hard_bounce_reason_enum")) is not None,
        ),
        deleted_at_source=is_archived(payload),
        crm_merged_ids=merged_ids(payload),
    )


def _email_status(props: dict[str, Any], name: str, value: bool | None) -> bool | None:
    """HubSpot returns an unset property as null: asked for and null means no (not opted out, not
    bounced); a payload without the property at all (pulled before it was asked for) says nothing."""
    if name not in props:
        return None
    return bool(value)
