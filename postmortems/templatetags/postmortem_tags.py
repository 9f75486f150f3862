from django import template
from django.utils.safestring import mark_safe

from postmortems.markdown import render_markdown

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text: str) -> str:
    # render_markdown returns nh3-cleaned HTML, so marking it safe is the point of the filter.
    return mark_safe(render_markdown(text))  # noqa: S308


@register.filter
def duration(seconds) -> str:
    if seconds is None or seconds == "":
        return "not recorded"
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [f"{days} d"] if days else []
    if hours or days:
        parts.append(f"{hours} h")
    parts.append(f"{minutes} min")
    return " ".join(parts)


@register.filter
def lookup_field(form, name: str):
    return form[name]


@register.filter
def thousands(value) -> str:
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return "—"
