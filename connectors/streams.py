"""What every source stream declares, and the shape of what a pull yields.

Incremental state is data next to each stream: the cursor field, the primary key, the initial value
and whether the API returns rows sorted by the cursor. A stream sorted ascending can commit its
cursor with every page; an unsorted one commits it once, with its last page, so a crash mid-stream
never leaves a cursor past rows that were not saved. Re-reading rows equal to the bookmark is fine:
raw landing ignores a version it already holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

Payload = dict[str, Any]


@dataclass(frozen=True)
class Stream:
    source: str
    name: str
    primary_key: str  # where the record id lives in the payload, for the README and errors
    cursor_field: str  # the field the incremental cursor follows
    sorted_by_cursor: bool  # the API returns rows in ascending cursor order
    record_id: Callable[[Payload], str | None]
    record_cursor: Callable[[Payload], datetime | None]
    # Where the first pull starts; earlier records are never read.
    initial_cursor: datetime = datetime(2000, 1, 1)
    # A record is never changed once made (a form submission): the first copy landed, by any
    # route (a pull, a webhook), is its one raw row, and a later copy with another payload adds
    # nothing. False: a changed payload is a new version.
    immutable: bool = False


@dataclass
class Page:
    """One page of records exactly as the API returned them."""

    records: list[Payload]
    last: bool = False  # no page follows


@dataclass
class PullWindow:
    """Where a pull starts: the stored cursor minus the lookback, so late-arriving rows are re-read."""

    cursor: datetime | None
    lookback: timedelta = field(default_factory=lambda: timedelta(minutes=10))

    @property
    def since(self) -> datetime | None:
        if self.cursor is None:
            return None
        # a cursor within the lookback of year 1 (a vendor's garbage date) starts at the beginning
        return max(self.cursor, datetime.min + self.lookback) - self.lookback


def parse_timestamp(value: Any) -> datetime | None:
    """A vendor timestamp (ISO-8601 with Z, +0000 or +00:00, or epoch seconds/ms) as naive UTC."""
    if value is None or value == "":
        return None
    # Out of range (year 0 or 10000 once in UTC, NaN, 10**400, '²' that isdigit() lets through):
    # unreadable, so None, never an exception.
    try:
        if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
            number = float(value)
            if number > 1e11:  # epoch milliseconds
                number /= 1000
            return datetime.fromtimestamp(number, UTC).replace(tzinfo=None)
        if not isinstance(value, str):
            return None
        text = value.strip().replace("Z", "+00:00")
        if len(text) >= 5 and text[-5] in "+-" and text[-4:].isdigit():  # +0000 -> +00:00
            text = f"{text[:-2]}:{text[-2:]}"
        parsed = datetime.fromisoformat(text)
        return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed
    except (ValueError, OverflowError, OSError):
        return None
