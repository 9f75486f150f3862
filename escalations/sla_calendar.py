"""Business-time arithmetic: pure functions, no database.

``business_add(start, duration, calendar)`` is the instant at which ``duration``
of business time has passed since ``start``; ``business_elapsed(start, end,
calendar)`` is the business time between two instants. Working hours are local
times in the calendar's zone, so a 09:00–17:30 day is 8.5 real hours on every
day, DST change days included (the spans are converted to UTC one by one). A
calendar of ``None`` (or one marked 24/7) is plain wall-clock time.

All instants are timezone-aware; results are in UTC.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

MAX_DAYS = 3 * 366  # refuse to search further than this for working time


class CalendarError(ValueError):
    pass


@dataclass(frozen=True)
class CalendarSpec:
    """What the arithmetic needs from a ``BusinessCalendar`` (read once, reused)."""

    time_zone: str = "UTC"
    is_24x7: bool = True
    # weekday (0=Monday) → ordered ((start, end), …); end None means midnight at the end of the day
    hours: dict[int, tuple[tuple[time, time | None], ...]] = field(default_factory=dict)
    holidays: frozenset[date] = frozenset()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @classmethod
    def build(cls, *, time_zone: str, working_hours: dict[str, Any], holidays: Any = (), is_24x7: bool = False) -> CalendarSpec:
        hours: dict[int, tuple[tuple[time, time | None], ...]] = {}
        for key, spans in (working_hours or {}).items():
            parsed = []
            for start, end in spans or []:
                parsed.append((time.fromisoformat(start), None if end == "24:00" else time.fromisoformat(end)))
            hours[int(key)] = tuple(sorted(parsed, key=lambda s: s[0]))
        spec = cls(time_zone=time_zone, is_24x7=is_24x7, hours=hours, holidays=frozenset(holidays))
        if not is_24x7 and not any(hours.values()):
            raise CalendarError("A calendar that is not 24/7 needs working hours on at least one weekday.")
        return spec

    @classmethod
    def from_calendar(cls, calendar: Any) -> CalendarSpec | None:
        """A spec from a BusinessCalendar (one query for its holidays), a spec, or None (24/7)."""
        if calendar is None or isinstance(calendar, CalendarSpec):
            return calendar
        if calendar.is_24x7:
            return None
        holidays = [h.date for h in calendar.holidays.all()]
        return cls.build(time_zone=calendar.time_zone, working_hours=calendar.working_hours, holidays=holidays)


def _spec(calendar: Any) -> CalendarSpec | None:
    spec = CalendarSpec.from_calendar(calendar)
    if spec is not None and spec.is_24x7:
        return None
    return spec


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise CalendarError(f"{name} must be timezone-aware")
    return value.astimezone(UTC)


def _spans_from(spec: CalendarSpec, start_utc: datetime, until: datetime | None = None) -> Iterator[tuple[datetime, datetime]]:
    """Working spans in UTC, in order, from the local day containing ``start_utc`` onwards
    (up to the local day of ``until`` when given; otherwise at most MAX_DAYS, then an error)."""
    zone = spec.zone
    day = start_utc.astimezone(zone).date() - timedelta(days=1)  # a span of yesterday may reach past midnight UTC
    days = MAX_DAYS + 2 if until is None else (until.astimezone(zone).date() - day).days + 1
    for _ in range(days):
        if day not in spec.holidays:
            for begin, end in spec.hours.get(day.weekday(), ()):
                span_start = datetime.combine(day, begin, tzinfo=zone).astimezone(UTC)
                if end is None:
                    span_end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
                else:
                    span_end = datetime.combine(day, end, tzinfo=zone).astimezone(UTC)
                if span_end > span_start:
                    yield span_start, span_end
        day += timedelta(days=1)
    if until is not None:
        return
    raise CalendarError(f"No working time within {MAX_DAYS} days; check the calendar's working hours and holidays.")


def business_add(start: datetime, duration: timedelta, calendar: Any = None) -> datetime:
    """The instant when ``duration`` of business time has passed since ``start``."""
    start_utc = _aware(start, "start")
    if duration < timedelta(0):
        raise CalendarError("duration must not be negative")
    spec = _spec(calendar)
    if spec is None:
        return start_utc + duration
    if duration == timedelta(0):
        return start_utc
    remaining = duration
    cursor = start_utc
    for span_start, span_end in _spans_from(spec, start_utc):
        if span_end <= cursor:
            continue
        begin = max(span_start, cursor)
        available = span_end - begin
        if remaining <= available:
            return begin + remaining
        remaining -= available
        cursor = span_end
    raise CalendarError("unreachable")  # pragma: no cover  (_spans_from raises first)


def business_elapsed(start: datetime, end: datetime, calendar: Any = None) -> timedelta:
    """Business time between ``start`` and ``end`` (zero when ``end`` is not after ``start``)."""
    start_utc = _aware(start, "start")
    end_utc = _aware(end, "end")
    if end_utc <= start_utc:
        return timedelta(0)
    spec = _spec(calendar)
    if spec is None:
        return end_utc - start_utc
    total = timedelta(0)
    for span_start, span_end in _spans_from(spec, start_utc, end_utc):
        if span_start >= end_utc:
            break
        overlap = min(span_end, end_utc) - max(span_start, start_utc)
        if overlap > timedelta(0):
            total += overlap
    return total
