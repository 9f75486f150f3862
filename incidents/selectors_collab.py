"""Reads for tasks, mitigations, stakeholder updates, evidence and reviewer exposure.

Every per-incident read takes an incident the caller already fetched through
selectors.incident_get_visible, so visibility is decided in one place."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts.models import Team, TeamMembership
from core.errors import NotFound
from incidents.models import Incident
from incidents.models_collab import (
    Evidence,
    EvidenceView,
    IncidentSubscription,
    MitigationAction,
    StakeholderUpdate,
    Task,
    WellbeingSettings,
)
from incidents.selectors import incident_get_visible


def _int_pk(value: Any, what: str) -> int:
    try:
        pk = int(value)
    except (TypeError, ValueError):
        raise NotFound(f"No such {what}.") from None
    if pk <= 0 or pk > 2**63 - 1:
        raise NotFound(f"No such {what}.")
    return pk


def _uuid(value: Any, what: str) -> str:
    import uuid

    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise NotFound(f"No such {what}.") from None


# --- tasks and mitigations ------------------------------------------------------------------


def task_list(*, incident: Incident) -> QuerySet[Task]:
    return Task.objects.filter(incident=incident).select_related("assignee", "assignee_team", "created_by").order_by("created_at", "id")


def task_get_visible(*, user: Any, incident_pk: Any, task_pk: Any) -> Task:
    incident = incident_get_visible(user=user, pk=incident_pk)
    try:
        task = task_list(incident=incident).get(pk=_int_pk(task_pk, "task"))
    except Task.DoesNotExist:
        raise NotFound("No such task.") from None
    task.incident = incident
    return task


def mitigation_list(*, incident: Incident) -> QuerySet[MitigationAction]:
    return MitigationAction.objects.filter(incident=incident).select_related("actor").order_by("at", "id")


def mitigation_totals(*, incident: Incident) -> dict[str, int]:
    rows = MitigationAction.objects.filter(incident=incident).values("kind").annotate(n=Count("id"))
    return {row["kind"]: row["n"] for row in rows}


# --- stakeholder updates ----------------------------------------------------------------------


def stakeholder_update_list(*, incident: Incident) -> QuerySet[StakeholderUpdate]:
    return (
        StakeholderUpdate.objects.filter(incident=incident)
        .select_related("author", "approved_by", "sent_by")
        .order_by("-created_at", "-id")
    )


def stakeholder_update_get_visible(*, user: Any, incident_pk: Any, uid: Any) -> StakeholderUpdate:
    incident = incident_get_visible(user=user, pk=incident_pk)
    try:
        update = stakeholder_update_list(incident=incident).get(uid=_uuid(uid, "update"))
    except StakeholderUpdate.DoesNotExist:
        raise NotFound("No such update.") from None
    update.incident = incident
    return update


def is_subscribed(*, user: Any, incident: Incident) -> bool:
    return IncidentSubscription.objects.filter(incident=incident, user=user).exists()


# --- evidence ---------------------------------------------------------------------------------


def evidence_list(*, incident: Incident) -> QuerySet[Evidence]:
    return Evidence.objects.live().filter(incident=incident).select_related("created_by").order_by("-created_at", "-id")


def evidence_get_visible(*, user: Any, incident_pk: Any, uid: Any, audit_read: bool = False) -> Evidence:
    incident = incident_get_visible(user=user, pk=incident_pk, audit_read=audit_read)
    try:
        evidence = evidence_list(incident=incident).get(uid=_uuid(uid, "evidence"))
    except Evidence.DoesNotExist:
        raise NotFound("No such evidence.") from None
    evidence.incident = incident
    return evidence


def reveal_window() -> timedelta:
    return timedelta(minutes=int(getattr(settings, "EVIDENCE_REVEAL_WINDOW_MINUTES", 30)))


def evidence_revealed_recently(*, user: Any, evidence: Evidence, now: datetime | None = None) -> bool:
    """Graphic files are served only to someone whose reveal was logged a moment ago."""
    now = now or timezone.now()
    return EvidenceView.objects.filter(evidence=evidence, user=user, at__gt=now - reveal_window(), at__lte=now).exists()


# --- reviewer wellbeing ---------------------------------------------------------------------


def wellbeing_daily_cap() -> int:
    row = WellbeingSettings.objects.order_by("pk").first()
    if row is not None:
        return row.daily_cap
    return int(getattr(settings, "WELLBEING_DAILY_CAP", 50))


def exposure_periods(*, user: Any, now: datetime) -> tuple[datetime, datetime]:
    """Start of today and of this week (Monday) in the reviewer's own time zone."""
    try:
        zone = zoneinfo.ZoneInfo(getattr(user, "time_zone", "") or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo("UTC")
    local = now.astimezone(zone)
    day_start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    week_start = day_start - timedelta(days=local.weekday())
    # Rebuild through the zone so a DST change inside the week lands on local midnight.
    day_start = datetime(day_start.year, day_start.month, day_start.day, tzinfo=zone)
    week_start = datetime(week_start.year, week_start.month, week_start.day, tzinfo=zone)
    return day_start, week_start


def exposure_for_user(*, user: Any, now: datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    day_start, week_start = exposure_periods(user=user, now=now)
    counts = EvidenceView.objects.filter(user=user, at__gte=week_start, at__lte=now).aggregate(
        today=Count("id", filter=Q(at__gte=day_start)), week=Count("id")
    )
    cap = wellbeing_daily_cap()
    return {
        "today": counts["today"],
        "week": counts["week"],
        "daily_cap": cap,
        "remaining_today": max(cap - counts["today"], 0),
        "day_start": day_start,
        "week_start": week_start,
    }


def reveals_since_last_break(*, user: Any, now: datetime) -> int:
    """Today's reveals counted from the latest confirmed break (that reveal included), or
    all of today's when there was none — so a cap lowered mid-day applies at once."""
    day_start, _ = exposure_periods(user=user, now=now)
    today = EvidenceView.objects.filter(user=user, at__gte=day_start, at__lte=now)
    last_break = today.filter(after_break=True).order_by("-at", "-id").values_list("at", "id").first()
    if last_break is None:
        return today.count()
    at, pk = last_break
    return today.filter(Q(at__gt=at) | Q(at=at, id__gte=pk)).count()


def team_exposure(*, user: Any, now: datetime | None = None) -> list[dict[str, Any]]:
    """Counts of reveals per member of the teams the lead belongs to — never which items.
    Days and weeks follow the lead's own time zone so the columns line up."""
    if not user.has_perm("incidents.view_team_exposure"):
        return []
    now = now or timezone.now()
    day_start, week_start = exposure_periods(user=user, now=now)
    team_ids = list(TeamMembership.objects.filter(user=user).values_list("team_id", flat=True))
    if not team_ids:
        return []
    teams = {t.pk: t for t in Team.objects.filter(pk__in=team_ids)}
    rows = (
        TeamMembership.objects.filter(team_id__in=team_ids)
        .values("team_id", "user_id", "user__username", "user__display_name")
        .annotate(
            today=Count("user__evidence_views", filter=Q(user__evidence_views__at__gte=day_start, user__evidence_views__at__lte=now)),
            week=Count("user__evidence_views", filter=Q(user__evidence_views__at__gte=week_start, user__evidence_views__at__lte=now)),
        )
        .order_by("team_id", "user__username")
    )
    out: dict[int, dict[str, Any]] = {}
    for row in rows:
        team = out.setdefault(row["team_id"], {"team": teams[row["team_id"]], "members": []})
        team["members"].append(
            {
                "user_id": row["user_id"],
                "name": row["user__display_name"] or row["user__username"],
                "today": row["today"],
                "week": row["week"],
            }
        )
    return sorted(out.values(), key=lambda t: t["team"].name)
