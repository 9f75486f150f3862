"""`{% load sla_tags %}{% sla_panel %}` renders the incident's SLA clocks panel
(escalations/_sla_panel.html) where the incident page includes escalations/_incident_sla.html;
`|sla_duration` writes a duration the way people say it (1 h, 36 h, 7 d, 2 h 30 min)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import template

register = template.Library()


@register.inclusion_tag("escalations/_sla_panel.html", takes_context=True)
def sla_panel(context: template.Context) -> dict[str, Any]:
    from escalations.views_sla import sla_panel_context

    return sla_panel_context(request=context["request"], incident=context["incident"])


@register.filter
def sla_duration(value: Any) -> str:
    if isinstance(value, int | float):
        value = timedelta(seconds=value)
    if not isinstance(value, timedelta):
        return ""
    seconds = int(value.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days >= 3 and not hours and not minutes:
        return f"{sign}{days} d"  # 7 d, 14 d; shorter spans in hours, as the laws state them (24 h, 36 h)
    hours += days * 24
    if hours and minutes:
        return f"{sign}{hours} h {minutes} min"
    if hours:
        return f"{sign}{hours} h"
    if minutes:
        return f"{sign}{minutes} min"
    return f"{sign}{seconds} s"


@register.filter
def sla_event_note(data: Any) -> str:
    """A clock event's data as one short line: the reason when there is one, else key: value pairs."""
    if not isinstance(data, dict) or not data:
        return ""
    for key in ("reason", "note", "summary"):
        if data.get(key):
            return str(data[key])[:300]
    parts = [f"{str(k).replace('_', ' ')}: {v}" for k, v in data.items() if isinstance(v, str | int | float | bool) and v != ""]
    return "; ".join(parts)[:300]


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@register.filter
def sla_hours(working_hours: Any) -> str:
    """{"0": [["09:00", "17:30"]], …} as "Mon–Fri 09:00–17:30", grouping equal consecutive days."""
    if not isinstance(working_hours, dict):
        return ""
    days = []
    for d in range(7):
        spans = working_hours.get(str(d)) or []
        days.append(", ".join(f"{s}–{e}" for s, e in spans if isinstance(s, str) and isinstance(e, str)))
    parts: list[str] = []
    start = 0
    while start < 7:
        end = start
        while end + 1 < 7 and days[end + 1] == days[start]:
            end += 1
        if days[start]:
            label = _DAYS[start] if start == end else f"{_DAYS[start]}–{_DAYS[end]}"
            parts.append(f"{label} {days[start]}")
        start = end + 1
    return "; ".join(parts) or "no working hours"
