"""Reads scoped to what the user may see. Missing and forbidden are the same 404."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from django.db.models import Prefetch, QuerySet

from core.audit import audit_record
from core.errors import NotFound, ValidationError
from incidents.filters import IncidentFilter
from incidents.models import (
    Comment,
    HarmCategory,
    Incident,
    IncidentUserObjectPermission,
    Notification,
    Participant,
    TimelineEvent,
)
from incidents.permissions import can_view_any


def incident_list_visible(*, user: Any, filters: dict | None = None) -> QuerySet[Incident]:
    qs = Incident.objects.visible_to(user)
    if filters:
        # The filter set reads request.user for "commander=me"; a bare holder is enough.
        filterset = IncidentFilter(filters, queryset=qs, request=SimpleNamespace(user=user))
        if not filterset.is_valid():
            errors = {k: [str(m) for m in v] for k, v in filterset.errors.items()}
            first = next(iter(errors))
            raise ValidationError(f"{first}: {errors[first][0]}", errors=errors)
        qs = filterset.qs
    return qs.select_related("harm_category", "commander", "team", "compartment").order_by("-created_at", "-id")


def _as_pk(pk: Any) -> int:
    try:
        value = int(pk)
    except (TypeError, ValueError):
        raise NotFound("No such incident.") from None
    if value <= 0 or value > 2**63 - 1:
        raise NotFound("No such incident.")
    return value


def incident_get_visible(*, user: Any, pk: Any, audit_read: bool = False) -> Incident:
    """The incident if the user may see it; NotFound otherwise (missing or forbidden).
    With audit_read, opening a restricted incident leaves an ``incident.read`` entry."""
    value = _as_pk(pk)
    try:
        incident = incident_list_visible(user=user).get(pk=value)
    except Incident.DoesNotExist:
        raise NotFound("No such incident.") from None
    if audit_read and incident.compartment_id is not None:
        audit_record(actor=user, action="incident.read", obj=incident, after={"compartment": incident.compartment_id})
    return incident


def incident_get_by_reference_visible(*, user: Any, reference: str) -> Incident:
    try:
        return incident_list_visible(user=user).get(reference__iexact=reference)
    except Incident.DoesNotExist:
        raise NotFound("No such incident.") from None


def incident_get_for_break_glass(*, user: Any, pk: Any) -> Incident:
    """Admins with break_glass_incident may reach a restricted incident they cannot see,
    only to open it through incident_break_glass (which records why)."""
    if not (getattr(user, "is_authenticated", False) and user.has_perm("incidents.break_glass_incident")):
        raise NotFound("No such incident.")
    try:
        return Incident.objects.select_related("compartment").get(pk=_as_pk(pk))
    except Incident.DoesNotExist:
        raise NotFound("No such incident.") from None


def incident_detail_prefetch(qs: QuerySet[Incident]) -> QuerySet[Incident]:
    return qs.prefetch_related(
        "teams_engaged",
        Prefetch("participant_links", queryset=Participant.objects.select_related("user")),
        "related",
    )


def timeline_list(*, incident: Incident, key_moments_only: bool = False) -> QuerySet[TimelineEvent]:
    """The timeline of an incident the caller already resolved through incident_get_visible."""
    qs = TimelineEvent.objects.filter(incident=incident).select_related("actor").order_by("at", "id")
    if key_moments_only:
        qs = qs.filter(is_key_moment=True)
    return qs


def comment_list(*, incident: Incident, visibility: str | None = None) -> QuerySet[Comment]:
    qs = Comment.objects.filter(incident=incident).select_related("author").order_by("created_at", "id")
    if visibility:
        qs = qs.filter(visibility=visibility)
    return qs


def notification_list_for_user(*, user: Any, unread_only: bool = False) -> QuerySet[Notification]:
    """A user's notifications, dropping any about an incident they can no longer see."""
    if not getattr(user, "is_authenticated", False):
        return Notification.objects.none()
    qs = Notification.objects.filter(user=user).select_related("incident")
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    if can_view_any(user):
        visible = Incident.objects.visible_to(user).values("pk")
        return qs.filter(incident__isnull=True) | qs.filter(incident__in=visible)
    return qs.filter(incident__isnull=True)


def notification_unread_count(*, user: Any) -> int:
    return notification_list_for_user(user=user, unread_only=True).count()


def incident_grant_list(*, incident: Incident) -> QuerySet[IncidentUserObjectPermission]:
    return (
        IncidentUserObjectPermission.objects.filter(content_object=incident, permission__codename="view_incident")
        .select_related("user", "granted_by")
        .order_by("id")
    )


def harm_category_list(*, active_only: bool = True) -> QuerySet[HarmCategory]:
    qs = HarmCategory.objects.all().order_by("order", "name")
    return qs.filter(active=True) if active_only else qs
