"""LeadFlow's own web form payload: the keys a submission's `fields` object may carry.

The shape is ours (connectors/webform/README.md documents it for the sites that post it); there is
no vendor, endpoint or rate limit. `leadflow serve` verifies the signature and lands the body.
"""

from __future__ import annotations

# fields.<key> -> SourceRecord field. Keys not listed here stay in the raw payload only.
FIELD_MAP: dict[str, str] = {
    "email": "email",
    "phone": "phone",
    "first_name": "first_name",
    "last_name": "last_name",
    "company": "company",
    "job_title": "job_title",
    "country": "country",
}

# The key `leadflow serve` adds to every body it lands: when it accepted the request (ISO 8601 UTC).
RECEIVED_AT = "_received_at"
