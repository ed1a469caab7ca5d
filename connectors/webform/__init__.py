"""Web form submissions: LeadFlow's own signed form POST, which a site's backend sends to
`leadflow serve`. Nothing is pulled: the intake verifies each request and lands the body in
raw.webform__submissions; this package says what a landed row is and how it becomes a lead.

Public API: `STREAMS`, `parse_submission`. Not in `connectors.SOURCES` (those are pulled every
run); listed in `connectors.WEBHOOK_SOURCES` and `connectors.LEAD_STREAMS`.
"""

from __future__ import annotations

from connectors.streams import Stream
from connectors.webform import models
from connectors.webform.models import parse_submission

__all__ = ["STREAMS", "parse_submission"]

STREAMS: dict[str, Stream] = {
    # Webhooks arrive in any order and carry no cursor a pull could resume from: the cursor field
    # only fills raw record_updated_at. The intake stores a submission once, keyed by
    # submission_id, however often the site posts it.
    "submissions": Stream(
        source="webform",
        name="submissions",
        primary_key="submission_id",
        cursor_field="submitted_at",
        sorted_by_cursor=False,
        record_id=models.submission_id,
        record_cursor=models.submission_cursor,
    ),
}
