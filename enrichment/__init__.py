"""Normalize and enrich parsed source records into the shape of ops.lead_records.

`enrich()` is pure: a `SourceRecord` in, a flat dict out, with both the normalized values and the
diagnostics validation needs (was an email given, did it parse). It never raises on bad values.
"""

from __future__ import annotations

from typing import Any

from connectors.records import SourceRecord
from enrichment.normalize import (
    department,
    employee_band,
    is_free_email,
    normalize_country,
    normalize_email,
    normalize_industry,
    normalize_name,
    normalize_phone,
    normalize_text,
    phone_country,
    phone_timezone,
    seniority,
)

__all__ = ["enrich"]


def enrich(
    record: SourceRecord, *, default_region: str | None = None, intent_event: str | None = None
) -> dict[str, Any]:
    email = normalize_email(record.email)
    country = normalize_country(record.country)
    phone = normalize_phone(record.phone, country, default_region)
    if country is None:
        country = phone_country(phone)
    return {
        "source": record.source,
        "stream": record.stream,
        "record_id": record.record_id,
        "email": email.address,
        "email_domain": email.domain,
        "is_free_email": is_free_email(email.domain),
        "phone_e164": phone,
        "phone_timezone": phone_timezone(phone, country),
        "first_name": normalize_name(record.first_name),
        "last_name": normalize_name(record.last_name),
        "company": normalize_text(record.company),
        "job_title": normalize_text(record.job_title),
        "seniority": seniority(record.job_title),
        "department": department(record.job_title),
        "industry": normalize_industry(record.industry),
        "employee_band": employee_band(record.employees),
        "is_unsubscribed": record.unsubscribed,
        "is_bounced": record.bounced,
        "country_code": country,
        "crm_contact_id": record.crm_contact_id,
        "crm_owner_id": record.crm_owner_id,
        "leadflow_lead_id": record.leadflow_lead_id,
        # HubSpot's own encoding of a list of ids, one column that every warehouse can hold
        "crm_merged_ids": ";".join(record.crm_merged_ids) or None,
        "crm_merged_into": record.crm_merged_into,
        "form_id": record.form_id,
        "intent_event": intent_event,
        "record_created_at": record.created_at,
        "record_updated_at": record.updated_at,
        # Diagnostics for the expectations gate; not stored in ops.lead_records.
        "email_is_valid": None if email.given is None else not email.is_invalid,
        "phone_given": normalize_text(record.phone),
        "contact_point": email.address or phone,
        "is_test": record.is_test,
        "deleted_at_source": record.deleted_at_source,
        "location": record.location,
        "unreadable": record.unreadable,
    }
