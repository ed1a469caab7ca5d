"""The rep calendar: availability with reasons, working minutes, due dates; DST-correct."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest

from leadflow.config import Availability
from routing.calendar import (
    add_working_minutes,
    available_intervals,
    is_available,
    working_minutes_between,
)


def cal(**kw: Any) -> Availability:
    return Availability.model_validate(kw)


BERLIN = cal(
    timezone="Europe/Berlin",
    working_hours={d: "09:00-17:30" for d in ("mon", "tue", "wed", "thu", "fri")},
    out_of_office=[
        {"start": "2026-11-30", "end": "2026-12-01"},
        {"start": "2026-12-10T12:00:00", "end": "2026-12-10T15:00:00"},
    ],
    holidays=["2026-12-25"],
)
NIGHT = cal(timezone="Europe/Berlin", working_hours={"sat": "22:00-06:00"})
NEW_YORK = cal(timezone="America/New_York")


def u(*args: int) -> datetime:
    return datetime(*args)  # type: ignore[arg-type]  # naive = UTC, as in the warehouse


# --------------------------------------------------------------------------- is_available


@pytest.mark.parametrize(
    ("availability", "at", "expected"),
    [
        pytest.param(None, u(2026, 11, 29, 3, 0), (True, "no calendar configured"), id="none"),
        pytest.param(
            BERLIN,
            u(2026, 11, 24, 9, 0),
            (True, "within working hours (Europe/Berlin 10:00 Tue)"),
            id="working",
        ),
        pytest.param(
            BERLIN,
            u(2026, 11, 24, 18, 5),
            (False, "outside working hours (Europe/Berlin 19:05 Tue)"),
            id="evening",
        ),
        pytest.param(
            BERLIN,
            u(2026, 11, 24, 16, 30),
            (False, "outside working hours (Europe/Berlin 17:30 Tue)"),
            id="end-is-exclusive",
        ),
        pytest.param(
            BERLIN,
            u(2026, 11, 28, 10, 0),
            (False, "outside working hours (Europe/Berlin 11:00 Sat)"),
            id="weekend",
        ),
        pytest.param(BERLIN, u(2026, 12, 25, 10, 0), (False, "holiday 2026-12-25"), id="holiday"),
        pytest.param(
            BERLIN,
            u(2026, 12, 1, 10, 0),
            (False, "out of office until 2026-12-01"),
            id="ooo-dates-inclusive",
        ),
        pytest.param(
            BERLIN,
            u(2026, 12, 10, 12, 0),
            (False, "out of office until 2026-12-10 15:00"),
            id="ooo-datetimes-local",
        ),
        pytest.param(
            BERLIN,
            u(2026, 12, 10, 14, 0),
            (True, "within working hours (Europe/Berlin 15:00 Thu)"),
            id="after-ooo-ends",
        ),
        pytest.param(cal(paused=True), u(2026, 11, 24, 10, 0), (False, "paused"), id="paused"),
        pytest.param(
            NIGHT,
            u(2026, 11, 29, 3, 0),
            (True, "within working hours (Europe/Berlin 04:00 Sun)"),
            id="overnight-tail",
        ),
        pytest.param(
            NEW_YORK,
            datetime(2026, 11, 24, 9, 30, tzinfo=UTC),
            (False, "outside working hours (America/New_York 04:30 Tue)"),
            id="aware-utc",
        ),
    ],
)
def test_is_available_says_yes_or_no_with_a_reason(
    availability: Availability | None, at: datetime, expected: tuple[bool, str]
) -> None:
    # GIVEN a rep's calendar WHEN asked about one instant THEN the answer and the reason are right
    assert is_available(availability, at) == expected


def test_a_holiday_blocks_the_tail_of_an_overnight_shift_that_began_the_day_before() -> None:
    # GIVEN a Saturday night shift and Sunday 2026-11-29 declared a holiday
    rep = NIGHT.model_copy(update={"holidays": [datetime(2026, 11, 29).date()]})
    # THEN Saturday 23:00 is worked but Sunday 03:00 local is not
    assert is_available(rep, u(2026, 11, 28, 22, 0))[0] is True
    assert is_available(rep, u(2026, 11, 29, 2, 0)) == (False, "holiday 2026-11-29")


# --------------------------------------------------------------------------- working minutes


@pytest.mark.parametrize(
    ("availability", "start", "end", "minutes"),
    [
        pytest.param(None, u(2026, 11, 28, 0, 0), u(2026, 11, 28, 1, 30), 90.0, id="none-wall"),
        pytest.param(BERLIN, u(2026, 11, 24, 9, 0), u(2026, 11, 24, 8, 0), 0.0, id="reversed"),
        pytest.param(
            BERLIN, u(2026, 11, 24, 9, 0), u(2026, 11, 24, 9, 5), 5.0, id="inside-one-shift"
        ),
        pytest.param(
            # Tue 16:00 local -> Wed 09:30 local: 90 min before close + 30 min after opening
            BERLIN,
            u(2026, 11, 24, 15, 0),
            u(2026, 11, 25, 8, 30),
            120.0,
            id="across-a-night",
        ),
        pytest.param(
            # Fri 17:00 local -> Mon 09:10 local: 30 + 10 minutes, the weekend does not count
            BERLIN,
            u(2026, 11, 20, 16, 0),
            u(2026, 11, 23, 8, 10),
            40.0,
            id="across-a-weekend",
        ),
        pytest.param(
            # Thu 24 Dec 17:00 -> Mon 28 Dec 09:05: Fri 25 is a holiday
            BERLIN,
            u(2026, 12, 24, 16, 0),
            u(2026, 12, 28, 8, 5),
            35.0,
            id="across-a-holiday",
        ),
        pytest.param(
            # Fri 27 Nov 17:00 -> Wed 2 Dec 09:15: Mon 30 Nov and Tue 1 Dec are out of office
            BERLIN,
            u(2026, 11, 27, 16, 0),
            u(2026, 12, 2, 8, 15),
            45.0,
            id="across-ooo-days",
        ),
        pytest.param(
            # Thu 10 Dec 09:00 -> 17:30 local with 12:00-15:00 local out: 8.5 h - 3 h
            BERLIN,
            u(2026, 12, 10, 8, 0),
            u(2026, 12, 10, 16, 30),
            330.0,
            id="ooo-hours",
        ),
        pytest.param(
            # Sat 28 Mar 2026 22:00 CET -> Sun 06:00 CEST: clocks jump forward, a 7 hour shift
            cal(timezone="Europe/Berlin", working_hours={"sat": "22:00-06:00"}),
            u(2026, 3, 28, 12, 0),
            u(2026, 3, 29, 12, 0),
            420.0,
            id="dst-spring-overnight",
        ),
        pytest.param(
            # Sat 24 Oct 2026 22:00 CEST -> Sun 06:00 CET: clocks fall back, a 9 hour shift
            cal(timezone="Europe/Berlin", working_hours={"sat": "22:00-06:00"}),
            u(2026, 10, 24, 12, 0),
            u(2026, 10, 25, 12, 0),
            540.0,
            id="dst-autumn-overnight",
        ),
        pytest.param(
            # The Monday after the US change: 09:00 EST is 14:00 UTC, not 13:00
            NEW_YORK,
            u(2026, 11, 2, 13, 0),
            u(2026, 11, 2, 14, 30),
            30.0,
            id="dst-new-york",
        ),
        pytest.param(
            cal(working_hours={"mon": "00:00-24:00"}),
            u(2026, 11, 22, 23, 0),
            u(2026, 11, 24, 1, 0),
            1440.0,
            id="whole-day-24h",
        ),
    ],
)
def test_working_minutes_between(
    availability: Availability | None, start: datetime, end: datetime, minutes: float
) -> None:
    # GIVEN a calendar WHEN counting working time between two instants THEN only worked time counts
    assert working_minutes_between(availability, start, end) == pytest.approx(minutes)


# --------------------------------------------------------------------------- due dates


@pytest.mark.parametrize(
    ("availability", "start", "minutes", "due"),
    [
        pytest.param(None, u(2026, 11, 28, 3, 0), 5, u(2026, 11, 28, 3, 5), id="none"),
        pytest.param(BERLIN, u(2026, 11, 24, 9, 0), 5, u(2026, 11, 24, 9, 5), id="same-shift"),
        pytest.param(BERLIN, u(2026, 11, 24, 16, 28), 5, u(2026, 11, 25, 8, 3), id="overnight"),
        pytest.param(
            BERLIN, u(2026, 11, 20, 20, 0), 240, u(2026, 11, 23, 12, 0), id="friday-evening"
        ),
        pytest.param(BERLIN, u(2026, 12, 24, 16, 0), 60, u(2026, 12, 28, 8, 30), id="holiday"),
        pytest.param(BERLIN, u(2026, 11, 24, 20, 0), 0, u(2026, 11, 25, 8, 0), id="zero-waits"),
    ],
)
def test_add_working_minutes_gives_the_due_instant(
    availability: Availability | None, start: datetime, minutes: float, due: datetime
) -> None:
    # GIVEN a start and a limit WHEN computing the due date THEN it lands in working time
    assert add_working_minutes(availability, start, minutes) == due


def test_due_date_and_working_minutes_agree() -> None:
    # GIVEN any start WHEN adding N working minutes THEN exactly N working minutes lie in between
    start = u(2026, 11, 20, 15, 47)
    for minutes in (1, 5, 44, 240, 1000, 5000):
        due = add_working_minutes(BERLIN, start, minutes)
        assert working_minutes_between(BERLIN, start, due) == pytest.approx(minutes)


def test_aware_input_gives_aware_utc_output() -> None:
    due = add_working_minutes(BERLIN, datetime(2026, 11, 24, 10, 0, tzinfo=UTC), 5)
    assert due == datetime(2026, 11, 24, 10, 5, tzinfo=UTC) and due.tzinfo is not None


def test_a_calendar_with_no_time_left_raises_instead_of_looping() -> None:
    # GIVEN a rep out of office for ever
    gone = cal(out_of_office=[{"start": "2026-01-01", "end": "2099-12-31"}])
    # WHEN a due date is asked for THEN a clear ValueError, not an endless loop
    with pytest.raises(ValueError, match="no 5 working minutes within"):
        add_working_minutes(gone, u(2026, 6, 1), 5)


def test_intervals_are_disjoint_and_sorted() -> None:
    spans = available_intervals(BERLIN, u(2026, 11, 23), u(2026, 11, 30))
    assert len(spans) == 5
    assert all(a[1] <= b[0] for a, b in pairwise(spans))
    assert sum((e - s for s, e in spans), timedelta()) == timedelta(hours=42, minutes=30)


# --------------------------------------------------------------------------- config


@pytest.mark.parametrize(
    ("availability", "message"),
    [
        pytest.param({"timezone": "Mars/Olympus"}, "is not an IANA time zone", id="bad-zone"),
        pytest.param({"working_hours": {"monday": "09:00-17:00"}}, "is not a weekday", id="day"),
        pytest.param({"working_hours": {"mon": "9-5"}}, "is not HH:MM-HH:MM", id="hours"),
        pytest.param({"working_hours": {"mon": "09:00-09:00"}}, "empty range", id="empty"),
        pytest.param({"working_hours": {}}, "lists no day", id="no-days"),
        pytest.param(
            {"out_of_office": [{"start": "2026-12-02", "end": "2026-12-01"}]},
            "end is before its start",
            id="ooo-reversed",
        ),
        pytest.param(
            {"out_of_office": [{"start": "2026-12-01", "end": "2026-12-02T10:00:00"}]},
            "both be dates or both datetimes",
            id="ooo-mixed",
        ),
    ],
)
def test_a_bad_calendar_is_one_clear_config_error(
    availability: dict[str, Any], message: str
) -> None:
    # GIVEN a mistake in a calendar WHEN validated THEN one line naming the problem
    with pytest.raises(ValueError, match=message):
        Availability.model_validate(availability)
