"""A rep's calendar: is the rep available at a moment, and how much working time lies between two.

Everything is computed on real instants: a shift "09:00-17:00" in Europe/Berlin becomes two UTC instants
through zoneinfo for that very day, so a DST change moves the shift in UTC and an overnight shift across
the change is an hour shorter or longer, as it is on the rep's wall clock.

Rules, the same for routing and for SLAs:
- `working_hours` gives the shifts (a day not listed is not worked; "22:00-06:00" runs overnight);
- a holiday blocks that whole local day, even the tail of an overnight shift that began the day before;
- an out-of-office range blocks its time (dates: whole local days, both ends inclusive);
- `paused` only stops new leads (`is_available` says no); it does not stop the working-minute clock,
  so a lead already with a paused rep still ages against its SLA.
- `None` (no calendar configured) means always available, and working minutes are wall-clock minutes.

Naive datetimes are UTC, as everywhere in the warehouse. Returned datetimes keep the caller's kind:
naive in, naive UTC out; aware in, aware UTC out.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from leadflow.config import WEEKDAYS, Availability, OutOfOffice

__all__ = [
    "add_working_minutes",
    "available_intervals",
    "is_available",
    "working_minutes_between",
]

Interval = tuple[datetime, datetime]  # [start, end) as aware UTC datetimes

# add_working_minutes gives up after this far ahead: only a calendar with (almost) no working time left
# gets there, and an SLA due date years away is as good as "never".
_HORIZON = timedelta(days=3 * 366)
_STEP = timedelta(days=14)


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _like(result: datetime, template: datetime) -> datetime:
    return result.replace(tzinfo=None) if template.tzinfo is None else result


def _parse_hours(spec: str) -> tuple[time, time | None]:
    """ "09:00-17:30" -> (09:00, 17:30); an end of 24:00 is returned as None (midnight, next day)."""
    start, end = spec.strip().split("-")
    sh, sm = (int(x) for x in start.split(":"))
    eh, em = (int(x) for x in end.split(":"))
    return time(sh, sm), (None if eh == 24 else time(eh, em))


def _local(d: date, t: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(d, t, tzinfo=zone).astimezone(UTC)


def _shifts(av: Availability, zone: ZoneInfo, first: date, last: date) -> list[Interval]:
    """The shifts starting on local days first..last, in UTC."""
    out: list[Interval] = []
    d = first
    while d <= last:
        spec = av.working_hours.get(WEEKDAYS[d.weekday()])
        if spec:
            start_t, end_t = _parse_hours(spec)
            start = _local(d, start_t, zone)
            if end_t is None:
                end = _local(d + timedelta(days=1), time(0), zone)
            elif end_t <= start_t:
                end = _local(d + timedelta(days=1), end_t, zone)
            else:
                end = _local(d, end_t, zone)
            if end > start:
                out.append((start, end))
        d += timedelta(days=1)
    return out


def _whole_days(first: date, last: date, zone: ZoneInfo) -> Interval:
    return _local(first, time(0), zone), _local(last + timedelta(days=1), time(0), zone)


def _absence(ooo: OutOfOffice, zone: ZoneInfo) -> Interval:
    if isinstance(ooo.start, datetime) and isinstance(ooo.end, datetime):
        start = ooo.start.replace(tzinfo=zone) if ooo.start.tzinfo is None else ooo.start
        end = ooo.end.replace(tzinfo=zone) if ooo.end.tzinfo is None else ooo.end
        return start.astimezone(UTC), end.astimezone(UTC)
    return _whole_days(_as_date(ooo.start), _as_date(ooo.end), zone)


def _as_date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def _blocked(av: Availability, zone: ZoneInfo) -> list[Interval]:
    blocks = [_whole_days(h, h, zone) for h in av.holidays]
    blocks += [_absence(o, zone) for o in av.out_of_office]
    return sorted(blocks)


def _subtract(spans: list[Interval], blocks: list[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for start, end in spans:
        pieces = [(start, end)]
        for b_start, b_end in blocks:
            if b_end <= start or b_start >= end:
                continue
            next_pieces: list[Interval] = []
            for p_start, p_end in pieces:
                if b_end <= p_start or b_start >= p_end:
                    next_pieces.append((p_start, p_end))
                    continue
                if p_start < b_start:
                    next_pieces.append((p_start, b_start))
                if b_end < p_end:
                    next_pieces.append((b_end, p_end))
            pieces = next_pieces
        out.extend(pieces)
    return out


def available_intervals(av: Availability, start: datetime, end: datetime) -> list[Interval]:
    """The working time between `start` and `end` as sorted, disjoint [from, to) UTC intervals."""
    lo, hi = _utc(start), _utc(end)
    if hi <= lo:
        return []
    zone = ZoneInfo(av.timezone)
    # One local day of margin on each side catches an overnight shift that began the day before.
    first = lo.astimezone(zone).date() - timedelta(days=1)
    last = hi.astimezone(zone).date()
    spans = _subtract(_shifts(av, zone, first, last), _blocked(av, zone))
    clipped = [(max(s, lo), min(e, hi)) for s, e in spans if e > lo and s < hi]
    return _merge(sorted(clipped))


def _merge(spans: list[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for s, e in spans:
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def _describe(at: datetime, zone: ZoneInfo, tz_name: str) -> str:
    local = at.astimezone(zone)
    return f"{tz_name} {local:%H:%M} {local:%a}"


def is_available(availability: Availability | None, at: datetime) -> tuple[bool, str]:
    """Whether the rep can take a lead at `at`, and a short reason a person can read in the audit."""
    if availability is None:
        return True, "no calendar configured"
    if availability.paused:
        return False, "paused"
    moment = _utc(at)
    zone = ZoneInfo(availability.timezone)
    local_day = moment.astimezone(zone).date()
    if local_day in availability.holidays:
        return False, f"holiday {local_day.isoformat()}"
    for ooo in availability.out_of_office:
        a_start, a_end = _absence(ooo, zone)
        if a_start <= moment < a_end:
            if isinstance(ooo.end, datetime):
                until = ooo.end.replace(tzinfo=None).isoformat(sep=" ", timespec="minutes")
            else:
                until = ooo.end.isoformat()
            return False, f"out of office until {until}"
    where = _describe(moment, zone, availability.timezone)
    if available_intervals(availability, moment, moment + timedelta(microseconds=1)):
        return True, f"within working hours ({where})"
    return False, f"outside working hours ({where})"


def working_minutes_between(
    availability: Availability | None, start: datetime, end: datetime
) -> float:
    """Working minutes from `start` to `end` on the rep's calendar (0 when end is not after start)."""
    lo, hi = _utc(start), _utc(end)
    if hi <= lo:
        return 0.0
    if availability is None:
        return (hi - lo).total_seconds() / 60
    spans = available_intervals(availability, lo, hi)
    return sum((e - s).total_seconds() for s, e in spans) / 60


def add_working_minutes(
    availability: Availability | None, start: datetime, minutes: float
) -> datetime:
    """The instant when `minutes` working minutes have passed since `start` (a due date).

    Raises ValueError when the calendar has no such time within three years (e.g. a rep out of office
    indefinitely) — the caller treats that as "never due".
    """
    if minutes < 0:
        raise ValueError("minutes must be >= 0")
    lo = _utc(start)
    if availability is None:
        return _like(lo + timedelta(minutes=minutes), start)
    left = timedelta(minutes=minutes)
    cursor = lo
    while cursor - lo < _HORIZON:
        for s, e in available_intervals(availability, cursor, cursor + _STEP):
            if e - s >= left:
                return _like(s + left, start)
            left -= e - s
        cursor += _STEP
    raise ValueError(
        f"no {minutes:g} working minutes within {_HORIZON.days} days of {lo:%Y-%m-%d} on this calendar"
    )
