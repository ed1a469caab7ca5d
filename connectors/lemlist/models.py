"""Lemlist record shapes: activities as the API returns them, and the outcome of one write."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connectors.streams import parse_timestamp


@dataclass(frozen=True)
class Activity:
    """One entry of GET /api/activities (only the fields LeadFlow reads)."""

    id: str
    type: str
    campaign_id: str | None
    lead_email: str | None  # lower-cased
    created_at: datetime | None  # naive UTC


def parse_activity(payload: dict[str, Any]) -> Activity | None:
    """An activity payload -> Activity; None when it has no id or type (nothing to act on)."""
    activity_id = payload.get("_id")
    kind = payload.get("type")
    if not activity_id or not kind:
        return None
    raw_lead = payload.get("lead")
    lead: dict[str, Any] = raw_lead if isinstance(raw_lead, dict) else {}
    email = (
        payload.get("leadEmail") or (lead.get("variables") or {}).get("email") or lead.get("email")
    )
    return Activity(
        id=str(activity_id),
        type=str(kind),
        campaign_id=str(payload["campaignId"]) if payload.get("campaignId") else None,
        lead_email=str(email).strip().lower() if email else None,
        created_at=parse_timestamp(payload.get("createdAt")),
    )


@dataclass(frozen=True)
class WriteOutcome:
    """What Lemlist answered to one add or remove."""

    ok: bool
    http_status: int | None = None
    error: str = ""  # safe to log (redacted)
    retriable: bool = False
