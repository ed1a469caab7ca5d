"""Salesforce record shapes: Lead and Contact payloads parsed to SourceRecord, deletes and merges,
and the outcome of one pushed record.

A query answer holds each record as `{"attributes": {"type", "url"}, <field>: <value>, ...}` with
the fields the SOQL selected; a relationship field (`Account.Name`) arrives as a nested object,
or null when the lookup is empty. Datetimes are `2026-05-01T09:30:00.000+0000`; booleans are JSON
booleans; numbers are JSON numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connectors.records import SourceRecord, flag, scalar_text
from connectors.streams import parse_timestamp


def record_id(payload: dict[str, Any]) -> str | None:
    return scalar_text(payload.get("Id"))


def record_cursor(payload: dict[str, Any]) -> Any:
    """SystemModstamp: moved by every change, a user's, an API's or automation's."""
    return parse_timestamp(payload.get("SystemModstamp") or payload.get("LastModifiedDate"))


def is_deleted(payload: dict[str, Any]) -> bool:
    """In the recycle bin (deleted, or the losing side of a merge): seen only through queryAll."""
    return flag(payload.get("IsDeleted")) is True


def merged_into(payload: dict[str, Any]) -> str | None:
    """The id of the record this one was merged into (Salesforce deletes the merge's losers and
    sets their MasterRecordId); None when it was not merged."""
    return scalar_text(payload.get("MasterRecordId"))


def _bool_if_asked(payload: dict[str, Any], name: str) -> bool | None:
    """A boolean field's value; None when the payload does not carry the field or it is garbled."""
    return flag(payload[name]) if name in payload else None


def _bounced(payload: dict[str, Any]) -> bool | None:
    """IsEmailBounced (Contact) when selected; else a bounce reason, present or not (Lead)."""
    if "IsEmailBounced" in payload:
        bounced = flag(payload.get("IsEmailBounced"))
        if bounced is not None:
            return bounced
    if "EmailBouncedReason" in payload:
        return scalar_text(payload.get("EmailBouncedReason")) is not None
    return None


# What Salesforce's Web-to-Lead (and LeadFlow's own push, sync_salesforce__records) puts in a
# required field the person did not give: no value, not a company or a surname.
NOT_PROVIDED = "[not provided]"


def _provided(value: Any) -> str | None:
    text = scalar_text(value)
    return None if text is not None and text.strip().lower() == NOT_PROVIDED else text


def _common(payload: dict[str, Any], stream: str) -> SourceRecord:
    return SourceRecord(
        source="salesforce",
        stream=stream,
        record_id=record_id(payload),
        created_at=parse_timestamp(payload.get("CreatedDate")),
        updated_at=record_cursor(payload),
        email=scalar_text(payload.get("Email")),
        phone=scalar_text(payload.get("Phone")) or scalar_text(payload.get("MobilePhone")),
        first_name=scalar_text(payload.get("FirstName")),
        last_name=_provided(payload.get("LastName")),
        job_title=scalar_text(payload.get("Title")),
        crm_contact_id=record_id(payload),
        crm_owner_id=scalar_text(payload.get("OwnerId")),
        leadflow_lead_id=scalar_text(payload.get("LeadFlow_Lead_Id__c")),
        unsubscribed=_bool_if_asked(payload, "HasOptedOutOfEmail"),
        bounced=_bounced(payload),
        deleted_at_source=is_deleted(payload),
        crm_merged_into=merged_into(payload),
    )


def parse_lead(payload: dict[str, Any], partition: str | None = None) -> SourceRecord:
    """A Lead -> SourceRecord. Never raises: an unreadable value is None."""
    record = _common(payload, "leads")
    record.company = _provided(payload.get("Company"))
    record.country = scalar_text(payload.get("Country"))
    record.industry = scalar_text(payload.get("Industry"))
    record.employees = scalar_text(payload.get("NumberOfEmployees"))
    return record


def parse_contact(payload: dict[str, Any], partition: str | None = None) -> SourceRecord:
    """A Contact -> SourceRecord; the company is its Account's name when the pull selected
    `Account.Name` (None otherwise, or when the contact has no account)."""
    record = _common(payload, "contacts")
    account = payload.get("Account")
    record.company = scalar_text(account.get("Name")) if isinstance(account, dict) else None
    record.country = scalar_text(payload.get("MailingCountry"))
    return record


@dataclass(frozen=True)
class WriteOutcome:
    """What became of one pushed record, in the order the records were given."""

    key: str | None  # the input's Id (update) or external id value (upsert)
    id: str | None  # the Salesforce record id, when known
    success: bool
    error_code: str = ""  # Salesforce's statusCode / errorCode, e.g. STRING_TOO_LONG
    message: str = ""  # safe to log: no personal values
    fields: tuple[str, ...] = ()
    retriable: bool = False  # worth sending again on the next run
    created: bool | None = None  # upsert only: a new record was made
    http_status: int | None = None
