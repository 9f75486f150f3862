"""Property tests for the pure on-call functions across DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from escalations import oncall
from escalations.oncall import OverrideSpec, RestrictionSpec, RotationSpec, ScheduleSpec

ZONES = ["Europe/Dublin", "Asia/Singapore", "America/Chicago", "America/Los_Angeles", "Europe/Istanbul"]

PROPERTY_SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@cache
def transitions(zone: str, year: int) -> tuple[datetime, ...]:
    """Instants in `year` when the zone's UTC offset changes (to the minute)."""
    tz = ZoneInfo(zone)
    out = []
    t = datetime(year, 1, 1, tzinfo=UTC)
    end = datetime(year + 1, 1, 1, tzinfo=UTC)
    prev = t.astimezone(tz).utcoffset()
    while t < end:
        nxt = t + timedelta(hours=6)
        off = nxt.astimezone(tz).utcoffset()
        if off != prev:
            lo, hi = t, nxt
            while hi - lo > timedelta(minutes=1):
                mid = lo + (hi - lo) / 2
                if mid.astimezone(tz).utcoffset() == prev:
                    lo = mid
                else:
                    hi = mid
            out.append(hi.replace(second=0, microsecond=0))
            prev = off
        t = nxt
    return tuple(out)


def near_transition(zone: str, instant: datetime, margin: timedelta = timedelta(hours=3)) -> bool:
    return any(abs(instant - t) < margin for y in (instant.year - 1, instant.year, instant.year + 1) for t in transitions(zone, y))


times_of_day = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))


@st.composite
def windows(draw, zone: str):
    """A window that usually straddles one of the zone's offset changes."""
    year = draw(st.integers(2014, 2031))
    changes = transitions(zone, year)
    if changes and draw(st.booleans()):
        pivot = draw(st.sampled_from(changes))
    else:
        pivot = datetime(year, 1, 1, tzinfo=UTC) + timedelta(days=draw(st.integers(0, 364)))
    start = pivot - timedelta(minutes=draw(st.integers(0, 4 * 24 * 60)))
    length = timedelta(minutes=draw(st.integers(60, 6 * 24 * 60)))
    return start, start + length


@st.composite
def restrictions(draw):
    count = draw(st.integers(1, 2))
    return tuple(
        RestrictionSpec(
            weekdays=frozenset(draw(st.sets(st.integers(0, 6), min_size=1, max_size=7))),
            start=draw(times_of_day),
            end=draw(times_of_day),
            time_zone=draw(st.sampled_from([None, *ZONES])),
        )
        for _ in range(count)
    )


@st.composite
def rotations(draw, layer: int = 1, restricted: bool | None = None, start_before: date | None = None):
    unit = draw(st.sampled_from([oncall.UNIT_HOURS, oncall.UNIT_DAYS, oncall.UNIT_WEEKS]))
    length = draw({oncall.UNIT_HOURS: st.integers(1, 36), oncall.UNIT_DAYS: st.integers(1, 8), oncall.UNIT_WEEKS: st.integers(1, 2)}[unit])
    if start_before is not None:
        start_date = start_before - timedelta(days=draw(st.integers(1, 400)))
    else:
        start_date = date(2013, 1, 1) + timedelta(days=draw(st.integers(0, 365 * 19)))
    has_restrictions = draw(st.booleans()) if restricted is None else restricted
    return RotationSpec(
        layer=layer,
        members=tuple(draw(st.lists(st.integers(1, 9), min_size=1, max_size=4))),
        shift_unit=unit,
        shift_length=length,
        handoff_time=draw(times_of_day),
        start_date=start_date,
        restrictions=draw(restrictions()) if has_restrictions else (),
    )


@st.composite
def scenario(draw, restricted: bool | None = None, layers: int = 1):
    zone = draw(st.sampled_from(ZONES))
    start, end = draw(windows(zone))
    rots = tuple(draw(rotations(layer=i + 1, restricted=restricted, start_before=start.date())) for i in range(layers))
    return zone, rots, start, end


def assert_well_formed(shifts, start, end):
    for shift in shifts:
        assert start <= shift.start < shift.end <= end, shift
    for a, b in zip(shifts, shifts[1:], strict=False):
        assert a.end <= b.start, f"overlap: {a} / {b}"


def covered(shifts) -> list[tuple[datetime, datetime]]:
    return oncall.merge_intervals((s.start, s.end) for s in shifts)


def restriction_oracle(rotation: RotationSpec, zone: str, instant: datetime) -> bool:
    for r in rotation.restrictions:
        local = instant.astimezone(ZoneInfo(r.time_zone or zone)).replace(tzinfo=None)
        for day_back in (0, 1):
            day = local.date() - timedelta(days=day_back)
            if day.weekday() not in r.weekdays:
                continue
            w_start = datetime.combine(day, r.start)
            w_end = datetime.combine(day, r.end)
            if w_end <= w_start:
                w_end += timedelta(days=1)
            if w_start <= local < w_end:
                return True
    return False


def sample_instants(start, end, n=12):
    step = (end - start) / n
    return [start + step * i for i in range(n)]


@PROPERTY_SETTINGS
@given(scenario(restricted=False))
def test_unrestricted_rotation_covers_every_instant_once(case):
    zone, rots, start, end = case
    shifts = oncall.shifts_between(ScheduleSpec(zone, rots), start, end)
    assert_well_formed(shifts, start, end)
    assert covered(shifts) == [(start, end)]


