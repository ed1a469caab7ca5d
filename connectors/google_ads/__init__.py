"""Google Ads lead form submissions, delivered by Google's lead form webhook to `leadflow serve`.
Nothing is pulled: the intake checks the form's `google_key`, removes it and lands the body in
raw.google_ads__lead_form_submissions; this package says what a landed row is and how it becomes
a lead.

Public API: `STREAMS`, `parse_lead`. Not in `connectors.SOURCES` (those are pulled every run);
listed in `connectors.WEBHOOK_SOURCES` and `connectors.LEAD_STREAMS`.
"""

from __future__ import annotations

from connectors.google_ads import models
from connectors.google_ads.models import parse_lead
from connectors.streams import Stream

__all__ = ["STREAMS", "parse_lead"]

STREAMS: dict[str, Stream] = {
    # Webhooks arrive in any order and carry no cursor a pull could resume from: the cursor field
    # only fills raw record_updated_at. The intake stores a lead once, keyed by lead_id, however
    # often Google delivers it.
    "lead_form_submissions": Stream(
        source="google_ads",
        name="lead_form_submissions",
        primary_key="lead_id",
        cursor_field="lead_submit_time",
        sorted_by_cursor=False,
        record_id=models.lead_id,
        record_cursor=models.lead_cursor,
    ),
}
