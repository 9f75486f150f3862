"""Small template helpers for the incident pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template
from django.template.loader import get_template
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from incidents.queue_deadlines import QueueDeadline

register = template.Library()


@register.simple_tag(takes_context=True)
def include_if_exists(context: template.Context, name: str) -> str:
    """Render a colleague's partial when that app ships it, nothing otherwise."""
    try:
        tmpl = get_template(name)
    except template.TemplateDoesNotExist:
        return ""
    return tmpl.render(context.flatten(), context.get("request"))


@register.filter
def next_deadline(incident: Any) -> datetime | None:
    """The nearest deadline: a registered provider's (queue_deadlines, the SLA clocks) when
    attached, else a media inquiry's reporter deadline; None when the incident carries neither."""
    attached = getattr(incident, "queue_deadline", None)
    if isinstance(attached, QueueDeadline):
        return attached.due_at
    annotated = getattr(incident, "next_deadline", None)
    if isinstance(annotated, datetime):
        return annotated
    raw = (getattr(incident, "intake_details", None) or {}).get("reporter_deadline")
    if isinstance(raw, str) and getattr(incident, "is_open", False):
        try:
            return parse_datetime(raw)
        except ValueError:
            return None
    return None


@register.filter
def row_deadline(incident: Any) -> QueueDeadline | None:
    """The deadline a queue row shows, with what it is for and when it turns to warning."""
    attached = getattr(incident, "queue_deadline", None)
    if isinstance(attached, QueueDeadline):
        return attached
    due = next_deadline(incident)
    return QueueDeadline(due_at=due, warn_at=None, state="running", label="Reporter deadline") if due else None


@register.filter
def get_item(mapping: Any, key: str) -> Any:
    return mapping.get(key, "") if hasattr(mapping, "get") else ""


@register.filter
def age(value: datetime | None) -> str:
    """A compact age for dense tables: 45s, 12m, 5h, 3d."""
    if not isinstance(value, datetime):
        return ""
    seconds = max(0, int((timezone.now() - value).total_seconds()))
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@register.filter
def field_label(key: str) -> str:
    """intake_details keys as labels: legal_instrument → Legal instrument."""
    return str(key).replace("_", " ").capitalize()