@PROPERTY_SETTINGS
@given(scenario(restricted=True))
def test_restricted_rotation_covers_exactly_its_windows(case):
    zone, rots, start, end = case
    shifts = oncall.shifts_between(ScheduleSpec(zone, rots), start, end)
    assert_well_formed(shifts, start, end)
    for instant in sample_instants(start, end, 24):
        if any(near_transition(z, instant) for z in {zone, *(r.time_zone for r in rots[0].restrictions if r.time_zone)}):
            continue
        expected = restriction_oracle(rots[0], zone, instant)
        assert bool(oncall.oncall_at(ScheduleSpec(zone, rots), instant)) == expected, instant


@PROPERTY_SETTINGS
@given(scenario(layers=3))
def test_every_instant_in_a_shift_is_reported_by_oncall_at(case):
    zone, rots, start, end = case
    spec = ScheduleSpec(zone, rots)
    shifts = oncall.shifts_between(spec, start, end)
    assert_well_formed(shifts, start, end)
    for shift in shifts:
        for instant in (shift.start, shift.start + (shift.end - shift.start) / 2, shift.end - timedelta(microseconds=1)):
            assert oncall.oncall_at(spec, instant) == [shift.user_id], (shift, instant)
    for gap_start, gap_end in oncall.subtract_intervals((start, end), covered(shifts)):
        assert oncall.oncall_at(spec, gap_start) == []
        assert oncall.oncall_at(spec, gap_end - timedelta(microseconds=1)) == []


@PROPERTY_SETTINGS
@given(scenario(layers=3))
def test_highest_layer_with_someone_wins_and_layers_leave_no_extra_gaps(case):
    zone, rots, start, end = case
    spec = ScheduleSpec(zone, rots)
    shifts = oncall.shifts_between(spec, start, end)
    by_layer = oncall.layer_shifts_between(spec, start, end)
    union = oncall.merge_intervals((s.start, s.end) for layer in by_layer.values() for s in layer)
    assert covered(shifts) == union
    for instant in sample_instants(start, end, 16):
        candidates = [(layer, s.user_id) for layer, items in by_layer.items() for s in items if s.start <= instant < s.end]
        expected = [max(candidates)[1]] if candidates else []
        assert oncall.oncall_at(spec, instant) == expected


@PROPERTY_SETTINGS
@given(st.data())
def test_local_handoff_time_stays_put_across_dst(data):
    zone, rots, start, end = data.draw(scenario(restricted=False))
    rotation = rots[0]
    if rotation.shift_unit == oncall.UNIT_HOURS:
        rotation = RotationSpec(**{**rotation.__dict__, "shift_unit": oncall.UNIT_DAYS, "shift_length": 1})
    tz = ZoneInfo(zone)
    shifts = oncall.shifts_between(ScheduleSpec(zone, (rotation,)), start, end)
    for shift in shifts:
        if shift.start == start:
            continue  # clipped by the window, not a handoff
        local = shift.start.astimezone(tz)
        wanted = datetime.combine(local.date(), rotation.handoff_time)
        if oncall.local_to_utc(wanted, tz).astimezone(tz).replace(tzinfo=None) != wanted:
            # The handoff time does not exist that day: the handoff is when the clocks jump.
            assert oncall.local_to_utc(wanted, tz) == shift.start
        else:
            assert local.time() == rotation.handoff_time, (shift, local)


@PROPERTY_SETTINGS
@given(st.data())
def test_override_replaces_exactly_its_span(data):
    zone, rots, start, end = data.draw(scenario(layers=2))
    span = end - start
    o_start = start + span * data.draw(st.floats(-0.2, 0.9))
    o_end = o_start + span * data.draw(st.floats(0.01, 0.8))
    o_start, o_end = o_start.replace(microsecond=0), o_end.replace(microsecond=0)
    if o_end <= o_start:
        o_end = o_start + timedelta(minutes=1)
    override = OverrideSpec(user_id=42, start=o_start, end=o_end)
    base = oncall.shifts_between(ScheduleSpec(zone, rots), start, end)
    with_override = oncall.shifts_between(ScheduleSpec(zone, rots, (override,)), start, end)
    assert_well_formed(with_override, start, end)

    clip = (max(o_start, start), min(o_end, end))
    overrides = [(s.start, s.end, s.user_id) for s in with_override if s.source == oncall.OVERRIDE]
    assert overrides == ([(*clip, 42)] if clip[1] > clip[0] else [])

    outside = [(a, b) for a, b in ((start, clip[0]), (clip[1], end)) if b > a] if clip[1] > clip[0] else [(start, end)]
    expected = []
    for shift in base:
        for a, b in oncall.intersect_intervals((shift.start, shift.end), outside):
            if b > a:
                expected.append((a, b, shift.user_id, shift.layer))
    got = [(s.start, s.end, s.user_id, s.layer) for s in with_override if s.source == oncall.ROTATION]
    assert got == expected


@PROPERTY_SETTINGS
@given(st.sampled_from(ZONES), st.integers(2014, 2031), st.data())
def test_local_to_utc_never_runs_backwards_around_changes(zone, year, data):
    tz = ZoneInfo(zone)
    changes = transitions(zone, year) or (datetime(year, 6, 1, tzinfo=UTC),)
    pivot = data.draw(st.sampled_from(changes)).astimezone(tz).replace(tzinfo=None)
    naive = pivot + timedelta(minutes=data.draw(st.integers(-120, 60)))
    later = naive + timedelta(minutes=data.draw(st.integers(1, 90)))
    assert oncall.local_to_utc(naive, tz) <= oncall.local_to_utc(later, tz)
    # A time that exists round-trips; its first occurrence is the one chosen.
    instant = oncall.local_to_utc(naive, tz)
    if instant.astimezone(tz).replace(tzinfo=None) == naive:
        assert instant == naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
