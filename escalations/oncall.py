"""Who is on call: pure functions over plain dataclasses (no database).

Time model
----------
Every rotation is laid out in its schedule's wall clock. Shift k of a rotation
starts at local ``start_date + handoff_time + k * length`` (naive arithmetic),
so a daily 09:00 Europe/Dublin handoff stays at 09:00 across DST; a shift that
spans a change lasts an hour more or less in real time. Local times are turned
into instants by ``local_to_utc``:

- an ambiguous time (the repeated hour in autumn) takes its first occurrence
  (``fold=0``);
- a non-existent time (the skipped hour in spring) moves to the instant the
  clocks changed, i.e. the first valid local time after it.

That mapping never runs backwards, so consecutive shifts never overlap and
never leave a hole. Restriction windows use the same mapping, in their own zone when they name
one (follow-the-sun), else in the schedule's.

Layers: a higher layer wins wherever it has someone; overrides win over every
layer. ``shifts_between`` returns the resolved schedule as half-open,
non-overlapping ``[start, end)`` pieces, sorted by start.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil import rrule

ROTATION = "rotation"
OVERRIDE = "override"

UNIT_HOURS = "hours"
UNIT_DAYS = "days"
UNIT_WEEKS = "weeks"

Interval = tuple[datetime, datetime]


@dataclass(frozen=True)
class RestrictionSpec:
    """A weekly window in a wall clock: its own zone when given (follow-the-sun
    layers keep office hours in each office's zone), else the schedule's.
    end <= start runs past midnight into the next day; start == end is 24 hours
    from start."""

    weekdays: frozenset[int]
    start: time
    end: time
    time_zone: str | None = None


@dataclass(frozen=True)
class RotationSpec:
    layer: int
    members: tuple[int, ...]
    shift_unit: str
    shift_length: int
    handoff_time: time
    start_date: date
    restrictions: tuple[RestrictionSpec, ...] = ()
    name: str = ""


@dataclass(frozen=True)
class OverrideSpec:
    user_id: int
    start: datetime
    end: datetime


@dataclass(frozen=True)
class ScheduleSpec:
    time_zone: str
    rotations: tuple[RotationSpec, ...] = ()
    overrides: tuple[OverrideSpec, ...] = ()


@dataclass(frozen=True, order=True)
class Shift:
    start: datetime
    end: datetime
    user_id: int
    layer: int | None = field(default=None, compare=False)
    source: str = field(default=ROTATION, compare=False)


# -- wall clock ---------------------------------------------------------------


def _is_nonexistent(naive: datetime, tz: ZoneInfo) -> bool:
    aware = naive.replace(tzinfo=tz, fold=0)
    back = aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    return back != naive


def local_to_utc(naive: datetime, tz: ZoneInfo) -> datetime:
    """The instant of a wall-clock time: first occurrence when ambiguous, the
    moment the clocks jumped when it was skipped."""
    if not _is_nonexistent(naive, tz):
        return naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    # In a gap: fold=1 reads it with the offset after the change (an instant
    # before the jump), fold=0 with the offset before (an instant after it).
    # Offsets change on whole seconds, so search whole seconds in between.
    low = math.floor(naive.replace(tzinfo=tz, fold=1).timestamp())
    high = math.ceil(naive.replace(tzinfo=tz, fold=0).timestamp())
    before = datetime.fromtimestamp(low, UTC).astimezone(tz).utcoffset()
    while high - low > 1:
        mid = (low + high) // 2
        if datetime.fromtimestamp(mid, UTC).astimezone(tz).utcoffset() == before:
            low = mid
        else:
            high = mid
    return datetime.fromtimestamp(high, UTC)


def utc_to_local(instant: datetime, tz: ZoneInfo) -> datetime:
    return instant.astimezone(tz).replace(tzinfo=None)


def _check_aware(*values: datetime) -> None:
    for value in values:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("on-call times must be timezone-aware")


# -- interval arithmetic -------------------------------------------------------


def merge_intervals(intervals: Iterable[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def subtract_intervals(interval: Interval, taken: Sequence[Interval]) -> list[Interval]:
    """interval minus a sorted, merged list of intervals."""
    start, end = interval
    pieces: list[Interval] = []
    cursor = start
    for t_start, t_end in taken:
        if t_end <= cursor:
            continue
        if t_start >= end:
            break
        if t_start > cursor:
            pieces.append((cursor, min(t_start, end)))
        cursor = max(cursor, t_end)
        if cursor >= end:
            break
    if cursor < end:
        pieces.append((cursor, end))
    return pieces


def intersect_intervals(interval: Interval, windows: Sequence[Interval]) -> list[Interval]:
    """interval intersected with a sorted, merged list of windows."""
    start, end = interval
    out: list[Interval] = []
    for w_start, w_end in windows:
        if w_end <= start:
            continue
        if w_start >= end:
            break
        out.append((max(start, w_start), min(end, w_end)))
    return out


# -- rotations ------------------------------------------------------------------


def shift_step(rotation: RotationSpec) -> timedelta:
    if rotation.shift_unit == UNIT_HOURS:
        return timedelta(hours=rotation.shift_length)
    if rotation.shift_unit == UNIT_DAYS:
        return timedelta(days=rotation.shift_length)
    if rotation.shift_unit == UNIT_WEEKS:
        return timedelta(weeks=rotation.shift_length)
    raise ValueError(f"unknown shift unit {rotation.shift_unit!r}")


def restriction_windows(rotation: RotationSpec, tz: ZoneInfo, start: datetime, end: datetime) -> list[Interval]:
    """The rotation's restriction windows as instants, merged, covering [start, end)."""
    windows: list[Interval] = []
    for restriction in rotation.restrictions:
        if not restriction.weekdays:
            continue
        zone = ZoneInfo(restriction.time_zone) if restriction.time_zone else tz
        first_day = utc_to_local(start, zone).date() - timedelta(days=1)
        last_day = utc_to_local(end, zone).date() + timedelta(days=1)
        days = rrule.rrule(
            rrule.DAILY,
            dtstart=datetime.combine(first_day, time()),
            until=datetime.combine(last_day, time()),
            byweekday=sorted(restriction.weekdays),
        )
        for day in days:
            local_start = datetime.combine(day.date(), restriction.start)
            local_end = datetime.combine(day.date(), restriction.end)
            if local_end <= local_start:
                local_end += timedelta(days=1)
            windows.append((local_to_utc(local_start, zone), local_to_utc(local_end, zone)))
    return merge_intervals(windows)


def rotation_shifts(rotation: RotationSpec, tz: ZoneInfo, start: datetime, end: datetime) -> list[Shift]:
    """One layer's shifts overlapping [start, end), clipped to the window and to
    the rotation's restrictions."""
    if not rotation.members or rotation.shift_length <= 0 or end <= start:
        return []
    step = shift_step(rotation)
    anchor = datetime.combine(rotation.start_date, rotation.handoff_time)
    local_start = utc_to_local(start, tz)
    # One shift of slack either side absorbs the hour a DST change moves things.
    k = max(0, (local_start - anchor) // step - 1)
    windows = restriction_windows(rotation, tz, start, end) if rotation.restrictions else None
    shifts: list[Shift] = []
    members = rotation.members
    while True:
        shift_start = local_to_utc(anchor + k * step, tz)
        if shift_start >= end:
            break
        shift_end = local_to_utc(anchor + (k + 1) * step, tz)
        piece_start, piece_end = max(shift_start, start), min(shift_end, end)
        if piece_end > piece_start:
            user_id = members[k % len(members)]
            pieces = [(piece_start, piece_end)] if windows is None else intersect_intervals((piece_start, piece_end), windows)
            shifts.extend(Shift(start=s, end=e, user_id=user_id, layer=rotation.layer, source=ROTATION) for s, e in pieces if e > s)
        k += 1
    return shifts


def layer_shifts_between(schedule: ScheduleSpec, start: datetime, end: datetime) -> dict[int, list[Shift]]:
    """Each layer's own shifts (before higher layers and overrides are applied)."""
    _check_aware(start, end)
    tz = ZoneInfo(schedule.time_zone)
    return {rotation.layer: rotation_shifts(rotation, tz, start, end) for rotation in schedule.rotations}


def override_shifts(schedule: ScheduleSpec, start: datetime, end: datetime) -> list[Shift]:
    out = []
    for override in schedule.overrides:
        s, e = max(override.start, start), min(override.end, end)
        if e > s:
            out.append(Shift(start=s, end=e, user_id=override.user_id, layer=None, source=OVERRIDE))
    return sorted(out)


def shifts_between(schedule: ScheduleSpec, start: datetime, end: datetime) -> list[Shift]:
    """The resolved schedule over [start, end): overrides first, then each layer
    from the highest down filling only the time nobody above it covers."""
    _check_aware(start, end)
    if end <= start:
        return []
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    result = override_shifts(schedule, start, end)
    taken = merge_intervals((s.start, s.end) for s in result)
    by_layer = layer_shifts_between(schedule, start, end)
    for layer in sorted(by_layer, reverse=True):
        added: list[Interval] = []
        for shift in by_layer[layer]:
            for s, e in subtract_intervals((shift.start, shift.end), taken):
                result.append(Shift(start=s, end=e, user_id=shift.user_id, layer=layer, source=ROTATION))
                added.append((s, e))
        taken = merge_intervals([*taken, *added])
    return sorted(result)


def oncall_at(schedule: ScheduleSpec, at: datetime) -> list[int]:
    _check_aware(at)
    shifts = shifts_between(schedule, at, at + timedelta(microseconds=1))
    return sorted({s.user_id for s in shifts})


def shift_containing(shifts: Sequence[Shift], at: datetime, user_id: int) -> Shift | None:
    for shift in shifts:
        if shift.user_id == user_id and shift.start <= at < shift.end:
            return shift
    return None
