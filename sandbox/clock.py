"""The sandbox clock and the three vendors' timestamp formats.

All times inside the sandbox are integer epoch milliseconds (UTC). Each vendor writes them its own
way on the wire, and those formats are part of what a connector must parse:

- HubSpot: ISO-8601 UTC with milliseconds, ``2026-05-01T10:20:30.123Z``;
- Meta Graph: seconds with a numeric offset, ``2026-05-01T10:20:30+0000``;
- Typeform: seconds with ``Z``, ``2026-05-01T10:20:30Z``.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


class Clock:
    """Now, for the world and for every write.

    With no fixed start it is the real UTC clock. With a fixed start (tests, reproducible demos) it
    starts there and then advances in real time, so a write made after a pull is still later than
    everything that pull saw: an incremental sync must see its own pushes.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._start_ms = None if start is None else to_ms(start)
        self._mono0 = time.monotonic()
        self._skip_ms = 0  # time jumped forward by advance()

    def now_ms(self) -> int:
        if self._start_ms is None:
            return int(time.time() * 1000) + self._skip_ms
        return self._start_ms + int((time.monotonic() - self._mono0) * 1000) + self._skip_ms

    def advance(self, seconds: float) -> None:
        """Jump forward (tests: let scheduled events, such as a rep's first touch, come due)."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._skip_ms += int(seconds * 1000)

    def now(self) -> datetime:
        return from_ms(self.now_ms())


def to_ms(value: datetime) -> int:
    """Epoch milliseconds of an aware datetime (a naive one is taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


_EPOCH = datetime(1970, 1, 1)


def _naive(ms: int) -> datetime:
    # Naive UTC arithmetic: several times faster than strftime on aware datetimes, and this runs
    # for every timestamp of every generated record.
    return _EPOCH + timedelta(milliseconds=ms)


def hubspot_time(ms: int) -> str:
    return _naive(ms).isoformat(timespec="milliseconds") + "Z"


def graph_time(ms: int) -> str:
    return _naive(ms).isoformat(timespec="seconds") + "+0000"


def typeform_time(ms: int) -> str:
    return _naive(ms).isoformat(timespec="seconds") + "Z"


def parse_iso_ms(text: str) -> int:
    """Epoch ms of an ISO-8601 date or datetime; no offset means UTC. Raises ValueError."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    # Graph's "+0000" offset has no colon; fromisoformat wants one.
    if len(value) > 5 and value[-5] in "+-" and value[-4:].isdigit() and "T" in value:
        value = value[:-2] + ":" + value[-2:]
    return to_ms(datetime.fromisoformat(value))
