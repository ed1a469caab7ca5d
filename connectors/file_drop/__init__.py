"""File drop: CSV files of event attendees and referrals that people put in a folder, each loaded
once, known by the sha256 of its bytes.

A folder has no API, no pages and no cursor, so this package has no `open_client`, `partitions`
or `pull`: `drop_folder` checks the configured folder, `new_files` reads the files not loaded yet,
and leadflow.landing.land_files lands each file's rows with the ledger entry (ops.file_drop_files)
that marks it loaded, in one commit (the ledger is this source's cursor). leadflow.pipeline
.pull_source does that for a `FileDropSourceConfig`.

Public API: `STREAMS`, `drop_folder`, `new_files`, `read_file`, `parse_event`, `parse_referral`.
"""

from __future__ import annotations

from connectors.file_drop import models
from connectors.file_drop.client import DroppedFile, drop_folder, new_files, read_file
from connectors.file_drop.models import parse_event, parse_referral
from connectors.streams import Stream

__all__ = [
    "STREAMS",
    "DroppedFile",
    "drop_folder",
    "new_files",
    "parse_event",
    "parse_referral",
    "read_file",
]

# Files, not pages: nothing is sorted and no cursor is kept (ops.file_drop_files says which files
# are loaded). record_updated_at holds the row's own date, as for any stream.
STREAMS: dict[str, Stream] = {
    "events": Stream(
        source="file_drop",
        name="events",
        primary_key="file_sha256:row_number",
        cursor_field="event_date",
        sorted_by_cursor=False,
        record_id=models.record_id,
        record_cursor=models.event_cursor,
    ),
    "referrals": Stream(
        source="file_drop",
        name="referrals",
        primary_key="file_sha256:row_number",
        cursor_field="referred_at",
        sorted_by_cursor=False,
        record_id=models.record_id,
        record_cursor=models.referral_cursor,
    ),
}
