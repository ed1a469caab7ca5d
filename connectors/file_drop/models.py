"""A dropped CSV row (as client.py lands it) parsed to SourceRecord.

The landed payload keeps the row as the file had it: `values` maps each header, as written, to the
row's text (`extra_values` holds values beyond the header's columns; a record the csv reader could
not split keeps its lines as `text` instead, with the reader's `problem`), next to where the row
came from (`file_name`, `file_sha256`, `row_number` as a spreadsheet numbers it, the header being
row 1) and when LeadFlow read the file (`loaded_at`). A file that could not be read at all lands
as one payload without `row_number` and with the reader's `problem`. Columns are matched here, not
when the file is read, so the raw row stays the file's own and a parse can be re-run on it.

A row the reader or this parser cannot trust gets `SourceRecord.unreadable`: what is wrong, naming
the column as the file's header writes it and never a value (a shifted row can put an email where a
date belongs). Validation quarantines it with that reason, prefixed by `SourceRecord.location`
("events/webinar.csv row 7"). A row without a date counts from `loaded_at`; so does a registration
dated after the file was loaded (people register for events still to come).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from connectors.file_drop import settings
from connectors.records import SourceRecord, scalar_text, split_full_name, text
from connectors.streams import parse_timestamp

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"),
            ("may",), ("jun", "june"), ("jul", "july"), ("aug", "august"),
            ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}  # fmt: skip

# An optional time after the date: 09:30, 9:30:15, 09:30 PM, with an optional zone (Z, UTC, GMT,
# +02:00, -0500). A time without a zone is read as UTC. Matched on case-folded text.
_TIME = (
    r"(?:(?:[t ]|,\s*)\s*(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.\d+)?)?"
    r"\s*(?P<ampm>[ap]\.?m\.?)?)?"
    r"\s*(?P<zone>z|utc|gmt|[+-]\d{2}:?\d{2})?"
)
_WEEKDAY = r"(?:(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)[a-z]*\.?,?\s+)?"
_YMD = re.compile(r"(?P<year>\d{4})[-/.](?P<month>\d{1,2})[-/.](?P<day>\d{1,2})" + _TIME)
# Dotted day-first (14.05.2026) is the only order anyone writes with dots.
_DOTTED = re.compile(r"(?P<day>\d{1,2})\.(?P<month>\d{1,2})\.(?P<year>\d{4})" + _TIME)
_NUMERIC = re.compile(r"(?P<first>\d{1,2})[/-](?P<second_part>\d{1,2})[/-](?P<year>\d{4})" + _TIME)
_DAY_MONTH_NAME = re.compile(
    _WEEKDAY
    + r"(?P<day>\d{1,2})(?:st|nd|rd|th)?[ -](?P<month_name>[a-z]{3,9})\.?[-\s,]+(?P<year>\d{4})"
    + _TIME
)
_MONTH_NAME_DAY = re.compile(
    _WEEKDAY
    + r"(?P<month_name>[a-z]{3,9})\.? (?P<day>\d{1,2})(?:st|nd|rd|th)?,? (?P<year>\d{4})"
    + _TIME
)

NOT_A_DATE = "is not a date LeadFlow reads (write it as YYYY-MM-DD)"
AMBIGUOUS_DATE = (
    "has its day and month both as numbers, which reads two ways: write it as YYYY-MM-DD, or set "
    "sources.file_drop.date_order to DMY or MDY"
)


def parse_date(value: str, date_order: str | None = None) -> tuple[datetime | None, str | None]:
    """(the time as naive UTC, None), or (None, what is wrong with it).

    Read: ISO 8601 (2026-05-14, 2026-05-14T09:30:00+02:00), 2026/05/14, 14.05.2026, 14 May 2026,
    May 14, 2026, each with an optional time. 05/06/2026 only with `date_order` (DMY or MDY): a
    guess would put every date up to the 12th in the wrong month. A number alone (an Excel serial
    date, an epoch) is not read: nothing in the file says which it is.
    """
    cleaned = " ".join(value.split()).casefold()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}(?:[t ].*)?", cleaned):
        parsed = parse_timestamp(cleaned.upper())
        if parsed is not None:
            return parsed, None
    moment: datetime | None = None
    for pattern in (_YMD, _DOTTED, _DAY_MONTH_NAME, _MONTH_NAME_DAY):
        match = pattern.fullmatch(cleaned)
        if match:
            moment = _build(match, _month_of(match))
            break
    else:
        match = _NUMERIC.fullmatch(cleaned)
        if match:
            if date_order is None:
                return None, AMBIGUOUS_DATE
            first, second = match["first"], match["second_part"]
            day, month = (first, second) if date_order == "DMY" else (second, first)
            moment = _build(match, int(month), day=int(day))
    # No pattern, or one that names no real day or time (31.06.2026, 25:00, Smarch 3).
    return (moment, None) if moment is not None else (None, NOT_A_DATE)


def _month_of(match: re.Match[str]) -> int | None:
    if "month_name" in match.groupdict():
        return _MONTHS.get(match["month_name"].rstrip("."))
    return int(match["month"])


def _build(match: re.Match[str], month: int | None, *, day: int | None = None) -> datetime | None:
    """The datetime a date match names, or None when it is no real date (31 February, 25:00)."""
    if month is None:
        return None
    hour = int(match["hour"]) if match["hour"] else 0
    if match["ampm"]:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if match["ampm"].startswith("p") else 0)
    try:
        moment = datetime(
            int(match["year"]),
            month,
            day if day is not None else int(match["day"]),
            hour,
            int(match["minute"] or 0),
            int(match["second"] or 0),
        )
    except ValueError:
        return None
    zone = match["zone"]
    if zone and zone not in ("z", "utc", "gmt"):
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        moment = moment.replace(tzinfo=timezone(sign * offset)).astimezone(UTC).replace(tzinfo=None)
    return moment


def record_id(payload: dict[str, Any]) -> str | None:
    """`<file sha256>:<row number>`, or `<file sha256>:file` for a file rejected whole: the same
    bytes always give the same ids, wherever and under whatever name the file was dropped."""
    sha = scalar_text(payload.get("file_sha256"))
    if sha is None:
        return None
    row = payload.get("row_number")
    if row is None:
        return f"{sha}:file"
    return f"{sha}:{row}" if isinstance(row, int) and not isinstance(row, bool) else None


def event_cursor(payload: dict[str, Any]) -> datetime | None:
    return parse_event(payload).created_at


def referral_cursor(payload: dict[str, Any]) -> datetime | None:
    return parse_referral(payload).created_at


class _Row:
    """A payload's values found by field, through the stream's header aliases."""

    def __init__(self, payload: dict[str, Any], stream: str) -> None:
        self.payload = payload
        self.stream = stream
        values = payload.get("values")
        self.by_key: dict[str, tuple[str, str]] = {}
        for header, value in (values if isinstance(values, dict) else {}).items():
            if isinstance(header, str) and isinstance(value, str):
                self.by_key.setdefault(settings.header_key(header), (header, value))

    def find(self, field: str) -> tuple[str | None, str | None]:
        """(the header as written, the value) of the first non-empty column the field reads, or
        (the first such header present, None) when all are empty, or (None, None) when none is."""
        present = None
        for alias in settings.COLUMNS[self.stream][field]:
            hit = self.by_key.get(alias)
            if hit is None:
                continue
            present = present or hit[0]
            if text(hit[1]) is not None:
                return hit
        return present, None

    def value(self, field: str) -> str | None:
        return self.find(field)[1]

    def location(self) -> str | None:
        name = scalar_text(self.payload.get("file_name"))
        row = self.payload.get("row_number")
        if name is None:
            return None
        return f"{name} row {row}" if isinstance(row, int) and not isinstance(row, bool) else name

    def loaded_at(self) -> datetime | None:
        value = self.payload.get("loaded_at")
        return parse_timestamp(value) if isinstance(value, str) else None

    def dated(self, problems: list[str]) -> datetime | None:
        """The row's own date, or when the file was loaded if it gives none."""
        header, value = self.find(settings.DATE_FIELD[self.stream])
        if value is None:
            return self.loaded_at()
        order = self.payload.get("date_order")
        moment, problem = parse_date(value, order if order in ("DMY", "MDY") else None)
        if problem is not None:
            problems.append(f"the date in column '{header}' {problem}")
        return moment

    def record(
        self, *, kind: str | None, created_at: datetime | None, problems: list[str]
    ) -> SourceRecord:
        reader_problem = text(self.payload.get("problem"))
        record = SourceRecord(
            source="file_drop",
            stream=self.stream,
            record_id=record_id(self.payload),
            created_at=created_at,
            updated_at=created_at,  # a dropped row never changes: an edited file is a new file
            form_id=kind,
            location=self.location(),
            # The reader's problem alone when it has one: the values of a row it could not read
            # (shifted columns, undecodable bytes) are not worth judging one by one.
            unreadable=reader_problem or ("; ".join(problems) if problems else None),
        )
        if reader_problem is not None:
            return record
        first, last = self.value("first_name"), self.value("last_name")
        if first is None or last is None:
            split_first, split_last = _split_name(self.value("full_name"))
            first, last = first or split_first, last or split_last
        record.email = self.value("email")
        record.phone = self.value("phone")
        record.first_name = first
        record.last_name = last
        record.company = self.value("company")
        record.job_title = self.value("job_title")
        record.country = self.value("country")
        return record


