"""Worked examples of the on-call rules, each a case people ask about."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from escalations import oncall
from escalations.oncall import OverrideSpec, RestrictionSpec, RotationSpec, ScheduleSpec

DUBLIN = ZoneInfo("Europe/Dublin")
ANN, BOB, CAT, DAN, EVE, FAY, GUS = range(1, 8)


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def daily(members, handoff=time(9), start=date(2026, 3, 1), layer=1, restrictions=(), unit=oncall.UNIT_DAYS, length=1):
    return RotationSpec(
        layer=layer,
        members=tuple(members),
        shift_unit=unit,
        shift_length=length,
        handoff_time=handoff,
        start_date=start,
        restrictions=tuple(restrictions),
    )


def test_daily_0900_dublin_handoff_stays_at_0900_local_across_the_spring_change():
    spec = ScheduleSpec("Europe/Dublin", (daily([ANN, BOB]),))
    shifts = oncall.shifts_between(spec, utc(2026, 3, 27), utc(2026, 4, 1))
    handoffs = [s.start.astimezone(DUBLIN) for s in shifts[1:]]
    assert all(h.time() == time(9) for h in handoffs)
    # 09:00 GMT before the change is 09:00 UTC, 09:00 IST after it is 08:00 UTC.
    assert [s.start for s in shifts[1:3]] == [utc(2026, 3, 27, 9), utc(2026, 3, 28, 9)]
    assert shifts[3].start == utc(2026, 3, 29, 8)
    # The shift across the change is an hour short in real time.
    assert shifts[2].end - shifts[2].start == timedelta(hours=23)


def test_handoff_inside_the_skipped_hour_happens_when_the_clocks_jump():
    spec = ScheduleSpec("Europe/Dublin", (daily([ANN, BOB], handoff=time(1, 30)),))
    shifts = oncall.shifts_between(spec, utc(2026, 3, 28, 12), utc(2026, 3, 30, 12))
    assert utc(2026, 3, 29, 1) in [s.start for s in shifts]  # 01:00 GMT = 02:00 IST


def test_handoff_inside_the_repeated_hour_takes_its_first_occurrence():
    spec = ScheduleSpec("Europe/Dublin", (daily([ANN, BOB], handoff=time(1, 30)),))
    shifts = oncall.shifts_between(spec, utc(2026, 10, 24, 12), utc(2026, 10, 26, 12))
    assert utc(2026, 10, 25, 0, 30) in [s.start for s in shifts]  # 01:30 IST, not 01:30 GMT


def test_members_rotate_shift_by_shift_in_order():
    spec = ScheduleSpec("UTC", (daily([ANN, BOB, CAT], start=date(2026, 1, 5)),))
    shifts = oncall.shifts_between(spec, utc(2026, 1, 5, 9), utc(2026, 1, 10, 9))
    assert [s.user_id for s in shifts] == [ANN, BOB, CAT, ANN, BOB]


def test_nobody_is_on_call_before_a_rotation_starts():
    spec = ScheduleSpec("UTC", (daily([ANN], start=date(2026, 1, 5)),))
    assert oncall.oncall_at(spec, utc(2026, 1, 5, 8, 59)) == []
    assert oncall.oncall_at(spec, utc(2026, 1, 5, 9)) == [ANN]


def test_tuesday_to_saturday_rotation_leaves_sunday_and_monday_uncovered():
    tue_sat = RestrictionSpec(weekdays=frozenset({1, 2, 3, 4, 5}), start=time(0), end=time(0))
    spec = ScheduleSpec("Europe/Dublin", (daily([ANN, BOB], handoff=time(0), restrictions=[tue_sat]),))
    # Week of Monday 2026-06-01 (IST, UTC+1).
    assert oncall.oncall_at(spec, utc(2026, 6, 1, 12)) == []  # Monday
    assert oncall.oncall_at(spec, utc(2026, 6, 2, 12)) != []  # Tuesday
    assert oncall.oncall_at(spec, utc(2026, 6, 6, 22, 59)) != []  # Saturday 23:59 local
    assert oncall.oncall_at(spec, utc(2026, 6, 6, 23, 0)) == []  # Sunday 00:00 local
    shifts = oncall.shifts_between(spec, utc(2026, 5, 31, 23), utc(2026, 6, 7, 23))
    assert [s.start.astimezone(DUBLIN).strftime("%a") for s in shifts] == ["Tue", "Wed", "Thu", "Fri", "Sat"]


def test_overnight_restriction_runs_past_midnight():
    nights = RestrictionSpec(weekdays=frozenset({6, 0, 1, 2, 3}), start=time(22), end=time(6))  # Sun–Thu nights
    spec = ScheduleSpec("UTC", (daily([ANN], restrictions=[nights]),))
    assert oncall.oncall_at(spec, utc(2026, 6, 8, 3)) == [ANN]  # Monday 03:00, from Sunday night
    assert oncall.oncall_at(spec, utc(2026, 6, 8, 12)) == []
    assert oncall.oncall_at(spec, utc(2026, 6, 13, 3)) == []  # Saturday 03:00: Friday night is not covered


def test_follow_the_sun_three_layers_hand_over_in_each_office_zone():
    weekdays = frozenset(range(5))
    office = time(8), time(16)
    begin = date(2025, 12, 1)
    spec = ScheduleSpec(
        "UTC",
        (
            daily([ANN, BOB], layer=3, start=begin, restrictions=[RestrictionSpec(weekdays, *office, time_zone="Europe/Dublin")]),
            daily([CAT, DAN], layer=2, start=begin, restrictions=[RestrictionSpec(weekdays, *office, time_zone="Asia/Singapore")]),
            daily([EVE, FAY], layer=1, start=begin, restrictions=[RestrictionSpec(weekdays, *office, time_zone="America/Los_Angeles")]),
        ),
    )
    # Wednesday 2026-01-14, winter: Dublin = UTC, Singapore = UTC+8, Los Angeles = UTC-8.
    assert oncall.oncall_at(spec, utc(2026, 1, 14, 1)) in ([CAT], [DAN])  # 09:00 Singapore
    assert oncall.oncall_at(spec, utc(2026, 1, 14, 10)) in ([ANN], [BOB])  # 10:00 Dublin
    assert oncall.oncall_at(spec, utc(2026, 1, 14, 17)) in ([EVE], [FAY])  # 09:00 Los Angeles
    # In winter the three offices leave no gap: 00:00-08:00 SG, 08:00-16:00 DUB, 16:00-24:00 LA (UTC).
    shifts = oncall.shifts_between(spec, utc(2026, 1, 14), utc(2026, 1, 15))
    assert oncall.merge_intervals((s.start, s.end) for s in shifts) == [(utc(2026, 1, 14), utc(2026, 1, 15))]
    # In July Dublin (UTC+1) and Los Angeles (UTC-7) move: Dublin starts 07:00 UTC, overlapping
    # Singapore's last hour, and Dublin, the higher layer, wins it.
    assert oncall.oncall_at(spec, utc(2026, 7, 15, 7, 30)) in ([ANN], [BOB])
    assert oncall.oncall_at(spec, utc(2026, 7, 15, 6, 30)) in ([CAT], [DAN])


def test_override_partly_overlapping_two_shifts_cuts_both():
    spec = ScheduleSpec(
        "UTC",
        (daily([ANN, BOB], start=date(2026, 2, 1)),),
        (OverrideSpec(user_id=GUS, start=utc(2026, 2, 1, 20), end=utc(2026, 2, 2, 13)),),
    )
    shifts = oncall.shifts_between(spec, utc(2026, 2, 1, 9), utc(2026, 2, 3, 9))
    assert [(s.start, s.end, s.user_id, s.source) for s in shifts] == [
        (utc(2026, 2, 1, 9), utc(2026, 2, 1, 20), ANN, oncall.ROTATION),
        (utc(2026, 2, 1, 20), utc(2026, 2, 2, 13), GUS, oncall.OVERRIDE),
        (utc(2026, 2, 2, 13), utc(2026, 2, 3, 9), BOB, oncall.ROTATION),
    ]


def test_override_wins_over_the_highest_layer():
    spec = ScheduleSpec(
        "UTC",
        (daily([ANN], layer=1), daily([BOB], layer=2)),
        (OverrideSpec(user_id=GUS, start=utc(2026, 3, 10, 10), end=utc(2026, 3, 10, 11)),),
    )
    assert oncall.oncall_at(spec, utc(2026, 3, 10, 9)) == [BOB]
    assert oncall.oncall_at(spec, utc(2026, 3, 10, 10, 30)) == [GUS]


def test_hourly_shifts_follow_the_wall_clock():
    spec = ScheduleSpec("America/Chicago", (daily([ANN, BOB, CAT], handoff=time(0), unit=oncall.UNIT_HOURS, length=8),))
    chicago = ZoneInfo("America/Chicago")
    shifts = oncall.shifts_between(spec, utc(2026, 11, 1, 5), utc(2026, 11, 2, 7))
    assert [s.start.astimezone(chicago).hour for s in shifts[1:]] == [8, 16, 0]
    assert shifts[0].end - shifts[0].start == timedelta(hours=9)  # 00:00-08:00 CDT→CST


def test_naive_times_are_refused():
    spec = ScheduleSpec("UTC", (daily([ANN]),))
    with pytest.raises(ValueError, match="timezone-aware"):
        oncall.oncall_at(spec, datetime(2026, 1, 1))
