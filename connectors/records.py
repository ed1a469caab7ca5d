"""The common shape every source parser produces from a vendor payload.

Values are as the source gave them (trimmed of nothing, cast to nothing): normalizing emails,
phones and countries is enrichment's job, and validation looks at both the raw and the normalized
values. Parsers never raise on a bad value; a field they cannot read is None, and validation
decides whether the record is usable.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any


@dataclass
class SourceRecord:
    source: str
    stream: str
    record_id: str | None
    created_at: datetime | None
    updated_at: datetime | None
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    job_title: str | None = None
    country: str | None = None
    crm_contact_id: str | None = None  # the CRM's own id, for records pulled from the CRM
    crm_owner_id: str | None = None
    leadflow_lead_id: str | None = None  # our id, when the CRM echoes it back
    form_id: str | None = None
    # ICP attributes and email status, where the source has them (HubSpot contacts today).
    industry: str | None = None
    employees: str | None = None  # a count or a range, e.g. HubSpot's numemployees "25-50"
    unsubscribed: bool | None = None  # None: the source does not say
    bounced: bool | None = None
    # A vendor's test submission, not a person (Google Ads "Send test data"): validation
    # quarantines it. None: the source does not say.
    is_test: bool | None = None
    # The source deleted the record (Salesforce's recycle bin, the losing side of a CRM merge):
    # validation quarantines that version with the reason. None: the source does not say.
    deleted_at_source: bool | None = None
    # The ids of records of the same source and stream that the CRM merged into this one
    # (HubSpot's hs_merged_object_ids): dedupe puts them in one lead (rule crm_merge). Empty: none.
    crm_merged_ids: tuple[str, ...] = ()
    # The record of the same source and stream this one was merged into, on a merge's losing side
    # (Salesforce's MasterRecordId on the deleted loser): that version is quarantined as deleted,
    # and the loser's stored record remembers its survivor, so dedupe puts both in one lead
    # (rule crm_merge). None: not merged away.
    crm_merged_into: str | None = None
    # Where a person finds the record in what the source handed over, for the quarantine's
    # reasons ("events/webinar.csv row 7"). None: the record id says it (an API's records).
    location: str | None = None
    # What made the source's row unreadable as a record (a file drop's row with too many values,
    # bytes that are not text, a date in no known form), naming the column, never the value:
    # validation quarantines the record with it. None: the row was read.
    unreadable: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def text(value: Any) -> str | None:
    """A non-empty string, or None: vendors send "", null and whitespace for 'not given'."""
    if value is None:
        return None
    if not isinstance(value, str):
        value = str(value)
    return value if value.strip() else None


def scalar_text(value: Any) -> str | None:
    """`text` of a string or a number; a list, an object, a boolean, NaN or an infinity where a
    value belongs is unreadable, so None (not its Python repr)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return text(value)


def flag(value: Any) -> bool | None:
    """A vendor's boolean ('true', 'false', True, '1', ...) or None when absent or unreadable."""
    if isinstance(value, bool):
        return value
    cleaned = text(value)
    if cleaned is None:
        return None
    return {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}.get(
        cleaned.strip().lower()
    )


def split_full_name(full_name: str | None) -> tuple[str | None, str | None]:
    """'Ana Maria Silva' -> ('Ana Maria', 'Silva'); a single word is a first name."""
    if not full_name or not full_name.strip():
        return None, None
    parts = full_name.split()
    if len(parts) == 1:
        return parts[0], None
    return " ".join(parts[:-1]), parts[-1]
