"""`{% load oncall_tags %}{% oncall_now_for_team team %}` renders who is on call
now for a team (every schedule of the team) with escalations/_oncall_now.html.
Templates of lower apps may load it without importing escalations."""

from __future__ import annotations

from django import template
from django.utils import timezone

from escalations import schedule_selectors

register = template.Library()


@register.inclusion_tag("escalations/_oncall_now.html")
def oncall_now_for_team(team, at=None):
    groups = schedule_selectors.team_oncall_now(team=team, at=at or timezone.now()) if team is not None else []
    return {"oncall_groups": groups, "oncall_team": team}


INCIDENT_SCHEDULES_MAX = 6


@register.inclusion_tag("escalations/_oncall_now.html")
def oncall_now_for_incident(incident, at=None):
    """The owning team's schedules; for an incident without a team, every schedule (the
    follow-the-sun rotations that would be paged), so the page always says who is on call."""
    at = at or timezone.now()
    team = getattr(incident, "team", None)
    if team is not None:
        groups = schedule_selectors.team_oncall_now(team=team, at=at)
    else:
        groups = schedule_selectors.all_oncall_now(at=at, limit=INCIDENT_SCHEDULES_MAX)
    return {"oncall_groups": groups, "oncall_team": team}
