"""Business-time arithmetic: worked examples and properties (weekends, holidays, DST)."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from escalations.sla_calendar import MAX_DAYS, CalendarError, CalendarSpec, business_add, business_elapsed

WEEKDAYS_9_1730 = {str(d): [["09:00", "17:30"]] for d in range(5)}
DUBLIN = ZoneInfo("Europe/Dublin")
CHICAGO = ZoneInfo("America/Chicago")


def office(zone="Europe/Dublin", hours=None, holidays=()):
    return CalendarSpec.build(time_zone=zone, working_hours=hours or WEEKDAYS_9_1730, holidays=holidays)


def local(zone, *args):
    return datetime(*args, tzinfo=zone)


# --- worked examples ----------------------------------------------------------------


def test_a_24x7_calendar_is_wall_clock_time():
    start = datetime(2026, 3, 7, 23, 0, tzinfo=UTC)
    assert business_add(start, timedelta(hours=5), None) == start + timedelta(hours=5)
    assert business_elapsed(start, start + timedelta(hours=5), None) == timedelta(hours=5)


def test_friday_afternoon_plus_four_hours_lands_on_monday_morning():
    friday = local(DUBLIN, 2026, 11, 20, 15, 0)  # a Friday
    due = business_add(friday, timedelta(hours=4), office())
    assert due == local(DUBLIN, 2026, 11, 23, 10, 30)  # 2.5 h Friday, 1.5 h Monday


def test_a_start_outside_hours_waits_for_the_next_opening():
    saturday = local(DUBLIN, 2026, 11, 21, 12, 0)
    assert business_add(saturday, timedelta(minutes=30), office()) == local(DUBLIN, 2026, 11, 23, 9, 30)
    evening = local(DUBLIN, 2026, 11, 23, 19, 0)
    assert business_add(evening, timedelta(hours=1), office()) == local(DUBLIN, 2026, 11, 24, 10, 0)


def test_holidays_are_skipped():
    christmas = office(holidays=[date(2026, 12, 25)])
    thursday = local(DUBLIN, 2026, 12, 24, 17, 0)
    # 30 min on Thursday, Friday the 25th is a holiday, the weekend is closed: Monday 09:30.
    assert business_add(thursday, timedelta(hours=1), christmas) == local(DUBLIN, 2026, 12, 28, 9, 30)
    assert business_elapsed(thursday, local(DUBLIN, 2026, 12, 28, 9, 30), christmas) == timedelta(hours=1)


def test_a_working_day_is_the_same_length_on_dst_change_days():
    # Dublin leaves summer time on Sunday 25 October 2026; Chicago on Sunday 1 November 2026.
    every_day = {str(d): [["09:00", "17:00"]] for d in range(7)}
    for zone, day in (("Europe/Dublin", (2026, 10, 25)), ("America/Chicago", (2026, 11, 1))):
        tz = ZoneInfo(zone)
        cal = office(zone, every_day)
        start = local(tz, *day, 9, 0)
        assert business_add(start, timedelta(hours=8), cal) == local(tz, *day, 17, 0)
        # The wall-clock night around the change is 16 h + 1 h of repeated hour, but business time only counts the day.
        assert business_elapsed(local(tz, *day, 0, 0), local(tz, day[0], day[1], day[2] + 1, 0, 0), cal) == timedelta(hours=8)


def test_business_hours_follow_the_calendar_zone_not_utc():
    singapore = office("Asia/Singapore")
    start = datetime(2026, 11, 23, 0, 30, tzinfo=UTC)  # 08:30 in Singapore, Monday
    assert business_add(start, timedelta(hours=1), singapore) == datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 SGT


def test_working_hours_to_midnight_and_split_days():
    cal = office(hours={"0": [["08:00", "12:00"], ["13:00", "24:00"]]})
    monday = local(DUBLIN, 2026, 11, 23, 11, 0)
    assert business_add(monday, timedelta(hours=2), cal) == local(DUBLIN, 2026, 11, 23, 14, 0)
    assert business_add(monday, timedelta(hours=12), cal) == local(DUBLIN, 2026, 11, 24, 0, 0)  # Monday 24:00
    assert business_add(monday, timedelta(hours=13), cal) == local(DUBLIN, 2026, 11, 30, 9, 0)


def test_bad_calendars_and_inputs_are_refused():
    with pytest.raises(CalendarError):
        CalendarSpec.build(time_zone="UTC", working_hours={})
    with pytest.raises(CalendarError):
        business_add(datetime(2026, 1, 1), timedelta(hours=1), office())  # naive
    with pytest.raises(CalendarError):
        business_add(datetime(2026, 1, 1, tzinfo=UTC), timedelta(hours=-1), office())
    only_holidays = office(hours={"0": [["09:00", "10:00"]]}, holidays=[date(2026, 1, 5) + timedelta(weeks=w) for w in range(200)])
    with pytest.raises(CalendarError):
        business_add(datetime(2026, 1, 1, tzinfo=UTC), timedelta(hours=1), only_holidays)


# --- properties ---------------------------------------------------------------------

ZONES = ["Europe/Dublin", "Asia/Singapore", "America/Chicago"]
instants = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31)).map(lambda d: d.replace(tzinfo=UTC))
durations = st.integers(min_value=0, max_value=200 * 3600).map(lambda s: timedelta(seconds=s))


@st.composite
def calendars(draw):
    zone = draw(st.sampled_from(ZONES))
    hours = {}
    for day in range(7):
        if draw(st.booleans()):
            start = draw(st.integers(min_value=0, max_value=22))
            end = draw(st.integers(min_value=start + 1, max_value=24))
            hours[str(day)] = [[f"{start:02d}:{draw(st.sampled_from([0, 30])):02d}", "24:00" if end == 24 else f"{end:02d}:00"]]
    if not hours:
        hours["2"] = [["09:00", "17:00"]]
    holidays = draw(st.lists(st.dates(min_value=date(2025, 1, 1), max_value=date(2028, 12, 31)), max_size=10))
    return CalendarSpec.build(time_zone=zone, working_hours=hours, holidays=holidays)


def add_or_refuse(start, duration, cal):
    """business_add, where a refusal is only allowed when the calendar truly has too little
    working time within the search horizon (e.g. one hour a week for 200 hours)."""
    try:
        return business_add(start, duration, cal)
    except CalendarError:
        weekly = sum(
            ((24 * 60 if end is None else end.hour * 60 + end.minute) - (begin.hour * 60 + begin.minute)) * 60
            for spans in cal.hours.values()
            for begin, end in spans
        )
        assert timedelta(seconds=weekly) * (MAX_DAYS // 7 - 12) < duration  # 10 holidays at most, DST slack
        assume(False)


@settings(max_examples=150, deadline=None)
@given(calendars(), instants, durations)
def test_round_trip_elapsed_of_add_is_the_duration(cal, start, duration):
    due = add_or_refuse(start, duration, cal)
    assert due >= start
    assert business_elapsed(start, due, cal) == duration


@settings(max_examples=150, deadline=None)
@given(calendars(), instants, durations, durations)
def test_add_is_monotonic_and_additive(cal, start, a, b):
    first = add_or_refuse(start, a, cal)
    both = add_or_refuse(start, a + b, cal)
    assert first <= both
    assert business_elapsed(start, both, cal) == a + b
    assert business_elapsed(first, both, cal) == b


@settings(max_examples=150, deadline=None)
@given(calendars(), instants, instants, instants)
def test_elapsed_is_monotonic_and_bounded_by_wall_time(cal, a, b, c):
    start, middle, end = sorted([a, b, c])
    assert business_elapsed(start, middle, cal) <= business_elapsed(start, end, cal)
    assert business_elapsed(start, end, cal) <= end - start
    assert business_elapsed(start, middle, cal) + business_elapsed(middle, end, cal) == business_elapsed(start, end, cal)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(ZONES), instants, durations)
def test_a_24x7_calendar_equals_wall_clock(zone, start, duration):
    always = CalendarSpec.build(time_zone=zone, working_hours={str(d): [["00:00", "24:00"]] for d in range(7)})
    assert business_add(start, duration, always) == start + duration
    assert business_add(start, duration, None) == start + duration
    assert business_elapsed(start, start + duration, always) == duration
