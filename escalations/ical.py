"""iCalendar feeds of on-call shifts, built from the same selectors as the page
and the API so a calendar never disagrees with them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import icalendar

from escalations import oncall
from escalations.models import Schedule

FEED_DAYS = 60
PRODID = "-//Firebreak//On-call schedules//EN"


def _one_line(text: Any) -> str:
    """Calendar apps show these as one line; control characters would break the content lines."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in str(text)).split())


def _event(schedule: Schedule, shift: oncall.Shift, user: Any, stamp: datetime) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", f"schedule-{schedule.pk}-user-{shift.user_id}-{int(shift.start.timestamp())}@firebreak")
    event.add("dtstamp", stamp)
    event.add("dtstart", shift.start)
    event.add("dtend", shift.end)
    label = "override" if shift.source == oncall.OVERRIDE else f"layer {shift.layer}"
    event.add("summary", _one_line(f"On call: {user} — {schedule.name}"))
    event.add("description", _one_line(f"{user} is on call for {schedule.name} ({label})."))
    event.add("categories", ["on-call"])
    event.add("transp", "TRANSPARENT")
    return event


def build_calendar(*, name: str, items: Iterable[tuple[Schedule, oncall.Shift]], users: dict[int, Any], stamp: datetime) -> bytes:
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", _one_line(name))
    calendar.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    for schedule, shift in items:
        calendar.add_component(_event(schedule, shift, users.get(shift.user_id, f"user {shift.user_id}"), stamp))
    return calendar.to_ical()