def _split_name(full_name: str | None) -> tuple[str | None, str | None]:
    """'Ana Souza' or 'Souza, Ana' (registration exports write both) -> ('Ana', 'Souza')."""
    if full_name is not None and full_name.count(",") == 1:
        last, first = (part.strip() for part in full_name.split(","))
        if first and last:
            return first, last
    return split_full_name(full_name)


def _attendance(row: _Row, problems: list[str]) -> str | None:
    """attended | registered, from the status column; no status at all means attended."""
    header, value = row.find("status")
    if value is None:
        return settings.KIND_ATTENDED
    word = settings.status_key(value)
    if word in settings.ATTENDED:
        return settings.KIND_ATTENDED
    if word in settings.REGISTERED:
        return settings.KIND_REGISTERED
    problems.append(
        f"column '{header}' says neither attended nor registered "
        "(connectors/file_drop/README.md lists the words LeadFlow reads)"
    )
    return None


def parse_event(payload: dict[str, Any], partition: str | None = None) -> SourceRecord:
    """An attendee list row: the person, with `form_id` the kind of row (attended or registered),
    which the source's config maps to an intent event. The event's name stays in raw for dbt."""
    row = _Row(payload, "events")
    problems: list[str] = []
    kind = _attendance(row, problems)
    created = row.dated(problems)
    loaded = row.loaded_at()
    if kind == settings.KIND_REGISTERED and created and loaded and created > loaded:
        created = loaded  # registered before the file was loaded, for an event still to come
    return row.record(kind=kind, created_at=created, problems=problems)


def parse_referral(payload: dict[str, Any], partition: str | None = None) -> SourceRecord:
    """A referral row: the referred person. Who referred them and the note stay in raw for dbt."""
    row = _Row(payload, "referrals")
    problems: list[str] = []
    created = row.dated(problems)
    return row.record(kind=settings.KIND_REFERRAL, created_at=created, problems=problems)
